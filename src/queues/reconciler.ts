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
  /**
   * Whether the request that holds an idempotency key is still queued, delayed or running. A run whose
   * run.record is still on its way is left alone; without this, every pass hands it over again.
   */
  pending?: (idempotencyKey: string) => Promise<boolean>;
  /** Epoch ms (default Date.now); the pass's key changes once per interval. */
  now?: () => number;
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
 * `run.record` for each finished cluster, unless one (from SQS or an earlier pass) is still pending;
 * at most once per interval per run.
 */
export function createReconciler(opts: ReconcilerOptions): Reconciler {
  const log = opts.logger.child({ component: 'reconciler' });
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<number> | undefined;
  let stopped: Promise<void> | undefined;

  const now = opts.now ?? Date.now;
  // The key of the last hand-off per run, to leave a run alone while that request is still pending.
  const handedOver = new Map<string, string>();

  const pass = async (): Promise<number> => {
    const runs = await opts.listRunningRuns();
    const listed = new Set(runs.map((r) => r.runId));
    for (const runId of handedOver.keys()) if (!listed.has(runId)) handedOver.delete(runId);
    let enqueued = 0;
    for (const run of runs) {
      if (controller.signal.aborted) break;
      try {
        const cluster = await opts.describeCluster(run.clusterId, controller.signal);
        if (!FINAL_CLUSTER_STATES.has(cluster.state)) continue;
        const eventKey = recordIdempotencyKey(run.clusterId, cluster.state);
        const previous = handedOver.get(run.runId);
        if (opts.pending && ((await opts.pending(eventKey)) || (previous !== undefined && (await opts.pending(previous))))) continue;
        // One hand-off per run per interval: if an earlier run.record (from SQS or a pass before) failed
        // finally, the run is still unrecorded and this pass tries again; run.record itself is idempotent.
        const key = `${eventKey}:pass:${Math.floor(now() / opts.intervalMs)}`;
        const { id, duplicate } = await opts.enqueue({
          name: 'run.record',
          data: { projectId: run.projectId, clusterId: run.clusterId, runId: run.runId },
          idempotencyKey: key,
        });
        handedOver.set(run.runId, key);
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
