import type { StateStore } from '../domain/ports.js';
import type { RunStatus } from '../domain/types.js';
import { updateProjectState } from './update-project.js';

/**
 * Ends a run that cannot finish by itself (the reconciler's verdict): status 'failed' with the
 * reason as its error, only if the run is still in `expected` status (else it moved on meanwhile and
 * nothing is written). Resolves with whether this call ended it.
 */
export async function endRun(
  state: StateStore,
  target: { projectId: string; runId: string; expected: RunStatus },
  error: { code: string; message: string },
  now: Date,
): Promise<boolean> {
  const { written } = await updateProjectState(state, target.projectId, (s) => {
    const run = s.runs.find((r) => r.id === target.runId);
    if (!run || run.status !== target.expected) return undefined;
    run.status = 'failed';
    run.error = error;
    run.endedAt ??= now.toISOString();
    return s;
  });
  return written;
}

/** Adopts the cluster a run stuck in 'starting' launched after all: status 'running' on `clusterId`, only if the run is still 'starting' without a cluster. */
export async function adoptRunCluster(state: StateStore, target: { projectId: string; runId: string }, clusterId: string, now: Date): Promise<boolean> {
  const { written } = await updateProjectState(state, target.projectId, (s) => {
    const run = s.runs.find((r) => r.id === target.runId);
    if (!run || run.status !== 'starting' || run.clusterId !== undefined) return undefined;
    run.status = 'running';
    run.clusterId = clusterId;
    run.startedAt ??= now.toISOString();
    return s;
  });
  return written;
}
