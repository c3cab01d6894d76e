import type { RunArchiveSummary } from './run-archive.js';

/** A tuning goal: fastest, cheapest, or the knee between them. */
import type { StoredStructure } from './plan-fingerprint.js';
export type Preference = 'performance' | 'balanced' | 'economy';
export const PREFERENCES: readonly Preference[] = ['performance', 'balanced', 'economy'];

export type PlatformName = 'emr' | 'databricks';

/** How much the agent may do on its own for a project (issue 5). */
export type ProjectMode = 'track' | 'recommend' | 'auto';

/**
 * The user's EMR RunJobFlow request, kept as plain JSON in the shape of the EMR API
 * (`Name`, `ReleaseLabel`, `Instances`, `Steps`, `Configurations`, `Tags`, ...).
 * Typed loosely on purpose: we must carry every field the user set, including ones we do not know.
 */
export type JobFlow = Record<string, unknown>;

/** Lifecycle of one run (one cluster). */
export type RunStatus =
  | 'starting' // run id reserved, RunJobFlow not yet confirmed
  | 'running' // the cluster exists
  | 'recording' // the cluster finished; waiting for the event log / writing the report
  | 'recorded' // the cluster report is written; the run can be used for predictions
  | 'failed' // the cluster failed or could not be started
  | 'cancelled'; // stopped on request (run.cancel): never a regression, never a prediction's basis

/** Why a step failed, as the platform says (EMR FailureDetails: Reason, Message, LogFile). */
export type StepFailure = { reason?: string; message?: string; logFile?: string };

/** One step (EMR step; Databricks task) of a run, with its state and timings (ISO times). */
export type RunStep = {
  id: string;
  name: string;
  /** Platform state: PENDING, CANCEL_PENDING, RUNNING, COMPLETED, CANCELLED, FAILED, INTERRUPTED. */
  state: string;
  createdAt?: string;
  startedAt?: string;
  endedAt?: string;
  failure?: StepFailure;
};

/** The failing step of a failed run: which step, why, and where its log is. */
export type RunFailure = StepFailure & { stepId: string; stepName: string };

/** What a finished run's event log is: closed by Spark, still `.inprogress` (never closed), or absent. */
export type EventLogState = 'complete' | 'unfinished' | 'missing';

export type Run = {
  id: string;
  projectId: string;
  status: RunStatus;
  /** `{location}/{projectId}/{UTC ts}/{runId}/` with a trailing slash. */
  location: string;
  createdAt: string;
  /** Key that made this run: the request's idempotencyKey, else its lifelong queue key (`job:<id>`, `job:<counter id>@<added ms>`). */
  requestKey: string;
  clusterId?: string;
  predictionId?: string;
  /** The final EMR state (TERMINATED, TERMINATED_WITH_ERRORS, WAITING, ...). */
  clusterState?: string;
  stateChangeReason?: string;
  startedAt?: string;
  endedAt?: string;
  recordedAt?: string;
  reportUrl?: string;
  /** The run's `eventlog/` folder, set when it holds a log predictions can read (complete or unfinished). */
  eventLogUrl?: string;
  /** Databricks: the cluster the run ran on (`clusterId` holds the Databricks run id, the run's platform handle). */
  databricksClusterId?: string;
  /** Databricks: the run's cost, VM and DBU apart (USD), and the DBUs it used. */
  costBreakdown?: { vmUsd: number; dbuUsd: number; dbus: number };
  /** Databricks: the final event log as last seen by run.record, to tell when log delivery is complete. */
  logDelivery?: { size: number; modified: string };
  /** What the event log was when the run was recorded, and why when it is not complete. */
  eventLog?: { status: EventLogState; reason?: string };
  /** Wall-clock runtime of the cluster (ready -> end) and estimated cost, once recorded. */
  runtimeSeconds?: number;
  costUsd?: number;
  /** With a prediction: the preference applied and the estimate it promised. */
  preference?: Preference;
  expected?: Estimate;
  /** With a prediction: how the run it was based on did (the prediction's basis), to judge a regression against. */
  baseline?: Estimate;
  /** The run as the engine measured it (application runtime and its cost), once a prediction was based on it. */
  observed?: Estimate;
  /** Digest of the steps and the ETags of the code they reference (the code-change guard). */
  fingerprint?: string;
  /** Why `fingerprint` is unknown (a code object could not be read when the run started). */
  fingerprintWarning?: string;
  /** Set when project.iterate judged this run a regression of the prediction it applied. */
  regressed?: string;
  /** True when the run was an exploration trial (tuning-policy chooseTrial). */
  trial?: boolean;
  /** Bytes the application read (from its event log, once a prediction was based on it). */
  inputBytes?: number;
  /** spark.executor.memory the run's request set, MB (run.start), and the highest executor heap its log shows (prediction.create). */
  executorMemoryMb?: number;
  peakHeapMb?: number;
  /** The application's structure from its log (prediction.create), see src/domain/plan-fingerprint.ts. */
  structure?: StoredStructure;
  /** Set when this run's structure differs from the run before it whose log was read: a new learning group starts here, and what changed in words. */
  planChange?: { since: string; changes: string[] };
  /** What the request said about this run's input (run.start's expectedInputBytes / inputLabel). */
  expectedInputBytes?: number;
  inputLabel?: string;
  /** The hardware the run had, from its cluster report (core/task capacity and the master). */
  cluster?: { instanceType?: string; nodes?: number; masterInstanceType?: string };
  error?: { code: string; message: string };
  /** Who cancelled the run, when and why, and whether its cluster was terminated (run.cancel). */
  cancelled?: { at: string; by: string; reason?: string; terminate: boolean };
  /** The run's steps as last seen (Step Status Change events, ListSteps on record), in submission order. */
  steps?: RunStep[];
  /** The first failed step's reason and log location, when a step failed. */
  failure?: RunFailure;
  /**
   * The attempt allowed to call RunJobFlow for this run, set by compare-and-set before the call. Only a
   * run whose claim predates the current attempt can have a cluster we do not know of. `endedAt`: EMR
   * refused the holder's RunJobFlow (throttled), so nothing is in flight; an aborted or unanswered call
   * sets nothing, since EMR may still carry it out.
   */
  launch?: { token: string; at: string; endedAt?: string };
  /** A pooled run (its project targets a cluster pool): the pool, and the steps it added to the pool's cluster (`clusterId`). */
  pool?: { poolId: string; stepIds?: string[] };
  /** Clusters another attempt of this run started as well; `terminated: false` when terminating one failed. */
  duplicateClusters?: { clusterId: string; terminated: boolean; error?: string }[];
};

export type Project = {
  id: string;
  name: string;
  platform: PlatformName;
  tenantId: string;
  /** The project's own run data location (s3:// or file://), when set on the project. */
  location?: string;
  preference?: Preference;
  autoApply?: boolean;
  mode?: ProjectMode;
  /** Guard rails of the tuning loop; every field optional (defaults in src/domain/tuning-policy.ts). */
  policy?: TuningPolicy;
  /** The user's base request, merged into every run. */
  jobFlow?: JobFlow;
  /** For platform 'databricks': the user's Jobs API 2.1 runs/submit body (one cluster), merged into every run. */
  job?: Record<string, unknown>;
  /** Databricks clusters/create body, for platform 'databricks'. */
  cluster?: Record<string, unknown>;
  /** For platform 'emr': the cluster pool (pool.create) whose clusters run this project's steps, instead of a cluster per run. */
  pool?: string;
  createdAt: string;
  updatedAt: string;
};

/** Guard rails of project.iterate. */
export type TuningPolicy = {
  /** A prediction is compelling when it saves at least this fraction of cost (of runtime for 'performance'). */
  compellingSaving?: number;
  /** A run that applied a prediction regressed when its runtime or cost exceeds the estimate by more than this fraction. */
  regressionTolerance?: number;
  /** Runtime ceiling (SLA) in seconds that no applied prediction may exceed. */
  maxRuntimeSeconds?: number;
  /** Spark property keys the agent never changes (e.g. spark.executor.memory): the user's value, or its absence, stays. */
  pinned?: string[];
  /** Exploration (mode auto): at most one trial configuration per this many runs (unset: no exploration). */
  exploreEvery?: number;
  /** A trial's estimate, widened by the project's observed error, may cost at most this fraction more than the current run (default 0.1). */
  maxTrialCostIncrease?: number;
  /** The job's input size and type, for a cold start (no run with an event log yet): see src/domain/cold-start.ts. */
  declaredInput?: { bytes: number; type: 'sql' | 'python' | 'ml' };
};

/** What the last project.iterate decided, and why (shown by `sync-agent projects show`). */
export type IterationRecord = {
  at: string;
  runId: string;
  decision: 'applied' | 'kept' | 'rolled-back' | 'held';
  reason: string;
  predictionId?: string;
  compelling?: boolean;
  saving?: number;
  /** True when the run started was an exploration trial. */
  trial?: boolean;
};

/** One document per project in the state store. */
export type ProjectState = {
  project: Project;
  /** Oldest first. */
  runs: Run[];
  /** Prediction ids, oldest first, with where they are stored. */
  predictions: { id: string; url: string; basisRunId?: string; createdAt: string }[];
  /** Request keys of finished requests -> their result, so a replay answers the same. */
  requests?: Record<string, { runId?: string; at: string }>;
  /** Warnings the project shows (e.g. a code change), and the tuning loop's decisions, newest last. */
  status?: { warnings: string[]; iterations: IterationRecord[] };
  /** Predicted vs actual runtime of the last runs that applied a prediction (src/domain/prediction-accuracy.ts). */
  accuracy?: AccuracySample[];
  /**
   * Runs moved out of this document to archive chunks beside it (src/domain/run-archive.ts): their
   * counts by status and error code. `runs` holds the recent ones (and those the tuning loop needs).
   */
  archive?: RunArchiveSummary;
};

/** One run's predicted vs actual runtime; `error` = (actual - predicted) / predicted. */
export type AccuracySample = {
  runId: string;
  predictionId: string;
  predictedSeconds: number;
  actualSeconds: number;
  error: number;
  /** 'engine': measured by the engine from the run's event log (comparable with the estimate); 'recorded': the cluster's wall clock. */
  actual: 'engine' | 'recorded';
};

/** An estimate for one configuration. */
export type Estimate = { runtimeSeconds: number; costUsd: number };

/** One recommended configuration. */
export type Solution = {
  /** A RunJobFlow fragment (at least `Instances`, plus `Configurations` when executor sizing changes). */
  configuration: JobFlow;
  estimate: Estimate;
  /** Where the estimate came from. */
  source: 'simulator' | 'history' | 'blend' | 'sync-api' | 'cold-start';
  /** What changed against the basis run and why, in a sentence or two. */
  explanation: string;
  /** True when nothing beat the current cluster by the margin: the configuration is the current one. */
  keep?: boolean;
  /** The Spark settings this configuration writes, each with the evidence from the event log. */
  settings?: { key: string; value: string; evidence: string }[];
  /** True for a cold-start configuration (src/domain/cold-start.ts): a guess from the declared input, with no estimate (`estimate` is zero). */
  guess?: true;
  /** The evidence for this recommendation in words: the cluster shape's first, then one sentence per Spark setting. */
  evidence?: string[];
  /** Databricks: the estimate's cost, VM and DBU apart (USD), and the DBUs it would use. */
  costBreakdown?: { vmUsd: number; dbuUsd: number; dbus: number };
  /** True when the cluster shape (instance type and node count) is the basis run's: only Spark settings change. */
  sameCluster?: true;
};

/** A prediction as stored at `{location}/{projectId}/predictions/{predictionId}.json`. */
export type Prediction = {
  predictionId: string;
  projectId: string;
  basisRunId: string;
  createdAt: string;
  solutions: Record<Preference, Solution>;
  basis: Estimate;
  /** How many candidate configurations were evaluated. */
  candidates?: number;
  /** A sample of the evaluated candidates (at most a few hundred), for the dashboard's runtime-vs-cost plot. */
  points?: { label: string; runtimeSeconds: number; costUsd: number }[];
  warnings?: string[];
  /** The basis run's structure (SQL plan skeletons, stage DAG shape): runs of one structure learn together. */
  basisStructure?: StoredStructure;
  /** Bytes the basis run's application read (from its event log). */
  basisInputBytes?: number;
  /** The highest JVM heap any executor of the basis run reached, MB (when its log has executor metrics). */
  basisPeakHeapMb?: number;
  /** Spark settings considered and left as they were (pinned, or no evidence to change them), with why. */
  unchangedSettings?: { key: string; value: string; evidence: string }[];
  /** Set when the project had no run with an event log: every solution is the cold-start table's guess for the declared input. */
  coldStart?: { guess: true; inputBytes: number; type: 'sql' | 'python' | 'ml'; explanation: string };
};
