// The narrow ports handlers see. Adapters in src/adapters implement them; tests use in-memory fakes.
import type { StoredStructure } from './plan-fingerprint.js';
import type { InstanceSpec } from './prediction/catalog.js';
import type { RunArchiveChunk } from './run-archive.js';
import type { JobFlow, Prediction, ProjectState, RunStep } from './types.js';
import type { PoolState } from './pools.js';

/** Pass-through cancellation for every I/O call. */
export type CallOptions = { signal?: AbortSignal };

export type ObjectInfo = {
  /** Full URL, e.g. `s3://bucket/key` or `file:///abs/path`. */
  url: string;
  size: number;
  /** Opaque version tag used for conditional writes (S3 ETag with quotes, or a file digest). */
  etag: string;
  lastModified: Date;
};

export type PutOptions = CallOptions & {
  contentType?: string;
  /** Write only if the current object has this etag (else SyncError 'conflict'). */
  ifMatch?: string;
  /** `'*'`: write only if no object exists (else SyncError 'conflict'). */
  ifNoneMatch?: '*';
};

/**
 * Object storage addressed by URL (`s3://bucket/key`, `file:///path`). Keys ending in `/` are
 * "directory" marker objects. Missing objects are SyncError 'not_found'.
 */
export type ObjectStore = {
  head(url: string, options?: CallOptions): Promise<ObjectInfo | undefined>;
  get(url: string, options?: CallOptions): Promise<{ body: Buffer; info: ObjectInfo }>;
  /** Streams the object's bytes without buffering it whole. */
  stream(url: string, options?: CallOptions): AsyncIterable<Uint8Array>;
  put(url: string, body: string | Uint8Array, options?: PutOptions): Promise<ObjectInfo>;
  /** Every object whose URL starts with `prefix`, in key order, across all pages. */
  list(prefix: string, options?: CallOptions): AsyncIterable<ObjectInfo>;
  delete(url: string, options?: CallOptions): Promise<void>;
};

/** A cluster as the handlers need it, whatever the platform. */
export type ClusterInfo = {
  id: string;
  /** EMR states: STARTING, BOOTSTRAPPING, RUNNING, WAITING, TERMINATING, TERMINATED, TERMINATED_WITH_ERRORS. */
  state: string;
  stateChangeReason?: { code?: string; message?: string };
  tags: Record<string, string>;
  createdAt?: Date;
  readyAt?: Date;
  endedAt?: Date;
  /** True for auto-terminating clusters (no KeepJobFlowAliveWhenNoSteps). */
  autoTerminate?: boolean;
  /** Where the platform uploads the cluster's logs (EMR LogUri), when it does. */
  logUri?: string;
  /** Databricks: the cluster the run runs on (runs/get cluster_instance.cluster_id), once it has one; `id` is the run id. */
  databricksClusterId?: string;
};

/** What run.record saves as `emr-cluster-report.json`. */
export type ClusterReport = {
  Cluster: Record<string, unknown>;
  Instances: Record<string, unknown>[];
  /** Instance groups or fleets, by the cluster's InstanceCollectionType. */
  InstanceGroups?: Record<string, unknown>[];
  InstanceFleets?: Record<string, unknown>[];
  /** EC2 DescribeInstanceTypes entries for the cluster's types (vCPU, memory), when the recorder added them. */
  InstanceTypes?: Record<string, unknown>[];
  Steps: Record<string, unknown>[];
  BootstrapActions: Record<string, unknown>[];
  Region: string;
};

/** What findClusterByTag looks for: all of `tags` (e.g. run id and tenant id), created at or after `createdAfter`; `name` narrows the search to clusters of that name. */
export type ClusterQuery = { tags: Readonly<Record<string, string>>; createdAfter: Date; name?: string };

/** The compute platform (EMR; Databricks later). */
export type Platform = {
  readonly name: 'emr' | 'databricks';
  readonly region: string;
  startCluster(request: JobFlow, options?: CallOptions): Promise<{ clusterId: string }>;
  /** The newest cluster carrying every tag of `query.tags`, created at or after `query.createdAfter` (and named `query.name`, when given), if any. */
  findClusterByTag(query: ClusterQuery, options?: CallOptions): Promise<ClusterInfo | undefined>;
  describeCluster(clusterId: string, options?: CallOptions): Promise<ClusterInfo>;
  /** Ids and states of the clusters in `states` created after `createdAfter` (one paged listing, no describes). */
  listClusters?(filter: { states: readonly string[]; createdAfter: Date }, options?: CallOptions): Promise<{ id: string; state: string }[]>;
  clusterReport(clusterId: string, options?: CallOptions): Promise<ClusterReport>;
  terminateCluster(clusterId: string, options?: CallOptions): Promise<void>;
  /** Cancels the run's pending and running steps (EMR CancelSteps) and, with `terminate`, ends the cluster. Absent: the platform cannot. */
  cancelRun?(clusterId: string, opts: { terminate: boolean; stepIds?: readonly string[] }, options?: CallOptions): Promise<{ cancelledSteps: string[] }>;
  /**
   * Adds steps to a running or waiting cluster (EMR AddJobFlowSteps), once: never retried on an
   * ambiguous failure, since a retry could add them twice (the caller looks them up by name instead).
   */
  /** How many steps of the cluster are PENDING or RUNNING (EMR ListSteps with a state filter). */
  countActiveSteps?(clusterId: string, options?: CallOptions): Promise<number>;
  addSteps?(clusterId: string, steps: readonly Record<string, unknown>[], options?: CallOptions): Promise<{ stepIds: string[] }>;
  /** The steps (EMR steps; Databricks tasks) of a cluster's run, oldest first, with state, timings and failure details. Absent: the platform cannot list them. */
  listSteps?(clusterId: string, options?: CallOptions): Promise<RunStep[]>;
};

/** What run.record writes for a Databricks run as `databricks-cluster-report.json`. */
export type DatabricksClusterReport = {
  Cluster: Record<string, unknown>;
  ClusterEvents: Record<string, unknown>[];
  Run: Record<string, unknown>;
  Cloud: 'aws' | 'azure';
  Region: string;
};

/** The Databricks platform: a run's handle is its Databricks run id; plus the report run.record writes. */
export type DatabricksPlatformPort = Platform & {
  readonly cloud: 'aws' | 'azure';
  databricksReport(runId: string, options?: CallOptions): Promise<DatabricksClusterReport>;
};

/** A project document with the version it was read at. */
export type Versioned<T> = { value: T; version: string };

/**
 * Tenant state: one document per project. `put` with `expectedVersion` writes only if nobody
 * wrote since (else SyncError 'conflict'); `expectedVersion: null` writes only if absent.
 */
export type StateStore = {
  get(projectId: string, options?: CallOptions): Promise<Versioned<ProjectState> | undefined>;
  put(projectId: string, state: ProjectState, expectedVersion: string | null, options?: CallOptions): Promise<string>;
  list(options?: CallOptions): Promise<string[]>;
  /**
   * The runs moved out of a project's document (it is kept bounded, see run-archive.ts), chunk by
   * chunk, oldest first; the document's own runs are newer.
   */
  archivedRuns?(projectId: string, options?: CallOptions): AsyncIterable<RunArchiveChunk>;
};

/** Cluster pools' documents, versioned like project documents (`expectedVersion: null`: create only). */
export type PoolStore = {
  get(poolId: string, options?: CallOptions): Promise<Versioned<PoolState> | undefined>;
  put(poolId: string, state: PoolState, expectedVersion: string | null, options?: CallOptions): Promise<string>;
  list(options?: CallOptions): Promise<string[]>;
};

export type Clock = {
  now(): Date;
  /** Waits `ms` on this clock (default: a timer); rejects when `signal` aborts. Fakes move time instead. */
  sleep?(ms: number, signal?: AbortSignal): Promise<void>;
};

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/** Structured logger; fields are redacted of secrets before they are written. */
export type Logger = {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
};

/** What a prediction backend gets: the basis run's data plus the project's history. */
export type PredictionInput = {
  projectId: string;
  basisRunId: string;
  /** URL of the basis run's event log directory or file (s3:// or file://). */
  eventLogUrl: string;
  report: ClusterReport;
  /** Earlier recorded runs of the project (for learning a scaling curve), oldest first. */
  history: { runId: string; instanceType: string; nodes: number; runtimeSeconds: number; structure?: string }[];
  /** The structure of the latest earlier run whose log was read (to say what changed). */
  previousStructure?: { runId: string; structure: StoredStructure };
  predictionId: string;
  createdAt: Date;
  /** A recommendation must beat the basis run by this fraction on its axis (the project's policy.compellingSaving). */
  margin?: number;
  /** Spark keys the project pinned (policy.pinned): never written into a solution. */
  pinned?: string[];
  /** The project's executor memory floor (tuning-policy memoryGuard), MB. */
  memoryFloorMb?: number;
  /** Only these instance types are candidates (a Databricks workspace offers its own node types). */
  include?: readonly string[];
  /** Instance specs the engine's catalog lacks (Azure Databricks node types), added to it for this prediction. */
  instances?: readonly InstanceSpec[];
  /** A pooled project: the cluster is this shape and stays so; recommend Spark settings within it (pool-shape.ts). */
  fixedShape?: { instanceType: string; nodes: number };
};

/** Turns a recorded run into per-preference recommendations ('local' engine or Sync's API). */
export type PredictionBackend = {
  readonly name: 'local' | 'sync-api';
  predict(input: PredictionInput, options?: CallOptions): Promise<Prediction>;
};
