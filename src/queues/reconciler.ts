import { toSyncError } from '../domain/errors.js';
import type { ClusterInfo, Logger } from '../domain/ports.js';
import { FINAL_CLUSTER_STATES, recordIdempotencyKey } from './completion-events.js';
import type { Enqueue } from './requests-queue.js';

/** A run the project state still marks as running. */
export type RunningRun = { projectId: string; runId: string; clusterId: string };

export type ReconcilerOptions = {
  intervalMs: number;
  listRunningRuns: () => Promise<RunningRun[]>;
  describeCluster: (clusterId: string, signal: AbortSignal) => Promise<ClusterInfo>;
  enqueue: Enqueue;
  logger: Logger;
};

export type Reconciler = {
  /** Runs `tick` every intervalMs (the first one after one interval). */
  start(): void;
  /** Stops the timer and waits for a tick in progress. Safe to call twice. */
  stop(): Promise<void>;
  /** One pass: enqueues run.record for running runs whose cluster is final; resolves with how many were newly enqueued. */
  tick(): Promise<number>;
};

/**
 * The safety net for lost completion events: re-checks runs still marked running and hands a
 * `run.record` for each finished cluster, with the same idempotency key as the SQS consumer.
 */
export function createReconciler(opts: ReconcilerOptions): Reconciler {
  const log = opts.logger.child({ component: 'reconciler' });
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<number> | undefined;
  let stopped: Promise<void> | undefined;

  const pass = async (): Promise<number> => {
    const runs = await opts.listRunningRuns();
    let enqueued = 0;
    for (const run of runs) {
      if (controller.signal.aborted) break;
      try {
        const cluster = await opts.describeCluster(run.clusterId, controller.signal);
        if (!FINAL_CLUSTER_STATES.has(cluster.state)) continue;
        const { id, duplicate } = await opts.enqueue({
          name: 'run.record',
          data: { projectId: run.projectId, clusterId: run.clusterId, runId: run.runId },
          // One hand-off per run per interval: if an earlier run.record (from SQS or a pass before) failed
          // finally, the run is still unrecorded and this pass tries again; run.record itself is idempotent.
          idempotencyKey: `${recordIdempotencyKey(run.clusterId, cluster.state)}:pass:${Math.floor(Date.now() / opts.intervalMs)}`,
        });
        if (!duplicate) {
          enqueued += 1;
          log.info('reconciler handed a finished run to run.record', { ...run, state: cluster.state, requestId: id });
        }
      } catch (e) {
        log.warn('reconciler could not check a run; next pass retries', { ...run, error: toSyncError(e).toJSON() });
      }
    }
    return enqueued;
  };

  const tick = (): Promise<number> => {
    // One pass at a time: a slow pass is joined, not doubled.
    current ??= pass().finally(() => {
      current = undefined;
    });
    return current;
  };

  return {
    start() {
      if (timer || controller.signal.aborted) return;
      timer = setInterval(() => {
        tick().catch((e: unknown) => log.warn('reconciler pass failed', { error: toSyncError(e).toJSON() }));
      }, opts.intervalMs);
      timer.unref();
    },
    stop() {
      stopped ??= (async () => {
        if (timer) clearInterval(timer);
        controller.abort();
        await current?.catch(() => undefined);
      })();
      return stopped;
    },
    tick,
  };
}
