// Completion of Databricks runs: Databricks has no EventBridge, so the agent polls runs/get for its
// running Databricks runs and hands a run.record for each finished one (the reconciler's hand-off). One
// agent on a Redis polls per interval (a lock), at most `maxCallsPerPass` runs per pass, starting where
// the previous pass (of any agent) stopped, and backs off while Databricks throttles.
import type { Redis } from 'ioredis';
import { isSyncError } from '../domain/errors.js';
import type { ClusterInfo, Logger } from '../domain/ports.js';
import { createReconciler, type Reconciler, type RunningRun } from './reconciler.js';
import type { Enqueue } from './requests-queue.js';

export type DatabricksPollerOptions = {
  redis: Redis;
  prefix: string;
  intervalMs: number;
  maxCallsPerPass: number;
  listRunningRuns: () => Promise<RunningRun[]>;
  describeCluster: (runId: string, signal: AbortSignal) => Promise<ClusterInfo>;
  enqueue: Enqueue;
  logger: Logger;
  pending?: (idempotencyKey: string) => Promise<boolean>;
  /** The most the interval grows to while Databricks throttles (default 10 x intervalMs). */
  maxBackoffMs?: number;
};

/** The slice of `runs` a pass checks: at most `max`, from `cursor` on, wrapping around (runs sorted by id). */
export function passSlice(runs: readonly RunningRun[], cursor: number, max: number): { slice: RunningRun[]; next: number } {
  const sorted = [...runs].sort((a, b) => (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0));
  if (sorted.length === 0) return { slice: [], next: 0 };
  const start = ((cursor % sorted.length) + sorted.length) % sorted.length;
  const n = Math.min(max, sorted.length);
  const slice = Array.from({ length: n }, (_, i) => sorted[(start + i) % sorted.length]!);
  return { slice, next: (start + n) % sorted.length };
}

/** Creates the poller (a reconciler over Databricks runs, bounded and shared between agents). */
export function createDatabricksPoller(opts: DatabricksPollerOptions): Reconciler {
  const lockKey = `${opts.prefix}:databricks-poll:lock`;
  const cursorKey = `${opts.prefix}:databricks-poll:cursor`;
  const log = opts.logger.child({ component: 'databricks-poller' });
  let backoffUntil = 0;
  let backoffMs = 0;
  return createReconciler({
    intervalMs: opts.intervalMs,
    logger: opts.logger,
    enqueue: opts.enqueue,
    ...(opts.pending ? { pending: opts.pending } : {}),
    listRunningRuns: async () => {
      if (Date.now() < backoffUntil) return [];
      // One pass per interval across every agent on this Redis: whoever takes the lock polls.
      const took = await opts.redis.set(lockKey, '1', 'PX', Math.max(100, opts.intervalMs - 50), 'NX');
      if (took !== 'OK') return [];
      const runs = await opts.listRunningRuns();
      const cursor = Number((await opts.redis.get(cursorKey)) ?? 0);
      const { slice, next } = passSlice(runs, Number.isFinite(cursor) ? cursor : 0, opts.maxCallsPerPass);
      await opts.redis.set(cursorKey, String(next));
      return slice;
    },
    describeCluster: async (runId, signal) => {
      try {
        const info = await opts.describeCluster(runId, signal);
        backoffMs = 0;
        return info;
      } catch (e) {
        if (isSyncError(e, 'throttled')) {
          backoffMs = Math.min(opts.maxBackoffMs ?? 10 * opts.intervalMs, Math.max(opts.intervalMs, backoffMs * 2));
          const retryAfter = Number((e.details as { retryAfterMs?: number } | undefined)?.retryAfterMs ?? 0);
          backoffUntil = Date.now() + Math.max(backoffMs, retryAfter);
          log.warn('Databricks throttled the poller; backing off', { backoffMs: backoffUntil - Date.now() });
        }
        throw e;
      }
    },
  });
}
