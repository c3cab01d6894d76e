import { SyncError, isSyncError } from '../domain/errors.js';
import type { StateStore } from '../domain/ports.js';
import type { ProjectState } from '../domain/types.js';
import { sleep, throwIfAborted } from './rx.js';

/** Options for updateProjectState. */
export type UpdateProjectOptions = {
  signal?: AbortSignal;
  /** Writes tried before giving up with the last 'conflict' (default 8). */
  attempts?: number;
  /** First retry delay; doubles each time, with full jitter (default 25 ms, capped at 1 s). */
  baseDelayMs?: number;
  /** Random source in [0, 1) for the jitter (tests pass a fixed one). */
  random?: () => number;
};

/** What updateProjectState ended with: the state as stored, its version, and whether this call wrote it. */
export type UpdateProjectResult = { state: ProjectState; version: string; written: boolean };

/**
 * Optimistic read-modify-write of one project document: reads it, applies `fn` to a private copy,
 * and writes the result only if nobody wrote since; on 'conflict' re-reads and re-applies `fn`
 * (bounded, with jittered backoff). `fn` returning undefined means "nothing to change" (no write).
 * A missing project is SyncError 'not_found'; errors thrown by `fn` propagate unchanged.
 */
export async function updateProjectState(
  state: StateStore,
  projectId: string,
  fn: (s: ProjectState) => ProjectState | undefined,
  opts: UpdateProjectOptions = {},
): Promise<UpdateProjectResult> {
  const attempts = Math.max(1, opts.attempts ?? 8);
  const base = opts.baseDelayMs ?? 25;
  const random = opts.random ?? Math.random;
  let lastConflict: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    throwIfAborted(opts.signal);
    const current = await state.get(projectId, opts.signal ? { signal: opts.signal } : {});
    if (!current) throw new SyncError('not_found', `project '${projectId}' does not exist`);
    const next = fn(structuredClone(current.value));
    if (next === undefined) return { state: current.value, version: current.version, written: false };
    try {
      const version = await state.put(projectId, next, current.version, opts.signal ? { signal: opts.signal } : {});
      return { state: next, version, written: true };
    } catch (e) {
      if (!isSyncError(e, 'conflict')) throw e;
      lastConflict = e;
      if (attempt + 1 < attempts) await sleep(Math.floor(random() * Math.min(1000, base * 2 ** attempt)), opts.signal);
    }
  }
  throw new SyncError('conflict', `project '${projectId}' kept changing under ${attempts} attempts to update it`, { cause: lastConflict });
}
