import { SyncError } from '../domain/errors.js';
import type { CallOptions, StateStore } from '../domain/ports.js';
import type { Run } from '../domain/types.js';

/** A run found in its project's document, or (`archived`) in the archive chunks beside it. */
export type FoundRun = { run: Run; archived: boolean };

/**
 * A project's run by id: in the project document first, else in its archive (run-archive.ts moves
 * finished runs there). Undefined when the project has no such run; SyncError 'not_found' when the
 * project does not exist.
 */
export async function findRunAnywhere(state: StateStore, projectId: string, runId: string, options: CallOptions = {}): Promise<FoundRun | undefined> {
  const doc = await state.get(projectId, options);
  if (!doc) throw new SyncError('not_found', `project '${projectId}' does not exist`);
  const run = doc.value.runs.find((r) => r.id === runId);
  if (run) return { run, archived: false };
  if (!doc.value.archive || !state.archivedRuns) return undefined;
  for await (const chunk of state.archivedRuns(projectId, options)) {
    const found = chunk.runs.find((r) => r.id === runId);
    if (found) return { run: found, archived: true };
  }
  return undefined;
}
