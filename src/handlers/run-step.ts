import type { Observable } from 'rxjs';
import { SyncError } from '../domain/errors.js';
import type { RunStepData, RunStepResult } from '../domain/requests.js';
import { mergeSteps, runFailure } from '../domain/run-steps.js';
import type { ProjectState, Run, RunStep } from '../domain/types.js';
import type { HandlerContext, HandlerDeps } from './deps.js';
import { findArchivedRun } from './find-run.js';
import { fromAbortable } from './rx.js';
import { updateProjectState } from './update-project.js';
import { allStepsEnded, stepsOfRun } from '../domain/pools.js';
import { endPlacement, recordPooledRun } from './pool-run.js';
import { answered } from './run-record.js';

/** The run a step update belongs to: by run id when given, else by its cluster. */
function findRun(state: ProjectState, data: RunStepData): Run | undefined {
  if (data.runId !== undefined) return state.runs.find((r) => r.id === data.runId);
  return state.runs.find((r) => r.clusterId === data.clusterId);
}

/**
 * Applies a step listing to one run: merges the steps (a final step state never goes back) and sets
 * the failure of the first failed step. Pure; undefined when nothing changes.
 */
export function applySteps(state: ProjectState, data: RunStepData, steps: readonly RunStep[]): ProjectState | undefined {
  const run = findRun(state, data);
  if (!run) return undefined;
  const merged = mergeSteps(run.steps, steps);
  const failure = runFailure(merged);
  const next: Run = { ...run, steps: merged };
  if (failure) next.failure = failure;
  if (JSON.stringify(next) === JSON.stringify(run)) return undefined;
  return { ...state, runs: state.runs.map((r) => (r.id === run.id ? next : r)) };
}

/**
 * run.step: a step of a run's cluster changed state (an EMR Step Status Change event, or a caller
 * asking to refresh). Lists the cluster's steps and keeps them on the run, with the failing step's
 * reason and log location. Idempotent: the same listing twice writes once.
 */
export function runStep(data: RunStepData, deps: HandlerDeps, ctx: HandlerContext): Observable<RunStepResult> {
  return fromAbortable(async (signal) => {
    const list = deps.platform.listSteps?.bind(deps.platform);
    if (!list) throw new SyncError('unsupported', `the ${deps.platform.name} platform cannot list steps`);
    const current = await deps.state.get(data.projectId, { signal });
    if (!current) throw new SyncError('not_found', `project '${data.projectId}' does not exist`);
    const run = findRun(current.value, data);
    if (!run) {
      // A late step event for a run moved to the archive (only finished runs are): its steps were
      // final when it was recorded; answer them as kept, and write nothing.
      const match = data.runId !== undefined ? (r: Run) => r.id === data.runId : (r: Run) => r.clusterId === data.clusterId;
      const archived = await findArchivedRun(deps.state, data.projectId, match, current.value.archive !== undefined, { signal });
      if (archived) {
        const result: RunStepResult = { runId: archived.run.id, steps: archived.run.steps ?? [] };
        if (archived.run.failure) result.failure = archived.run.failure;
        return result;
      }
      throw new SyncError('not_found', `project '${data.projectId}' has no run ${data.runId !== undefined ? `'${data.runId}'` : `on cluster '${data.clusterId}'`} (neither in its document nor in its archive)`);
    }
    const listed = await list(data.clusterId, { signal });
    // A pool cluster runs many runs' steps: keep this run's own (named for it).
    const steps = run.pool ? stepsOfRun(listed, run.id) : listed;
    const { state } = await updateProjectState(deps.state, data.projectId, (s) => applySteps(s, data, steps), { signal });
    let after = state.runs.find((r) => r.id === run.id) ?? run;
    if (run.pool && allStepsEnded(steps)) {
      // A pooled run ends with its steps (its cluster does not): record it now (a cancelled one only frees its placement).
      if (answered(after)) await endPlacement(deps, run.pool.poolId, run.id, { failed: false, endedAt: deps.clock.now().toISOString() }, signal);
      else await recordPooledRun(deps, data.projectId, after, ctx, signal, answered);
      after = (await deps.state.get(data.projectId, { signal }))?.value.runs.find((r) => r.id === run.id) ?? after;
    }
    const result: RunStepResult = { runId: run.id, steps: after.steps ?? [] };
    if (after.failure) result.failure = after.failure;
    return result;
  }, ctx.signal);
}
