// Compression of a replay plan for large logs: a stage with far more tasks than the simulated
// cluster has slots is replayed as chunks of consecutive tasks (in launch order), each chunk taking
// one slot for the sum of its tasks' times. Chunk sizes follow guided self-scheduling: a chunk holds
// remaining / (k x slots) tasks, so every slot keeps about k chunks of the remaining work until the
// stage's last ~k x slots tasks, which run one by one as observed; the stage's tail (what decides its
// end) is therefore the uncompressed one, and the error of the body is bounded by one chunk's time
// per slot while all slots are busy. Failed, retried and executor-killing attempts are never merged.
// The per-task terms of TaskScaling that are not linear (spill over a memory limit, spill relief) are
// kept exactly: each chunk keeps its tasks' peaks sorted (with prefix sums) and its spilled tasks.
// Also here: what lets a large prediction share simulations across candidates (memoryReach,
// factorSteps, adaptiveLine), used by predict.ts for plans of COMPRESS_FROM_TASKS tasks or more.
import type { PlanStage, ReplayPlan } from './plan.js';

/** Per-entry detail of a compressed stage (entries are chunks of one or more tasks). */
export type StageChunks = {
  /** Tasks each entry stands for. */
  weight: Int32Array;
  /** Entry e's tasks are rows start[e] .. start[e+1]-1 of peakSorted (length entries + 1). */
  start: Int32Array;
  /** Peak execution memory of each task, ascending within each entry. */
  peakSorted: Float64Array;
  /** Prefix sums of peakSorted (length tasks + 1). */
  peakPrefix: Float64Array;
  /** Entry e's spilled tasks are rows spillStart[e] .. spillStart[e+1]-1 of the spill arrays, by need ascending. */
  spillStart: Int32Array;
  /** Peak + memory spilled of each spilled task (what it needs to spill nothing). */
  spillNeed: Float64Array;
  spillBytes: Float64Array;
  spillDurationMs: Float64Array;
};

/** Chunks per slot of the remaining work (guided self-scheduling's factor). */
export const CHUNKS_PER_SLOT = 1.5;

/**
 * Entry boundaries for `n` tasks on `slots` slots: entry e covers positions bounds[e] .. bounds[e+1]-1.
 * A chunk takes floor(remaining / (k x slots)) tasks (at least 1) and never includes a position for
 * which `single` is true (that one is an entry of its own). Pure.
 */
export function chunkBounds(n: number, slots: number, k: number = CHUNKS_PER_SLOT, single?: (pos: number) => boolean): Int32Array {
  const per = Math.max(1, k * Math.max(1, slots));
  const bounds: number[] = [0];
  let pos = 0;
  while (pos < n) {
    if (single?.(pos)) {
      pos++;
      bounds.push(pos);
      continue;
    }
    const size = Math.max(1, Math.floor((n - pos) / per));
    let end = pos + 1;
    while (end < pos + size && end < n && !single?.(end)) end++;
    pos = end;
    bounds.push(pos);
  }
  return Int32Array.from(bounds);
}

/** The stage with its tasks merged into the chunks of `bounds` (see chunkBounds). */
export function compressStage(st: PlanStage, bounds: Int32Array): PlanStage {
  const m = bounds.length - 1;
  const n = st.durationMs.length;
  if (m === n) return st;
  const entryOf = new Int32Array(n);
  for (let e = 0; e < m; e++) for (let p = bounds[e]!; p < bounds[e + 1]!; p++) entryOf[p] = e;
  const sum = (col: Float64Array): Float64Array => {
    const out = new Float64Array(m);
    for (let p = 0; p < n; p++) out[entryOf[p]!]! += col[p]!;
    return out;
  };
  const weight = new Int32Array(m);
  const peakMax = new Float64Array(m);
  const retry = new Int32Array(m).fill(-1);
  const isRetry = new Uint8Array(m);
  const killsExecutor = new Uint8Array(m);
  const peakSorted = new Float64Array(n);
  const peakPrefix = new Float64Array(n + 1);
  const spillStart = new Int32Array(m + 1);
  const spilled: { need: number; bytes: number; ms: number }[] = [];
  for (let e = 0; e < m; e++) {
    const a = bounds[e]!;
    const b = bounds[e + 1]!;
    weight[e] = b - a;
    const peaks = st.peakMemoryBytes.slice(a, b).sort();
    peakSorted.set(peaks, a);
    peakMax[e] = peaks[peaks.length - 1] ?? 0;
    const mine: { need: number; bytes: number; ms: number }[] = [];
    for (let p = a; p < b; p++) {
      const s = st.memorySpillBytes[p] ?? 0;
      if (s > 0) mine.push({ need: st.peakMemoryBytes[p]! + s, bytes: s, ms: st.durationMs[p]! });
    }
    mine.sort((x, y) => x.need - y.need);
    spilled.push(...mine);
    spillStart[e + 1] = spilled.length;
    // Special attempts are entries of their own (chunkBounds), so their links map one to one.
    if (b - a === 1) {
      const r = st.retry[a]!;
      retry[e] = r >= 0 ? entryOf[r]! : -1;
      isRetry[e] = st.isRetry[a]!;
      killsExecutor[e] = st.killsExecutor[a]!;
    }
  }
  for (let p = 0; p < n; p++) peakPrefix[p + 1] = peakPrefix[p]! + peakSorted[p]!;
  const chunks: StageChunks = {
    weight,
    start: bounds,
    peakSorted,
    peakPrefix,
    spillStart,
    spillNeed: Float64Array.from(spilled, (x) => x.need),
    spillBytes: Float64Array.from(spilled, (x) => x.bytes),
    spillDurationMs: Float64Array.from(spilled, (x) => x.ms),
  };
  return {
    ...st,
    durationMs: sum(st.durationMs),
    cpuMs: sum(st.cpuMs),
    gcMs: sum(st.gcMs),
    fetchWaitMs: sum(st.fetchWaitMs),
    spillBytes: sum(st.spillBytes),
    memorySpillBytes: sum(st.memorySpillBytes),
    peakMemoryBytes: peakMax,
    shuffleReadBytes: sum(st.shuffleReadBytes),
    remoteReadBytes: sum(st.remoteReadBytes),
    retry,
    isRetry,
    killsExecutor,
    chunks,
  };
}

/** Sum over entry e's tasks of max(0, peak - limit), from the sorted peaks. */
export function excessOver(c: StageChunks, e: number, limit: number): number {
  const a = c.start[e]!;
  const b = c.start[e + 1]!;
  if (b === a || c.peakSorted[b - 1]! <= limit) return 0;
  let lo = a;
  let hi = b;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (c.peakSorted[mid]! > limit) hi = mid;
    else lo = mid + 1;
  }
  return c.peakPrefix[b]! - c.peakPrefix[lo]! - limit * (b - lo);
}

/** The plan with every stage of more than 2 x k x slots tasks compressed for a cluster of `slots` slots. */
export function compressPlan(plan: ReplayPlan, slots: number, k: number = CHUNKS_PER_SLOT): ReplayPlan {
  const limit = 2 * k * Math.max(1, slots);
  let changed = false;
  const stages = plan.stages.map((st) => {
    if (st.chunks || st.durationMs.length <= limit) return st;
    const special = (p: number) => st.retry[p]! >= 0 || st.isRetry[p] === 1 || st.killsExecutor[p] === 1;
    const out = compressStage(st, chunkBounds(st.durationMs.length, slots, k, special));
    if (out !== st) changed = true;
    return out;
  });
  return changed ? { ...plan, stages } : plan;
}

/** Plans of at least this many task attempts are simulated compressed (predict, analyze). */
export const COMPRESS_FROM_TASKS = 50_000;

/** `slots` rounded up to a power of sqrt(2): the slot counts compressed plans are made for. */
export function slotBucket(slots: number): number {
  return Math.ceil(2 ** (Math.ceil(2 * Math.log2(Math.max(1, slots)) - 1e-9) / 2));
}

/** The plan to simulate on `slots` slots: compressed for slotBucket(slots) when it has COMPRESS_FROM_TASKS tasks or more. */
export function compressFor(plan: ReplayPlan, slots: number): ReplayPlan {
  return plan.taskCount < COMPRESS_FROM_TASKS ? plan : compressPlan(plan, slotBucket(slots));
}

/** Entries the simulator will handle for `plan` (tasks, or chunks for compressed stages). */
export function planEntries(plan: ReplayPlan): number {
  let n = 0;
  for (const st of plan.stages) n += st.durationMs.length;
  return n;
}

/**
 * What memory limits can change in `plan`'s replay: a limit at or above `maxPeakBytes` charges no
 * spill; `reliefLevel(x)` is the largest spilled task's need at or below x (0: none), a relief with
 * the same effect as x (the engine removes the spill of tasks whose need fits the relief). Pure.
 */
export function memoryReach(plan: ReplayPlan): { maxPeakBytes: number; reliefLevel: (bytes: number) => number } {
  let maxPeakBytes = 0;
  const needs: number[] = [];
  for (const st of plan.stages) {
    const n = st.durationMs.length;
    for (let k = 0; k < n; k++) {
      const peak = st.peakMemoryBytes[k]!;
      if (peak > maxPeakBytes) maxPeakBytes = peak;
      const s = st.memorySpillBytes[k] ?? 0;
      if (s > 0) needs.push(peak + s);
    }
  }
  const sorted = Float64Array.from(needs).sort();
  const reliefLevel = (bytes: number): number => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]! <= bytes) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? 0 : sorted[lo - 1]!;
  };
  return { maxPeakBytes, reliefLevel };
}

/** Largest share of the plan's total task time a factor's rounding may move (half a step x its column's share). */
export const FACTOR_ROUNDING_SHARE = 0.0025;

/**
 * Steps for the GC and fetch-wait factors of TaskScaling on `plan`: at least `minStep`, and as
 * coarse as keeps the rounding's effect on the total task time within FACTOR_ROUNDING_SHARE (a
 * column that is a small share of the task time needs no fine factor). Pure.
 */
export function factorSteps(plan: ReplayPlan, minStep: number): { gc: number; fetch: number } {
  let total = 0;
  let gc = 0;
  let fetch = 0;
  for (const st of plan.stages) {
    const n = st.durationMs.length;
    for (let k = 0; k < n; k++) {
      total += st.durationMs[k]!;
      gc += st.gcMs[k]!;
      fetch += st.fetchWaitMs[k]!;
    }
  }
  const step = (col: number) => (col > 0 ? Math.max(minStep, (2 * FACTOR_ROUNDING_SHARE * total) / col) : Infinity);
  return { gc: step(gc), fetch: step(fetch) };
}

/** `f` rounded to a multiple of `step` away from 1 (an infinite step: 1). */
export function quantiseFactor(f: number, step: number): number {
  if (!Number.isFinite(step)) return 1;
  return Math.round((1 + Math.round((f - 1) / step) * step) * 1e6) / 1e6;
}

/** Step of the CPU-factor grid large logs are simulated on (adaptiveLine; estimates between are interpolated). */
export const CPU_GRID = 0.1;

/** Largest relative gap between f at an interval's midpoint and the line through its ends for the line to be used. */
export const LINE_TOLERANCE = 0.001;

/**
 * f over [xMin, xMax] from few evaluations, for a function close to linear: f at the multiples of
 * `step` around both ends, then at midpoints (on the grid) of any interval whose midpoint is off the
 * line through its ends by more than `tol` of f; the result interpolates linearly between the
 * points evaluated. `f` is called once per grid point at most. Pure.
 */
export function adaptiveLine(xMin: number, xMax: number, step: number, f: (x: number) => number, tol: number = LINE_TOLERANCE): (x: number) => number {
  const at = (i: number) => Math.round(i * step * 1e6) / 1e6;
  const i0 = Math.floor(xMin / step + 1e-9);
  const i1 = Math.max(i0, Math.ceil(xMax / step - 1e-9));
  const vals = new Map<number, number>();
  const val = (i: number): number => {
    let v = vals.get(i);
    if (v === undefined) vals.set(i, (v = f(at(i))));
    return v;
  };
  const refine = (i: number, j: number): void => {
    if (j - i <= 1) return;
    const m = (i + j) >> 1;
    const fm = val(m);
    const line = val(i) + ((val(j) - val(i)) * (m - i)) / (j - i);
    if (Math.abs(fm - line) <= tol * Math.abs(fm)) return;
    refine(i, m);
    refine(m, j);
  };
  val(i0);
  val(i1);
  refine(i0, i1);
  const knots = [...vals.keys()].sort((a, b) => a - b);
  const xs = knots.map(at);
  const ys = knots.map((i) => vals.get(i)!);
  return (x: number): number => {
    if (xs.length === 1 || x <= xs[0]!) return ys[0]!;
    let k = 0;
    while (k + 2 < xs.length && xs[k + 1]! < x) k++;
    const w = Math.min(1, (x - xs[k]!) / (xs[k + 1]! - xs[k]!));
    return (1 - w) * ys[k]! + w * ys[k + 1]!;
  };
}
