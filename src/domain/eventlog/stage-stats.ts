// Per-stage aggregates over the task table: totals, task-duration quantiles and skew.
import type { ApplicationModel, StageAttempt } from './model.js';

/** What one stage attempt did, summed over its tasks. */
export type StageStats = {
  stageId: number;
  attemptId: number;
  name: string;
  tasks: number;
  failedTasks: number;
  /** Wall time of the attempt (completion - submission, else its tasks' span). */
  wallMs: number;
  /** Sum of task durations (finish - launch). */
  taskTimeMs: number;
  executorRunTimeMs: number;
  executorCpuTimeMs: number;
  gcTimeMs: number;
  inputBytes: number;
  outputBytes: number;
  shuffleReadBytes: number;
  shuffleWriteBytes: number;
  shuffleFetchWaitMs: number;
  memorySpillBytes: number;
  diskSpillBytes: number;
  peakExecutionMemoryBytes: number;
  medianTaskMs: number;
  p95TaskMs: number;
  maxTaskMs: number;
  /** Longest task over the median task (1 = even; 0 when the stage ran no finished task). */
  skew: number;
};

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const pos = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[pos] ?? 0;
}

/** Aggregates one stage attempt's tasks. */
export function stageStats(s: StageAttempt): StageStats {
  const t = s.tasks;
  const durations = new Float64Array(t.count);
  let finished = 0;
  // Sums in locals (cheaper than properties while this runs unoptimised), added in task order.
  let first = Infinity;
  let last = -Infinity;
  let failedTasks = 0;
  let taskTimeMs = 0;
  let executorRunTimeMs = 0;
  let executorCpuTimeMs = 0;
  let gcTimeMs = 0;
  let inputBytes = 0;
  let outputBytes = 0;
  let shuffleReadBytes = 0;
  let shuffleWriteBytes = 0;
  let shuffleFetchWaitMs = 0;
  let memorySpillBytes = 0;
  let diskSpillBytes = 0;
  let peakExecutionMemoryBytes = 0;
  for (let i = 0; i < t.count; i++) {
    const launch = t.launchTime[i] ?? 0;
    const finish = t.finishTime[i] ?? 0;
    if (t.status[i] === 1) failedTasks++;
    if (launch > 0 && launch < first) first = launch;
    if (finish > last) last = finish;
    if (finish > 0 && launch > 0 && finish >= launch) {
      durations[finished++] = finish - launch;
      taskTimeMs += finish - launch;
    }
    executorRunTimeMs += t.executorRunTimeMs[i] ?? 0;
    executorCpuTimeMs += t.executorCpuTimeMs[i] ?? 0;
    gcTimeMs += t.gcTimeMs[i] ?? 0;
    inputBytes += t.inputBytes[i] ?? 0;
    outputBytes += t.outputBytes[i] ?? 0;
    shuffleReadBytes += t.shuffleReadBytes[i] ?? 0;
    shuffleWriteBytes += t.shuffleWriteBytes[i] ?? 0;
    shuffleFetchWaitMs += t.shuffleFetchWaitMs[i] ?? 0;
    memorySpillBytes += t.memorySpillBytes[i] ?? 0;
    diskSpillBytes += t.diskSpillBytes[i] ?? 0;
    peakExecutionMemoryBytes = Math.max(peakExecutionMemoryBytes, t.peakExecutionMemoryBytes[i] ?? 0);
  }
  let wallMs = 0;
  if (s.submissionTime !== undefined && s.completionTime !== undefined) wallMs = Math.max(0, s.completionTime - s.submissionTime);
  else if (last > first) wallMs = last - first;
  const sorted = durations.subarray(0, finished).sort();
  const medianTaskMs = quantile(sorted, 0.5);
  const maxTaskMs = sorted.length > 0 ? (sorted[sorted.length - 1] ?? 0) : 0;
  return {
    stageId: s.stageId,
    attemptId: s.attemptId,
    name: s.name,
    tasks: t.count,
    failedTasks,
    wallMs,
    taskTimeMs,
    executorRunTimeMs,
    executorCpuTimeMs,
    gcTimeMs,
    inputBytes,
    outputBytes,
    shuffleReadBytes,
    shuffleWriteBytes,
    shuffleFetchWaitMs,
    memorySpillBytes,
    diskSpillBytes,
    peakExecutionMemoryBytes,
    medianTaskMs,
    p95TaskMs: quantile(sorted, 0.95),
    maxTaskMs,
    skew: sorted.length === 0 ? 0 : maxTaskMs / Math.max(1, medianTaskMs),
  };
}

/** Stats of every stage attempt that ran (skipped stages left out), in model order. */
export function allStageStats(m: ApplicationModel): StageStats[] {
  return m.stages.filter((s) => !s.skipped).map(stageStats);
}
