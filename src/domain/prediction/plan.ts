// The replay plan: what the simulator needs from an ApplicationModel, extracted once. Jobs are
// grouped into the intervals where at least one job ran (concurrent jobs share a group); the time
// between groups is driver time. Every task attempt (failed and retried ones too) is kept with the
// parts of its time that scale differently on other hardware.
import type { ApplicationModel, StageAttempt, TaskTable } from '../eventlog/model.js';
import type { StageChunks } from './compress.js';

/** One stage attempt ready to replay. Task arrays are in launch order. */
export type PlanStage = {
  stageId: number;
  attemptId: number;
  /** Scheduling priority (lower first): the order Spark's FIFO scheduler would pick. */
  priority: number;
  /** Plan indices of stages that must finish first (parents, and the previous attempt). */
  parents: number[];
  /** Plan index of the job that submitted it. */
  job: number;
  /** Observed delay between the stage becoming runnable and its submission (driver work), ms. */
  submitDelayMs: number;
  /** Wall time of each task attempt on its executor (launch -> finish), ms. */
  durationMs: Float64Array;
  cpuMs: Float64Array;
  gcMs: Float64Array;
  fetchWaitMs: Float64Array;
  /** Memory and disk spilled by the task (bytes), and its peak execution memory. */
  spillBytes: Float64Array;
  /** In-memory size of what the task spilled (Spark's "Memory Bytes Spilled"). */
  memorySpillBytes: Float64Array;
  peakMemoryBytes: Float64Array;
  shuffleReadBytes: Float64Array;
  remoteReadBytes: Float64Array;
  /** Position of the attempt that retries this one after it failed, or -1. */
  retry: Int32Array;
  /** 1 when the task is a retry (it becomes runnable only when the failed attempt ends). */
  isRetry: Uint8Array;
  /** 1 when the task failed because its executor was lost (the executor goes with it). */
  killsExecutor: Uint8Array;
  failed: number;
  /** Set when the stage is compressed (compress.ts): each entry above is a chunk of tasks, its columns summed. */
  chunks?: StageChunks;
};

export type PlanJob = {
  id: number;
  group: number;
  /** Offset of the job's submission from its group's start, ms. */
  offsetMs: number;
  stages: number[];
  /** Observed duration, used for jobs that ran no task. */
  observedMs: number;
};

export type PlanGroup = {
  /** Driver time before this group (after the previous group, or after application start), ms. */
  gapBeforeMs: number;
  jobs: number[];
  observedMs: number;
};

/** Executors as observed, relative to application start. */
export type PlanExecutor = { id: string; cores: number; addedMs: number; removedMs?: number; lost: boolean };

export type ReplayPlan = {
  stages: PlanStage[];
  jobs: PlanJob[];
  groups: PlanGroup[];
  /** Driver time after the last group, ms. */
  tailMs: number;
  driverMs: number;
  observedMs: number;
  executors: PlanExecutor[];
  taskCount: number;
  /** Median gap between a task finishing and the next launching on the same busy executor, ms. */
  taskLaunchGapMs: number;
  dynamicAllocation: boolean;
  /** Spark's dynamic-allocation settings as logged (ms and counts), when set. */
  idleTimeoutMs: number;
  backlogTimeoutMs: number;
  initialExecutors?: number;
  minExecutors?: number;
  maxExecutors?: number;
  /** True when the driver runs the tasks itself (local mode). */
  local: boolean;
  /** Observed slots per executor (cores / task cpus), most common value. */
  slotsPerExecutor: number;
  taskCpus: number;
  maxConcurrentExecutors: number;
};

/** How far a launch may precede the finish that freed its slot in the log's timestamps, ms. */
const LAUNCH_SKEW_MS = 50;

/** Removal reasons that mean "released by dynamic allocation", not "lost". */
const IDLE_REMOVAL = /killed by driver|decommission|idle/i;

function median(xs: Float64Array): number | undefined {
  if (xs.length === 0) return undefined;
  const s = xs.slice().sort();
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const KEY_SLOTS = 2 ** 21;

/**
 * Row positions of a task table in launch order (ties in row order, as a stable sort gives). Runs in
 * native code: rows already in order are returned as they are, others are sorted as numeric keys
 * (launch offset x 2^21 + row) when those fit in a double's 53 bits, by comparator otherwise.
 */
export function launchOrder(launch: Float64Array, count: number): Uint32Array {
  const order = new Uint32Array(count);
  let sorted = true;
  let lo = Infinity;
  let hi = -Infinity;
  for (let k = 0; k < count; k++) {
    const v = launch[k]!;
    order[k] = k;
    if (k > 0 && v < launch[k - 1]!) sorted = false;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (sorted) return order;
  const integral = Number.isInteger(lo) && Number.isInteger(hi);
  if (integral && count <= KEY_SLOTS && hi - lo < 2 ** 32) {
    const keys = new Float64Array(count);
    for (let k = 0; k < count; k++) {
      const v = launch[k]!;
      // Non-integer times cannot be packed exactly: sort those by comparator.
      if (!Number.isInteger(v)) return order.sort((a, b) => launch[a]! - launch[b]! || a - b);
      keys[k] = (v - lo) * KEY_SLOTS + k;
    }
    keys.sort();
    for (let k = 0; k < count; k++) order[k] = keys[k]! % KEY_SLOTS;
    return order;
  }
  return order.sort((a, b) => launch[a]! - launch[b]! || a - b);
}

/** `col` in `order`, each value floored at 0. */
function pick(col: Float64Array, order: Uint32Array): Float64Array {
  const out = new Float64Array(order.length);
  for (let p = 0; p < order.length; p++) out[p] = Math.max(0, col[order[p]!]!);
  return out;
}

/** The PlanStage columns that are task columns picked in launch order (each floored at 0). */
const PICKED = {
  cpuMs: 'executorCpuTimeMs',
  gcMs: 'gcTimeMs',
  fetchWaitMs: 'shuffleFetchWaitMs',
  spillBytes: 'diskSpillBytes',
  memorySpillBytes: 'memorySpillBytes',
  peakMemoryBytes: 'peakExecutionMemoryBytes',
  shuffleReadBytes: 'shuffleReadBytes',
  remoteReadBytes: 'shuffleRemoteReadBytes',
} as const satisfies Record<string, keyof TaskTable>;

type Picked = keyof typeof PICKED;

/**
 * `stage` with the PICKED columns as properties that pick their column from `tasks` when first read
 * (and may be assigned): the replay at the observed configuration reads none of them, and each is a
 * copy of a task column.
 */
function pickedLazily<T extends object>(stage: T, tasks: TaskTable, order: Uint32Array): T & Record<Picked, Float64Array> {
  let source: { tasks: TaskTable; order: Uint32Array } | undefined = { tasks, order };
  let left = Object.keys(PICKED).length;
  for (const [name, column] of Object.entries(PICKED)) {
    let value: Float64Array | undefined;
    Object.defineProperty(stage, name, {
      enumerable: true,
      configurable: true,
      get: (): Float64Array => {
        if (value === undefined) {
          value = pick(source!.tasks[column], source!.order);
          // Every column picked: the task table and the order are no longer needed here.
          if (--left === 0) source = undefined;
        }
        return value;
      },
      set: (v: Float64Array) => {
        if (value === undefined && --left === 0) source = undefined;
        value = v;
      },
    });
  }
  return stage as T & Record<Picked, Float64Array>;
}

/** Spark time strings ("60s", "500ms", "2min") in ms; undefined when absent or unreadable. */
export function parseSparkDurationMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$/i.exec(value);
  if (!m) return undefined;
  const unit = (m[2] ?? 's').toLowerCase();
  const f = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' || unit === 'min' ? 60000 : 3600000;
  return Number(m[1]) * f;
}

function firstLaunch(s: StageAttempt): number | undefined {
  let t = Infinity;
  for (let i = 0; i < s.tasks.count; i++) t = Math.min(t, s.tasks.launchTime[i]!);
  return Number.isFinite(t) ? t : undefined;
}

function lastFinish(s: StageAttempt): number | undefined {
  let t = -Infinity;
  for (let i = 0; i < s.tasks.count; i++) t = Math.max(t, s.tasks.finishTime[i]!);
  return Number.isFinite(t) ? t : undefined;
}

/** Builds the replay plan of an application model. Never throws on odd logs: it skips what it cannot place. */
export function buildReplayPlan(model: ApplicationModel): ReplayPlan {
  const start = model.startTime;
  const ran = model.stages.filter((s) => !s.skipped && s.tasks.count > 0);
  const stageStart = new Map<StageAttempt, number>();
  const stageEnd = new Map<StageAttempt, number>();
  for (const s of ran) {
    const fl = firstLaunch(s)!;
    stageStart.set(s, Math.min(s.submissionTime ?? fl, fl));
    stageEnd.set(s, Math.max(s.completionTime ?? -Infinity, lastFinish(s) ?? -Infinity));
  }
  // Each stage attempt belongs to the lowest job id that lists it (the job that submitted it).
  const jobOf = new Map<StageAttempt, number>();
  const jobsById = new Map(model.jobs.map((j) => [j.id, j]));
  const jobsOfStage = new Map<number, number[]>();
  for (const j of model.jobs) {
    for (const sid of j.stageIds) {
      const list = jobsOfStage.get(sid);
      if (list) list.push(j.id);
      else jobsOfStage.set(sid, [j.id]);
    }
  }
  for (const s of ran) {
    const candidates = [...s.jobIds, ...(jobsOfStage.get(s.stageId) ?? [])].filter((id) => jobsById.has(id));
    if (candidates.length > 0) jobOf.set(s, Math.min(...candidates));
  }
  type JobSpan = { id: number; start: number; end: number; stages: StageAttempt[] };
  const spans: JobSpan[] = [];
  const stagesOfJob = new Map<number, StageAttempt[]>();
  for (const s of ran) {
    const id = jobOf.get(s);
    if (id === undefined) continue;
    const list = stagesOfJob.get(id);
    if (list) list.push(s);
    else stagesOfJob.set(id, [s]);
  }
  for (const j of [...model.jobs].sort((a, b) => a.id - b.id)) {
    const stages = stagesOfJob.get(j.id) ?? [];
    const st = j.submissionTime ?? Math.min(...stages.map((s) => stageStart.get(s)!));
    const en = Math.max(j.completionTime ?? -Infinity, ...stages.map((s) => stageEnd.get(s)!));
    if (!Number.isFinite(st) || !Number.isFinite(en)) continue;
    spans.push({ id: j.id, start: st, end: Math.max(en, st), stages });
  }
  // Stages that no known job lists still ran: give each its own pseudo-job.
  for (const s of ran) {
    if (jobOf.has(s)) continue;
    spans.push({ id: -1 - s.stageId, start: stageStart.get(s)!, end: stageEnd.get(s)!, stages: [s] });
  }
  spans.sort((a, b) => a.start - b.start || a.id - b.id);

  const groups: PlanGroup[] = [];
  const jobs: PlanJob[] = [];
  let groupStart = 0;
  let groupEnd = -Infinity;
  let prevEnd = start;
  for (const span of spans) {
    if (groups.length === 0 || span.start > groupEnd) {
      if (groups.length > 0) groups[groups.length - 1]!.observedMs = groupEnd - groupStart;
      groups.push({ gapBeforeMs: Math.max(0, span.start - (groups.length === 0 ? start : prevEnd)), jobs: [], observedMs: 0 });
      groupStart = span.start;
      groupEnd = span.end;
    } else {
      groupEnd = Math.max(groupEnd, span.end);
    }
    prevEnd = groupEnd;
    const g = groups.length - 1;
    groups[g]!.jobs.push(jobs.length);
    jobs.push({ id: span.id, group: g, offsetMs: span.start - groupStart, stages: [], observedMs: span.end - span.start });
  }
  if (groups.length > 0) groups[groups.length - 1]!.observedMs = groupEnd - groupStart;
  const end = Math.max(model.endTime, prevEnd);
  const tailMs = groups.length > 0 ? Math.max(0, end - prevEnd) : end - start;

  // Stages: priority = (job order, stage id, attempt), like Spark's FIFO pool.
  const jobIndex = new Map<number, number>(jobs.map((j, i) => [j.id, i]));
  const spanOf = new Map<StageAttempt, number>();
  spans.forEach((sp) => sp.stages.forEach((s) => spanOf.set(s, jobIndex.get(sp.id)!)));
  const ordered = [...ran].sort((a, b) => spanOf.get(a)! - spanOf.get(b)! || a.stageId - b.stageId || a.attemptId - b.attemptId);
  const index = new Map<StageAttempt, number>(ordered.map((s, i) => [s, i]));
  const latestAttemptBefore = new Map<number, StageAttempt>();
  const attemptsOf = new Map<number, StageAttempt[]>();
  for (const st of ran) {
    const list = attemptsOf.get(st.stageId);
    if (list) list.push(st);
    else attemptsOf.set(st.stageId, [st]);
  }
  const taskCpus = model.settings.taskCpus ?? 1;
  const stages: PlanStage[] = ordered.map((s, i) => {
    const parents: number[] = [];
    for (const pid of s.parentIds) {
      // The parent's last attempt that ran before this one.
      const cands = (attemptsOf.get(pid) ?? []).filter((p) => stageEnd.get(p)! <= stageStart.get(s)! + 1);
      const p = cands[cands.length - 1];
      if (p && index.has(p)) parents.push(index.get(p)!);
    }
    const prev = latestAttemptBefore.get(s.stageId);
    if (prev && index.has(prev)) parents.push(index.get(prev)!);
    latestAttemptBefore.set(s.stageId, s);
    const job = spanOf.get(s)!;
    const jobStart = spans[job]!.start;
    const ready = Math.max(jobStart, ...parents.map((p) => stageEnd.get(ordered[p]!)!));
    const submit = s.submissionTime ?? firstLaunch(s)!;
    const t = s.tasks;
    const n = t.count;
    const order = launchOrder(t.launchTime, n);
    // The columns the replay reads, in launch order: views of one buffer (durationMs, then retry,
    // isRetry and killsExecutor). The other task columns are picked when first read (pickedLazily).
    const buffer = new ArrayBuffer(n * (8 + 4 + 2));
    const durationMs = new Float64Array(buffer, 0, n);
    const retry = new Int32Array(buffer, 8 * n, n).fill(-1);
    const isRetry = new Uint8Array(buffer, 12 * n, n);
    // A failed task that ended when its executor was lost (not removed for idleness) took it down.
    const killsExecutor = new Uint8Array(buffer, 13 * n, n);
    let failed = 0;
    let failedOrKilled = 0;
    for (let pos = 0; pos < n; pos++) {
      const k = order[pos]!;
      durationMs[pos] = Math.max(0, t.finishTime[k]! - t.launchTime[k]!);
      const status = t.status[k]!;
      if (status === 2) failedOrKilled++;
      if (status !== 1) continue;
      failed++;
      failedOrKilled++;
      const ex = model.executors[t.executor[k]!];
      const lostAt = ex?.removedAt;
      killsExecutor[pos] = lostAt !== undefined && !IDLE_REMOVAL.test(ex?.removedReason ?? '') && Math.abs(lostAt - t.finishTime[k]!) <= 1000 ? 1 : 0;
    }
    // A task index launched again after an attempt of it failed is a retry of that attempt (none
    // when no attempt failed or was killed).
    if (failedOrKilled > 0) {
      const lastFailed = new Map<number, number>();
      for (let pos = 0; pos < n; pos++) {
        const k = order[pos]!;
        const idx = t.index[k]!;
        const prevPos = lastFailed.get(idx);
        if (prevPos !== undefined && retry[prevPos] === -1 && t.finishTime[order[prevPos]!]! <= t.launchTime[k]! + 1) {
          retry[prevPos] = pos;
          isRetry[pos] = 1;
          lastFailed.delete(idx);
        }
        if (t.status[k] === 1 || t.status[k] === 2) lastFailed.set(idx, pos);
      }
    }
    jobs[job]!.stages.push(i);
    const head = { stageId: s.stageId, attemptId: s.attemptId, priority: i, parents, job, submitDelayMs: Math.max(0, submit - ready), durationMs };
    return Object.assign(pickedLazily(head, t, order), { retry, isRetry, killsExecutor, failed });
  });

  const gaps = launchGaps(ran, model.executors.length);

  const props = model.sparkProperties;
  const executors: PlanExecutor[] = model.executors
    .filter((e) => e.id !== 'driver' || model.executors.length === 1)
    .map((e) => {
      const pe: PlanExecutor = {
        id: e.id,
        cores: e.cores,
        addedMs: Math.max(0, e.addedAt - start),
        lost: e.removedAt !== undefined && !IDLE_REMOVAL.test(e.removedReason ?? ''),
      };
      if (e.removedAt !== undefined) pe.removedMs = Math.max(0, e.removedAt - start);
      return pe;
    })
    .sort((a, b) => a.addedMs - b.addedMs);
  const slotCounts = new Map<number, number>();
  for (const e of executors) {
    const slots = Math.max(1, Math.floor(e.cores / taskCpus));
    slotCounts.set(slots, (slotCounts.get(slots) ?? 0) + 1);
  }
  const slotsPerExecutor = [...slotCounts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? Math.max(1, model.settings.executorCores ?? 1);
  const num = (k: string) => {
    const v = props[k];
    const n = v === undefined ? NaN : Number(v);
    return Number.isFinite(n) ? n : undefined;
  };
  const plan: ReplayPlan = {
    stages,
    jobs,
    groups,
    tailMs,
    driverMs: model.driverMs,
    observedMs: model.durationMs,
    executors,
    taskCount: stages.reduce((n, s) => n + s.durationMs.length, 0),
    taskLaunchGapMs: median(gaps) ?? 0,
    dynamicAllocation: model.settings.dynamicAllocation,
    idleTimeoutMs: parseSparkDurationMs(props['spark.dynamicAllocation.executorIdleTimeout']) ?? 60000,
    backlogTimeoutMs: parseSparkDurationMs(props['spark.dynamicAllocation.schedulerBacklogTimeout']) ?? 1000,
    local: /^local/.test(model.master ?? props['spark.master'] ?? '') && !/^local-cluster/.test(model.master ?? props['spark.master'] ?? ''),
    slotsPerExecutor,
    taskCpus,
    maxConcurrentExecutors: Math.max(1, model.maxConcurrentExecutors),
  };
  const init = num('spark.dynamicAllocation.initialExecutors') ?? model.settings.executorInstances;
  if (init !== undefined) plan.initialExecutors = init;
  if (model.settings.minExecutors !== undefined) plan.minExecutors = model.settings.minExecutors;
  if (model.settings.maxExecutors !== undefined) plan.maxExecutors = model.settings.maxExecutors;
  return plan;
}

/**
 * Launch gaps: on an executor that was busy, the time from one task's finish to the next launch
 * (under 1 s). Column-wise: tasks are bucketed by executor (counting sort) and each executor's
 * finishes sorted natively, so the cost is O(n log n) with no object per task.
 */
function launchGaps(ran: StageAttempt[], executorCount: number): Float64Array {
  // Executor -1 (unknown) and ids past the known executors get buckets too: bucket = executor + 1.
  let n = 0;
  let maxExec = executorCount - 1;
  for (const s of ran) {
    const executor = s.tasks.executor;
    n += s.tasks.count;
    for (let k = 0; k < s.tasks.count; k++) if (executor[k]! > maxExec) maxExec = executor[k]!;
  }
  const buckets = maxExec + 2;
  const start = new Int32Array(buckets + 1);
  for (const s of ran) {
    const executor = s.tasks.executor;
    for (let k = 0; k < s.tasks.count; k++) start[executor[k]! + 2]!++;
  }
  for (let b = 1; b <= buckets; b++) start[b]! += start[b - 1]!;
  const fill = start.slice(0, buckets);
  const launch = new Float64Array(n);
  const finish = new Float64Array(n);
  const queued = new Uint8Array(n);
  for (const s of ran) {
    const t = s.tasks;
    let first = Infinity;
    for (let k = 0; k < t.count; k++) first = Math.min(first, t.launchTime[k]!);
    for (let k = 0; k < t.count; k++) {
      const at = fill[t.executor[k]! + 1]!++;
      const l = t.launchTime[k]!;
      launch[at] = l;
      finish[at] = t.finishTime[k]!;
      // A task launched after its stage's first wave was waiting for a slot: its launch gap is overhead.
      queued[at] = l > first + 50 ? 1 : 0;
    }
  }
  const gaps = new Float64Array(n);
  let g = 0;
  for (let b = 0; b < buckets; b++) {
    const from = start[b]!;
    const to = start[b + 1]!;
    if (to === from) continue;
    const finishes = finish.slice(from, to).sort();
    for (let x = from; x < to; x++) {
      if (queued[x] === 0) continue;
      const l = launch[x]!;
      // The finish that freed the slot: the latest at or shortly after this launch (Spark's
      // timestamps for a finish and the next launch on the freed slot can be out of order by a few ms).
      let lo = 0;
      let hi = finishes.length - 1;
      let best = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (finishes[mid]! <= l + LAUNCH_SKEW_MS) {
          best = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      if (best >= 0 && finishes[best]! !== finish[x]!) {
        const gap = Math.max(0, l - finishes[best]!);
        if (gap < 1000) gaps[g++] = gap;
      }
    }
  }
  return gaps.subarray(0, g);
}
