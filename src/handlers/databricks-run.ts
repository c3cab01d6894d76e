// run.start and run.record for Databricks projects: the same run reservation, request keys and launch
// claim as EMR (run-start.ts), with runs/submit (idempotent by a token derived from the run id) in place
// of RunJobFlow, and recording that waits for cluster log delivery.
import { resolveProjectLocation } from '../config/resolve.js';
import { clusterLogDestination, clusterShape, jobClusterOf, mergeDatabricksJob, planRunsSubmit, type DatabricksClusterFragment, type DatabricksJob } from '../domain/databricks-job.js';
import { databricksRunCost, type DatabricksCloudCatalog, type DatabricksCost } from '../domain/databricks-cost.js';
import { SyncError, toSyncError } from '../domain/errors.js';
import { deriveRunId } from '../domain/ids.js';
import type { DatabricksClusterReport, DatabricksPlatformPort, ObjectInfo } from '../domain/ports.js';
import type { RunRecordResult, RunStartData } from '../domain/requests.js';
import { runLocation } from '../domain/run-location.js';
import { TAG_RUN_ID, TAG_TENANT_ID } from '../domain/tags.js';
import type { ProjectState, Run } from '../domain/types.js';
import type { HandlerContext, HandlerDeps } from './deps.js';
import { projectFingerprint } from './fingerprint.js';
import { LAUNCH_CALL_TIMEOUT_MS, acquireLaunch, decideRunStart, patchRun, readRequestedPrediction, requestKeyOf, reserveRun } from './run-start.js';
import { throwIfAborted } from './rx.js';
import { updateProjectState } from './update-project.js';

/** `<run>/runs-submit.json`: the exact runs/submit body sent. */
export function runsSubmitUrl(runUrl: string): string {
  return `${runUrl.endsWith('/') ? runUrl : `${runUrl}/`}runs-submit.json`;
}

/** `<run>/databricks-cluster-report.json`: written by run.record. */
export function databricksReportUrl(runUrl: string): string {
  return `${runUrl.endsWith('/') ? runUrl : `${runUrl}/`}databricks-cluster-report.json`;
}

/** What run.start answers for a Databricks run: `clusterId` is the job cluster's id once runs/get names it. */
export type DatabricksRunStartResult = { runId: string; clusterId?: string; databricksRunId: number; location: string; warnings?: string[] };

function platformOf(deps: HandlerDeps): DatabricksPlatformPort {
  if (!deps.databricks) throw new SyncError('invalid_config', "this project runs on Databricks but site.databricks is not configured (host, and DATABRICKS_TOKEN or DATABRICKS_CLIENT_ID/SECRET)");
  return deps.databricks;
}

/** run.start's answer for a submitted Databricks run (the run's platform handle, `Run.clusterId`, is the Databricks run id). */
export function databricksStartAnswer(run: Run): DatabricksRunStartResult {
  const out: DatabricksRunStartResult = { runId: run.id, databricksRunId: Number(run.clusterId), location: run.location };
  if (run.databricksClusterId !== undefined) out.clusterId = run.databricksClusterId;
  return out;
}

/**
 * The answer for a submitted run, after asking runs/get for the job cluster's id when the run does not know
 * it yet (kept on the run as `databricksClusterId`). Best effort: a failed look-up answers without it.
 */
async function resultOf(deps: HandlerDeps, platform: DatabricksPlatformPort, run: Run, signal: AbortSignal): Promise<DatabricksRunStartResult> {
  if (run.databricksClusterId !== undefined || run.clusterId === undefined) return databricksStartAnswer(run);
  let clusterId: string | undefined;
  try {
    clusterId = (await platform.describeCluster(run.clusterId, { signal: AbortSignal.any([signal, AbortSignal.timeout(LAUNCH_CALL_TIMEOUT_MS)]) })).databricksClusterId;
  } catch (e) {
    deps.logger.debug('runs/get did not name the run\'s cluster yet', { runId: run.id, message: toSyncError(e).message });
  }
  if (clusterId === undefined) return databricksStartAnswer(run);
  const known = clusterId;
  const written = await updateProjectState(deps.state, run.projectId, (s) => patchRun(s, run.id, (r) => (r.databricksClusterId !== undefined || r.clusterId !== run.clusterId ? undefined : { ...r, databricksClusterId: known })), { signal });
  return databricksStartAnswer(written.state.runs.find((r) => r.id === run.id) ?? { ...run, databricksClusterId: known });
}

async function jobFromPrediction(deps: HandlerDeps, state: ProjectState, location: string, data: RunStartData, signal: AbortSignal) {
  const { url, prediction, preference } = await readRequestedPrediction(deps, state, location, data, signal);
  const solution = prediction.solutions?.[preference];
  const fragment = solution?.configuration as DatabricksClusterFragment | undefined;
  if (typeof fragment !== 'object' || fragment === null) throw new SyncError('corrupt_data', `prediction ${url} has no solutions.${preference}.configuration`);
  const base = (data.job ?? state.project.job) as DatabricksJob | undefined;
  if (!base) throw new SyncError('invalid_request', `project '${state.project.id}' has no job to apply the prediction to`);
  const guess = prediction.coldStart !== undefined; // a cold-start guess has no estimate to judge the run by
  return { job: mergeDatabricksJob(base, fragment, state.project.policy?.pinned), preference, estimate: guess ? undefined : solution?.estimate, basis: guess ? undefined : prediction.basis };
}

/**
 * run.start for a Databricks project: reserves the run, writes `runs-submit.json`, takes the launch claim
 * and submits (a retry after a crash finds the run by its tags, and a resubmission with the same token
 * is answered with the same run by Databricks), then records the Databricks run id on the run.
 */
export async function startDatabricksRun(data: RunStartData, deps: HandlerDeps, ctx: HandlerContext, signal: AbortSignal, state: ProjectState): Promise<DatabricksRunStartResult> {
  const platform = platformOf(deps);
  const { project } = state;
  const projectId = project.id;
  const requestKey = requestKeyOf(ctx);
  const opts = { signal };
  const decision = decideRunStart(state, requestKey);
  if (decision.kind === 'existing') return resultOf(deps, platform, decision.run, signal);
  if (decision.kind === 'failed') throw new SyncError((decision.run.error?.code ?? 'remote_error') as 'remote_error', `run ${decision.run.id} for this request could not start: ${decision.run.error?.message ?? 'unknown error'}`, { retryable: false });

  const location = resolveProjectLocation({ project, config: deps.config });
  const fromPrediction = data.predictionId !== undefined ? await jobFromPrediction(deps, state, location, data, signal) : undefined;
  const job = fromPrediction?.job ?? data.job ?? project.job;
  if (!job) throw new SyncError('invalid_request', `project '${projectId}' has no job: give data.job (a runs/submit body) here or on the project`);
  let run: Run;
  if (decision.kind === 'resume') run = decision.run;
  else {
    const createdAt = deps.clock.now();
    const runId = deriveRunId(projectId, requestKey);
    run = { id: runId, projectId, status: 'starting', location: runLocation(location, projectId, createdAt, runId), createdAt: createdAt.toISOString(), requestKey };
    if (data.predictionId !== undefined) run.predictionId = data.predictionId;
    // The code-change guard: the fingerprint of the code this run runs (the job's tasks and the objects they name).
    const fingerprint = await projectFingerprint(deps.objects, { ...project, job }, signal);
    if (fingerprint.value !== undefined) run.fingerprint = fingerprint.value;
    else {
      run.fingerprintWarning = fingerprint.warning;
      deps.logger.warn('run started with an unknown application fingerprint', { projectId, runId: run.id, warning: fingerprint.warning });
    }
    if (fromPrediction) {
      run.preference = fromPrediction.preference;
      if (fromPrediction.estimate) run.expected = fromPrediction.estimate;
      if (fromPrediction.basis) run.baseline = { runtimeSeconds: fromPrediction.basis.runtimeSeconds, costUsd: fromPrediction.basis.costUsd };
    }
  }
  const plan = (r: Run) =>
    planRunsSubmit({ job, project, runId: r.id, runUrl: r.location, tenantId: project.tenantId, cloud: platform.cloud, region: deps.config.site.aws.region, predictionId: r.predictionId });
  plan(run); // a job Databricks cannot run fails here, before a run is reserved
  if (decision.kind === 'new') {
    const reserved = await updateProjectState(deps.state, projectId, (s) => reserveRun(s, run), opts);
    const stored = reserved.state.runs.find((r) => r.requestKey === requestKey);
    if (!stored) throw new SyncError('internal', `run ${run.id} vanished after it was reserved`);
    if (stored.clusterId !== undefined) return resultOf(deps, platform, stored, signal);
    run = stored;
  }
  const { body, warnings } = plan(run);
  const log = deps.logger.child({ projectId, runId: run.id, requestId: ctx.requestId });
  for (const w of warnings) log.warn('job adjusted', { warning: w });
  await deps.objects.put(runsSubmitUrl(run.location), `${JSON.stringify(body, null, 2)}\n`, { ...opts, contentType: 'application/json' });

  const token = `${ctx.requestId}:${deps.clock.now().getTime()}`;
  const dbxDeps: HandlerDeps = { ...deps, platform };
  const launch = await acquireLaunch(dbxDeps, run, token, { tags: { [TAG_RUN_ID]: run.id, [TAG_TENANT_ID]: project.tenantId }, name: undefined }, signal);
  if (launch.kind === 'started') return resultOf(deps, platform, launch.run, signal);
  let handle = launch.kind === 'found' ? launch.clusterId : undefined;
  if (handle === undefined) {
    throwIfAborted(signal);
    try {
      handle = (await platform.startCluster(body, { signal: AbortSignal.any([signal, AbortSignal.timeout(LAUNCH_CALL_TIMEOUT_MS)]) })).clusterId;
    } catch (e) {
      const err = toSyncError(e, 'remote_error');
      if (!err.retryable) {
        const at = deps.clock.now().toISOString();
        await updateProjectState(deps.state, projectId, (s) => patchRun(s, run.id, (r) => (r.clusterId !== undefined ? undefined : { ...r, status: 'failed', endedAt: at, error: { code: err.code, message: err.message } })), opts);
        log.error('Databricks run could not be submitted', { code: err.code, message: err.message });
      }
      // Retryable: the claim stays; the next attempt finds the run by its tags or resubmits with the same token.
      throw err;
    }
  } else log.info('found the Databricks run of an earlier attempt', { databricksRunId: handle });
  const startedAt = deps.clock.now().toISOString();
  const ours = handle;
  const written = await updateProjectState(
    deps.state,
    projectId,
    (s) => {
      // A run.cancel that came while the run was being submitted keeps the run cancelled (its Databricks run is cancelled below).
      const patched = patchRun(s, run.id, (r) => (r.clusterId !== undefined ? undefined : { ...r, clusterId: ours, status: r.status === 'cancelled' ? 'cancelled' : 'running', startedAt }));
      if (!patched) return undefined;
      return { ...patched, requests: { ...(patched.requests ?? {}), [requestKey]: { runId: run.id, at: startedAt } } };
    },
    opts,
  );
  const final = written.state.runs.find((r) => r.id === run.id) ?? run;
  if (final.status === 'cancelled' && final.clusterId !== undefined) {
    log.warn('run was cancelled while it was being submitted; cancelling its Databricks run', { databricksRunId: final.clusterId });
    await platform.terminateCluster(final.clusterId, opts).catch((e: unknown) => log.error('could not cancel the Databricks run of a cancelled run', { databricksRunId: final.clusterId, message: toSyncError(e).message }));
  } else log.info('Databricks run submitted', { databricksRunId: final.clusterId });
  const out = await resultOf(deps, platform, final, signal);
  return warnings.length > 0 ? { ...out, warnings } : out;
}

/** The newest `eventlog` file under a run's cluster-log destination for its Databricks cluster, if any. */
export function finalEventLog(listing: readonly ObjectInfo[]): ObjectInfo | undefined {
  return listing.filter((o) => o.url.endsWith('/eventlog')).sort((a, b) => b.lastModified.getTime() - a.lastModified.getTime())[0];
}

/**
 * Decides whether cluster log delivery has brought the final event log: the `eventlog` file must be
 * modified after the run ended and have the size seen at the previous look (stable). Otherwise wait,
 * up to `waitTimeoutMs` after the end; then record without it, with a warning.
 */
export function decideLogDelivery(input: { endedAt: Date; now: Date; file: ObjectInfo | undefined; previous: { size: number; modified: string } | undefined; waitTimeoutMs: number }):
  | { kind: 'ready' }
  | { kind: 'wait'; message: string; observed?: { size: number; modified: string } }
  | { kind: 'give-up'; warning: string } {
  const { file, endedAt } = input;
  if (file && file.lastModified.getTime() > endedAt.getTime()) {
    const observed = { size: file.size, modified: file.lastModified.toISOString() };
    if (input.previous && input.previous.size === file.size && input.previous.modified === observed.modified) return { kind: 'ready' };
    if (input.now.getTime() - endedAt.getTime() < input.waitTimeoutMs) return { kind: 'wait', message: `the event log ${file.url} was delivered after the run ended; checking that its size is stable`, observed };
  }
  if (input.now.getTime() - endedAt.getTime() < input.waitTimeoutMs) {
    const what = file ? `${file.url} was last delivered before the run ended` : 'no event log has been delivered yet';
    return { kind: 'wait', message: `waiting for cluster log delivery: ${what}` };
  }
  return { kind: 'give-up', warning: `cluster log delivery brought no final event log within ${Math.round(input.waitTimeoutMs / 1000)} s of the run's end; recorded without it, so no prediction can use this run` };
}

/** VM and DBU cost of a recorded Databricks run, from its report (undefined when the catalog cannot price it). */
export function priceDatabricksRun(report: DatabricksClusterReport, catalog: DatabricksCloudCatalog | undefined, vmPrice: (type: string, spot: boolean) => number | undefined, seconds: number): DatabricksCost | undefined {
  if (!catalog) return undefined;
  const c = report.Cluster;
  const shape = clusterShape(c);
  if (!shape.nodeType) return undefined;
  const aws = (c.aws_attributes ?? {}) as { availability?: string };
  const azure = (c.azure_attributes ?? {}) as { availability?: string };
  const spot = /SPOT/.test(aws.availability ?? azure.availability ?? '');
  try {
    return databricksRunCost(catalog, report.Cloud, { nodeType: shape.nodeType, driverNodeType: shape.driverNodeType ?? shape.nodeType, workers: shape.workers, photon: c.runtime_engine === 'PHOTON', spotWorkers: spot }, seconds, vmPrice);
  } catch {
    return undefined;
  }
}

/** run.record for a Databricks run: waits for the run's end and log delivery, writes the report, prices the run. */
export async function recordDatabricksRun(run: Run, deps: HandlerDeps, ctx: HandlerContext, signal: AbortSignal): Promise<RunRecordResult> {
  const platform = platformOf(deps);
  const opts = { signal };
  const projectId = run.projectId;
  if (run.clusterId === undefined) throw new SyncError('not_ready', `run '${run.id}' has not been submitted yet`, { details: { waitingFor: 'cluster', runId: run.id } });
  const info = await platform.describeCluster(run.clusterId, opts);
  if (!['TERMINATED', 'TERMINATED_WITH_ERRORS'].includes(info.state)) {
    throw new SyncError('not_ready', `Databricks run ${run.clusterId} is ${info.state}, not finished`, { details: { waitingFor: 'cluster', runId: run.id, databricksRunId: run.clusterId } });
  }
  const report = await platform.databricksReport(run.clusterId, opts);
  const clusterId = String(report.Cluster.cluster_id ?? '');
  const endedAt = info.endedAt ?? deps.clock.now();
  const now = deps.clock.now();
  const logRoot = `${clusterLogDestination(run.location)}/${clusterId}/eventlog/`;
  const listing: ObjectInfo[] = [];
  if (clusterId !== '') for await (const o of deps.objects.list(logRoot, opts)) listing.push(o);
  const file = finalEventLog(listing);
  const failed = info.state === 'TERMINATED_WITH_ERRORS';
  const waitTimeoutMs = deps.config.site.databricks?.logDelivery.waitTimeoutMs ?? 600_000;
  const delivery = failed && !file ? ({ kind: 'give-up', warning: `Databricks run ${run.clusterId} ended ${info.stateChangeReason?.code ?? 'with errors'} and left no event log` } as const) : decideLogDelivery({ endedAt, now, file, previous: run.logDelivery, waitTimeoutMs });
  if (delivery.kind === 'wait') {
    const observed = delivery.observed;
    await updateProjectState(deps.state, projectId, (s) =>
      patchRun(s, run.id, (r) => (r.status === 'recorded' ? undefined : { ...r, status: 'recording', clusterState: info.state, ...(observed ? { logDelivery: observed } : {}) })),
      opts,
    );
    throw new SyncError('not_ready', delivery.message, { details: { waitingFor: 'eventlog', runId: run.id, databricksRunId: run.clusterId } });
  }
  const warnings = delivery.kind === 'give-up' ? [delivery.warning] : [];
  const reportUrl = databricksReportUrl(run.location);
  await deps.objects.put(reportUrl, `${JSON.stringify(report, null, 2)}\n`, { ...opts, contentType: 'application/json' });
  const readyAt = info.readyAt ?? info.createdAt;
  const runtime = readyAt ? Math.max(0, Math.round((endedAt.getTime() - readyAt.getTime()) / 1000)) : undefined;
  const billed = info.createdAt ? Math.max(0, (endedAt.getTime() - info.createdAt.getTime()) / 1000) : (runtime ?? 0);
  const cost = priceDatabricksRun(report, deps.databricksCatalog, (type, spot) => deps.vmPrice?.(type, spot, report.Cloud), billed);
  const shape = clusterShape(report.Cluster);
  const status = failed ? 'failed' : 'recorded';
  const written = await updateProjectState(
    deps.state,
    projectId,
    (s) =>
      patchRun(s, run.id, (r) => {
        if (r.status === 'recorded' || (r.status === 'failed' && r.reportUrl !== undefined)) return undefined;
        const next: Run = { ...r, status, clusterState: info.state, endedAt: endedAt.toISOString(), recordedAt: now.toISOString(), reportUrl, databricksClusterId: clusterId };
        if (runtime !== undefined) next.runtimeSeconds = runtime;
        if (cost) {
          next.costUsd = cost.totalUsd;
          next.costBreakdown = { vmUsd: cost.vmUsd, dbuUsd: cost.dbuUsd, dbus: cost.dbus };
        }
        if (shape.nodeType) next.cluster = { instanceType: shape.nodeType, nodes: shape.workers, ...(shape.driverNodeType ? { masterInstanceType: shape.driverNodeType } : {}) };
        if (delivery.kind === 'ready' && file) next.eventLogUrl = file.url.slice(0, -'eventlog'.length);
        if (failed) next.error = { code: info.stateChangeReason?.code ?? 'FAILED', message: info.stateChangeReason?.message ?? 'the Databricks run failed' };
        delete next.logDelivery;
        return next;
      }),
    opts,
  );
  const final = written.state.runs.find((r) => r.id === run.id);
  deps.logger.info('Databricks run recorded', { projectId, runId: run.id, databricksRunId: run.clusterId, clusterId, status, requestId: ctx.requestId, eventLog: delivery.kind === 'ready' });
  const out: RunRecordResult = { runId: run.id, status: (final?.status === 'failed' ? 'failed' : 'recorded'), reportUrl };
  if (final?.costBreakdown && final.costUsd !== undefined) out.cost = { totalUsd: final.costUsd, ...final.costBreakdown };
  return warnings.length > 0 ? { ...out, warnings } : out;
}

/** The cluster a Databricks project's job runs on, for the CLI and predictions. */
export function projectClusterShape(job: DatabricksJob) {
  return clusterShape(jobClusterOf(job));
}
