import { type Observable, defer, of, switchMap } from 'rxjs';
import { SyncError, toSyncError, type ErrorCode } from '../domain/errors.js';
import { deriveRunId } from '../domain/ids.js';
import { runForVolume, volumeRuns } from '../domain/input-volume.js';
import { mergeJobFlow, planJobFlow } from '../domain/job-flow.js';
import { executorMemoryOf, keepPinnedSparkSettings } from '../domain/pinned-settings.js';
import type { RunStartData, RunStartResult } from '../domain/requests.js';
import { eventLogDir, jobFlowUrl, predictionUrl, runLocation } from '../domain/run-location.js';
import { TAG_RUN_ID, TAG_TENANT_ID } from '../domain/tags.js';
import type { Estimate, JobFlow, Prediction, Preference, ProjectState, Run } from '../domain/types.js';
import { applicationFingerprint } from './fingerprint.js';
import type { HandlerContext, HandlerDeps } from './deps.js';
import { resolvePreference, resolveProjectLocation } from '../config/resolve.js';
import { fromAbortable, sleep, throwIfAborted } from './rx.js';
import { randomUUID } from 'node:crypto';
import { updateProjectState } from './update-project.js';
import { startDatabricksRun } from './databricks-run.js';
import { placePooledRun } from './pool-run.js';

/** How far before a run's reservation a cluster tagged with its run id may have been created. */
export const FIND_CLUSTER_SLACK_MS = 5 * 60 * 1000;
/** Upper bound of one RunJobFlow call (retries included), counted from just after its launch claim is written. */
export const LAUNCH_CALL_TIMEOUT_MS = 30_000;
/**
 * How long another attempt watches a launch claim before it may take it over: the holder's call
 * (bounded above) plus a margin for a request EMR received just before the holder gave up on it. It is
 * measured on the watching attempt's own clock, from when it first saw the claim, so no two hosts' clocks
 * are ever compared (the claim's `at` is for people reading the state, not for this decision).
 */
export const LAUNCH_LEASE_MS = LAUNCH_CALL_TIMEOUT_MS + 15_000;
const LAUNCH_POLL_MS = 2_000;
/** Bound of terminating a duplicate cluster (its own, not the request's: a cancelled request must still clean up). */
export const TERMINATE_DUPLICATE_TIMEOUT_MS = 60_000;
const TERMINATE_DUPLICATE_ATTEMPTS = 3;

/**
 * True when a failed RunJobFlow certainly did not reach EMR or was refused by it (throttled), so nothing
 * can be launched by it later. Anything else (aborted, timed out, a dropped connection, a 5xx) may still be
 * carried out by EMR: the claim stays, and the next attempt waits out its lease and looks up by tag first.
 */
export function launchCertainlyRefused(error: SyncError): boolean {
  return error.code === 'throttled';
}

/** What run.start should do for a request key, given the project's state. */
export type RunStartDecision =
  | { kind: 'existing'; run: Run & { clusterId: string } } // this key already has a cluster: answer it
  | { kind: 'resume'; run: Run } // reserved by an earlier attempt that did not confirm a cluster
  | { kind: 'failed'; run: Run } // this key's cluster could not be started, or the run was cancelled: answer the same error
  | { kind: 'new' };

/** The request key of a request: the idempotency key, else the queue's lifelong key, else `job:<request id>`. */
export function requestKeyOf(ctx: Pick<HandlerContext, 'idempotencyKey' | 'requestId' | 'requestKey'>): string {
  return ctx.idempotencyKey ?? ctx.requestKey ?? `job:${ctx.requestId}`;
}

/** Decides run.start for `requestKey`: the same key never gets a second run or cluster. */
export function decideRunStart(state: ProjectState, requestKey: string): RunStartDecision {
  const run = state.runs.find((r) => r.requestKey === requestKey);
  if (!run) return { kind: 'new' };
  // A cancelled run answers its cancellation, even when a cluster was launched (and terminated) for it.
  if (run.status === 'cancelled') return { kind: 'failed', run };
  if (run.clusterId !== undefined) return { kind: 'existing', run: run as Run & { clusterId: string } };
  if (run.status === 'failed') return { kind: 'failed', run };
  return { kind: 'resume', run };
}

/** `state` with `run` appended, or undefined when a run with the same request key is already there. */
export function reserveRun(state: ProjectState, run: Run): ProjectState | undefined {
  if (state.runs.some((r) => r.requestKey === run.requestKey || r.id === run.id)) return undefined;
  return { ...state, runs: [...state.runs, run] };
}

/** `state` with run `runId` patched by `fn` (undefined when the run is missing or `fn` returns undefined). */
export function patchRun(state: ProjectState, runId: string, fn: (run: Run) => Run | undefined): ProjectState | undefined {
  const i = state.runs.findIndex((r) => r.id === runId);
  const current = state.runs[i];
  if (current === undefined) return undefined;
  const next = fn(current);
  if (next === undefined) return undefined;
  const runs = [...state.runs];
  runs[i] = next;
  return { ...state, runs };
}

function resultOf(run: Run & { clusterId: string }): RunStartResult {
  return { runId: run.id, clusterId: run.clusterId, location: run.location };
}

function failedRunError(run: Run): SyncError {
  if (run.status === 'cancelled') {
    return new SyncError('aborted', `run ${run.id} for this request was cancelled by ${run.cancelled?.by ?? 'unknown'}${run.cancelled?.reason ? ` (${run.cancelled.reason})` : ''}`, {
      retryable: false,
      details: { runId: run.id },
    });
  }
  const code = (run.error?.code ?? 'remote_error') as ErrorCode;
  return new SyncError(code, `run ${run.id} for this request could not start: ${run.error?.message ?? 'unknown error'}`, {
    retryable: false,
    details: { runId: run.id },
  });
}

/**
 * Reserves a new run in its project's state, then rereads it by request key: a concurrent request with the
 * same key may have reserved it first (and even started it or failed). Gives back the stored run to go on
 * with, or the answer that run already has; a stored run that failed or was cancelled throws its error.
 */
async function reserveNewRun(
  deps: HandlerDeps,
  projectId: string,
  run: Run,
  requestKey: string,
  opts: { signal: AbortSignal },
): Promise<{ run: Run } | { result: RunStartResult }> {
  const reserved = await updateProjectState(deps.state, projectId, (s) => reserveRun(s, run), opts);
  const stored = reserved.state.runs.find((r) => r.requestKey === requestKey);
  if (!stored) throw new SyncError('internal', `run ${run.id} vanished after it was reserved`);
  if (stored.clusterId !== undefined) return { result: resultOf(stored as Run & { clusterId: string }) };
  if (stored.status === 'failed' || stored.status === 'cancelled') throw failedRunError(stored);
  return { run: stored };
}

type PlannedFromPrediction = { jobFlow: JobFlow; preference: Preference; estimate?: Estimate; basis?: Estimate };

/** The prediction a run.start names (`data.predictionId`), where it is stored, and the preference that applies. */
export async function readRequestedPrediction(
  deps: HandlerDeps,
  state: ProjectState,
  location: string,
  data: RunStartData,
  signal: AbortSignal,
): Promise<{ url: string; prediction: Prediction; preference: Preference }> {
  const url = predictionUrl(location, state.project.id, data.predictionId as string);
  const { body } = await deps.objects.get(url, { signal });
  let prediction: Prediction;
  try {
    prediction = JSON.parse(body.toString('utf8')) as Prediction;
  } catch (e) {
    throw new SyncError('corrupt_data', `prediction ${url} is not valid JSON`, { cause: e });
  }
  const preference: Preference = resolvePreference({ request: data.preference === undefined ? {} : { preference: data.preference }, project: state.project, config: deps.config });
  return { url, prediction, preference };
}

async function loadPredictionJobFlow(deps: HandlerDeps, state: ProjectState, location: string, data: RunStartData, signal: AbortSignal): Promise<PlannedFromPrediction> {
  const { url, prediction, preference } = await readRequestedPrediction(deps, state, location, data, signal);
  const configuration = prediction?.solutions?.[preference]?.configuration;
  if (typeof configuration !== 'object' || configuration === null || Array.isArray(configuration)) {
    throw new SyncError('corrupt_data', `prediction ${url} has no solutions.${preference}.configuration object`);
  }
  const base = data.jobFlow ?? state.project.jobFlow ?? {};
  // Keys the project pinned keep the user's value whatever the prediction carries.
  const jobFlow = keepPinnedSparkSettings(base, mergeJobFlow(base, configuration), state.project.policy?.pinned);
  const planned: PlannedFromPrediction = { jobFlow, preference };
  // A cold-start guess has no estimate: the run is not judged against one.
  const estimate = prediction.coldStart ? undefined : prediction.solutions[preference]?.estimate;
  if (estimate) planned.estimate = estimate;
  if (prediction.basis && !prediction.coldStart) planned.basis = { runtimeSeconds: prediction.basis.runtimeSeconds, costUsd: prediction.basis.costUsd };
  return planned;
}

async function startRun(data: RunStartData, deps: HandlerDeps, ctx: HandlerContext, signal: AbortSignal): Promise<RunStartResult> {
  const projectId = data.projectId;
  const requestKey = requestKeyOf(ctx);
  const opts = { signal };
  const loaded = await deps.state.get(projectId, opts);
  if (!loaded) throw new SyncError('not_found', `project '${projectId}' does not exist`);
  const { project } = loaded.value;
  // The queue carries either answer as JSON; RunStartResult is typed for EMR's callers (see its doc).
  if (project.platform === 'databricks') return (await startDatabricksRun(data, deps, ctx, signal, loaded.value)) as RunStartResult;
  if (project.platform !== 'emr') throw new SyncError('unsupported', `run.start for ${project.platform} projects is not available yet`);
  if (deps.platform.name !== project.platform) {
    throw new SyncError('invalid_config', `project '${projectId}' runs on ${project.platform} but this agent's platform is ${deps.platform.name}`);
  }

  const decision = decideRunStart(loaded.value, requestKey);
  if (decision.kind === 'existing') return resultOf(decision.run);
  if (decision.kind === 'failed') throw failedRunError(decision.run);

  // A request that names its input volume (or label) and no prediction runs the configuration learnt for it.
  if (data.predictionId === undefined && decision.kind === 'new' && (data.expectedInputBytes !== undefined || data.inputLabel !== undefined)) {
    const learnt = runForVolume(volumeRuns(loaded.value), data);
    if (learnt?.run.predictionId !== undefined) {
      data = { ...data, predictionId: learnt.run.predictionId, ...(data.preference === undefined && learnt.run.preference !== undefined ? { preference: learnt.run.preference as Preference } : {}) };
      deps.logger.info('run uses the configuration learnt for its input volume', { projectId, why: learnt.why });
    }
  }
  const location = resolveProjectLocation({ project, config: deps.config });
  const fromPrediction = data.predictionId !== undefined ? await loadPredictionJobFlow(deps, loaded.value, location, data, signal) : undefined;
  const request = fromPrediction ? fromPrediction.jobFlow : data.jobFlow;
  const runId = deriveRunId(projectId, requestKey);
  const token = randomUUID();
  let run: Run;
  if (decision.kind === 'resume') {
    run = decision.run;
  } else {
    const createdAt = deps.clock.now();
    run = { id: runId, projectId, status: 'starting', location: runLocation(location, projectId, createdAt, runId), createdAt: createdAt.toISOString(), requestKey };
    if (data.predictionId !== undefined) run.predictionId = data.predictionId;
    if (data.expectedInputBytes !== undefined) run.expectedInputBytes = data.expectedInputBytes;
    if (data.inputLabel !== undefined) run.inputLabel = data.inputLabel;
    const memoryMb = executorMemoryOf(request ?? project.jobFlow);
    if (memoryMb !== undefined) run.executorMemoryMb = memoryMb;
    if (fromPrediction) {
      run.preference = fromPrediction.preference;
      if (fromPrediction.estimate) run.expected = fromPrediction.estimate;
      if (fromPrediction.basis) run.baseline = fromPrediction.basis;
    }
    const fingerprint = await applicationFingerprint(deps.objects, request ?? project.jobFlow, signal);
    if (fingerprint.value !== undefined) run.fingerprint = fingerprint.value;
    else {
      run.fingerprintWarning = fingerprint.warning;
      deps.logger.warn('run started with an unknown application fingerprint', { projectId, runId, warning: fingerprint.warning });
    }
    // Reserved without a launch claim: the claim is taken right before RunJobFlow (acquireLaunch), so
    // its lease covers the call and not the reads and writes before it. A run never claimed has never
    // been launched, so the first attempt still needs no cluster lookup.
  }
  if (project.pool !== undefined) {
    // A pooled project: no cluster of its own; its steps go to the pool's least-loaded cluster.
    if (decision.kind === 'new') {
      run.pool = { poolId: project.pool };
      const reserved = await reserveNewRun(deps, projectId, run, requestKey, opts);
      if ('result' in reserved) return reserved.result;
      run = reserved.run;
    }
    await deps.objects.put(eventLogDir(run.location), '', { ...opts, contentType: 'application/x-directory' });
    // The steps and spark-defaults of the request, the applied prediction (merged, pinned keys kept) or the project.
    return placePooledRun(deps, loaded.value, run, request ?? project.jobFlow, requestKey, ctx, signal);
  }
  // Plan before reserving: a malformed jobFlow fails the request without leaving a run behind.
  const plan = (r: Run): ReturnType<typeof planJobFlow> =>
    planJobFlow({ request, project, runId: r.id, runUrl: r.location, tenantId: project.tenantId, predictionId: r.predictionId });
  plan(run);
  if (decision.kind === 'new') {
    const reserved = await reserveNewRun(deps, projectId, run, requestKey, opts);
    if ('result' in reserved) return reserved.result;
    run = reserved.run;
  }
  const { jobFlow, warnings } = plan(run);
  const log = deps.logger.child({ projectId, runId: run.id, requestId: ctx.requestId });
  for (const w of warnings) log.warn('job flow adjusted', { warning: w });

  await deps.objects.put(eventLogDir(run.location), '', { ...opts, contentType: 'application/x-directory' });
  await deps.objects.put(jobFlowUrl(run.location), `${JSON.stringify(jobFlow, null, 2)}\n`, { ...opts, contentType: 'application/json' });

  const launch = await acquireLaunch(deps, run, token, { tags: { [TAG_RUN_ID]: run.id, [TAG_TENANT_ID]: project.tenantId }, name: typeof jobFlow.Name === 'string' ? jobFlow.Name : undefined }, signal);
  if (launch.kind === 'started') return resultOf(launch.run);
  let clusterId = launch.kind === 'found' ? launch.clusterId : undefined;
  if (clusterId !== undefined) {
    log.info('found the cluster of an earlier attempt', { clusterId });
  } else {
    throwIfAborted(signal);
    try {
      // Bounded, so that the claim's lease tells other attempts when this call can no longer be in flight.
      const callSignal = AbortSignal.any([signal, AbortSignal.timeout(LAUNCH_CALL_TIMEOUT_MS)]);
      clusterId = (await deps.platform.startCluster(jobFlow, { signal: callSignal })).clusterId;
    } catch (e) {
      const err = toSyncError(e, 'remote_error');
      const at = deps.clock.now().toISOString();
      if (!err.retryable) {
        await updateProjectState(deps.state, projectId, (s) =>
          patchRun(s, run.id, (r) => (r.clusterId !== undefined ? undefined : { ...r, status: 'failed', endedAt: at, error: { code: err.code, message: err.message } })),
          opts,
        );
        log.error('cluster could not be started', { code: err.code, message: err.message });
      } else if (launchCertainlyRefused(err)) {
        // Refused, so nothing is in flight: the next attempt need not wait out the lease (it still looks up by tag).
        await updateProjectState(deps.state, projectId, (s) =>
          patchRun(s, run.id, (r) => (r.launch?.token !== token || r.clusterId !== undefined ? undefined : { ...r, launch: { ...r.launch, endedAt: at } })),
          { signal: AbortSignal.timeout(10_000) },
        ).catch(() => undefined);
      } else {
        // Maybe launched: EMR may still carry out a call we aborted or stopped hearing from. The claim stays,
        // so the next attempt waits out its lease and then looks the cluster up by tag before launching.
        log.warn('RunJobFlow ended without an answer; the cluster may still be created', { code: err.code, message: err.message });
      }
      throw err;
    }
    log.info('cluster started', { clusterId });
  }

  const startedAt = deps.clock.now().toISOString();
  const ours = clusterId;
  const written = await updateProjectState(
    deps.state,
    projectId,
    (s) => {
      // A run cancelled while RunJobFlow was in flight keeps its status; the cluster is terminated below.
      const patched = patchRun(s, run.id, (r) => (r.clusterId !== undefined ? undefined : { ...r, clusterId: ours, status: r.status === 'cancelled' ? 'cancelled' : 'running', startedAt }));
      if (!patched) return undefined;
      return { ...patched, requests: { ...(patched.requests ?? {}), [requestKey]: { runId: run.id, at: startedAt } } };
    },
    opts,
  );
  const final = written.state.runs.find((r) => r.id === run.id);
  if (final?.status === 'cancelled') {
    // The cancel raced the launch: end what was launched, so a cancelled run never leaves a cluster running.
    log.warn('run was cancelled while its cluster was being started; terminating it', { clusterId: ours });
    const failure = await terminateDuplicate(deps, ours);
    if (failure !== undefined) log.error('could not terminate the cluster of a cancelled run', { clusterId: ours, message: failure });
    throw failedRunError(final);
  }
  if (final?.clusterId !== undefined && final.clusterId !== ours) {
    // Another attempt of the same request won the race; keep one cluster per request key.
    log.warn('another attempt started this run first; terminating the duplicate cluster', { clusterId: ours, kept: final.clusterId });
    const failure = await terminateDuplicate(deps, ours);
    if (failure === undefined) return resultOf(final as Run & { clusterId: string });
    // Left running, it costs money and nobody else knows of it: say so in the run, the log and the answer.
    const warning = `duplicate cluster ${ours} of run ${run.id} could not be terminated (${failure}); terminate it by hand`;
    log.error('could not terminate duplicate cluster', { clusterId: ours, kept: final.clusterId, message: failure });
    await updateProjectState(deps.state, projectId, (s) =>
      patchRun(s, run.id, (r) => ({ ...r, duplicateClusters: [...(r.duplicateClusters ?? []), { clusterId: ours, terminated: false, error: failure }] })),
      { signal: AbortSignal.timeout(10_000) },
    ).catch((e: unknown) => log.error('could not record the duplicate cluster on the run', { clusterId: ours, message: toSyncError(e).message }));
    return { ...resultOf(final as Run & { clusterId: string }), warnings: [warning] };
  }
  return { runId: run.id, clusterId: ours, location: run.location };
}

/**
 * Terminates a duplicate cluster under its own timeout (not the request's signal, which may be what
 * ended the race), a few times; undefined when it is terminated, else why it could not be.
 */
async function terminateDuplicate(deps: HandlerDeps, clusterId: string): Promise<string | undefined> {
  let last = '';
  for (let attempt = 1; attempt <= TERMINATE_DUPLICATE_ATTEMPTS; attempt++) {
    try {
      await deps.platform.terminateCluster(clusterId, { signal: AbortSignal.timeout(TERMINATE_DUPLICATE_TIMEOUT_MS) });
      return undefined;
    } catch (e) {
      const err = toSyncError(e);
      last = `${err.code}: ${err.message}`;
      if (!err.retryable && err.code !== 'aborted') break;
      if (attempt < TERMINATE_DUPLICATE_ATTEMPTS) await pause(deps, 1_000 * attempt);
    }
  }
  return last;
}

/** Waits on the handler's clock (a fake clock moves time instead of waiting). */
function pause(deps: HandlerDeps, ms: number, signal?: AbortSignal): Promise<void> {
  return deps.clock.sleep ? deps.clock.sleep(ms, signal) : sleep(ms, signal);
}

export type Launch = { kind: 'claimed' } | { kind: 'found'; clusterId: string } | { kind: 'started'; run: Run & { clusterId: string } };
type LaunchLookup = { tags: Record<string, string>; name: string | undefined };

/**
 * Makes this attempt the only one allowed to call RunJobFlow for `run`, right before the call. A claim
 * left by another attempt means a cluster may exist: look it up by tag (run id and tenant id); if none is
 * found, watch that claim until its lease has run out on this attempt's own clock (its RunJobFlow can no
 * longer be in flight; a claim whose call was refused ends at once), look up once more, then take the
 * claim over by compare-and-set, so two attempts never both launch.
 */
export async function acquireLaunch(deps: HandlerDeps, initial: Run, token: string, lookup: LaunchLookup, signal: AbortSignal): Promise<Launch> {
  const opts = { signal };
  let run = initial;
  // The claim this attempt is watching, and when (on this attempt's clock) it first saw it.
  let watched: { token: string; since: number } | undefined;
  for (;;) {
    if (run.clusterId !== undefined) return { kind: 'started', run: run as Run & { clusterId: string } };
    if (run.status === 'failed' || run.status === 'cancelled') throw failedRunError(run);
    const prior = run.launch;
    if (prior?.token === token) return { kind: 'claimed' };
    if (prior) {
      const createdAfter = new Date(Date.parse(run.createdAt) - FIND_CLUSTER_SLACK_MS);
      const found = await deps.platform.findClusterByTag({ tags: lookup.tags, createdAfter, ...(lookup.name !== undefined ? { name: lookup.name } : {}) }, opts);
      if (found) return { kind: 'found', clusterId: found.id };
      const now = deps.clock.now().getTime();
      if (watched?.token !== prior.token) watched = { token: prior.token, since: now };
      const watchedFor = now - watched.since;
      if (prior.endedAt === undefined && watchedFor < LAUNCH_LEASE_MS) {
        await pause(deps, Math.min(LAUNCH_POLL_MS, LAUNCH_LEASE_MS - watchedFor), signal);
        run = await reloadRun(deps, run, signal);
        continue;
      }
    }
    const at = deps.clock.now().toISOString();
    const written = await updateProjectState(
      deps.state,
      run.projectId,
      (s) => patchRun(s, run.id, (r) => (r.clusterId !== undefined || r.status === 'cancelled' || r.launch?.token !== prior?.token ? undefined : { ...r, launch: { token, at } })),
      opts,
    );
    run = written.state.runs.find((r) => r.id === run.id) ?? run;
  }
}

async function reloadRun(deps: HandlerDeps, run: Run, signal: AbortSignal): Promise<Run> {
  const doc = await deps.state.get(run.projectId, { signal });
  const fresh = doc?.value.runs.find((r) => r.id === run.id);
  if (!fresh) throw new SyncError('internal', `run ${run.id} vanished from project ${run.projectId}`);
  return fresh;
}

/**
 * run.start: reserves a run (id derived from the request key), writes `eventlog/` and `job-flow.json`,
 * finds or starts the run's one cluster, and records it. With `predictionId`, the prediction's solution
 * for the preference is merged into the request's (or the project's) jobFlow first.
 */
export function runStart(data: RunStartData, deps: HandlerDeps, ctx: HandlerContext): Observable<RunStartResult> {
  return defer(() => of(data)).pipe(switchMap((d) => fromAbortable((signal) => startRun(d, deps, ctx, signal), ctx.signal)));
}
