import { type Observable, defer, lastValueFrom, of, switchMap } from 'rxjs';
import { resolvePreference } from '../config/resolve.js';
import { SyncError } from '../domain/errors.js';
import type { ProjectIterateData, RunStartResult } from '../domain/requests.js';
import { decideIteration, type IterationDecision } from '../domain/tuning-policy.js';
import type { IterationRecord, Prediction, ProjectState } from '../domain/types.js';
import type { HandlerContext, HandlerDeps } from './deps.js';
import { databricksStartAnswer } from './databricks-run.js';
import { projectFingerprint } from './fingerprint.js';
import { isPredictable, predictionCreate } from './prediction-create.js';
import { requestKeyOf, runStart } from './run-start.js';
import { fromAbortable } from './rx.js';
import { updateProjectState } from './update-project.js';

/** What project.iterate answers: the run it started, and what it decided and why. */
export type IterateResult = RunStartResult & Omit<IterationRecord, 'at' | 'runId'>;

const UNFINISHED = new Set(['starting', 'running', 'recording']);

function answerOf(state: ProjectState, requestKey: string): IterateResult | undefined {
  const run = state.runs.find((r) => r.requestKey === requestKey && r.clusterId !== undefined);
  if (!run?.clusterId) return undefined;
  const record = state.status?.iterations.find((i) => i.runId === run.id);
  if (!record) return undefined;
  const { at: _at, runId: _runId, ...rest } = record;
  if (state.project.platform === 'databricks') return { ...(databricksStartAnswer(run) as RunStartResult), ...rest };
  return { runId: run.id, clusterId: run.clusterId, location: run.location, ...rest };
}

async function iterate(data: ProjectIterateData, deps: HandlerDeps, ctx: HandlerContext, signal: AbortSignal): Promise<IterateResult> {
  const opts = { signal };
  const loaded = await deps.state.get(data.projectId, opts);
  if (!loaded) throw new SyncError('not_found', `project '${data.projectId}' does not exist`);
  const requestKey = requestKeyOf(ctx);
  const replay = answerOf(loaded.value, requestKey);
  if (replay) return replay;

  // The latest run other than one this same request may already have started (a retry after a crash).
  const earlier = loaded.value.runs.filter((r) => r.requestKey !== requestKey);
  const latest = earlier[earlier.length - 1];
  if (latest && UNFINISHED.has(latest.status)) {
    throw new SyncError('not_ready', `run ${latest.id} of project '${data.projectId}' is still ${latest.status}; iterate once it is recorded`, {
      details: { waitingFor: 'run', runId: latest.id },
    });
  }
  let prediction: Prediction | undefined;
  if (latest && isPredictable(latest) && deps.predictions) {
    prediction = await lastValueFrom(predictionCreate({ projectId: data.projectId, runId: latest.id }, deps, ctx));
  }
  // Cold start: the first run of a project that declares its input may start from the table's guess.
  if (!latest && loaded.value.project.policy?.declaredInput && deps.predictions) {
    prediction = await lastValueFrom(predictionCreate({ projectId: data.projectId }, deps, ctx));
  }
  const state = (await deps.state.get(data.projectId, opts))!.value;
  const preference = resolvePreference({ request: data.preference === undefined ? {} : { preference: data.preference }, project: state.project, config: deps.config });
  const current = await projectFingerprint(deps.objects, state.project, signal);
  if (current.value === undefined) deps.logger.warn('the application fingerprint is unknown; the code-change guard keeps its standing', { projectId: data.projectId, warning: current.warning });
  const currentFingerprint = current.value;
  const decision: IterationDecision = decideIteration({ state, latest: latest && state.runs.find((r) => r.id === latest.id), prediction, preference, currentFingerprint });

  if (decision.regressed) {
    const { runId, why } = decision.regressed;
    await updateProjectState(deps.state, data.projectId, (s) => ({ ...s, runs: s.runs.map((r) => (r.id === runId && r.regressed === undefined ? { ...r, regressed: why } : r)) }), opts);
  }
  const next = 'base' in decision.next ? {} : { predictionId: decision.next.predictionId, preference: decision.next.preference };
  const started = await lastValueFrom(runStart({ projectId: data.projectId, ...next }, deps, ctx));

  const record: IterationRecord = { at: deps.clock.now().toISOString(), runId: started.runId, decision: decision.decision, reason: decision.reason };
  if (prediction) record.predictionId = prediction.predictionId;
  if (decision.compelling !== undefined) record.compelling = decision.compelling;
  if (decision.saving !== undefined) record.saving = Math.round(decision.saving * 1000) / 1000;
  if (decision.trial) record.trial = true;
  await updateProjectState(
    deps.state,
    data.projectId,
    (s) => {
      const status = s.status ?? { warnings: [], iterations: [] };
      if (status.iterations.some((i) => i.runId === record.runId)) return undefined;
      const warnings = decision.warning ? [decision.warning] : [];
      // An exploration trial is marked on its run, so a loss is rolled back at once and the budget counts it.
      const runs = decision.trial ? s.runs.map((r) => (r.id === started.runId ? { ...r, trial: true } : r)) : s.runs;
      return { ...s, runs, status: { warnings, iterations: [...status.iterations, record].slice(-200) } };
    },
    opts,
  );
  deps.logger.info('project iterated', { projectId: data.projectId, runId: started.runId, decision: decision.decision, reason: decision.reason, requestId: ctx.requestId });
  const { at: _at, runId: _runId, ...rest } = record;
  return { ...started, ...rest };
}

/**
 * project.iterate: the tuning loop's step. Predicts from the latest recorded run, judges it against the
 * project's mode and guard rails (never on top of a failure, roll back a regression, keep the SLA, hold on a
 * code change), and starts the next run from the chosen configuration. A replay answers the same run.
 */
export function projectIterate(data: ProjectIterateData, deps: HandlerDeps, ctx: HandlerContext): Observable<IterateResult> {
  return defer(() => of(data)).pipe(switchMap((d) => fromAbortable((signal) => iterate(d, deps, ctx, signal), ctx.signal)));
}
