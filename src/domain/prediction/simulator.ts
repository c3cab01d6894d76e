// The simulator: estimates an application's wall-clock time on a cluster as driver time plus the
// simulated job time. Executor start-up, dynamic-allocation ramps and executor losses are taken
// from the observed executor timeline; per-task scheduling overhead from the observed launch gaps;
// stage submission delays from the observed driver behaviour; failed task attempts are replayed.
import type { ApplicationModel } from '../eventlog/model.js';
import { runEngine } from './engine.js';
import type { EngineResult, Supply, TaskScaling } from './engine.js';
import { buildReplayPlan } from './plan.js';
import type { ReplayPlan } from './plan.js';

/** A cluster to simulate on, in Spark's terms. */
export type SimCluster = {
  /** Executors (the most alive at once; with dynamic allocation, its maximum). */
  executors: number;
  /** Cores per executor. */
  cores: number;
  /** How task times change on this hardware (omit: as observed). */
  scaling?: TaskScaling;
};

/** The estimate for one cluster. */
export type SimulationResult = {
  /** Driver time + simulated job time, ms. */
  estimatedMs: number;
  driverMs: number;
  jobMs: number;
  peakExecutors: number;
  /** Executor-ms alive during the simulated jobs (a utilisation measure). */
  executorMs: number;
};

/** Parameters the simulator derived from the log, reported so that nothing is hidden. */
export type SupplyParameters = {
  dynamic: boolean;
  local: boolean;
  startupOffsetsMs: number[];
  startupLatencyMs: number;
  idleTimeoutMs: number;
  backlogTimeoutMs: number;
  minExecutors: number;
  initialExecutors: number;
  taskOverheadMs: number;
};

/** Used only when a log shows no executor being added after a request (no latency to measure). */
export const DEFAULT_STARTUP_LATENCY_MS = 3000;

function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Observed job submission times (ms from application start) in the plan's own timeline. */
function observedJobStarts(plan: ReplayPlan): number[] {
  const starts: number[] = [];
  let t = 0;
  for (const g of plan.groups) {
    t += g.gapBeforeMs;
    for (const j of g.jobs) starts.push(t + plan.jobs[j]!.offsetMs);
    t += g.observedMs;
  }
  return starts.sort((a, b) => a - b);
}

/** Derives the executor supply parameters from the observed executor timeline. */
export function supplyParameters(plan: ReplayPlan): SupplyParameters {
  const execs = plan.executors;
  const jobStarts = observedJobStarts(plan);
  const firstJob = jobStarts[0] ?? Infinity;
  let startupOffsetsMs: number[];
  const latencies: number[] = [];
  let initialExecutors: number;
  if (plan.dynamicAllocation && !plan.local) {
    // The start-up ramp: executors acquired before the first removal and by the end of the first
    // job group arrive as observed; later ones are requested by demand, after the observed latency.
    const firstRemoval = Math.min(...execs.map((e) => e.removedMs ?? Infinity));
    const firstGroupEnd = (plan.groups[0]?.gapBeforeMs ?? 0) + (plan.groups[0]?.observedMs ?? 0);
    const cutoff = Math.min(firstRemoval, Math.max(firstGroupEnd, firstJob));
    const early = execs.filter((e) => e.addedMs <= cutoff).map((e) => e.addedMs);
    initialExecutors = early.length;
    startupOffsetsMs = early;
    for (const e of execs) {
      if (e.addedMs <= cutoff) continue;
      // Latency after the demand that caused it: the latest job submission or executor loss before it.
      let demand = -Infinity;
      for (const s of jobStarts) if (s <= e.addedMs) demand = s;
      for (const l of execs) if (l.lost && l.removedMs !== undefined && l.removedMs <= e.addedMs) demand = Math.max(demand, l.removedMs);
      if (Number.isFinite(demand)) latencies.push(e.addedMs - demand - plan.backlogTimeoutMs);
    }
  } else {
    // Static allocation: the executors present before the first loss are the requested set.
    const firstLoss = Math.min(...execs.filter((e) => e.lost).map((e) => e.removedMs ?? Infinity));
    const initial = execs.filter((e) => e.addedMs <= firstLoss);
    startupOffsetsMs = initial.map((e) => e.addedMs);
    initialExecutors = initial.length;
    for (const e of execs) {
      if (e.addedMs <= firstLoss) continue;
      let demand = -Infinity;
      for (const l of execs) if (l.lost && l.removedMs !== undefined && l.removedMs <= e.addedMs) demand = Math.max(demand, l.removedMs);
      if (Number.isFinite(demand)) latencies.push(e.addedMs - demand);
    }
  }
  if (startupOffsetsMs.length === 0) startupOffsetsMs = execs.length > 0 ? [execs[0]!.addedMs] : [0];
  return {
    dynamic: plan.dynamicAllocation && !plan.local,
    local: plan.local,
    startupOffsetsMs: startupOffsetsMs.sort((a, b) => a - b),
    startupLatencyMs: Math.max(0, median(latencies) ?? DEFAULT_STARTUP_LATENCY_MS),
    idleTimeoutMs: plan.idleTimeoutMs,
    backlogTimeoutMs: plan.backlogTimeoutMs,
    minExecutors: plan.minExecutors ?? 0,
    initialExecutors,
    taskOverheadMs: plan.taskLaunchGapMs,
  };
}

/** The most executors alive at once in the observed run. */
function observedPeak(plan: ReplayPlan): number {
  return plan.local ? 1 : plan.maxConcurrentExecutors;
}

/** The `i`-th of `n` arrival offsets drawn from the observed ones by quantile. */
function arrivalAt(offsets: number[], i: number, n: number): number {
  const k = Math.min(offsets.length - 1, Math.floor((i * offsets.length) / Math.max(1, n)));
  return offsets[k]!;
}

/** The executor supply for `cluster`, shaped like the observed one. */
export function supplyFor(plan: ReplayPlan, params: SupplyParameters, cluster: SimCluster): Supply {
  const slotsPerExecutor = Math.max(1, Math.floor(cluster.cores / plan.taskCpus));
  const executors = Math.max(1, Math.round(cluster.executors));
  if (params.local) {
    return { kind: 'fixed', executors: [{ arriveMs: params.startupOffsetsMs[0] ?? 0, slots: slotsPerExecutor * executors }] };
  }
  const initialCount = params.dynamic ? Math.min(executors, Math.max(1, Math.round((params.initialExecutors * executors) / Math.max(1, observedPeak(plan))))) : executors;
  const initialArrivalsMs = Array.from({ length: initialCount }, (_, i) => arrivalAt(params.startupOffsetsMs, i, initialCount));
  return {
    kind: 'managed',
    slotsPerExecutor,
    initialArrivalsMs,
    dynamic: params.dynamic,
    minExecutors: Math.min(params.minExecutors, executors),
    maxExecutors: executors,
    startupLatencyMs: params.startupLatencyMs,
    backlogTimeoutMs: params.backlogTimeoutMs,
    idleTimeoutMs: params.idleTimeoutMs,
  };
}

/** The configuration the application ran on: its peak executors and the usual executor width. */
export function observedCluster(plan: ReplayPlan): SimCluster {
  if (plan.local) return { executors: 1, cores: plan.slotsPerExecutor * plan.taskCpus };
  return { executors: plan.maxConcurrentExecutors, cores: plan.slotsPerExecutor * plan.taskCpus };
}

function toResult(plan: ReplayPlan, r: EngineResult): SimulationResult {
  const jobMs = r.groupMs.reduce((a, b) => a + b, 0);
  return { estimatedMs: plan.driverMs + jobMs, driverMs: plan.driverMs, jobMs, peakExecutors: r.peakExecutors, executorMs: r.executorMs };
}

/** Simulates a prepared plan on `cluster` (defaults to the observed configuration). */
export function simulatePlan(plan: ReplayPlan, cluster: SimCluster = observedCluster(plan), params: SupplyParameters = supplyParameters(plan)): SimulationResult {
  const options = cluster.scaling
    ? { taskOverheadMs: params.taskOverheadMs, stageDelays: true, scaling: cluster.scaling }
    : { taskOverheadMs: params.taskOverheadMs, stageDelays: true };
  return toResult(plan, runEngine(plan, supplyFor(plan, params, cluster), options));
}

/** Estimates the application's wall-clock time on `cluster` (default: as observed). */
export function simulate(model: ApplicationModel, cluster?: SimCluster): SimulationResult {
  const plan = buildReplayPlan(model);
  return simulatePlan(plan, cluster ?? observedCluster(plan));
}

/**
 * The known baseline (Sparklens-style): every slot present from the start, per-task times fixed,
 * jobs one after another, stages FIFO within a job, no start-up, submission or launch costs.
 */
export function simulateBaselinePlan(plan: ReplayPlan, cluster: SimCluster = observedCluster(plan)): SimulationResult {
  const slots = Math.max(1, Math.round(cluster.executors) * Math.max(1, Math.floor(cluster.cores / plan.taskCpus)));
  const free = new Float64Array(slots);
  // Slots as a binary min-heap by (free time, slot number): its top is the earliest free slot, the
  // lowest-numbered of those free earliest.
  const heap = new Int32Array(slots);
  const before = (a: number, b: number): boolean => free[a]! < free[b]! || (free[a] === free[b] && a < b);
  let jobMs = 0;
  for (const job of plan.jobs) {
    if (job.stages.length === 0) continue;
    free.fill(0);
    for (let i = 0; i < slots; i++) heap[i] = i;
    const done = new Map<number, number>();
    let end = 0;
    for (const s of [...job.stages].sort((a, b) => plan.stages[a]!.stageId - plan.stages[b]!.stageId || a - b)) {
      const st = plan.stages[s]!;
      let start = 0;
      for (const p of st.parents) start = Math.max(start, done.get(p) ?? 0);
      let finish = start;
      for (let k = 0; k < st.durationMs.length; k++) {
        const best = heap[0]!;
        const t = Math.max(free[best]!, start) + st.durationMs[k]!;
        free[best] = t;
        finish = Math.max(finish, t);
        // The slot is free later than before: sift it down.
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= slots) break;
          const c = l + 1 < slots && before(heap[l + 1]!, heap[l]!) ? l + 1 : l;
          if (!before(heap[c]!, best)) break;
          heap[i] = heap[c]!;
          i = c;
        }
        heap[i] = best;
      }
      done.set(s, finish);
      end = Math.max(end, finish);
    }
    jobMs += end;
  }
  return { estimatedMs: plan.driverMs + jobMs, driverMs: plan.driverMs, jobMs, peakExecutors: cluster.executors, executorMs: 0 };
}

/** The baseline estimate for a model (see simulateBaselinePlan). */
export function simulateBaseline(model: ApplicationModel, cluster?: SimCluster): SimulationResult {
  const plan = buildReplayPlan(model);
  return simulateBaselinePlan(plan, cluster ?? observedCluster(plan));
}
