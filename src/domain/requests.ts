import type { DatabricksJob } from './databricks-job.js';
import type { EventLogState, JobFlow, PlatformName, Preference, ProjectMode, TuningPolicy } from './types.js';

/** Names of the requests the agent answers (see schema/requests.schema.json). */
export type RequestName = 'project.create' | 'project.update' | 'run.start' | 'run.record' | 'prediction.create' | 'prediction.apply' | 'project.iterate';

/** Every request name, in the order of the design's table. */
export const REQUEST_NAMES: readonly RequestName[] = ['project.create', 'project.update', 'run.start', 'run.record', 'prediction.create', 'prediction.apply', 'project.iterate'];

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

export type RunStartData = { projectId: string; jobFlow?: JobFlow; job?: DatabricksJob; predictionId?: string; preference?: Preference };

/** At least one of clusterId / runId is present. */
export type RunRecordData = { projectId?: string; clusterId?: string; runId?: string };

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
};

/** A validated request envelope; `name` narrows `data`. */
export type ValidRequest = {
  [N in RequestName]: { name: N; data: RequestDataMap[N]; id?: string; idempotencyKey?: string };
}[RequestName];

/**
 * Result of run.start (and prediction.apply). `clusterId` is the run's platform handle: the EMR cluster id,
 * or for Databricks the run id as a string (also given as the number `databricksRunId`; the Databricks
 * cluster id is known once the run is recorded, in databricks-cluster-report.json).
 */
export type RunStartResult = { runId: string; clusterId: string; location: string; databricksRunId?: number; warnings?: string[] };

/** Result of run.record; `eventLog` is what the run's event log was, `warnings` says why when it is not complete. */
export type RunRecordResult = { runId: string; status: 'recorded' | 'failed'; reportUrl?: string; eventLog?: EventLogState; warnings?: string[] };
