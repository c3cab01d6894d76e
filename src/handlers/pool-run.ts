// Runs of pooled projects: run.start adds the run's steps to the pool's least-loaded cluster
// (AddJobFlowSteps) under a claim written first, and the run is recorded once its steps have ended,
// with its own event log and its share of the cluster's cost.
import { randomUUID } from 'node:crypto';
import { SyncError, toSyncError } from '../domain/errors.js';
import type { RunRecordResult, RunStartResult } from '../domain/requests.js';
import { clusterReportUrl, eventLogDir, toSparkEventLogDir } from '../domain/run-location.js';
import { allStepsEnded, claimPlacement, clusterSecondsUsed, patchPlacement, pooledSteps, sparkDefaultsOf, stepsOfRun, type ActiveSteps, type Placement } from '../domain/pools.js';
import type { ObjectInfo } from '../domain/ports.js';
import type { JobFlow, ProjectState, Run } from '../domain/types.js';
import { eventLogStatus, isUsableEventLog } from '../domain/eventlog-status.js';
import { clusterShapeFromReport } from '../domain/prediction/cluster-shape.js';
import { clusterCostUsd } from '../domain/prediction/cost.js';
import { mergeSteps, runFailure } from '../domain/run-steps.js';
import type { HandlerContext, HandlerDeps } from './deps.js';
import { drainIdle, poolsOf, updatePool } from './pools.js';
import { sleep, throwIfAborted } from './rx.js';
import { patchRun } from './run-start.js';
import { updateProjectState } from './update-project.js';

/** Upper bound of one AddJobFlowSteps call, counted from just after its claim is written. */
export const PLACE_CALL_TIMEOUT_MS = 15_000;
/**
 * How long another attempt watches a placement claim it did not write (on its own clock, listing the
 * cluster's steps for the run's step names meanwhile) before it may take the claim over: the holder's
 * call (bounded above) plus a margin.
 */
export const PLACE_LEASE_MS = PLACE_CALL_TIMEOUT_MS + 5_000;
const PLACE_POLL_MS = 1_000;

/**
 * Places a reserved pooled run: claims a cluster (least loaded) in the pool document, adds the run's
 * steps there unless an earlier attempt's steps are found by name, then marks the placement and the run.
 * A SIGKILL at any point leaves either no claim (nothing added), a claim whose steps are found by name,
 * or a claim whose lease runs out with no steps (nothing added): no step is ever added twice.
 */
export async function placePooledRun(deps: HandlerDeps, state: ProjectState, run: Run, jobFlow: JobFlow | undefined, requestKey: string, ctx: HandlerContext, signal: AbortSignal): Promise<RunStartResult> {
  const project = state.project;
  const poolId = project.pool!;
  const pools = poolsOf(deps);
  const addSteps = deps.platform.addSteps?.bind(deps.platform);
  if (!addSteps) throw new SyncError('unsupported', `the ${deps.platform.name} platform cannot add steps to a pool cluster`);
  const log = deps.logger.child({ projectId: project.id, runId: run.id, poolId, requestId: ctx.requestId });
  const steps = pooledSteps({ projectId: project.id, runId: run.id, steps: jobFlow?.Steps, sparkEventLogDir: toSparkEventLogDir(eventLogDir(run.location)), sparkConf: sparkDefaultsOf(jobFlow) });
  const token = randomUUID();
  let watched: { token: string; since: number } | undefined;
  let placement: Placement;
  for (;;) {
    throwIfAborted(signal);
    const current = await reloadRun(deps, run, signal);
    if (current.status === 'cancelled') throw new SyncError('aborted', `run ${run.id} was cancelled by ${current.cancelled?.by ?? 'unknown'}`, { retryable: false, details: { runId: run.id } });
    const active = await activeSteps(deps, poolId, run.id, signal);
    const claimed = await updatePool(pools, poolId, (s) => claimPlacement(s, { runId: run.id, projectId: project.id, token, at: deps.clock.now().toISOString() }, active), { signal });
    placement = claimed.state.placements.find((p) => p.runId === run.id)!;
    if (placement.status !== 'claimed' || placement.token === token) break;
    // Another attempt's claim: its steps may be on the cluster already.
    const listed = stepsOfRun(await deps.platform.listSteps!(placement.clusterId, { signal }), run.id);
    if (listed.length > 0) {
      log.info('found the steps of an earlier placement attempt', { clusterId: placement.clusterId, stepIds: listed.map((s) => s.id) });
      placement = (await markPlaced(deps, poolId, run.id, listed.map((s) => s.id), signal)) ?? placement;
      break;
    }
    const now = Date.now();
    if (watched?.token !== placement.token) watched = { token: placement.token, since: now };
    if (now - watched.since < PLACE_LEASE_MS) {
      await sleep(PLACE_POLL_MS, signal);
      continue;
    }
    // Its call can no longer be in flight: take the claim over (compare-and-set on its token).
    const prior = placement.token;
    await updatePool(pools, poolId, (s) => patchPlacement(s, run.id, (p) => (p.status === 'claimed' && p.token === prior ? { ...p, token, at: deps.clock.now().toISOString() } : undefined)), { signal });
  }

  if (placement.status === 'claimed') {
    let stepIds: string[];
    try {
      stepIds = (await addSteps(placement.clusterId, steps, { signal: AbortSignal.any([signal, AbortSignal.timeout(PLACE_CALL_TIMEOUT_MS)]) })).stepIds;
    } catch (e) {
      const err = toSyncError(e, 'remote_error');
      if (err.code === 'throttled' || err.code === 'invalid_request') {
        // Refused, so nothing was added: drop the claim, so the next attempt may choose again at once.
        await updatePool(pools, poolId, (s) => {
          const i = s.placements.findIndex((p) => p.runId === run.id && p.status === 'claimed' && p.token === token);
          return i < 0 ? undefined : { ...s, placements: s.placements.filter((_, j) => j !== i) };
        }, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
      } else {
        log.warn('AddJobFlowSteps ended without an answer; the steps may still be added', { code: err.code, message: err.message });
      }
      throw err;
    }
    log.info('run placed on pool cluster', { clusterId: placement.clusterId, stepIds });
    placement = (await markPlaced(deps, poolId, run.id, stepIds, signal)) ?? placement;
  }

  const clusterId = placement.clusterId;
  const stepIds = placement.stepIds ?? [];
  const startedAt = deps.clock.now().toISOString();
  const written = await updateProjectState(deps.state, project.id, (s) => {
    const patched = patchRun(s, run.id, (r) => (r.clusterId !== undefined ? undefined : { ...r, clusterId, status: r.status === 'cancelled' ? 'cancelled' : 'running', startedAt, pool: { poolId, stepIds } }));
    if (!patched) return undefined;
    return { ...patched, requests: { ...(patched.requests ?? {}), [requestKey]: { runId: run.id, at: startedAt } } };
  }, { signal });
  const final = written.state.runs.find((r) => r.id === run.id);
  if (final?.status === 'cancelled' && deps.platform.cancelRun) {
    await deps.platform.cancelRun(clusterId, { terminate: false, stepIds }, { signal: AbortSignal.timeout(30_000) }).catch((e: unknown) => log.error('could not cancel the steps of a cancelled pooled run', { message: toSyncError(e).message }));
  }
  return { runId: run.id, clusterId, location: run.location };
}

/** Each active pool cluster's PENDING + RUNNING steps as the platform counts them (undefined when the run already has a placement, or the platform cannot count). */
async function activeSteps(deps: HandlerDeps, poolId: string, runId: string, signal: AbortSignal): Promise<ActiveSteps | undefined> {
  const count = deps.platform.countActiveSteps?.bind(deps.platform);
  const doc = await poolsOf(deps).get(poolId, { signal });
  if (!doc) throw new SyncError('not_found', `pool '${poolId}' does not exist`, { retryable: false });
  if (!count || doc.value.placements.some((p) => p.runId === runId)) return undefined;
  const ids = doc.value.clusters.filter((c) => c.status === 'active').map((c) => c.id);
  const counts = await Promise.all(ids.map((id) => count(id, { signal })));
  const placedBefore = new Set(doc.value.placements.filter((p) => p.status !== 'claimed').map((p) => p.runId));
  return { counts: new Map(ids.map((id, i) => [id, counts[i]!])), placedBefore, now: deps.clock.now().getTime() };
}

async function markPlaced(deps: HandlerDeps, poolId: string, runId: string, stepIds: string[], signal: AbortSignal): Promise<Placement | undefined> {
  const { state } = await updatePool(poolsOf(deps), poolId, (s) => patchPlacement(s, runId, (p) => (p.status === 'claimed' ? { ...p, status: 'placed', stepIds } : undefined)), { signal });
  return state.placements.find((p) => p.runId === runId);
}

async function reloadRun(deps: HandlerDeps, run: Run, signal: AbortSignal): Promise<Run> {
  const doc = await deps.state.get(run.projectId, { signal });
  const fresh = doc?.value.runs.find((r) => r.id === run.id);
  if (!fresh) throw new SyncError('internal', `run ${run.id} vanished from project ${run.projectId}`);
  return fresh;
}

/**
 * Records a pooled run once every one of its steps has ended (else SyncError 'not_ready'): writes the
 * cluster report (the run's own steps only), keeps the steps and the failure, the event log under the
 * run directory, the runtime (first step start to last step end) and the cost: the cluster's hourly
 * cost times the cluster-seconds the run's steps used (clusterSecondsUsed: shared evenly among the
 * steps running at once). Ends the placement and drains the pool's idle draining clusters.
 */
export async function recordPooledRun(deps: HandlerDeps, projectId: string, run: Run, ctx: HandlerContext, signal: AbortSignal, answered: (r: Run) => RunRecordResult | undefined): Promise<RunRecordResult> {
  const opts = { signal };
  const clusterId = run.clusterId;
  if (clusterId === undefined) throw new SyncError('not_ready', `pooled run '${run.id}' is not placed on a cluster yet`, { details: { waitingFor: 'cluster', runId: run.id } });
  const all = await deps.platform.listSteps!(clusterId, opts);
  const mine = stepsOfRun(all, run.id);
  if (!allStepsEnded(mine)) {
    throw new SyncError('not_ready', `the steps of pooled run '${run.id}' on cluster ${clusterId} have not all ended`, { details: { waitingFor: 'steps', runId: run.id, clusterId } });
  }
  const dir = eventLogDir(run.location);
  const listing: ObjectInfo[] = [];
  for await (const o of deps.objects.list(dir, opts)) listing.push(o);
  const log = eventLogStatus(listing.map((o) => o.url), dir);
  const report = await deps.platform.clusterReport(clusterId, opts);
  const ids = new Set(mine.map((s) => s.id));
  const ownReport = { ...report, Steps: report.Steps.filter((s) => typeof s.Id === 'string' && ids.has(s.Id)) };
  const reportUrl = clusterReportUrl(run.location);
  await deps.objects.put(reportUrl, `${JSON.stringify(ownReport, null, 2)}\n`, { ...opts, contentType: 'application/json' });

  const shape = clusterShapeFromReport(report);
  const hw: NonNullable<Run['cluster']> = {};
  if (shape.coreInstanceType) hw.instanceType = shape.coreInstanceType;
  if (shape.coreNodes !== undefined) hw.nodes = shape.coreNodes;
  if (shape.masterInstanceType) hw.masterInstanceType = shape.masterInstanceType;
  let costUsd: number | undefined;
  const usedSeconds = clusterSecondsUsed(mine, all);
  if (deps.catalog && hw.instanceType && hw.nodes !== undefined) {
    try {
      const perHour = clusterCostUsd(deps.catalog, { instanceType: hw.instanceType, nodes: hw.nodes, ...(hw.masterInstanceType ? { masterInstanceType: hw.masterInstanceType } : {}) }, 3600);
      costUsd = Math.round((perHour * usedSeconds) / 3600 * 10_000) / 10_000;
    } catch {
      // An instance type the catalog does not know: recorded without a cost.
    }
  }
  const starts = mine.flatMap((s) => (s.startedAt ? [Date.parse(s.startedAt)] : []));
  const ends = mine.flatMap((s) => (s.endedAt ? [Date.parse(s.endedAt)] : []));
  const endedAt = new Date(ends.length > 0 ? Math.max(...ends) : deps.clock.now().getTime());
  const failedStep = mine.find((s) => s.state !== 'COMPLETED');
  const now = deps.clock.now().toISOString();

  const written = await updateProjectState(deps.state, projectId, (s) =>
    patchRun(s, run.id, (r) => {
      if (answered(r)) return undefined;
      const steps = mergeSteps(r.steps, mine);
      const next: Run = { ...r, status: failedStep ? 'failed' : 'recorded', clusterId, clusterState: 'WAITING', endedAt: endedAt.toISOString(), recordedAt: now, reportUrl, steps };
      if (starts.length > 0) next.runtimeSeconds = Math.max(0, Math.round((endedAt.getTime() - Math.min(...starts)) / 1000));
      next.eventLog = log.reason === undefined ? { status: log.status } : { status: log.status, reason: log.reason };
      if (isUsableEventLog(log.status)) next.eventLogUrl = dir;
      else delete next.eventLogUrl;
      if (Object.keys(hw).length > 0) next.cluster = hw;
      if (costUsd !== undefined) next.costUsd = costUsd;
      const failure = runFailure(steps);
      if (failure) next.failure = failure;
      if (failedStep) next.error = { code: failedStep.state === 'FAILED' ? 'STEP_FAILURE' : `STEP_${failedStep.state}`, message: failedStep.failure?.message ?? `step ${failedStep.id} (${failedStep.name}) ended ${failedStep.state}` };
      return next;
    }),
  opts);
  const final = written.state.runs.find((r) => r.id === run.id);
  const result = final ? answered(final) : undefined;
  if (!result) throw new SyncError('internal', `pooled run '${run.id}' was not recorded`);

  const poolId = run.pool?.poolId ?? written.state.project.pool;
  if (poolId !== undefined) await endPlacement(deps, poolId, run.id, { failed: failedStep !== undefined, endedAt: endedAt.toISOString() }, signal);
  deps.logger.info('pooled run recorded', { projectId, runId: run.id, clusterId, status: result.status, costUsd, clusterSeconds: Math.round(usedSeconds), requestId: ctx.requestId });
  return result;
}

/** Marks a run's placement ended (failed or not), then terminates the pool's draining clusters that are now idle. */
export async function endPlacement(deps: HandlerDeps, poolId: string, runId: string, end: { failed: boolean; endedAt: string }, signal: AbortSignal): Promise<void> {
  await updatePool(poolsOf(deps), poolId, (s) => patchPlacement(s, runId, (p) => (p.status === 'ended' ? undefined : { ...p, status: 'ended', endedAt: end.endedAt, ...(end.failed ? { failed: true } : {}) })), { signal });
  await drainIdle(deps, poolId, signal);
}
