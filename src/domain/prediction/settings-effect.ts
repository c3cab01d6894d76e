// What a Spark setting changes in the replay plan: spark.sql.shuffle.partitions changes the task
// count of the stages that read a shuffle in that many partitions (the work and the memory each task
// needs scale with its share of the data). Memory and GC effects are in TaskScaling (scaling.ts).
import type { TaskScaling } from './engine.js';
import type { PlanStage, ReplayPlan } from './plan.js';

/** Resamples `n` observed values to `m` tasks, each scaled by n/m (a task's share of the data). */
function resample(values: Float64Array, m: number): Float64Array {
  const n = values.length;
  const out = new Float64Array(m);
  const f = n / m;
  for (let k = 0; k < m; k++) out[k] = (values[Math.min(n - 1, Math.floor(k * f))] ?? 0) * f;
  return out;
}

/**
 * Task durations for `m` tasks: a part of each task's time does not shrink with its share of the data
 * (opening files, committing, scheduling); the stage's shortest task is taken as that part.
 */
function resampleDurations(values: Float64Array, m: number): Float64Array {
  let fixed = Infinity;
  for (const v of values) if (v < fixed) fixed = v;
  if (!Number.isFinite(fixed) || fixed < 0) fixed = 0;
  const scaled = resample(values.map((v) => v - fixed), m);
  return scaled.map((v) => v + fixed);
}

/** The stage with `m` tasks instead of its own (only stages without failed attempts are changed). */
function repartitionStage(st: PlanStage, m: number): PlanStage {
  return {
    ...st,
    durationMs: resampleDurations(st.durationMs, m),
    cpuMs: resample(st.cpuMs, m),
    gcMs: resample(st.gcMs, m),
    fetchWaitMs: resample(st.fetchWaitMs, m),
    spillBytes: resample(st.spillBytes, m),
    memorySpillBytes: resample(st.memorySpillBytes, m),
    peakMemoryBytes: resample(st.peakMemoryBytes, m),
    shuffleReadBytes: resample(st.shuffleReadBytes, m),
    remoteReadBytes: resample(st.remoteReadBytes, m),
    retry: new Int32Array(m).fill(-1),
    isRetry: new Uint8Array(m),
    killsExecutor: new Uint8Array(m),
    failed: 0,
  };
}

/**
 * The plan with spark.sql.shuffle.partitions changed from `from` to `to`: every stage that read a
 * shuffle in exactly `from` tasks (and had no failed attempt) runs `to` tasks, each doing `from/to`
 * of an observed task's work and needing that share of its memory. Per-task fixed costs are
 * scaled with it (a simplification: many tiny tasks are not charged their launch cost twice).
 */
export function withShufflePartitions(plan: ReplayPlan, from: number, to: number): ReplayPlan {
  if (from === to || to < 1) return plan;
  let changed = 0;
  const stages = plan.stages.map((st) => {
    if (st.durationMs.length !== from || st.failed > 0) return st;
    let read = 0;
    for (const b of st.shuffleReadBytes) read += b;
    if (read <= 0) return st;
    changed += to - from;
    return repartitionStage(st, to);
  });
  return changed === 0 ? plan : { ...plan, stages, taskCount: plan.taskCount + changed };
}

/**
 * What still spills under `scaling` (the simulator's rule in engine.ts): a task that spilled and whose
 * need does not fit the relief, or a task whose peak exceeds the candidate's memory.
 */
export function spillLeft(plan: ReplayPlan, scaling: Pick<TaskScaling, 'memoryPerTaskBytes' | 'spillReliefBytes'>): { tasks: number; memoryBytes: number } {
  let tasks = 0;
  let memoryBytes = 0;
  const relief = scaling.spillReliefBytes ?? 0;
  for (const st of plan.stages) {
    for (let k = 0; k < st.durationMs.length; k++) {
      const peak = st.peakMemoryBytes[k]!;
      const spilled = st.memorySpillBytes[k] ?? 0;
      const over = peak > scaling.memoryPerTaskBytes ? peak - scaling.memoryPerTaskBytes : 0;
      const kept = spilled > 0 && peak + spilled > relief ? spilled : 0;
      if (over + kept > 0) {
        tasks++;
        memoryBytes += over + kept;
      }
    }
  }
  return { tasks, memoryBytes };
}
