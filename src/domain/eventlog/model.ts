// The application model built from a Spark event log: what the prediction engine, the simulator and
// `sync-agent analyze` read. Times are epoch milliseconds unless a name says otherwise.
// Owned by the event-log reader; fields may be added, none removed or renamed.

/** Per-task metrics of one stage attempt, column-wise (one typed array per metric) to stay compact. */
export type TaskTable = {
  count: number;
  /** Task index within the stage (Spark's "Index"). */
  index: Int32Array;
  launchTime: Float64Array;
  finishTime: Float64Array;
  /** Index into ApplicationModel.executors, -1 when unknown (e.g. driver in local mode). */
  executor: Int32Array;
  /** 0 success, 1 failed, 2 killed, 3 unknown/unfinished. */
  status: Uint8Array;
  speculative: Uint8Array;
  executorRunTimeMs: Float64Array;
  executorCpuTimeMs: Float64Array;
  executorDeserializeTimeMs: Float64Array;
  resultSerializationTimeMs: Float64Array;
  gettingResultTimeMs: Float64Array;
  schedulerDelayMs: Float64Array;
  gcTimeMs: Float64Array;
  inputBytes: Float64Array;
  outputBytes: Float64Array;
  shuffleReadBytes: Float64Array;
  shuffleRemoteReadBytes: Float64Array;
  shuffleFetchWaitMs: Float64Array;
  shuffleWriteBytes: Float64Array;
  shuffleWriteTimeMs: Float64Array;
  memorySpillBytes: Float64Array;
  diskSpillBytes: Float64Array;
  peakExecutionMemoryBytes: Float64Array;
};

export type TaskFailure = { stageId: number; attempt: number; index: number; reason: string; executorId?: string };

export type StageAttempt = {
  stageId: number;
  attemptId: number;
  name: string;
  numTasks: number;
  parentIds: number[];
  /** Jobs this stage belongs to. */
  jobIds: number[];
  submissionTime?: number;
  completionTime?: number;
  failureReason?: string;
  /** True when the stage was listed by a job but never ran (skipped, its output reused). */
  skipped: boolean;
  resourceProfileId: number;
  tasks: TaskTable;
};

export type Job = {
  id: number;
  submissionTime?: number;
  completionTime?: number;
  stageIds: number[];
  result: 'succeeded' | 'failed' | 'unknown';
  sqlExecutionId?: number;
};

export type SqlExecution = {
  id: number;
  description: string;
  startTime?: number;
  endTime?: number;
  /** The physical plan's operator tree with literals, paths, names and ids removed (see plan-skeleton.ts). */
  planSkeleton?: string[];
};

export type Executor = {
  id: string;
  host: string;
  cores: number;
  addedAt: number;
  removedAt?: number;
  removedReason?: string;
  resourceProfileId: number;
  /** Storage memory the block manager reported, bytes (when known). */
  maxMemoryBytes?: number;
  /** Peak memory the executor reported (SparkListenerStageExecutorMetrics), when the log has it. */
  peakMemory?: ExecutorPeakMemory;
};

/** Peaks of an executor's memory metrics over the application, bytes (0 when never reported). */
export type ExecutorPeakMemory = {
  jvmHeapBytes: number;
  jvmOffHeapBytes: number;
  /** Resident memory of the executor's Python workers (ProcessTreePythonRSSMemory; needs process-tree metrics). */
  pythonRssBytes: number;
  /** Resident memory of the JVM process (ProcessTreeJVMRSSMemory). */
  jvmRssBytes: number;
};

export type ResourceProfile = {
  id: number;
  executorCores?: number;
  executorMemoryMb?: number;
  executorMemoryOverheadMb?: number;
  taskCpus?: number;
};

/** The Spark settings that matter for sizing, parsed from the environment (all optional). */
export type SparkSettings = {
  executorCores?: number;
  executorMemoryMb?: number;
  executorMemoryOverheadMb?: number;
  executorInstances?: number;
  driverMemoryMb?: number;
  dynamicAllocation: boolean;
  minExecutors?: number;
  maxExecutors?: number;
  shufflePartitions?: number;
  adaptiveEnabled?: boolean;
  taskCpus?: number;
};

export type ApplicationModel = {
  appId: string;
  appName: string;
  attemptId?: string;
  sparkVersion?: string;
  master?: string;
  user?: string;
  startTime: number;
  endTime: number;
  durationMs: number;
  /** Time no job was running (driver-only), and time at least one job ran (overlaps merged). */
  driverMs: number;
  jobMs: number;
  executors: Executor[];
  /** Most executors alive at once. */
  maxConcurrentExecutors: number;
  resourceProfiles: ResourceProfile[];
  jobs: Job[];
  /** Every stage attempt, ordered by (stageId, attemptId). */
  stages: StageAttempt[];
  sql: SqlExecution[];
  settings: SparkSettings;
  /** Spark properties as logged (values of keys that look secret are replaced by "*********"). */
  sparkProperties: Record<string, string>;
  taskFailures: TaskFailure[];
  /** Whether the log says the application ended (ApplicationEnd seen / appstatus not in progress). */
  complete: boolean;
  /** Things the reader tolerated (a cut-off last line, unknown events, missing LogStart, ...). */
  warnings: string[];
};
