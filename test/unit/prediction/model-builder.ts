// Hand-built ApplicationModels for simulator tests: a compact description in, a full model out.
import type { ApplicationModel, StageAttempt, TaskTable } from '../../../src/domain/eventlog/model.js';

/** One task: executor index, launch and finish (ms from application start), status (0 ok, 1 failed). */
export type TaskSpec = { exec: number; launch: number; finish: number; status?: number; index?: number; cpuMs?: number; gcMs?: number };
export type StageSpec = { id: number; attempt?: number; job: number; parents?: number[]; submit: number; tasks: TaskSpec[] };
export type JobSpec = { id: number; submit: number; complete: number; stages: number[] };
export type ExecSpec = { cores: number; added: number; removed?: number; reason?: string };

const T0 = 1_700_000_000_000;

function table(tasks: TaskSpec[]): TaskTable {
  const n = tasks.length;
  const f = (g: (t: TaskSpec, i: number) => number) => Float64Array.from(tasks, g);
  const z = () => new Float64Array(n);
  return {
    count: n,
    index: Int32Array.from(tasks, (t, i) => t.index ?? i),
    launchTime: f((t) => T0 + t.launch),
    finishTime: f((t) => T0 + t.finish),
    executor: Int32Array.from(tasks, (t) => t.exec),
    status: Uint8Array.from(tasks, (t) => t.status ?? 0),
    speculative: new Uint8Array(n),
    executorRunTimeMs: f((t) => t.finish - t.launch),
    executorCpuTimeMs: f((t) => t.cpuMs ?? 0),
    executorDeserializeTimeMs: z(),
    resultSerializationTimeMs: z(),
    gettingResultTimeMs: z(),
    schedulerDelayMs: z(),
    gcTimeMs: f((t) => t.gcMs ?? 0),
    inputBytes: z(),
    outputBytes: z(),
    shuffleReadBytes: z(),
    shuffleRemoteReadBytes: z(),
    shuffleFetchWaitMs: z(),
    shuffleWriteBytes: z(),
    shuffleWriteTimeMs: z(),
    memorySpillBytes: z(),
    diskSpillBytes: z(),
    peakExecutionMemoryBytes: z(),
  };
}

/** Builds a model; durationMs = end, driverMs/jobMs from the merged job intervals. */
export function buildModel(spec: {
  end: number;
  executors: ExecSpec[];
  jobs: JobSpec[];
  stages: StageSpec[];
  dynamic?: boolean;
  master?: string;
  props?: Record<string, string>;
}): ApplicationModel {
  const stages: StageAttempt[] = spec.stages.map((s) => {
    const last = Math.max(s.submit, ...s.tasks.map((t) => t.finish));
    return {
      stageId: s.id,
      attemptId: s.attempt ?? 0,
      name: `stage ${s.id}`,
      numTasks: s.tasks.length,
      parentIds: s.parents ?? [],
      jobIds: [s.job],
      submissionTime: T0 + s.submit,
      completionTime: T0 + last,
      skipped: false,
      resourceProfileId: 0,
      tasks: table(s.tasks),
    };
  });
  const intervals = spec.jobs.map((j) => [j.submit, j.complete] as const).sort((a, b) => a[0] - b[0]);
  let jobMs = 0;
  let curS = -1;
  let curE = -1;
  for (const [s, e] of intervals) {
    if (s > curE) {
      if (curE >= 0) jobMs += curE - curS;
      curS = s;
      curE = e;
    } else curE = Math.max(curE, e);
  }
  if (curE >= 0) jobMs += curE - curS;
  let alive = 0;
  let peak = 0;
  const events = spec.executors.flatMap((e) => [[e.added, 1], ...(e.removed !== undefined ? [[e.removed, -1]] : [])] as [number, number][]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  for (const [, d] of events) peak = Math.max(peak, (alive += d));
  return {
    appId: 'app-test',
    appName: 'test',
    master: spec.master ?? 'yarn',
    startTime: T0,
    endTime: T0 + spec.end,
    durationMs: spec.end,
    driverMs: spec.end - jobMs,
    jobMs,
    executors: spec.executors.map((e, i) => ({
      id: String(i + 1),
      host: `h${i}`,
      cores: e.cores,
      addedAt: T0 + e.added,
      ...(e.removed !== undefined ? { removedAt: T0 + e.removed, removedReason: e.reason ?? 'Executor killed by driver.' } : {}),
      resourceProfileId: 0,
    })),
    maxConcurrentExecutors: peak,
    resourceProfiles: [],
    jobs: spec.jobs.map((j) => ({ id: j.id, submissionTime: T0 + j.submit, completionTime: T0 + j.complete, stageIds: j.stages, result: 'succeeded' as const })),
    stages,
    sql: [],
    settings: { dynamicAllocation: spec.dynamic ?? false },
    sparkProperties: { 'spark.master': spec.master ?? 'yarn', ...spec.props },
    taskFailures: [],
    complete: true,
    warnings: [],
  };
}

/** `n` tasks of `ms` each, packed as they would run on `slots` executors x 1 core from `start`. */
export function packedTasks(n: number, ms: number, slots: number, start: number): TaskSpec[] {
  return Array.from({ length: n }, (_, i) => {
    const wave = Math.floor(i / slots);
    return { exec: i % slots, launch: start + wave * ms, finish: start + (wave + 1) * ms };
  });
}
