// Databricks Jobs API 2.1 runs/submit bodies: validation (one cluster per project), the planner that adds
// what the agent needs (tags, log delivery, idempotency token) and the merge of a prediction's cluster fragment.
import { SyncError } from './errors.js';
import { shortHash } from './ids.js';
import { isSyncTagKey, syncTags } from './tags.js';

/** A Jobs API 2.1 runs/submit body, kept as plain JSON so every field the user set survives. */
export type DatabricksJob = Record<string, unknown>;

/** The cloud a workspace runs on. */
export type DatabricksCloud = 'aws' | 'azure';

/** The task kinds a project's tasks may use (each task has exactly one). */
export const DATABRICKS_TASK_KINDS = ['spark_python_task', 'spark_jar_task', 'notebook_task', 'python_wheel_task', 'spark_submit_task'] as const;

/** Where the job's one cluster is declared: a `job_clusters[]` entry, or the single task's `new_cluster`. */
export type ClusterRef = { kind: 'job_cluster'; index: number; key: string } | { kind: 'task'; index: number };

/** A prediction's Databricks cluster fragment (the fields a recommendation may change). */
export type DatabricksClusterFragment = {
  node_type_id?: string;
  driver_node_type_id?: string;
  num_workers?: number;
  autoscale?: { min_workers: number; max_workers: number };
  spark_conf?: Record<string, string>;
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An 'invalid_request' whose details name the field (`path`) and what is wrong with it (`problem`). */
function invalid(path: string, problem: string): SyncError {
  return new SyncError('invalid_request', `${path} ${problem}`, { details: { path, problem } });
}

/**
 * Checks that `job` is a runs/submit body whose tasks all run on one new cluster (given as
 * `job_clusters[]` + `job_cluster_key`, or as the `new_cluster` of a job's only task) and says where that
 * cluster is. Throws SyncError 'invalid_request' naming the field: no tasks, a task without `task_key` or
 * with zero or several task kinds, duplicate keys, `existing_cluster_id` (the agent must start the cluster
 * to tune it), an unknown `job_cluster_key`, or two different clusters in one job.
 */
export function checkDatabricksJob(job: unknown, path = 'job'): ClusterRef {
  if (!isObject(job)) throw invalid(path, `must be an object (a Jobs API 2.1 runs/submit body)`);
  const tasks = job.tasks;
  if (!Array.isArray(tasks) || tasks.length === 0) throw invalid(`${path}.tasks`, `must be a non-empty array of tasks`);
  const jobClusters = job.job_clusters === undefined ? [] : job.job_clusters;
  if (!Array.isArray(jobClusters)) throw invalid(`${path}.job_clusters`, `must be an array`);
  const clusterKeys = new Map<string, number>();
  jobClusters.forEach((c, i) => {
    if (!isObject(c) || typeof c.job_cluster_key !== 'string' || c.job_cluster_key === '') throw invalid(`${path}.job_clusters[${i}]`, `must have a string job_cluster_key`);
    if (!isObject(c.new_cluster)) throw invalid(`${path}.job_clusters[${i}].new_cluster`, `must be an object`);
    if (clusterKeys.has(c.job_cluster_key)) throw invalid(`${path}.job_clusters[${i}].job_cluster_key`, `'${c.job_cluster_key}' is used twice`);
    clusterKeys.set(c.job_cluster_key, i);
  });
  const taskKeys = new Set<string>();
  // Each entry: a description of the cluster a task runs on, for the "two clusters" message.
  const clusters: { task: number; ref: ClusterRef; label: string }[] = [];
  tasks.forEach((t, i) => {
    const at = `${path}.tasks[${i}]`;
    if (!isObject(t)) throw invalid(at, `must be an object`);
    if (typeof t.task_key !== 'string' || t.task_key === '') throw invalid(`${at}.task_key`, `must be a non-empty string`);
    if (taskKeys.has(t.task_key)) throw invalid(`${at}.task_key`, `'${t.task_key}' is used twice`);
    taskKeys.add(t.task_key);
    const kinds = DATABRICKS_TASK_KINDS.filter((k) => t[k] !== undefined);
    if (kinds.length !== 1) {
      throw invalid(at, `must have exactly one of ${DATABRICKS_TASK_KINDS.join(', ')}${kinds.length > 1 ? ` (it has ${kinds.join(' and ')})` : ''}`);
    }
    if (!isObject(t[kinds[0]!])) throw invalid(`${at}.${kinds[0]!}`, `must be an object`);
    if (t.existing_cluster_id !== undefined) {
      throw invalid(`${at}.existing_cluster_id`, `is not supported: the agent tunes the cluster it starts, so give new_cluster or job_cluster_key`);
    }
    const hasNew = t.new_cluster !== undefined;
    const hasKey = t.job_cluster_key !== undefined;
    if (hasNew === hasKey) throw invalid(at, `must have exactly one of new_cluster and job_cluster_key`);
    if (hasNew) {
      if (!isObject(t.new_cluster)) throw invalid(`${at}.new_cluster`, `must be an object`);
      clusters.push({ task: i, ref: { kind: 'task', index: i }, label: `its own new_cluster` });
    } else {
      const key = t.job_cluster_key;
      if (typeof key !== 'string') throw invalid(`${at}.job_cluster_key`, `must be a string`);
      const index = clusterKeys.get(key);
      if (index === undefined) throw invalid(`${at}.job_cluster_key`, `'${key}' names no entry of ${path}.job_clusters`);
      if (!clusters.some((c) => c.ref.kind === 'job_cluster' && c.ref.key === key)) {
        clusters.push({ task: i, ref: { kind: 'job_cluster', index, key }, label: `job cluster '${key}'` });
      }
    }
  });
  if (clusters.length > 1) {
    const [a, b] = clusters as [(typeof clusters)[0], (typeof clusters)[0]];
    throw invalid(
      `${path}.tasks[${b.task}]`,
      `runs on ${b.label} but ${path}.tasks[${a.task}] on ${a.label}: a project is one cluster, so put every task on one job cluster (job_clusters[] + job_cluster_key)`,
    );
  }
  return clusters[0]!.ref;
}

/** The job's one cluster spec (`new_cluster`), as stored in the job (not a copy). */
export function jobClusterOf(job: DatabricksJob): Record<string, unknown> {
  const ref = checkDatabricksJob(job);
  return clusterAt(job, ref);
}

function clusterAt(job: DatabricksJob, ref: ClusterRef): Record<string, unknown> {
  const holder = ref.kind === 'job_cluster' ? (job.job_clusters as Record<string, unknown>[])[ref.index]! : (job.tasks as Record<string, unknown>[])[ref.index]!;
  return holder.new_cluster as Record<string, unknown>;
}

/** Databricks' idempotency_token for a run (at most 64 characters): one run id, one Databricks run. */
export function databricksIdempotencyToken(runId: string): string {
  const token = `sync-${runId}`;
  return token.length <= 64 ? token : `sync-${shortHash(runId, 59)}`;
}

/** `<run>/cluster-logs`: where cluster log delivery writes the run's logs (Databricks adds `/{cluster_id}/`). */
export function clusterLogDestination(runUrl: string): string {
  return `${runUrl.endsWith('/') ? runUrl : `${runUrl}/`}cluster-logs`;
}

/**
 * The cluster_log_conf for a run directory: `s3` (with its region) for `s3://`, `volumes` for
 * `/Volumes/...` (or `dbfs:/Volumes/...`), `dbfs` for `dbfs:/...`. Throws 'invalid_config' for a location
 * Databricks cannot deliver logs to (file://, or s3:// from an Azure workspace).
 */
export function clusterLogConf(runUrl: string, cloud: DatabricksCloud, region: string | undefined): Record<string, unknown> {
  const destination = clusterLogDestination(runUrl);
  if (destination.startsWith('s3://')) {
    if (cloud !== 'aws') throw new SyncError('invalid_config', `an Azure Databricks workspace cannot deliver cluster logs to ${destination}: use a dbfs:/ or /Volumes/ project location`);
    if (!region) throw new SyncError('invalid_config', `cluster log delivery to ${destination} needs the bucket's region (site.aws.region)`);
    return { s3: { destination, region } };
  }
  if (destination.startsWith('/Volumes/')) return { volumes: { destination } };
  if (destination.startsWith('dbfs:/Volumes/')) return { volumes: { destination: destination.slice('dbfs:'.length) } };
  if (destination.startsWith('dbfs:/')) return { dbfs: { destination } };
  throw new SyncError('invalid_config', `Databricks cannot deliver cluster logs to ${destination}: a Databricks project's location must be s3://, dbfs:/ or /Volumes/`);
}

/** What planRunsSubmit needs. */
export type PlanRunsSubmitInput = {
  /** The project's job (or a run.start request's), a runs/submit body. */
  job: DatabricksJob;
  project: { id: string; name: string };
  runId: string;
  /** The run directory, with a trailing slash. */
  runUrl: string;
  tenantId: string;
  cloud: DatabricksCloud;
  /** The AWS region of an s3:// log destination. */
  region?: string | undefined;
  predictionId?: string | undefined;
};

/** The exact runs/submit body, plus what was overridden in the user's job (one sentence each). */
export type PlannedRunsSubmit = { body: DatabricksJob; warnings: string[] };

/**
 * Makes a run's runs/submit body: the user's job with every field kept, plus `idempotency_token` (from the
 * run id), a default `run_name`, the `sync:*` tags added to the cluster's `custom_tags`, and
 * `cluster_log_conf` pointing at `<run>/cluster-logs`. A user's own token, `sync:*` tags or log
 * conf are replaced and reported in `warnings`. Pure; throws like checkDatabricksJob and clusterLogConf.
 */
export function planRunsSubmit(input: PlanRunsSubmitInput): PlannedRunsSubmit {
  const ref = checkDatabricksJob(input.job);
  const body: DatabricksJob = structuredClone(input.job);
  const warnings: string[] = [];
  const token = databricksIdempotencyToken(input.runId);
  if (body.idempotency_token !== undefined && body.idempotency_token !== token) {
    warnings.push(`idempotency_token '${String(body.idempotency_token)}' was replaced by '${token}': the agent derives it from the run id`);
  }
  body.idempotency_token = token;
  if (typeof body.run_name !== 'string' || body.run_name === '') body.run_name = input.project.name;

  const cluster = clusterAt(body, ref);
  const userTags = cluster.custom_tags === undefined ? {} : cluster.custom_tags;
  if (!isObject(userTags)) throw invalid('the cluster\'s custom_tags', 'must be an object of string values');
  const ours = new Map(syncTags({ tenantId: input.tenantId, projectId: input.project.id, runId: input.runId, predictionId: input.predictionId }).map((t) => [t.Key, t.Value]));
  const tags: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(userTags)) {
    if (!isSyncTagKey(k)) {
      tags[k] = v;
      continue;
    }
    const value = ours.get(k);
    if (value === undefined) {
      warnings.push(`custom tag ${k}='${String(v)}' was removed: the agent owns the sync: tag namespace`);
      continue;
    }
    if (v !== value) warnings.push(`custom tag ${k}='${String(v)}' was replaced by '${value}'`);
    tags[k] = value;
  }
  for (const [k, v] of ours) tags[k] = v;
  cluster.custom_tags = tags;

  const logConf = clusterLogConf(input.runUrl, input.cloud, input.region);
  if (cluster.cluster_log_conf !== undefined && JSON.stringify(cluster.cluster_log_conf) !== JSON.stringify(logConf)) {
    warnings.push(`cluster_log_conf ${JSON.stringify(cluster.cluster_log_conf)} was replaced by ${JSON.stringify(logConf)} so the run's event log is kept`);
  }
  cluster.cluster_log_conf = logConf;
  return { body, warnings };
}

/**
 * Merges a prediction's cluster fragment into the job's one cluster and keeps everything else: the node
 * types replace the user's (and drop instance pools, which would override them), `num_workers` and
 * `autoscale` replace each other, and `spark_conf` keys override the user's in place (others kept), but
 * never a key in `pinned` (the project's policy.pinned).
 */
export function mergeDatabricksJob(job: DatabricksJob, fragment: DatabricksClusterFragment, pinned: readonly string[] = []): DatabricksJob {
  const ref = checkDatabricksJob(job);
  const out: DatabricksJob = structuredClone(job);
  const cluster = clusterAt(out, ref);
  if (fragment.node_type_id !== undefined) {
    cluster.node_type_id = fragment.node_type_id;
    delete cluster.instance_pool_id;
    if (fragment.driver_node_type_id === undefined && cluster.driver_instance_pool_id !== undefined) {
      delete cluster.driver_instance_pool_id;
      if (cluster.driver_node_type_id === undefined) cluster.driver_node_type_id = fragment.node_type_id;
    }
  }
  if (fragment.driver_node_type_id !== undefined) {
    cluster.driver_node_type_id = fragment.driver_node_type_id;
    delete cluster.driver_instance_pool_id;
  }
  if (fragment.num_workers !== undefined) {
    cluster.num_workers = fragment.num_workers;
    delete cluster.autoscale;
  } else if (fragment.autoscale !== undefined) {
    cluster.autoscale = { ...fragment.autoscale };
    delete cluster.num_workers;
  }
  if (fragment.spark_conf !== undefined) {
    // Keys the project pinned (policy.pinned) keep the user's value, or stay unset.
    const recommended = Object.fromEntries(Object.entries(fragment.spark_conf).filter(([k]) => !pinned.includes(k)));
    cluster.spark_conf = { ...(isObject(cluster.spark_conf) ? cluster.spark_conf : {}), ...recommended };
  }
  return out;
}

/** The worker shape of a cluster spec: node types and worker count (`autoscale.max_workers` when it autoscales). */
export function clusterShape(cluster: Record<string, unknown>): { nodeType?: string; driverNodeType?: string; workers: number; autoscale?: { min: number; max: number } } {
  const out: { nodeType?: string; driverNodeType?: string; workers: number; autoscale?: { min: number; max: number } } = { workers: 0 };
  if (typeof cluster.node_type_id === 'string') out.nodeType = cluster.node_type_id;
  const driver = typeof cluster.driver_node_type_id === 'string' ? cluster.driver_node_type_id : out.nodeType;
  if (driver !== undefined) out.driverNodeType = driver;
  if (typeof cluster.num_workers === 'number') out.workers = cluster.num_workers;
  const a = cluster.autoscale;
  if (isObject(a) && typeof a.max_workers === 'number') {
    const min = typeof a.min_workers === 'number' ? a.min_workers : a.max_workers;
    out.autoscale = { min, max: a.max_workers };
    out.workers = a.max_workers;
  }
  return out;
}

/** The cloud of a workspace host: `*.azuredatabricks.net` is Azure; everything else AWS. */
export function cloudOfHost(host: string): DatabricksCloud {
  let hostname: string;
  try {
    hostname = new URL(host).hostname;
  } catch {
    throw new SyncError('invalid_config', `site.databricks.host '${host}' is not a URL`);
  }
  return /(^|\.)azuredatabricks\.net$/i.test(hostname) ? 'azure' : 'aws';
}
