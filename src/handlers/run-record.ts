import { type Observable, defer, of, switchMap } from 'rxjs';
import { SyncError } from '../domain/errors.js';
import type { ClusterInfo, ClusterReport, ObjectInfo } from '../domain/ports.js';
import type { RunRecordData, RunRecordResult } from '../domain/requests.js';
import { clusterReportUrl, eventLogDir } from '../domain/run-location.js';
import { TAG_PROJECT_ID, TAG_RUN_ID } from '../domain/tags.js';
import type { EventLogState, ProjectState, Run } from '../domain/types.js';
import { type EventLogStatus, type LogArrival, eventLogOf, eventLogStatus, eventLogWarning, isUsableEventLog, logArrivalFor } from '../domain/eventlog-status.js';
import type { HandlerContext, HandlerDeps } from './deps.js';
import { clusterShapeFromReport } from '../domain/prediction/cluster-shape.js';
import { clusterCostUsd } from '../domain/prediction/cost.js';
import type { Catalog } from '../domain/prediction/catalog.js';
import { fromAbortable } from './rx.js';
import { mergeSteps, runFailure, stepsFromEmr } from '../domain/run-steps.js';
import { patchRun } from './run-start.js';
import { updateProjectState } from './update-project.js';
import { recordDatabricksRun } from './databricks-run.js';
import { recordPooledRun } from './pool-run.js';

/** EMR states after which a run can be recorded (WAITING: a long-lived cluster with no step left). */
export const FINAL_CLUSTER_STATES: readonly string[] = ['TERMINATED', 'TERMINATED_WITH_ERRORS', 'WAITING'];

/** What run.record does now. */
export type RecordDecision =
  | { kind: 'wait'; waitingFor: 'cluster' | 'eventlog'; message: string }
  | { kind: 'record'; status: 'recorded' | 'failed'; endedAt: Date; eventLog: { status: EventLogState; reason?: string } };

/**
 * Decides run.record for a described cluster and its event-log status. Waits (retryably) while the
 * cluster runs. Once the cluster is in a final state the run is recorded with what its event log is
 * (complete, unfinished or missing), unless the platform delivers logs late (`arrival.graceMs`, see
 * logArrivalFor) and the grace since the cluster's end has not run out. EMR has no grace: Spark writes
 * its log inside the step, so at a final state the log is as complete as it will ever be. A cluster
 * that ended with errors is recorded 'failed' at once. The log's last-modified time is not compared
 * with the cluster's end: Spark closes its log before the cluster terminates.
 */
export function decideRecord(input: { cluster: ClusterInfo; eventLog: EventLogStatus; now: Date; arrival: LogArrival }): RecordDecision {
  const { cluster, eventLog, now } = input;
  if (!FINAL_CLUSTER_STATES.includes(cluster.state)) {
    return { kind: 'wait', waitingFor: 'cluster', message: `cluster ${cluster.id} is ${cluster.state}, not finished` };
  }
  const endedAt = cluster.endedAt ?? now;
  const log = eventLog.reason === undefined ? { status: eventLog.status } : { status: eventLog.status, reason: eventLog.reason };
  const status = cluster.state === 'TERMINATED_WITH_ERRORS' ? 'failed' : 'recorded';
  if (status === 'recorded' && eventLog.status !== 'complete' && now.getTime() - endedAt.getTime() < input.arrival.graceMs) {
    return { kind: 'wait', waitingFor: 'eventlog', message: `the event log of cluster ${cluster.id} is ${eventLog.status}: ${eventLog.reason ?? ''}` };
  }
  return { kind: 'record', status, endedAt, eventLog: log };
}

/** Finds the run run.record is about: by id, by cluster id, or by the cluster's `sync:run-id` tag. */
export function findRunToRecord(state: ProjectState, by: { runId?: string | undefined; clusterId?: string | undefined; taggedRunId?: string | undefined }): Run | undefined {
  if (by.runId !== undefined) return state.runs.find((r) => r.id === by.runId);
  return state.runs.find((r) => r.clusterId !== undefined && r.clusterId === by.clusterId) ?? (by.taggedRunId === undefined ? undefined : state.runs.find((r) => r.id === by.taggedRunId && r.clusterId === undefined));
}

/** The answer for a run already recorded (the same for every replay), else undefined. */
export function answered(run: Run): RunRecordResult | undefined {
  // A cancelled run stays cancelled: it is never recorded for predictions.
  if (run.status === 'cancelled') return { runId: run.id, status: 'cancelled' };
  if (run.status === 'recorded' || (run.status === 'failed' && (run.reportUrl !== undefined || run.clusterId === undefined))) {
    const out: RunRecordResult = { runId: run.id, status: run.status };
    if (run.reportUrl !== undefined) out.reportUrl = run.reportUrl;
    const log = eventLogOf(run);
    if (log) out.eventLog = log.status;
    const warning = eventLogWarning(run);
    if (warning !== undefined) out.warnings = [warning];
    if (run.failure) out.failure = run.failure;
    // Databricks runs: the cost VM and DBU apart, as recordDatabricksRun answered it.
    if (run.costBreakdown && run.costUsd !== undefined) out.cost = { totalUsd: run.costUsd, ...run.costBreakdown };
    return out;
  }
  return undefined;
}

/** Seconds from the cluster being ready (else created) to its end, when both are known. */
export function runtimeSecondsOf(cluster: ClusterInfo, endedAt: Date): number | undefined {
  const from = cluster.readyAt ?? cluster.createdAt;
  if (!from) return undefined;
  return Math.max(0, Math.round((endedAt.getTime() - from.getTime()) / 1000));
}

async function recordRun(data: RunRecordData, deps: HandlerDeps, ctx: HandlerContext, signal: AbortSignal): Promise<RunRecordResult> {
  const opts = { signal };
  let cluster: ClusterInfo | undefined;
  let projectId = data.projectId;
  if (projectId === undefined) {
    if (data.clusterId === undefined) throw new SyncError('invalid_request', 'data.projectId: is required when only runId is given');
    cluster = await deps.platform.describeCluster(data.clusterId, opts);
    projectId = cluster.tags[TAG_PROJECT_ID];
    if (projectId === undefined) throw new SyncError('not_found', `cluster ${data.clusterId} has no ${TAG_PROJECT_ID} tag, so it belongs to no project`);
  }
  const loaded = await deps.state.get(projectId, opts);
  if (!loaded) throw new SyncError('not_found', `project '${projectId}' does not exist`);
  if (loaded.value.project.platform === 'databricks') {
    const dbxRun = findRunToRecord(loaded.value, { runId: data.runId, clusterId: data.clusterId });
    if (!dbxRun) throw new SyncError('not_found', `project '${projectId}' has no run ${data.runId ?? `for Databricks run ${String(data.clusterId)}`}`);
    const done = answered(dbxRun);
    if (done) return done;
    return recordDatabricksRun(dbxRun, deps, ctx, signal);
  }
  if (data.clusterId !== undefined && data.runId === undefined && !loaded.value.runs.some((r) => r.clusterId === data.clusterId)) {
    cluster ??= await deps.platform.describeCluster(data.clusterId, opts);
  }
  const run = findRunToRecord(loaded.value, { runId: data.runId, clusterId: data.clusterId, taggedRunId: cluster?.tags[TAG_RUN_ID] });
  if (!run) {
    const which = data.runId !== undefined ? `run '${data.runId}'` : `a run with cluster ${String(data.clusterId)}`;
    throw new SyncError('not_found', `project '${projectId}' has no ${which}`);
  }
  if (data.runId !== undefined && data.clusterId !== undefined && run.clusterId !== undefined && run.clusterId !== data.clusterId) {
    throw new SyncError('invalid_request', `run '${run.id}' ran on cluster ${run.clusterId}, not ${data.clusterId}`);
  }
  const done = answered(run);
  if (done) return done;
  if (run.pool) return recordPooledRun(deps, projectId, run, ctx, signal, answered);
  const clusterId = run.clusterId ?? data.clusterId;
  if (clusterId === undefined) throw new SyncError('not_ready', `run '${run.id}' has no cluster yet`, { details: { waitingFor: 'cluster', runId: run.id } });
  if (cluster?.id !== clusterId) cluster = await deps.platform.describeCluster(clusterId, opts);
  if (run.clusterId === undefined && cluster.tags[TAG_RUN_ID] !== run.id) {
    throw new SyncError('invalid_request', `cluster ${clusterId} is not tagged ${TAG_RUN_ID}=${run.id}, so it is not run '${run.id}'`);
  }
  const log = deps.logger.child({ projectId, runId: run.id, clusterId, requestId: ctx.requestId });

  const dir = eventLogDir(run.location);
  const listing: ObjectInfo[] = [];
  if (FINAL_CLUSTER_STATES.includes(cluster.state)) for await (const o of deps.objects.list(dir, opts)) listing.push(o);
  const now = deps.clock.now();
  const arrival = logArrivalFor(loaded.value.project.platform, deps.config.site.eventLog);
  const decision = decideRecord({ cluster, eventLog: eventLogStatus(listing.map((o) => o.url), dir), now, arrival });

  if (decision.kind === 'wait') {
    const state = cluster.state;
    if (decision.waitingFor === 'eventlog' && run.status !== 'recording') {
      await updateProjectState(deps.state, projectId, (s) => patchRun(s, run.id, (r) => (r.status === 'running' || r.status === 'starting' ? { ...r, status: 'recording', clusterId, clusterState: state } : undefined)), opts);
    }
    throw new SyncError('not_ready', decision.message, { details: { waitingFor: decision.waitingFor, runId: run.id, clusterId, clusterState: state } });
  }

  const report = await deps.platform.clusterReport(clusterId, opts);
  const reportUrl = clusterReportUrl(run.location);
  await deps.objects.put(reportUrl, `${JSON.stringify(report, null, 2)}\n`, { ...opts, contentType: 'application/json' });

  const recorded = (r: Run): Run => {
    const next: Run = { ...r, status: decision.status, clusterId, clusterState: cluster.state, endedAt: decision.endedAt.toISOString(), recordedAt: now.toISOString(), reportUrl };
    const runtime = runtimeSecondsOf(cluster, decision.endedAt);
    if (runtime !== undefined) next.runtimeSeconds = runtime;
    if (cluster.stateChangeReason?.message !== undefined) next.stateChangeReason = cluster.stateChangeReason.message;
    next.eventLog = decision.eventLog;
    if (isUsableEventLog(decision.eventLog.status)) next.eventLogUrl = dir;
    else delete next.eventLogUrl;
    const priced = clusterOf(report, deps.catalog, cluster, decision.endedAt);
    if (priced.cluster) next.cluster = priced.cluster;
    if (priced.costUsd !== undefined) next.costUsd = priced.costUsd;
    const steps = mergeSteps(r.steps, stepsFromEmr(report.Steps));
    if (steps.length > 0) next.steps = steps;
    const failure = runFailure(steps);
    if (failure) next.failure = failure;
    if (decision.status === 'failed') next.error = { code: cluster.stateChangeReason?.code ?? cluster.state, message: cluster.stateChangeReason?.message ?? `cluster ended ${cluster.state}` };
    return next;
  };
  const written = await updateProjectState(deps.state, projectId, (s) => patchRun(s, run.id, (r) => (answered(r) ? undefined : recorded(r))), opts);
  const final = written.state.runs.find((r) => r.id === run.id);
  const result = final ? answered(final) : undefined;
  if (!result) throw new SyncError('internal', `run '${run.id}' was not recorded`);
  log.info('run recorded', { status: result.status, eventLog: result.eventLog });
  if (written.written) for (const w of result.warnings ?? []) log.warn('run recorded with a warning', { warning: w });
  return result;
}

/**
 * The run's hardware from its cluster report, and what it cost: instance-hours from the cluster's
 * creation (when EC2 billing starts) to its end, at the catalog's on-demand EC2 + EMR rates.
 */
export function clusterOf(report: ClusterReport, catalog: Catalog | undefined, cluster: ClusterInfo, endedAt: Date): { cluster?: NonNullable<Run['cluster']>; costUsd?: number } {
  const shape = clusterShapeFromReport(report);
  const hw: NonNullable<Run['cluster']> = {};
  if (shape.coreInstanceType) hw.instanceType = shape.coreInstanceType;
  if (shape.coreNodes !== undefined) hw.nodes = shape.coreNodes;
  if (shape.masterInstanceType) hw.masterInstanceType = shape.masterInstanceType;
  const out: { cluster?: NonNullable<Run['cluster']>; costUsd?: number } = Object.keys(hw).length > 0 ? { cluster: hw } : {};
  const from = cluster.createdAt ?? cluster.readyAt;
  if (!catalog || !hw.instanceType || hw.nodes === undefined || !from) return out;
  try {
    const seconds = Math.max(0, (endedAt.getTime() - from.getTime()) / 1000);
    const priced = { instanceType: hw.instanceType, nodes: hw.nodes, ...(hw.masterInstanceType ? { masterInstanceType: hw.masterInstanceType } : {}) };
    out.costUsd = Math.round(clusterCostUsd(catalog, priced, seconds) * 10_000) / 10_000;
  } catch {
    // An instance type the catalog does not know: the run is recorded without a cost.
  }
  return out;
}

/**
 * run.record: once the run's cluster has finished (see decideRecord), writes `emr-cluster-report.json`
 * and marks the run 'recorded' (or 'failed') with what its event log is; replays answer the same.
 * A cluster still running is SyncError 'not_ready' (retryable) with `details.waitingFor`.
 */
export function runRecord(data: RunRecordData, deps: HandlerDeps, ctx: HandlerContext): Observable<RunRecordResult> {
  return defer(() => of(data)).pipe(switchMap((d) => fromAbortable((signal) => recordRun(d, deps, ctx, signal), ctx.signal)));
}
