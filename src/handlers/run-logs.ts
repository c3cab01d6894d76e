import { gunzipSync } from 'node:zlib';
import type { Observable } from 'rxjs';
import { SyncError, isSyncError } from '../domain/errors.js';
import type { CallOptions, ObjectStore, Platform, StateStore } from '../domain/ports.js';
import type { RunLogsData, RunLogsResult } from '../domain/requests.js';
import { FINAL_STEP_STATES, sliceLog, stepLogPrefix } from '../domain/run-steps.js';
import type { HandlerContext, HandlerDeps } from './deps.js';
import { findRunAnywhere } from './find-run.js';
import { fromAbortable } from './rx.js';

/** The largest slice one read returns (decompressed bytes). */
export const MAX_LOG_BYTES = 1024 * 1024;

/**
 * Reads one step's log from the cluster's LogUri by offset in decompressed bytes: the object is a
 * gzip file that grows by whole members as the platform uploads (`{LogUri}{cluster}/steps/{step}/{stream}.gz`).
 * Without `stepId`, the run's most recent step that started. `done`: the step has ended and the
 * slice reaches the end of its log (the step's state is read before the log, so nothing written
 * before the end is missed).
 */
export async function readRunLog(deps: { state: StateStore; objects: ObjectStore; platform: Platform }, data: RunLogsData, options: CallOptions = {}): Promise<RunLogsResult> {
  // A run moved to the project's archive keeps its cluster id: its logs are read the same way.
  const run = (await findRunAnywhere(deps.state, data.projectId, data.runId, options))?.run;
  if (!run) throw new SyncError('not_found', `project '${data.projectId}' has no run '${data.runId}' (neither in its document nor in its archive)`);
  if (run.clusterId === undefined) throw new SyncError('not_ready', `run '${run.id}' has no cluster yet`, { details: { waitingFor: 'cluster', runId: run.id } });
  if (!deps.platform.listSteps) throw new SyncError('unsupported', `the ${deps.platform.name} platform cannot list steps`);
  const [cluster, steps] = await Promise.all([deps.platform.describeCluster(run.clusterId, options), deps.platform.listSteps(run.clusterId, options)]);
  if (cluster.logUri === undefined) throw new SyncError('not_found', `cluster ${run.clusterId} of run '${run.id}' has no LogUri, so its step logs were not kept`);
  const step = data.stepId !== undefined ? steps.find((s) => s.id === data.stepId) : ([...steps].reverse().find((s) => s.startedAt !== undefined) ?? steps[0]);
  if (!step) throw new SyncError('not_found', data.stepId !== undefined ? `run '${run.id}' has no step '${data.stepId}'` : `run '${run.id}' has no steps`);
  const stream = data.stream ?? 'stdout';
  const url = `${stepLogPrefix(cluster.logUri, run.clusterId, step.id)}${stream}.gz`;
  let log: Uint8Array = new Uint8Array(0);
  try {
    const { body } = await deps.objects.get(url, options);
    log = body.length === 0 ? body : gunzipSync(body);
  } catch (e) {
    if (!isSyncError(e, 'not_found')) {
      if (isSyncError(e)) throw e;
      throw new SyncError('corrupt_data', `step log ${url} is not a readable gzip file: ${(e as Error).message}`, { cause: e });
    }
  }
  const offset = data.offset ?? 0;
  const { bytes, nextOffset } = sliceLog(log, offset, Math.min(data.maxBytes ?? MAX_LOG_BYTES, MAX_LOG_BYTES));
  return {
    runId: run.id,
    stepId: step.id,
    stepState: step.state,
    stream,
    url,
    offset: Math.min(offset, log.length),
    nextOffset,
    text: Buffer.from(bytes).toString('utf8'),
    done: FINAL_STEP_STATES.has(step.state) && nextOffset >= log.length,
  };
}

/** run.logs: a slice of one step's log by byte offset, for tailing (see readRunLog). */
export function runLogs(data: RunLogsData, deps: HandlerDeps, ctx: HandlerContext): Observable<RunLogsResult> {
  return fromAbortable((signal) => readRunLog(deps, data, { signal }), ctx.signal);
}
