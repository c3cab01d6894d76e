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
export async function findRunAnywhere(state: StateStore, projectId: string, run: string | ((r: Run) => boolean), options: CallOptions = {}): Promise<FoundRun | undefined> {
  const match = typeof run === 'string' ? (r: Run) => r.id === run : run;
  const doc = await state.get(projectId, options);
  if (!doc) throw new SyncError('not_found', `project '${projectId}' does not exist`);
  const current = doc.value.runs.find(match);
  if (current) return { run: current, archived: false };
  return findArchivedRun(state, projectId, match, doc.value.archive !== undefined, options);
}

/** A run moved to the project's archive, by `match`; undefined when there is no archive or no such run. */
export async function findArchivedRun(state: StateStore, projectId: string, match: (r: Run) => boolean, hasArchive: boolean, options: CallOptions = {}): Promise<FoundRun | undefined> {
  if (!hasArchive || !state.archivedRuns) return undefined;
  // Chunks are read oldest first, and the reading stops at the first match.
  for await (const chunk of state.archivedRuns(projectId, options)) {
    const found = chunk.runs.find(match);
    if (found) return { run: found, archived: true };
  }
  return undefined;
}
