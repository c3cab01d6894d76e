import { isSyncError, toSyncError } from '../domain/errors.js';
import type { ClusterInfo, Logger } from '../domain/ports.js';
import { FINAL_CLUSTER_STATES, recordIdempotencyKey } from './completion-events.js';
import type { Lease } from './lease.js';
import type { Enqueue } from './requests-queue.js';

/** A run the project state marks as not finished: running or recording (with its cluster), or starting. */
export type RunningRun = {
  projectId: string;
  runId: string;
  clusterId?: string | undefined;
  /** Default 'running'. */
  status?: 'starting' | 'running' | 'recording';
  /** ISO time the run was created (bounds ListClusters' CreatedAfter; dates a stuck 'starting'). */
  createdAt?: string | undefined;
};

/** Why the reconciler ends a run: it never got a cluster, or its cluster no longer exists. */
export type RunEnding = { code: 'start_timeout' | 'cluster_not_found'; message: string };

/** EMR states of a cluster that has not reached a final state (listed in one call to skip describes). */
export const ACTIVE_CLUSTER_STATES: readonly string[] = ['STARTING', 'BOOTSTRAPPING', 'RUNNING', 'TERMINATING'];
/** ListClusters' CreatedAfter is this much before the oldest run (clock skew between hosts and EMR). */
const CREATED_AFTER_MARGIN_MS = 60 * 60_000;

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
  /**
   * Ids and states of clusters in ACTIVE_CLUSTER_STATES created after `createdAfter` (EMR ListClusters,
   * paged): a run whose cluster is listed there is still going and needs no DescribeCluster.
   */
  listActiveClusters?: (createdAfter: Date, signal: AbortSignal) => Promise<Map<string, string>>;
  /** Ends a run that cannot finish by itself (status 'failed' with the reason); false when the run moved on meanwhile. */
  endRun?: (run: RunningRun, ending: RunEnding) => Promise<boolean>;
  /**
   * The cluster a stuck 'starting' run launched after all (found by its run-id tag), if any: such a
   * run is adopted (adoptRun) instead of ended, so that no cluster runs untracked.
   */
  findRunCluster?: (run: RunningRun, signal: AbortSignal) => Promise<string | undefined>;
  /** Marks a 'starting' run running on `clusterId`; false when the run moved on meanwhile. */
  adoptRun?: (run: RunningRun, clusterId: string) => Promise<boolean>;
  /** A run still 'starting' this long after it was created is ended with 'start_timeout' (default 1 h). */
  startingTimeoutMs?: number;
  /** Runs checked per pass (default 200); the next pass goes on after the last one checked, round-robin. */
  maxRunsPerPass?: number;
  /** When set, a pass runs only on the agent that holds this lease (one reconciler per Redis); released on stop. */
  lease?: Lease;
  /** More work for the lease holder at the end of each pass (the orphan-cluster sweep); its failure is logged, never the pass's. */
  afterPass?: (signal: AbortSignal) => Promise<void>;
};

export type Reconciler = {
  /** Runs `tick` every intervalMs (the first one after one interval). */
  start(): void;
  /** Stops the timer and waits for a tick in progress. Safe to call twice. */
  stop(): Promise<void>;
  /** One pass: enqueues run.record for running runs whose cluster is final; resolves with how many were newly enqueued. */
  tick(): Promise<number>;
  /** What the last pass did (for logs and tests). */
  readonly lastPass: PassSummary | undefined;
};

/** What one pass did. */
export type PassSummary = { leader: boolean; runs: number; checked: string[]; described: number; enqueued: number; ended: number; adopted: number };

/**
 * The safety net for lost completion events: re-checks runs still marked running and hands a
 * `run.record` for each finished cluster, unless one (from SQS or an earlier pass) is still pending;
 * at most once per interval per run. With a lease, one agent per Redis reconciles; each pass checks
 * at most maxRunsPerPass runs (round-robin across passes), lists the active clusters once instead of
 * describing each, and ends runs stuck in 'starting' or pointing at a cluster that no longer exists.
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

  const maxRuns = Math.max(1, opts.maxRunsPerPass ?? 200);
  const startingTimeoutMs = opts.startingTimeoutMs ?? 60 * 60_000;
  // Round-robin: the key of the last run checked; the next pass starts after it.
  let cursor = '';
  let lastPass: PassSummary | undefined;
  const keyOf = (r: RunningRun) => `${r.projectId}/${r.runId}`;

  const end = async (run: RunningRun, ending: RunEnding): Promise<boolean> => {
    if (!opts.endRun) return false;
    const ended = await opts.endRun(run, ending);
    if (ended) log.warn('reconciler ended a run that could not finish by itself', { ...run, reason: ending.code, message: ending.message });
    return ended;
  };

  const pass = async (): Promise<number> => {
    const summary: PassSummary = { leader: true, runs: 0, checked: [], described: 0, enqueued: 0, ended: 0, adopted: 0 };
    lastPass = summary;
    if (opts.lease && !(await opts.lease.acquire())) {
      summary.leader = false;
      return 0;
    }
    const all = (await opts.listRunningRuns()).sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
    summary.runs = all.length;
    const listed = new Set(all.map((r) => r.runId));
    for (const runId of handedOver.keys()) if (!listed.has(runId)) handedOver.delete(runId);
    // This pass's share: up to maxRuns runs after the cursor, wrapping around.
    const start = all.findIndex((r) => keyOf(r) > cursor);
    const ordered = start <= 0 ? all : [...all.slice(start), ...all.slice(0, start)];
    const runs = ordered.slice(0, maxRuns);
    if (runs.length > 0) cursor = keyOf(runs[runs.length - 1]!);

    // One ListClusters (paged) for the runs with a cluster, instead of one DescribeCluster each.
    let active: Map<string, string> | undefined;
    const withCluster = runs.filter((r) => r.clusterId && (r.status ?? 'running') !== 'starting');
    const created = withCluster.map((r) => (r.createdAt ? Date.parse(r.createdAt) : NaN));
    if (opts.listActiveClusters && withCluster.length > 1 && created.every((t) => Number.isFinite(t))) {
      try {
        active = await opts.listActiveClusters(new Date(Math.min(...created) - CREATED_AFTER_MARGIN_MS), controller.signal);
      } catch (e) {
        log.warn('reconciler could not list active clusters; describing each run instead', { error: toSyncError(e).toJSON() });
      }
    }

    let enqueued = 0;
    for (const run of runs) {
      if (controller.signal.aborted) break;
      summary.checked.push(run.runId);
      try {
        if ((run.status ?? 'running') === 'starting' || !run.clusterId) {
          const age = run.createdAt ? now() - Date.parse(run.createdAt) : NaN;
          if (age > startingTimeoutMs) {
            const found = opts.findRunCluster ? await opts.findRunCluster(run, controller.signal) : undefined;
            if (found !== undefined) {
              if (await opts.adoptRun?.(run, found)) {
                summary.adopted += 1;
                log.warn("reconciler found the cluster of a run stuck in 'starting' and adopted it", { ...run, clusterId: found });
              }
              continue;
            }
            const minutes = Math.round(startingTimeoutMs / 60_000);
            const ended = await end(run, {
              code: 'start_timeout',
              message: `the run stayed 'starting' for more than ${minutes} min without a cluster (RunJobFlow never confirmed); ended by the reconciler`,
            });
            if (ended) summary.ended += 1;
          }
          continue;
        }
        const clusterId = run.clusterId;
        if (active?.has(clusterId)) continue;
        let cluster: ClusterInfo;
        try {
          summary.described += 1;
          cluster = await opts.describeCluster(clusterId, controller.signal);
        } catch (e) {
          if (isSyncError(e, 'not_found')) {
            const ended = await end(run, { code: 'cluster_not_found', message: `cluster ${clusterId} no longer exists on the platform; the run cannot be recorded` });
            if (ended) summary.ended += 1;
            continue;
          }
          throw e;
        }
        if (!FINAL_CLUSTER_STATES.has(cluster.state)) continue;
        const eventKey = recordIdempotencyKey(clusterId, cluster.state);
        const previous = handedOver.get(run.runId);
        if (opts.pending && ((await opts.pending(eventKey)) || (previous !== undefined && (await opts.pending(previous))))) continue;
        // One hand-off per run per interval: if an earlier run.record (from SQS or a pass before) failed
        // finally, the run is still unrecorded and this pass tries again; run.record itself is idempotent.
        const key = `${eventKey}:pass:${Math.floor(now() / opts.intervalMs)}`;
        const { id, duplicate } = await opts.enqueue({
          name: 'run.record',
          data: { projectId: run.projectId, clusterId, runId: run.runId },
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
    summary.enqueued = enqueued;
    if (opts.afterPass && !controller.signal.aborted) {
      try {
        await opts.afterPass(controller.signal);
      } catch (e) {
        log.warn('reconciler after-pass work failed; next pass retries', { error: toSyncError(e).toJSON() });
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
        try {
          await opts.lease?.release();
        } catch (e) {
          log.warn('reconciler could not release its lease; another agent takes over when it expires', { error: toSyncError(e).toJSON() });
        }
      })();
      return stopped;
    },
    tick,
    get lastPass() {
      return lastPass;
    },
  };
}
