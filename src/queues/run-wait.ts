// Waiting for a started run to be recorded (`--until recorded`, `?until=recorded`): a run.start's
// result names its run (its run directory holds the project id); the run's status is then read from
// the project state until it is final or the deadline passes.
import { runOfLocation } from '../domain/run-location.js';
import type { Run, RunStatus } from '../domain/types.js';
import type { ResultEntry } from './results.js';

/** What `until` may ask for: the request's own result ('started', the default: for run.start, its run has started), or the end of the run it started. */
export const WAIT_UNTIL = ['started', 'recorded'] as const;
export type WaitUntil = (typeof WAIT_UNTIL)[number];

/** Statuses after which a run changes no more. */
export const FINAL_RUN_STATUSES: ReadonlySet<RunStatus> = new Set(['recorded', 'failed', 'cancelled']);

/** The run a completed request started (run.start's `runId` and run directory), if it started one. */
export function startedRun(entry: ResultEntry): { projectId: string; runId: string } | undefined {
  if (entry.status !== 'completed' || entry.result === null || typeof entry.result !== 'object') return undefined;
  const { runId, location } = entry.result as { runId?: unknown; location?: unknown };
  if (typeof runId !== 'string' || typeof location !== 'string') return undefined;
  const run = runOfLocation(location);
  return run && run.runId === runId ? run : undefined;
}

/** What a waiter answers about the run: its status and, once final, how it ended. */
export type RunView = Pick<Run, 'id' | 'projectId' | 'status'> &
  Partial<Pick<Run, 'clusterId' | 'startedAt' | 'endedAt' | 'recordedAt' | 'reportUrl' | 'runtimeSeconds' | 'costUsd' | 'failure' | 'error' | 'cancelled' | 'eventLog'>>;

export function runView(run: Run): RunView {
  const { id, projectId, status, clusterId, startedAt, endedAt, recordedAt, reportUrl, runtimeSeconds, costUsd, failure, error, cancelled, eventLog } = run;
  const view: RunView = { id, projectId, status };
  const optional = { clusterId, startedAt, endedAt, recordedAt, reportUrl, runtimeSeconds, costUsd, failure, error, cancelled, eventLog };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) (view as Record<string, unknown>)[k] = v;
  return view;
}

/**
 * Reads the run every `pollMs` until its status is final or `deadline` (epoch ms) passes; resolves
 * with the last read (undefined when the run cannot be found).
 */
export async function waitForRun(
  read: () => Promise<Run | undefined>,
  opts: { deadline: number; pollMs?: number; signal?: AbortSignal },
): Promise<Run | undefined> {
  for (;;) {
    const run = await read();
    if ((run && FINAL_RUN_STATUSES.has(run.status)) || Date.now() >= opts.deadline || opts.signal?.aborted) return run;
    await new Promise((resolve) => setTimeout(resolve, Math.min(opts.pollMs ?? 500, Math.max(1, opts.deadline - Date.now()))));
  }
}
