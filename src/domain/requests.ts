import type { DatabricksJob } from './databricks-job.js';
import type { EventLogState, RunStatus, JobFlow, PlatformName, Preference, ProjectMode, RunFailure, RunStep, TuningPolicy } from './types.js';

/** Names of the requests the agent answers (see schema/requests.schema.json). */
export type RequestName = 'project.create' | 'project.update' | 'run.start' | 'run.record' | 'prediction.create' | 'prediction.apply' | 'project.iterate' | 'run.step' | 'run.logs' | 'run.cancel' | 'pool.create' | 'pool.resize' | 'pool.delete';

/** Every request name, in the order of the design's table. */
export const REQUEST_NAMES: readonly RequestName[] = ['project.create', 'project.update', 'run.start', 'run.record', 'prediction.create', 'prediction.apply', 'project.iterate', 'run.step', 'run.logs', 'run.cancel', 'pool.create', 'pool.resize', 'pool.delete'];

export type ProjectCreateData = {
  projectId?: string;
  name: string;
  platform: PlatformName;
  jobFlow?: JobFlow;
  /** For platform 'databricks': a Jobs API 2.1 runs/submit body on one cluster. */
  job?: DatabricksJob;
  cluster?: Record<string, unknown>;
  location?: string;
  preference?: Preference;
  autoApply?: boolean;
  mode?: ProjectMode;
  policy?: TuningPolicy;
  /** For platform 'emr': run this project's steps on the clusters of this pool (pool.create). */
  pool?: string;
};

/** Fields to change on a project; `null` removes an optional field. */
export type ProjectUpdateData = {
  projectId: string;
  name?: string;
  jobFlow?: JobFlow | null;
  job?: DatabricksJob | null;
  cluster?: Record<string, unknown> | null;
  location?: string | null;
  preference?: Preference | null;
  autoApply?: boolean | null;
  mode?: ProjectMode | null;
  policy?: TuningPolicy | null;
};

export type RunStartData = {
  projectId: string;
  jobFlow?: JobFlow;
  job?: DatabricksJob;
  predictionId?: string;
  preference?: Preference;
  /** The input this run is expected to read: without a predictionId, the configuration learnt for that volume band is used. */
  expectedInputBytes?: number;
  /** A label for the input (e.g. 'month-end'): without a predictionId, the configuration learnt for that label is used. */
  inputLabel?: string;
};

/** At least one of clusterId / runId is present. */
export type RunRecordData = { projectId?: string; clusterId?: string; runId?: string };

/** A step of the run on `clusterId` changed; `runId` narrows the lookup (else the run with that cluster). */
export type RunStepData = { projectId: string; clusterId: string; runId?: string; stepId?: string };

/** A slice of one step's log: `offset` in decompressed bytes (default 0), `stream` default stdout, `stepId` default the latest step that started. */
export type RunLogsData = { projectId: string; runId: string; stepId?: string; stream?: 'stdout' | 'stderr' | 'controller'; offset?: number; maxBytes?: number };

/** Cancel a run: its steps, and its cluster unless `terminate: false`; `by`/`reason` are recorded on the run. */
export type RunCancelData = { projectId: string; runId: string; terminate?: boolean; by?: string; reason?: string };

export type PredictionCreateData = { projectId: string; runId?: string; preference?: Preference };

export type PredictionApplyData = { projectId: string; predictionId?: string; preference?: Preference };

export type ProjectIterateData = { projectId: string; preference?: Preference };

/** The data type of each request name. */
export type RequestDataMap = {
  'project.create': ProjectCreateData;
  'project.update': ProjectUpdateData;
  'run.start': RunStartData;
  'run.record': RunRecordData;
  'prediction.create': PredictionCreateData;
  'prediction.apply': PredictionApplyData;
  'project.iterate': ProjectIterateData;
  'run.step': RunStepData;
  'run.logs': RunLogsData;
  'run.cancel': RunCancelData;
  'pool.create': PoolCreateData;
  'pool.resize': PoolResizeData;
  'pool.delete': PoolDeleteData;
};

/** Keep `size` long-lived clusters of `jobFlow` (an EMR RunJobFlow request) for pooled projects. */
export type PoolCreateData = { poolId: string; size: number; jobFlow: JobFlow };
/** Grow (new clusters) or shrink (the newest clusters drain, then terminate) a pool. */
export type PoolResizeData = { poolId: string; size: number };
/** Drain a pool (no new placements; clusters terminate once their steps end). */
export type PoolDeleteData = { poolId: string };
/** Result of pool.create / pool.resize / pool.delete: the pool's status and clusters after it. */
export type PoolResult = { poolId: string; status: string; size: number; clusters: { id: string; slot: number; status: string; activeSteps: number }[] };

/** A validated request envelope; `name` narrows `data`. */
export type ValidRequest = {
  [N in RequestName]: { name: N; data: RequestDataMap[N]; id?: string; idempotencyKey?: string };
}[RequestName];

/**
 * Result of run.start (and prediction.apply) for EMR: `clusterId` is the EMR cluster id. A Databricks
 * project answers DatabricksRunStartResult instead (src/handlers/databricks-run.ts): `clusterId` is the job
 * cluster's cluster_id only when runs/get names it, and the run's handle is the number `databricksRunId`.
 */
export type RunStartResult = { runId: string; clusterId: string; location: string; databricksRunId?: number; warnings?: string[] };

/** Result of run.record; `failure`: the failing step's reason and log location; `eventLog` is what the run's event log was, `warnings` says why when it is not complete. */
export type RunRecordResult = { runId: string; status: 'recorded' | 'failed' | 'cancelled'; reportUrl?: string; eventLog?: EventLogState; warnings?: string[]; failure?: RunFailure; cost?: RunCost };

/** Databricks: what a recorded run cost, VM and DBU apart (USD), and the DBUs it used. */
export type RunCost = { totalUsd: number; vmUsd: number; dbuUsd: number; dbus: number };

/** Result of run.step: the run's steps as now kept, and its failure when a step failed. */
export type RunStepResult = { runId: string; steps: RunStep[]; failure?: RunFailure };

/** Result of run.logs: `text` is the log from `offset` to `nextOffset` (bytes); `done` once the step ended and nothing is left. */
export type RunLogsResult = { runId: string; stepId: string; stepState: string; stream: 'stdout' | 'stderr' | 'controller'; url: string; offset: number; nextOffset: number; text: string; done: boolean };

/** Result of run.cancel: the run's status after it (cancelled, or recorded/failed when it had already ended). */
export type RunCancelResult = { runId: string; status: RunStatus; clusterId?: string; databricksRunId?: number; cancelled?: { at: string; by: string; reason?: string; terminate: boolean }; cancelledSteps?: string[] };
