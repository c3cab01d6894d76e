import { type Observable, defer, of, switchMap } from 'rxjs';
import { SyncError } from '../domain/errors.js';
import type { PredictionApplyData, RunStartResult } from '../domain/requests.js';
import type { ProjectState } from '../domain/types.js';
import type { HandlerContext, HandlerDeps } from './deps.js';
import { projectFingerprint } from './fingerprint.js';
import { runStart } from './run-start.js';
import { fromAbortable } from './rx.js';

/** The prediction to apply: the one named (it must belong to the project), else the latest. */
export function choosePrediction(state: ProjectState, predictionId: string | undefined): string {
  if (predictionId !== undefined) {
    if (!state.predictions.some((p) => p.id === predictionId)) throw new SyncError('not_found', `project '${state.project.id}' has no prediction '${predictionId}'`);
    return predictionId;
  }
  const latest = state.predictions[state.predictions.length - 1];
  if (!latest) throw new SyncError('not_found', `project '${state.project.id}' has no prediction yet: send prediction.create first`);
  return latest.id;
}

/**
 * prediction.apply: starts the next run from a prediction's solution for the preference
 * (request -> project -> site -> tenant), merged into the project's own request (run.start does the merge and tags it).
 */
export function predictionApply(data: PredictionApplyData, deps: HandlerDeps, ctx: HandlerContext): Observable<RunStartResult> {
  return defer(() => of(data)).pipe(
    switchMap((d) =>
      fromAbortable(async (signal) => {
        const loaded = await deps.state.get(d.projectId, { signal });
        if (!loaded) throw new SyncError('not_found', `project '${d.projectId}' does not exist`);
        const predictionId = choosePrediction(loaded.value, d.predictionId);
        // The code-change guard: a prediction learnt on other code is not applied.
        const basisRunId = loaded.value.predictions.find((p) => p.id === predictionId)?.basisRunId;
        const basis = loaded.value.runs.find((r) => r.id === basisRunId);
        if (basis?.fingerprint !== undefined) {
          const current = await projectFingerprint(deps.objects, loaded.value.project, signal);
          // Unknown (the code could not be read) is not a change: the guard does not trip on it.
          if (current.value === undefined) deps.logger.warn('code-change guard skipped: the application fingerprint is unknown', { projectId: d.projectId, predictionId, warning: current.warning });
          else if (current.value !== basis.fingerprint) {
            throw new SyncError(
              'invalid_request',
              `prediction ${predictionId} is based on run ${basis.id}, and the application changed since (its steps or the code they reference): record a run on the new code, then predict again`,
              { retryable: false, details: { predictionId, basisRunId: basis.id } },
            );
          }
        }
        return predictionId;
      }, ctx.signal),
    ),
    switchMap((predictionId) =>
      runStart({ projectId: data.projectId, predictionId, ...(data.preference === undefined ? {} : { preference: data.preference }) }, deps, ctx),
    ),
  );
}
