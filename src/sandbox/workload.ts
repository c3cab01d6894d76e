// A Spark application's work, detached from the cluster it ran on: what the sandbox replays on the
// cluster a RunJobFlow asks for. Pure: built from an ApplicationModel, plain JSON in and out.
import { SyncError } from '../domain/errors.js';
import type { ApplicationModel, StageAttempt } from '../domain/eventlog/model.js';

/** Points of every per-task distribution: quantiles at q = i / (QUANTILES - 1). */
export const WORKLOAD_QUANTILES = 21;

/** One stage's work. Per-task work is in core-seconds at the workload's reference CPU speed. */
export type WorkloadStage = {
  id: number;
  name: string;
  /** Parent stages that run in the same job (the others were computed earlier or skipped). */
  parents: number[];
  tasks: number;
  /** Quantiles (WORKLOAD_QUANTILES points, ascending) of one task's run time, core-seconds. */
  taskSeconds: number[];
  /** Share of run time that was CPU (executorCpuTime / executorRunTime over the stage), 0..1. */
  cpuFraction: number;
  /** Stage totals, bytes. */
  inputBytes: number;
  outputBytes: number;
  shuffleReadBytes: number;
  shuffleWriteBytes: number;
  /** Share of shuffle bytes fetched from other executors on the observed cluster, 0..1. */
  remoteShuffleFraction: number;
  /** Execution memory a typical heavy task wanted (p90 of peak execution memory + memory spilled), bytes. */
  taskMemoryBytes: number;
};

/** One job: the driver-only pause before it, then its stages (ids, in submission order). */
export type WorkloadJob = { id: number; gapBeforeSeconds: number; stages: number[] };

/** The hardware the workload was observed on, for reference when replaying it. */
export type ObservedHardware = {
  master: string;
  executors: number;
  executorCores: number;
  executorMemoryMb?: number;
  totalCores: number;
};

/** A compact, JSON-serializable description of a Spark application, independent of its cluster. */
export type Workload = {
  format: 'sync-sandbox-workload/1';
  name: string;
  appName: string;
  /** Where it came from (file, commit, scaling) - free text. */
  provenance: string;
  /** CoreMark per vCPU of the CPU the work is expressed in. */
  referenceCoremarkPerVcpu: number;
  observed: ObservedHardware;
  /** Driver-only time from application start to the first job, and from the last job to the end. */
  driverStartSeconds: number;
  driverEndSeconds: number;
  jobs: WorkloadJob[];
  stages: WorkloadStage[];
};

/** CoreMark per vCPU of an m5.xlarge (59119 / 4): the default assumption for the observed CPU. */
export const DEFAULT_REFERENCE_COREMARK_PER_VCPU = 14780;

export type ExtractOptions = {
  name?: string;
  provenance?: string;
  /** CoreMark per vCPU of the machines the log was recorded on, when known. */
  referenceCoremarkPerVcpu?: number;
};

function quantiles(values: number[], points = WORKLOAD_QUANTILES): number[] {
  if (values.length === 0) return new Array<number>(points).fill(0);
  const s = [...values].sort((a, b) => a - b);
  const out: number[] = [];
  for (let i = 0; i < points; i++) {
    const pos = (i / (points - 1)) * (s.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(s.length - 1, lo + 1);
    out.push(round3(s[lo]! + (s[hi]! - s[lo]!) * (pos - lo)));
  }
  return out;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Value at quantile `q` (0..1) of a quantile table, linearly interpolated. */
export function quantileAt(table: number[], q: number): number {
  if (table.length === 0) return 0;
  const pos = Math.min(1, Math.max(0, q)) * (table.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(table.length - 1, lo + 1);
  return table[lo]! + (table[hi]! - table[lo]!) * (pos - lo);
}

/** Mean of the distribution a quantile table describes (trapezoids between the points). */
export function quantileMean(table: number[]): number {
  if (table.length < 2) return table[0] ?? 0;
  let sum = 0;
  for (let i = 1; i < table.length; i++) sum += (table[i - 1]! + table[i]!) / 2;
  return sum / (table.length - 1);
}

/**
 * Extracts the workload of a recorded application: successful task attempts only (the work that
 * had to be done), every stage under the first job that ran it, jobs in submission order and run
 * one after another, driver-only gaps as observed.
 */
export function extractWorkload(model: ApplicationModel, options: ExtractOptions = {}): Workload {
  const byStage = new Map<number, StageAttempt[]>();
  for (const s of model.stages) {
    if (s.skipped || s.tasks.count === 0) continue;
    const list = byStage.get(s.stageId) ?? [];
    list.push(s);
    byStage.set(s.stageId, list);
  }
  const jobs = [...model.jobs].filter((j) => j.submissionTime !== undefined).sort((a, b) => a.submissionTime! - b.submissionTime! || a.id - b.id);
  const stageJob = new Map<number, number>();
  for (const j of jobs) for (const sid of j.stageIds) if (byStage.has(sid) && !stageJob.has(sid)) stageJob.set(sid, j.id);

  const stages: WorkloadStage[] = [];
  for (const [stageId, attempts] of [...byStage.entries()].sort((a, b) => a[0] - b[0])) {
    if (!stageJob.has(stageId)) continue;
    const jobId = stageJob.get(stageId)!;
    const run: number[] = [];
    let runSum = 0, cpuSum = 0, input = 0, output = 0, shR = 0, shRemote = 0, shW = 0;
    const mem: number[] = [];
    for (const a of attempts) {
      const t = a.tasks;
      for (let i = 0; i < t.count; i++) {
        if (t.status[i] !== 0) continue;
        const r = t.executorRunTimeMs[i]! / 1000;
        run.push(r);
        runSum += r;
        cpuSum += Math.min(t.executorCpuTimeMs[i]! / 1000, r);
        input += t.inputBytes[i]!;
        output += t.outputBytes[i]!;
        shR += t.shuffleReadBytes[i]!;
        shRemote += t.shuffleRemoteReadBytes[i]!;
        shW += t.shuffleWriteBytes[i]!;
        mem.push(t.peakExecutionMemoryBytes[i]! + t.memorySpillBytes[i]!);
      }
    }
    if (run.length === 0) continue;
    const first = attempts[0]!;
    const parents = first.parentIds.filter((p) => stageJob.get(p) === jobId && byStage.has(p));
    stages.push({
      id: stageId,
      name: first.name,
      parents,
      tasks: run.length,
      taskSeconds: quantiles(run),
      cpuFraction: runSum > 0 ? round3(cpuSum / runSum) : 0.5,
      inputBytes: input,
      outputBytes: output,
      shuffleReadBytes: shR,
      shuffleWriteBytes: shW,
      remoteShuffleFraction: shR > 0 ? round3(shRemote / shR) : 0,
      taskMemoryBytes: Math.round(quantileAt(quantiles(mem), 0.9)),
    });
  }
  const kept = new Set(stages.map((s) => s.id));

  const outJobs: WorkloadJob[] = [];
  let prevEnd = model.startTime;
  let firstStart: number | undefined;
  for (const j of jobs) {
    const ids = j.stageIds.filter((sid) => kept.has(sid) && stageJob.get(sid) === j.id).sort((a, b) => a - b);
    if (ids.length === 0) continue;
    const start = j.submissionTime!;
    firstStart ??= start;
    const gap = outJobs.length === 0 ? 0 : Math.max(0, start - prevEnd) / 1000;
    outJobs.push({ id: j.id, gapBeforeSeconds: round3(gap), stages: ids });
    prevEnd = Math.max(prevEnd, j.completionTime ?? start);
  }

  const cores = model.executors.map((e) => e.cores).filter((c) => c > 0);
  const executorCores = model.settings.executorCores ?? (cores.length > 0 ? Math.max(...cores) : 1);
  const observed: ObservedHardware = {
    master: model.master ?? 'unknown',
    executors: model.maxConcurrentExecutors,
    executorCores,
    totalCores: model.maxConcurrentExecutors * executorCores,
  };
  const mem = model.settings.executorMemoryMb ?? model.settings.driverMemoryMb;
  if (mem !== undefined) observed.executorMemoryMb = mem;

  return {
    format: 'sync-sandbox-workload/1',
    name: options.name ?? model.appName,
    appName: model.appName,
    provenance: options.provenance ?? `extracted from the event log of ${model.appId}`,
    referenceCoremarkPerVcpu: options.referenceCoremarkPerVcpu ?? DEFAULT_REFERENCE_COREMARK_PER_VCPU,
    observed,
    driverStartSeconds: round3(Math.max(0, (firstStart ?? model.endTime) - model.startTime) / 1000),
    driverEndSeconds: round3(Math.max(0, model.endTime - prevEnd) / 1000),
    jobs: outJobs,
    stages,
  };
}

/**
 * A bigger (or smaller) version of a workload: `taskWork` multiplies every task's time and bytes
 * (longer tasks over more data), `tasks` multiplies the number of tasks per stage (more partitions).
 */
export function scaleWorkload(w: Workload, factors: { taskWork?: number; tasks?: number }): Workload {
  const work = factors.taskWork ?? 1;
  const tasks = factors.tasks ?? 1;
  if (!(work > 0) || !(tasks > 0)) throw new SyncError('invalid_request', `scaleWorkload: factors must be positive, got taskWork=${work} tasks=${tasks}`);
  const bytes = work * tasks;
  return {
    ...w,
    provenance: `${w.provenance}; scaled x${work} task work, x${tasks} tasks`,
    jobs: w.jobs.map((j) => ({ ...j, stages: [...j.stages] })),
    stages: w.stages.map((s) => ({
      ...s,
      parents: [...s.parents],
      tasks: Math.max(1, Math.round(s.tasks * tasks)),
      taskSeconds: s.taskSeconds.map((x) => round3(x * work)),
      inputBytes: Math.round(s.inputBytes * bytes),
      outputBytes: Math.round(s.outputBytes * bytes),
      shuffleReadBytes: Math.round(s.shuffleReadBytes * bytes),
      shuffleWriteBytes: Math.round(s.shuffleWriteBytes * bytes),
    })),
  };
}

/** Checks a parsed JSON value is a workload (shape only) and returns it typed. */
export function parseWorkload(value: unknown, where = 'workload'): Workload {
  const w = value as Partial<Workload> | null;
  if (!w || typeof w !== 'object' || w.format !== 'sync-sandbox-workload/1') throw new SyncError('corrupt_data', `${where}: not a sync-sandbox-workload/1 document`);
  if (!Array.isArray(w.jobs) || !Array.isArray(w.stages) || typeof w.name !== 'string') throw new SyncError('corrupt_data', `${where}: jobs, stages and name are required`);
  const ids = new Set(w.stages.map((s) => s.id));
  for (const j of w.jobs) for (const sid of j.stages) if (!ids.has(sid)) throw new SyncError('corrupt_data', `${where}: job ${j.id} lists unknown stage ${sid}`);
  for (const s of w.stages) {
    if (!Array.isArray(s.taskSeconds) || s.taskSeconds.length < 2 || !(s.tasks >= 1)) throw new SyncError('corrupt_data', `${where}: stage ${s.id} needs tasks >= 1 and a taskSeconds table`);
  }
  return w as Workload;
}
