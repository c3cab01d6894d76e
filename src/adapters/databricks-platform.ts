// The Platform port over Databricks Jobs: a run's platform handle is its Databricks run id (as a string);
// "starting a cluster" is POST /api/2.1/jobs/runs/submit (idempotent by its idempotency_token), describing
// it is runs/get, and the report is clusters/get + every page of clusters/events + runs/get.
import { SyncError } from '../domain/errors.js';
import type { CallOptions, ClusterInfo, ClusterQuery, ClusterReport, DatabricksClusterReport, DatabricksPlatformPort } from '../domain/ports.js';
import type { DatabricksCloud } from '../domain/databricks-job.js';
import type { DatabricksClient } from './databricks-client.js';

/** Life-cycle states after which Databricks will not change a run again. */
export const FINAL_LIFE_CYCLE_STATES: readonly string[] = ['TERMINATED', 'SKIPPED', 'INTERNAL_ERROR'];


type RunState = { life_cycle_state?: string; result_state?: string; state_message?: string };
type RunJson = {
  run_id?: number;
  state?: RunState;
  start_time?: number;
  end_time?: number;
  setup_duration?: number;
  cluster_instance?: { cluster_id?: string };
  job_clusters?: { new_cluster?: { custom_tags?: Record<string, string> } }[];
  tasks?: { task_key?: string; state?: RunState; new_cluster?: { custom_tags?: Record<string, string> }; cluster_instance?: { cluster_id?: string } }[];
};

/** The custom tags of a run's cluster spec (from runs/get or runs/list). */
export function runTags(run: RunJson): Record<string, string> {
  const spec = run.job_clusters?.find((c) => c.new_cluster)?.new_cluster ?? run.tasks?.find((t) => t.new_cluster)?.new_cluster;
  return { ...(spec?.custom_tags ?? {}) };
}

/** The Databricks cluster id of a run, once it has one. */
export function runClusterId(run: RunJson): string | undefined {
  return run.cluster_instance?.cluster_id ?? run.tasks?.find((t) => t.cluster_instance?.cluster_id)?.cluster_instance?.cluster_id;
}

/**
 * A run as the handlers see clusters: PENDING -> STARTING, RUNNING, TERMINATING, and the final states
 * TERMINATED (result SUCCESS) or TERMINATED_WITH_ERRORS (any other result, SKIPPED, INTERNAL_ERROR).
 */
export function clusterInfoOfRun(id: string, run: RunJson): ClusterInfo {
  const life = run.state?.life_cycle_state ?? 'PENDING';
  const result = run.state?.result_state;
  const state =
    life === 'PENDING' || life === 'QUEUED' || life === 'BLOCKED' || life === 'WAITING_FOR_RETRY'
      ? 'STARTING'
      : life === 'RUNNING'
        ? 'RUNNING'
        : life === 'TERMINATING'
          ? 'TERMINATING'
          : life === 'TERMINATED' && result === 'SUCCESS'
            ? 'TERMINATED'
            : FINAL_LIFE_CYCLE_STATES.includes(life)
              ? 'TERMINATED_WITH_ERRORS'
              : 'RUNNING';
  const info: ClusterInfo = { id, state, tags: runTags(run), autoTerminate: true };
  const clusterId = runClusterId(run);
  if (clusterId !== undefined) info.databricksClusterId = clusterId;
  const reason: { code?: string; message?: string } = {};
  if (result !== undefined || life !== 'TERMINATED') reason.code = result ?? life;
  if (run.state?.state_message) reason.message = run.state.state_message;
  if (Object.keys(reason).length > 0) info.stateChangeReason = reason;
  if (run.start_time) info.createdAt = new Date(run.start_time);
  if (run.start_time && run.setup_duration && life !== 'PENDING') info.readyAt = new Date(run.start_time + run.setup_duration);
  if (run.end_time) info.endedAt = new Date(run.end_time);
  return info;
}

/** Creates the Databricks platform for one workspace. */
export function createDatabricksPlatform(deps: { client: DatabricksClient; cloud: DatabricksCloud; region?: string; maxListPages?: number }): DatabricksPlatformPort & {
  runsGet(runId: string, options?: CallOptions): Promise<RunJson & Record<string, unknown>>;
} {
  const client = deps.client;
  const runsGet = (runId: string, options: CallOptions = {}) => {
    if (!/^\d+$/.test(runId)) throw new SyncError('invalid_request', `'${runId}' is not a Databricks run id`);
    return client.json<RunJson & Record<string, unknown>>('GET', '/api/2.1/jobs/runs/get', { ...options, query: { run_id: runId } });
  };
  return {
    name: 'databricks',
    cloud: deps.cloud,
    region: deps.region ?? '',
    runsGet,
    async startCluster(body, options = {}) {
      // The body carries an idempotency_token: sending it again (after a lost answer) gives the same run.
      if (typeof body.idempotency_token !== 'string') throw new SyncError('internal', 'runs/submit without an idempotency_token would not be safe to retry');
      const r = await client.json<{ run_id?: number }>('POST', '/api/2.1/jobs/runs/submit', { ...options, body, idempotent: true });
      if (typeof r.run_id !== 'number') throw new SyncError('remote_error', 'runs/submit answered without a run_id');
      return { clusterId: String(r.run_id) };
    },
    async findClusterByTag(query: ClusterQuery, options: CallOptions = {}) {
      let token: string | undefined;
      for (let page = 0; page < (deps.maxListPages ?? 20); page++) {
        const r = await client.json<{ runs?: RunJson[]; next_page_token?: string; has_more?: boolean }>('GET', '/api/2.1/jobs/runs/list', {
          ...options,
          query: { run_type: 'SUBMIT_RUN', start_time_from: query.createdAfter.getTime(), limit: 25, expand_tasks: true, page_token: token },
        });
        for (const run of r.runs ?? []) {
          const tags = runTags(run);
          if (Object.entries(query.tags).every(([k, v]) => tags[k] === v) && run.run_id !== undefined) return clusterInfoOfRun(String(run.run_id), run);
        }
        token = r.next_page_token;
        if (!r.has_more || !token) return undefined;
      }
      return undefined;
    },
    async describeCluster(runId, options) {
      return clusterInfoOfRun(runId, await runsGet(runId, options));
    },
    async databricksReport(runId: string, options: CallOptions = {}): Promise<DatabricksClusterReport> {
      const run = await runsGet(runId, options);
      const clusterId = runClusterId(run);
      if (clusterId === undefined) throw new SyncError('not_ready', `Databricks run ${runId} has no cluster yet`, { details: { waitingFor: 'cluster' } });
      const cluster = await client.json('GET', '/api/2.0/clusters/get', { ...options, query: { cluster_id: clusterId } });
      const events: Record<string, unknown>[] = [];
      let page: Record<string, unknown> | undefined = { cluster_id: clusterId, order: 'ASC', limit: 500 };
      for (let i = 0; page && i < 1000; i++) {
        const r: { events?: Record<string, unknown>[]; next_page?: Record<string, unknown> } = await client.json('POST', '/api/2.0/clusters/events', { ...options, body: page, idempotent: true });
        events.push(...(r.events ?? []));
        page = r.next_page;
      }
      return { Cluster: cluster, ClusterEvents: events, Run: run, Cloud: deps.cloud, Region: deps.region ?? '' };
    },
    async clusterReport(runId, options) {
      // The EMR-shaped report is not what Databricks has; run.record for Databricks uses databricksReport.
      void options;
      throw new SyncError('unsupported', `Databricks run ${runId} has no EMR cluster report (run.record uses databricksReport)`);
    },
    async terminateCluster(runId, options = {}) {
      await client.json('POST', '/api/2.1/jobs/runs/cancel', { ...options, body: { run_id: Number(runId) }, idempotent: true });
    },
    /**
     * run.cancel: POST /api/2.1/jobs/runs/cancel. A job cluster ends with its run, so `terminate` changes
     * nothing here. Answers the task keys that had not finished (a run already over answers none; Databricks
     * accepts the cancel of a finished run and does nothing, so this is safe to repeat).
     */
    async cancelRun(runId, _opts, options = {}) {
      const run = await runsGet(runId, options);
      const open = (s: RunState | undefined) => !FINAL_LIFE_CYCLE_STATES.includes(s?.life_cycle_state ?? 'PENDING') && s?.life_cycle_state !== 'TERMINATING';
      const cancelledSteps = open(run.state) ? (run.tasks ?? []).filter((t) => open(t.state ?? run.state)).map((t) => t.task_key ?? '').filter((k) => k !== '') : [];
      await client.json('POST', '/api/2.1/jobs/runs/cancel', { ...options, body: { run_id: Number(runId) }, idempotent: true });
      return { cancelledSteps };
    },
  };
}

/** The Databricks platform type, with the run-level calls the Databricks handlers use. */
export type DatabricksPlatform = ReturnType<typeof createDatabricksPlatform>;
