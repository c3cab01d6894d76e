import { randomUUID } from 'node:crypto';
import { DelayedError, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Job, JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { openRedis, type RedisEndpoint } from '../adapters/redis-connection.js';
import { SyncError, toSyncError } from '../domain/errors.js';
import type { Logger } from '../domain/ports.js';
import { requestLabel } from '../agent/metrics.js';
import type { Metrics } from '../agent/metrics.js';
import { createResults } from './results.js';
import type { Results } from './results.js';

/** A request as clients send it: `{ id?, name, data, idempotencyKey? }`. */
export type RequestInput = { id?: string; name: string; data: unknown; idempotencyKey?: string };
/** A request that passed validation. */
export type ValidRequest = { name: string; data: unknown; id?: string; idempotencyKey?: string };
/** What `enqueue` answers: the request id, and whether an earlier request already covered it. */
export type EnqueueResult = { id: string; duplicate: boolean };
/** Hands a request to the requests queue; resolves once the job is durable in Redis. */
export type Enqueue = (request: RequestInput) => Promise<EnqueueResult>;
/** Validates a raw request (throws SyncError 'invalid_request' / 'unknown_request'). */
export type Validate = (raw: unknown) => ValidRequest;
/** Context a handler gets for one attempt; `requestKey` identifies the request for life (see requestKeyOfJob). */
export type DispatchContext = { requestId: string; idempotencyKey?: string; requestKey: string; signal: AbortSignal };
/** Runs the handler for a request name. */
export type Dispatch = (name: string, data: unknown, ctx: DispatchContext) => Promise<unknown>;
/** Where a request stands while it has no final result. */
export type PendingState = 'queued' | 'active';

/**
 * The BullMQ job data of a request: the request minus its name (the job name) and id (the job id).
 * BullMQ clients in other languages add jobs of this shape to queue `<prefix>.requests` with the
 * BullMQ `prefix` option set to `<prefix>`.
 */
export type RequestJobData = { data: unknown; idempotencyKey?: string };

/** The BullMQ queue name of the requests queue. */
export function requestQueueName(prefix: string): string {
  return `${prefix}.requests`;
}

/** The Redis key mapping an idempotency key to the request id that claimed it. */
export function idempotencyKeyOf(prefix: string, key: string): string {
  return `${prefix}:idem:${key}`;
}

/**
 * A request id usable as a BullMQ job id and a Redis key part: 1-128 of A-Z a-z 0-9 . _ -, starting
 * with a letter or digit, without '..', and not only digits (BullMQ refuses integer ids). Throws otherwise.
 */
export function checkRequestId(id: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id) || id.includes('..') || /^\d+$/.test(id)) {
    throw new SyncError('invalid_request', `request id ${JSON.stringify(id.slice(0, 80))} is not allowed: use 1-128 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit, without '..', and not only digits`);
  }
  return id;
}

/**
 * The key that identifies a request for life, from which handlers derive run, prediction and project ids
 * when it has no idempotency key. Ids this agent gives (random UUIDs) and ids clients choose are kept:
 * `job:<id>`. A purely numeric id can only be BullMQ's own counter (a client added the job without a
 * jobId, and `checkRequestId` refuses numeric ids), which starts again at 1 after a Redis reset or
 * migration; such a request is keyed `job:<id>@<timestamp>` with the millisecond BullMQ stored when the job
 * was added, which an id handed out again after a reset cannot share (unless the clock went back), while
 * every attempt and every takeover of the same job sees the same value.
 */
export function requestKeyOfJob(id: string, addedAt: number): string {
  if (!/^\d+$/.test(id)) return `job:${id}`;
  if (!Number.isSafeInteger(addedAt) || addedAt <= 0) {
    throw new SyncError('invalid_request', `job ${id} has a BullMQ counter id and no timestamp, so it cannot be told apart from a later job with the same id; add it with a jobId`);
  }
  return `job:${id}@${addedAt}`;
}

/** Resolves once `redis` is connected, or rejects with SyncError 'unavailable' after `timeoutMs`. */
export function whenReady(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new SyncError('unavailable', `Redis is not reachable (connection ${redis.status} for ${timeoutMs} ms)`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}

/** Closes an ioredis connection: QUIT when connected, else a plain disconnect (QUIT would wait in the offline queue). */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
  else redis.disconnect();
}

export type RequestQueueOptions = {
  /** Every connection (this one's and BullMQ's) is opened through openRedis with this endpoint. */
  connection: RedisEndpoint;
  prefix: string;
  /** Attempts for retryable failures (first run included). */
  attempts: number;
  /** Base delay of the exponential backoff between attempts. */
  backoffMs: number;
  logger: Logger;
  metrics?: Metrics;
  /** How long an idempotency key stays claimed; default 30 days. */
  idempotencyTtlSeconds?: number;
  /** How long a claim whose job is not added yet holds the key (its agent may have died in between); default 60 s. */
  pendingClaimTtlSeconds?: number;
  /** How long enqueue/ping wait for a (re)connecting Redis before failing 'unavailable'; default 5000. */
  readyTimeoutMs?: number;
};

/** What the queue holds: jobs per state, and the latest failures with their reasons. */
export type QueueStats = {
  counts: Record<string, number>;
  failed: { id: string; name: string; reason: string; finishedAt?: string }[];
};

export type RequestQueue = {
  enqueue: Enqueue;
  /** 'queued' / 'active' for a job that has not finished, undefined when no such job is pending. */
  state(id: string): Promise<PendingState | undefined>;
  /** Round-trips to Redis (for readiness); false when it is unreachable, never hangs. */
  ping(): Promise<boolean>;
  /** Jobs per state and the latest failed ones (the dashboard's queue page). */
  stats(failedLimit?: number): Promise<QueueStats>;
  close(): Promise<void>;
};

/** The producer side of `<prefix>.requests`: enqueue with id and idempotency-key deduplication. */
export function createRequestQueue(opts: RequestQueueOptions): RequestQueue {
  // Fail fast: a producer told "unavailable" can retry, whereas a command parked in the offline
  // queue would add the job later behind the caller's back.
  const redis = openRedis(opts.connection, { name: `${opts.prefix}-queue`, failFast: true });
  redis.on('error', (err) => opts.logger.debug('requests queue connection error', { error: err }));
  const readyTimeoutMs = opts.readyTimeoutMs ?? 5000;
  const results = createResults(redis, opts.prefix);
  const idemTtl = opts.idempotencyTtlSeconds ?? 30 * 24 * 3600;
  const pendingClaimTtl = Math.min(idemTtl, opts.pendingClaimTtlSeconds ?? 60);
  const defaultJobOptions: JobsOptions = {
    attempts: Math.max(1, opts.attempts),
    backoff: { type: 'exponential', delay: opts.backoffMs, jitter: 0.5 },
    removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
  };
  const queue = new Queue<RequestJobData, unknown, string>(requestQueueName(opts.prefix), { connection: redis, prefix: opts.prefix, defaultJobOptions });
  queue.on('error', (err) => opts.logger.warn('requests queue connection error', { error: err }));
  let closing: Promise<void> | undefined;

  const known = async (id: string): Promise<boolean> => {
    if ((await queue.getJobState(id)) !== 'unknown') return true;
    const result = await results.get(id);
    return result !== undefined && result.status !== 'rejected';
  };

  const add = async (id: string, request: RequestInput): Promise<void> => {
    const data: RequestJobData = { data: request.data };
    if (request.idempotencyKey !== undefined) data.idempotencyKey = request.idempotencyKey;
    // run.record goes to the head of the queue: it is short, and a finished run must be recorded within
    // seconds of its completion event even behind a burst of run.start requests (FIFO made it wait for all of them).
    await queue.add(request.name, data, { jobId: id, ...(request.name === 'run.record' ? { lifo: true } : {}) });
  };

  const enqueue: Enqueue = async (request) => {
    if (closing) throw new SyncError('unavailable', 'the requests queue is closing');
    const id = checkRequestId(request.id ?? randomUUID());
    const count = (outcome: 'enqueued' | 'duplicate') => opts.metrics?.requests.inc({ name: requestLabel(request.name), outcome });
    try {
      await whenReady(redis, readyTimeoutMs);
      if (request.idempotencyKey !== undefined) {
        const key = idempotencyKeyOf(opts.prefix, request.idempotencyKey);
        // The claim is short-lived until the job exists: an agent killed between claim and add must not
        // leave a key that answers "duplicate" for a job that was never added (the request would be lost).
        const claimed = await redis.set(key, id, 'EX', pendingClaimTtl, 'NX');
        if (claimed === null) {
          const owner = await redis.get(key);
          if (owner !== null && owner !== id) {
            if (await known(owner)) {
              count('duplicate');
              return { id: owner, duplicate: true };
            }
            // A claim that outlived its pending window belonged to a job that was enqueued and has since
            // expired (with its result): hand the key to this request; the handlers' own per-key
            // idempotency (run ids, prediction ids derived from the key) answers what the first one did.
            const ttl = await redis.ttl(key);
            if (ttl <= pendingClaimTtl) {
              throw new SyncError('unavailable', `idempotency key ${JSON.stringify(request.idempotencyKey)} is claimed by request ${owner}, which is not enqueued yet; retry shortly`);
            }
            // The owner extends its claim only after adding its job: look again, it may have done both
            // since the first look (a concurrent hand-off, not an expired one). A guard for that window;
            // no test has caught it happening.
            if (await known(owner)) {
              count('duplicate');
              return { id: owner, duplicate: true };
            }
            await redis.set(key, id, 'EX', pendingClaimTtl, 'XX');
          }
          // The same request again (redelivered after a crash), or the claim just lapsed: finish its hand-off.
          if (owner === null && (await redis.set(key, id, 'EX', pendingClaimTtl, 'NX')) === null) {
            throw new SyncError('unavailable', `idempotency key ${JSON.stringify(request.idempotencyKey)} was claimed concurrently; retry shortly`);
          }
        }
        if (request.id !== undefined && (await known(id))) {
          await redis.set(key, id, 'EX', idemTtl, 'XX');
          count('duplicate');
          return { id, duplicate: true };
        }
        try {
          await add(id, request);
        } catch (e) {
          // Release the claim so a retry of the same request is not answered "duplicate" for a job that never existed.
          await redis.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0", 1, key, id).catch(() => undefined);
          throw e;
        }
        await redis.expire(key, idemTtl);
      } else {
        // A freshly generated id cannot collide; only a client-chosen one needs the lookup.
        if (request.id !== undefined && (await known(id))) {
          count('duplicate');
          return { id, duplicate: true };
        }
        await add(id, request);
      }
      count('enqueued');
      opts.logger.debug('request enqueued', { requestId: id, name: request.name });
      return { id, duplicate: false };
    } catch (e) {
      if (e instanceof SyncError) throw e;
      throw new SyncError('unavailable', `could not enqueue request ${id}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  };

  return {
    enqueue,
    async state(id) {
      const s = await queue.getJobState(id);
      if (s === 'active') return 'active';
      if (s === 'waiting' || s === 'delayed' || s === 'prioritized' || s === 'waiting-children') return 'queued';
      return undefined;
    },
    async stats(failedLimit = 20) {
      await whenReady(redis, readyTimeoutMs);
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized', 'waiting-children');
      const jobs = await queue.getFailed(0, Math.max(0, failedLimit - 1));
      const failed = jobs
        .filter((j) => j.id !== undefined)
        .map((j) => ({ id: j.id!, name: j.name, reason: j.failedReason ?? '', ...(j.finishedOn ? { finishedAt: new Date(j.finishedOn).toISOString() } : {}) }));
      const waiting = (counts['waiting'] ?? 0) + (counts['prioritized'] ?? 0) + (counts['waiting-children'] ?? 0);
      return { counts: { waiting, active: counts['active'] ?? 0, delayed: counts['delayed'] ?? 0, failed: counts['failed'] ?? 0, completed: counts['completed'] ?? 0 }, failed };
    },
    async ping() {
      try {
        await whenReady(redis, readyTimeoutMs);
        return (await redis.ping()) === 'PONG';
      } catch {
        return false;
      }
    },
    close() {
      closing ??= (async () => {
        await queue.close().catch(() => undefined);
        await closeRedis(redis);
      })();
      return closing;
    },
  };
}

export type RequestWorkerOptions = {
  /** Every connection (this one's and BullMQ's) is opened through openRedis with this endpoint. */
  connection: RedisEndpoint;
  prefix: string;
  concurrency: number;
  dispatch: Dispatch;
  validate: Validate;
  logger: Logger;
  metrics?: Metrics;
  results: Results;
  /** How long `close()` lets in-flight requests finish before aborting them; default 30 s. */
  graceMs?: number;
  /** BullMQ lock duration (a job whose worker stops renewing it is retried elsewhere); default 60 s. */
  lockDurationMs?: number;
  /**
   * A request that answers `not_ready` (an event log still being written, a run still running) is
   * delayed this long and tried again without spending an attempt; default 15 s.
   */
  notReadyDelayMs?: number;
  /** ... for at most this long after it was enqueued; then `not_ready` is retried like any error; default 20 min. */
  notReadyMaxMs?: number;
};

export type RequestWorker = {
  /** Stops taking jobs and waits for in-flight ones (aborting them after the grace period). Safe to call twice. */
  close(): Promise<void>;
  /** Second phase of shutdown: aborts the signal of every in-flight request (they fail as retryable). */
  abort(): void;
  /** Requests being handled now. */
  readonly inflight: number;
};

/** Runs requests from `<prefix>.requests` through `dispatch`, ending each with one result entry. */
export function createRequestWorker(opts: RequestWorkerOptions): RequestWorker {
  const redis = openRedis(opts.connection, { name: `${opts.prefix}-worker` });
  const inflight = new Set<AbortController>();
  let closing: Promise<void> | undefined;
  let aborting = false;

  const notReadyDelayMs = opts.notReadyDelayMs ?? 15_000;
  const notReadyMaxMs = opts.notReadyMaxMs ?? 20 * 60_000;
  const processor = async (job: Job<RequestJobData, unknown, string>, token?: string): Promise<unknown> => {
    const id = job.id ?? '';
    const attempts = job.opts.attempts ?? 1;
    const log = opts.logger.child({ requestId: id, name: job.name, attempt: job.attemptsMade + 1 });
    const controller = new AbortController();
    if (aborting) controller.abort();
    inflight.add(controller);
    opts.metrics?.inflight.inc();
    const stopTimer = opts.metrics?.handlerDuration.startTimer({ name: requestLabel(job.name) });
    let name = job.name;
    try {
      let request: ValidRequest;
      let requestKey: string;
      try {
        const envelope = (job.data ?? {}) as Partial<RequestJobData>;
        const raw: Record<string, unknown> = { id, name: job.name, data: envelope.data };
        if (envelope.idempotencyKey !== undefined) raw.idempotencyKey = envelope.idempotencyKey;
        request = opts.validate(raw);
        name = request.name;
        requestKey = requestKeyOfJob(id, job.timestamp);
      } catch (e) {
        const err = toSyncError(e, 'invalid_request');
        log.warn('request failed validation', { error: err.toJSON() });
        await opts.results.publish({ id, name, status: 'failed', error: err.toJSON() });
        opts.metrics?.requests.inc({ name: requestLabel(name, err.code), outcome: 'failed' });
        throw new UnrecoverableError(`${err.code}: ${err.message}`);
      }
      const ctx: DispatchContext = { requestId: id, requestKey, signal: controller.signal };
      if (request.idempotencyKey !== undefined) ctx.idempotencyKey = request.idempotencyKey;
      try {
        const result = await opts.dispatch(request.name, request.data, ctx);
        await opts.results.publish({ id, name, status: 'completed', result: result ?? null });
        opts.metrics?.requests.inc({ name, outcome: 'completed' });
        log.info('request completed');
        return result ?? null;
      } catch (e) {
        const err = controller.signal.aborted && !(e instanceof SyncError && !e.retryable)
          ? new SyncError('aborted', `request ${id} was aborted by shutdown`, { cause: e })
          : toSyncError(e);
        // Waiting is not failing: a request that is not ready yet comes back later without spending an attempt.
        if (err.code === 'not_ready' && token !== undefined && !controller.signal.aborted && Date.now() - job.timestamp < notReadyMaxMs) {
          log.info('request not ready; trying again later', { error: err.toJSON(), delayMs: notReadyDelayMs });
          await job.moveToDelayed(Date.now() + notReadyDelayMs, token);
          throw new DelayedError();
        }
        const final = !err.retryable || job.attemptsMade + 1 >= attempts;
        if (final) {
          await opts.results.publish({ id, name, status: 'failed', error: err.toJSON() });
          opts.metrics?.requests.inc({ name, outcome: 'failed' });
          log.warn('request failed', { error: err.toJSON() });
        } else {
          opts.metrics?.requests.inc({ name, outcome: 'retried' });
          log.info('request attempt failed; will retry', { error: err.toJSON() });
        }
        if (!err.retryable) throw new UnrecoverableError(`${err.code}: ${err.message}`);
        throw new Error(`${err.code}: ${err.message}`);
      }
    } finally {
      stopTimer?.();
      opts.metrics?.inflight.dec();
      inflight.delete(controller);
    }
  };

  const worker = new Worker<RequestJobData, unknown, string>(requestQueueName(opts.prefix), processor, {
    connection: redis,
    prefix: opts.prefix,
    concurrency: Math.max(1, opts.concurrency),
    lockDuration: opts.lockDurationMs ?? 60_000,
    // A dead agent's jobs are found as soon as their lock lapses; handlers are idempotent, so a job that
    // stalls through several crashes in a row is still run again rather than failed. A run.start waiting
    // out a launch lease (45 s) stays active, so every crash during that wait counts as one stall.
    stalledInterval: opts.lockDurationMs ?? 60_000,
    maxStalledCount: 50,
  });
  worker.on('error', (err) => opts.logger.warn('requests worker error', { error: err }));
  // Safety net for failures the processor never saw (e.g. a job stalled too often); publish is write-once.
  worker.on('failed', (job, err) => {
    if (!job?.id || !job.finishedOn) return;
    const error = err.message.includes('stalled')
      ? { code: 'unavailable', message: err.message }
      : { code: 'internal', message: err.message };
    opts.results.publish({ id: job.id, name: job.name, status: 'failed', error }).catch((e: unknown) => opts.logger.warn('could not publish a failed result', { requestId: job.id, error: e }));
  });

  const abort = () => {
    aborting = true;
    for (const c of inflight) c.abort(new SyncError('aborted', 'shutdown aborted the request'));
  };

  return {
    close() {
      closing ??= (async () => {
        const done = worker.close();
        const timer = setTimeout(() => {
          if (inflight.size > 0) opts.logger.warn('grace period over; aborting in-flight requests', { inflight: inflight.size });
          abort();
        }, opts.graceMs ?? 30_000);
        try {
          await done;
        } finally {
          clearTimeout(timer);
          await closeRedis(redis);
        }
      })();
      return closing;
    },
    abort,
    get inflight() {
      return inflight.size;
    },
  };
}
