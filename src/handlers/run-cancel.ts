import type { Observable } from 'rxjs';
import { SyncError, toSyncError } from '../domain/errors.js';
import type { RunCancelData, RunCancelResult } from '../domain/requests.js';
import { TAG_RUN_ID, TAG_TENANT_ID } from '../domain/tags.js';
import type { ProjectState, Run } from '../domain/types.js';
import type { HandlerContext, HandlerDeps } from './deps.js';
import { findArchivedRun } from './find-run.js';
import { fromAbortable } from './rx.js';
import { patchRun } from './run-start.js';
import { updateProjectState } from './update-project.js';

/** Statuses a cancel leaves alone: the run is over. */
const OVER: ReadonlySet<Run['status']> = new Set(['recorded', 'failed']);

/**
 * Marks a run cancelled (pure): who, when, why. Undefined when it is already cancelled or over
 * (a cancel never rewrites a recorded or failed run, nor an earlier cancel).
 */
export function markCancelled(state: ProjectState, runId: string, cancel: NonNullable<Run['cancelled']>): ProjectState | undefined {
  return patchRun(state, runId, (r) => (r.status === 'cancelled' || OVER.has(r.status) ? undefined : { ...r, status: 'cancelled', cancelled: cancel, endedAt: r.endedAt ?? cancel.at }));
}

function answer(run: Run, extra: { cancelledSteps?: string[]; databricks?: boolean } = {}): RunCancelResult {
  const out: RunCancelResult = { runId: run.id, status: run.status };
  // Databricks (as run.start answers): clusterId is the job cluster once known, the run's handle is databricksRunId.
  if (extra.databricks) {
    if (run.databricksClusterId !== undefined) out.clusterId = run.databricksClusterId;
    if (run.clusterId !== undefined) out.databricksRunId = Number(run.clusterId);
  } else if (run.clusterId !== undefined) out.clusterId = run.clusterId;
  if (run.cancelled) out.cancelled = run.cancelled;
  if (extra.cancelledSteps) out.cancelledSteps = extra.cancelledSteps;
  return out;
}

/**
 * run.cancel: records the run `cancelled` (who asked, why) first, so a run.start still in flight sees
 * it and launches nothing (or terminates what it launched), then cancels the cluster's pending and
 * running steps and, unless `terminate: false`, terminates the cluster. Idempotent: a run already
 * cancelled is cancelled again on the platform (harmless) and answers the same; a run already
 * recorded or failed is left as it is and answered as it is.
 */
export function runCancel(data: RunCancelData, deps: HandlerDeps, ctx: HandlerContext): Observable<RunCancelResult> {
  return fromAbortable(async (signal) => {
    const opts = { signal };
    const terminate = data.terminate ?? true;
    const cancel: NonNullable<Run['cancelled']> = { at: deps.clock.now().toISOString(), by: data.by ?? 'unknown', terminate };
    if (data.reason !== undefined) cancel.reason = data.reason;
    const written = await updateProjectState(deps.state, data.projectId, (s) => markCancelled(s, data.runId, cancel), opts);
    let run = written.state.runs.find((r) => r.id === data.runId);
    const databricks = written.state.project.platform === 'databricks';
    if (!run) {
      // Only finished runs are archived: such a run is over, and answered as it is.
      const archived = await findArchivedRun(deps.state, data.projectId, (r) => r.id === data.runId, written.state.archive !== undefined, opts);
      if (archived) return answer(archived.run, { databricks });
      throw new SyncError('not_found', `project '${data.projectId}' has no run '${data.runId}' (neither in its document nor in its archive)`);
    }
    if (run.status !== 'cancelled') return answer(run, { databricks });
    const log = deps.logger.child({ projectId: data.projectId, runId: run.id, requestId: ctx.requestId });
    // A Databricks run's handle is its Databricks run id; its platform cancels with runs/cancel.
    const platform = databricks ? deps.databricks : deps.platform;
    if (!platform) throw new SyncError('invalid_config', 'this project runs on Databricks but site.databricks is not configured, so its run cannot be cancelled there');
    let clusterId = run.clusterId;
    if (clusterId === undefined && run.launch !== undefined) {
      // A launch was claimed: its RunJobFlow (or runs/submit) may have gone through without the run hearing of it yet.
      const found = await platform.findClusterByTag(
        { tags: { [TAG_RUN_ID]: run.id, [TAG_TENANT_ID]: written.state.project.tenantId }, createdAfter: new Date(Date.parse(run.createdAt) - 10 * 60_000) },
        opts,
      );
      clusterId = found?.id;
      if (found?.databricksClusterId !== undefined) run = { ...run, databricksClusterId: found.databricksClusterId };
    }
    if (clusterId === undefined) {
      log.info('run cancelled before it had a cluster');
      return answer(run, { databricks });
    }
    let cancelledSteps: string[] = [];
    try {
      // A pooled run shares its cluster: only its own steps are cancelled, and the cluster stays.
      if (run.pool && platform.cancelRun) cancelledSteps = (await platform.cancelRun(clusterId, { terminate: false, stepIds: run.pool.stepIds ?? [] }, opts)).cancelledSteps;
      else if (run.pool) log.warn('the platform cannot cancel a pooled run\'s steps', { clusterId });
      else if (platform.cancelRun) cancelledSteps = (await platform.cancelRun(clusterId, { terminate: run.cancelled?.terminate ?? terminate }, opts)).cancelledSteps;
      else if (run.cancelled?.terminate ?? terminate) await platform.terminateCluster(clusterId, opts);
    } catch (e) {
      const err = toSyncError(e);
      // A cluster already gone needs no cancelling.
      if (err.code !== 'not_found') throw err;
    }
    log.info('run cancelled', { clusterId, cancelledSteps, terminate: run.cancelled?.terminate ?? terminate, by: run.cancelled?.by });
    return answer({ ...run, clusterId }, { cancelledSteps, databricks });
  }, ctx.signal);
}
