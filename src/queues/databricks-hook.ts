// Databricks job webhook notifications (POST /v1/hooks/databricks): a run's end reported by Databricks
// hands the same run.record to the queue as the poller does, sooner. The payload only names the run; the
// agent asks runs/get itself (a notification is never trusted for state), and hands off only a run that
// is final and tagged by this tenant. Idempotent with the poller and with itself: the hand-off's key is the
// poller's event key (record:<Databricks run id>:<state>), which the poller checks before it hands off.
import { SyncError, toSyncError } from '../domain/errors.js';
import type { ClusterInfo, Logger } from '../domain/ports.js';
import { TAG_PROJECT_ID, TAG_RUN_ID, TAG_TENANT_ID } from '../domain/tags.js';
import { FINAL_CLUSTER_STATES, eventRequestId, recordIdempotencyKey } from './completion-events.js';
import type { Enqueue } from './requests-queue.js';

export type DatabricksHookOptions = {
  tenantId: string;
  describeRun: (databricksRunId: string, signal: AbortSignal) => Promise<ClusterInfo>;
  enqueue: Enqueue;
  logger: Logger;
};

/** What the hook answers: handed off (with the request id), or why not. */
export type DatabricksHookAnswer =
  | { outcome: 'handed-off'; databricksRunId: string; requestId: string; duplicate: boolean; projectId: string; runId?: string }
  | { outcome: 'ignored'; databricksRunId?: string; reason: string };

/**
 * The Databricks run id a notification names: `run.run_id` (Databricks' job notification payload, a
 * string or number) or a top-level `run_id`. Throws 'invalid_request' naming what is wrong.
 */
export function hookRunId(payload: unknown): string {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) throw new SyncError('invalid_request', 'the webhook body must be a JSON object such as { "event_type": "jobs.on_success", "run": { "run_id": 123 } }');
  const p = payload as { run?: { run_id?: unknown }; run_id?: unknown };
  const raw = p.run !== null && typeof p.run === 'object' ? p.run.run_id : p.run_id;
  const id = typeof raw === 'number' ? String(raw) : raw;
  if (typeof id !== 'string' || !/^\d{1,18}$/.test(id) || Number(id) <= 0) throw new SyncError('invalid_request', `run.run_id: must be a Databricks run id (a positive integer), got ${JSON.stringify(raw ?? null)}`);
  return id;
}

/** Creates the handler behind POST /v1/hooks/databricks. */
export function createDatabricksHook(opts: DatabricksHookOptions): (payload: unknown, signal: AbortSignal) => Promise<DatabricksHookAnswer> {
  const log = opts.logger.child({ component: 'databricks-hook' });
  return async (payload, signal) => {
    const databricksRunId = hookRunId(payload);
    let run: ClusterInfo;
    try {
      run = await opts.describeRun(databricksRunId, signal);
    } catch (e) {
      const err = toSyncError(e);
      if (err.code === 'not_found' || err.code === 'invalid_request') return { outcome: 'ignored', databricksRunId, reason: `Databricks has no run ${databricksRunId}` };
      throw err;
    }
    const projectId = run.tags[TAG_PROJECT_ID];
    if (!projectId || run.tags[TAG_TENANT_ID] !== opts.tenantId) return { outcome: 'ignored', databricksRunId, reason: `run ${databricksRunId} was not started by this agent's tenant` };
    if (!FINAL_CLUSTER_STATES.has(run.state)) return { outcome: 'ignored', databricksRunId, reason: `run ${databricksRunId} is ${run.state}, not finished; the poller hands it off when it is` };
    const runId = run.tags[TAG_RUN_ID];
    const key = recordIdempotencyKey(databricksRunId, run.state);
    const data: Record<string, string> = { projectId, clusterId: databricksRunId };
    if (runId) data.runId = runId;
    const { id, duplicate } = await opts.enqueue({ id: eventRequestId(key), name: 'run.record', data, idempotencyKey: key });
    log.info('Databricks webhook handed a finished run to run.record', { databricksRunId, projectId, runId, state: run.state, requestId: id, duplicate });
    return { outcome: 'handed-off', databricksRunId, requestId: id, duplicate, projectId, ...(runId ? { runId } : {}) };
  };
}
