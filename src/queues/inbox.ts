import type { Redis } from 'ioredis';
import { SyncError, isSyncError, toSyncError } from '../domain/errors.js';
import type { Logger } from '../domain/ports.js';
import { requestLabel } from '../agent/metrics.js';
import type { Metrics } from '../agent/metrics.js';
import { openRedis, type RedisEndpoint } from '../adapters/redis-connection.js';
import { closeRedis } from './requests-queue.js';
import type { Enqueue, RequestInput, Validate } from './requests-queue.js';
import type { Results } from './results.js';

export type InboxConsumerOptions = {
  /** Both inbox connections (the blocking reader and the commands) are opened with this endpoint. */
  redis: RedisEndpoint;
  prefix: string;
  /** Stable per agent (e.g. the site id): pending entries of this name are re-read on start. */
  consumerName: string;
  enqueue: Enqueue;
  results: Results;
  /** Request JSON decoding (size limit, clear malformed-JSON error). */
  parse: (text: string) => unknown;
  validate: Validate;
  logger: Logger;
  metrics?: Metrics;
  /** How long one XREADGROUP blocks; default 5000. */
  blockMs?: number;
  /** Entries pending this long (any consumer, e.g. a crashed agent) are claimed; default 60000. */
  claimMinIdleMs?: number;
  /** How often to look for such entries while running; default claimMinIdleMs. */
  claimIntervalMs?: number;
  /** How long stop() waits for the entry in hand before cutting the connections; default 10000. */
  stopTimeoutMs?: number;
  /** Trim entries the group has handled from the inbox stream (at each claim interval); default true. */
  trim?: boolean;
  /** Consumer group name; default 'sync-agent'. */
  group?: string;
};

export type InboxConsumer = {
  /** Creates the group if needed, recovers pending entries, then reads new ones until stopped. Idempotent. */
  start(): Promise<void>;
  /** Stops reading (interrupting a blocked read) after the entry in hand is answered. Safe to call twice. */
  stop(): Promise<void>;
};

type StreamEntry = [id: string, fields: string[] | null];

/** The Redis stream key clients XADD requests to. */
export function inboxKey(prefix: string): string {
  return `${prefix}:inbox`;
}

const fieldOf = (fields: string[], name: string): string | undefined => {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
};

/**
 * Consumes `<prefix>:inbox` with a consumer group: each entry's `request` field (JSON
 * `{id?, name, data, idempotencyKey?}`) is validated and enqueued, and acknowledged only once the
 * job exists (or a `rejected` result has been written). Pending entries survive a crash.
 */
export function createInboxConsumer(opts: InboxConsumerOptions): InboxConsumer {
  const key = inboxKey(opts.prefix);
  const group = opts.group ?? 'sync-agent';
  const blockMs = opts.blockMs ?? 5000;
  const minIdle = opts.claimMinIdleMs ?? 60_000;
  const claimEvery = opts.claimIntervalMs ?? minIdle;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 10_000;
  const trimInbox = opts.trim ?? true;
  const log = opts.logger.child({ component: 'inbox', stream: key });
  let reader: Redis | undefined;
  let cmd: Redis | undefined;
  let loop: Promise<void> | undefined;
  let starting: Promise<void> | undefined;
  let stopping = false;
  let blocked = false;
  let stopped: Promise<void> | undefined;

  /** Answers one entry; returns true when it was acknowledged. */
  const handle = async (redis: Redis, entryId: string, fields: string[] | null): Promise<boolean> => {
    if (fields === null) {
      // The entry was trimmed from the stream while pending: nothing left to answer.
      await redis.xack(key, group, entryId);
      return true;
    }
    let requestId = entryId;
    let name = '';
    let request: RequestInput;
    try {
      const text = fieldOf(fields, 'request');
      if (text === undefined) throw new SyncError('invalid_request', `inbox entry ${entryId} has no "request" field (XADD ${key} * request '<json>')`);
      const raw = opts.parse(text);
      if (raw !== null && typeof raw === 'object') {
        const r = raw as { id?: unknown; name?: unknown };
        if (typeof r.id === 'string' && r.id !== '') requestId = r.id;
        if (typeof r.name === 'string') name = r.name;
      }
      const valid = opts.validate(raw);
      request = { id: valid.id ?? entryId, name: valid.name, data: valid.data, ...(valid.idempotencyKey !== undefined ? { idempotencyKey: valid.idempotencyKey } : {}) };
    } catch (e) {
      return reject(redis, entryId, requestId, name, toSyncError(e, 'invalid_request'));
    }
    try {
      const { id, duplicate } = await opts.enqueue(request);
      // Acknowledge only now: the BullMQ job exists, so a crash before this line re-reads the entry
      // and the enqueue is answered as a duplicate instead of being lost.
      await redis.xack(key, group, entryId);
      log.info('inbox request enqueued', { entryId, requestId: id, name: request.name, duplicate });
      return true;
    } catch (e) {
      if (isSyncError(e, 'invalid_request')) return reject(redis, entryId, requestId, name, e);
      log.warn('inbox entry not handed off; it stays pending and is retried', { entryId, error: toSyncError(e).toJSON() });
      return false;
    }
  };

  const reject = async (redis: Redis, entryId: string, requestId: string, name: string, err: SyncError): Promise<boolean> => {
    const error = err.toJSON();
    if (!(await opts.results.publish({ id: requestId, name, status: 'rejected', error }))) {
      // The id of a finished request is never overwritten: answer the rejection under the entry id.
      log.warn('rejected inbox entry reuses the id of a finished request; answered under its entry id', { entryId, requestId });
      requestId = entryId;
      await opts.results.publish({ id: entryId, name, status: 'rejected', error });
    }
    opts.metrics?.requests.inc({ name: requestLabel(name, err.code), outcome: 'rejected' });
    await redis.xack(key, group, entryId);
    log.warn('inbox entry rejected', { entryId, requestId, error });
    return true;
  };

  const handleAll = async (redis: Redis, entries: StreamEntry[]): Promise<void> => {
    for (const [entryId, fields] of entries) {
      if (stopping) return;
      try {
        await handle(redis, entryId, fields);
      } catch (e) {
        log.warn('inbox entry could not be answered; it stays pending', { entryId, error: e });
      }
    }
  };

  const readGroup = async (redis: Redis, from: string, block: boolean): Promise<StreamEntry[]> => {
    const args: (string | number)[] = ['GROUP', group, opts.consumerName, 'COUNT', 10];
    if (block) args.push('BLOCK', blockMs);
    args.push('STREAMS', key, from);
    const reply = (await redis.call('XREADGROUP', ...args)) as [string, StreamEntry[]][] | null;
    return reply?.[0]?.[1] ?? [];
  };

  const recoverOwn = async (redis: Redis): Promise<void> => {
    // Our own pending entries (read before a crash, never acknowledged). Entries we fail to hand
    // off stay pending, so advance past them rather than re-reading the same page forever.
    let from = '0';
    for (;;) {
      const entries = await readGroup(redis, from, false);
      if (entries.length === 0 || stopping) return;
      await handleAll(redis, entries);
      from = entries[entries.length - 1]![0];
    }
  };

  const claimIdle = async (redis: Redis): Promise<void> => {
    let cursor = '0-0';
    for (let page = 0; page < 100 && !stopping; page++) {
      const reply = (await redis.call('XAUTOCLAIM', key, group, opts.consumerName, minIdle, cursor, 'COUNT', 50)) as [string, StreamEntry[], string[]?];
      const [next, entries] = reply;
      if (entries.length > 0) log.info('claimed idle inbox entries', { count: entries.length });
      await handleAll(redis, entries);
      if (next === '0-0') return;
      cursor = next;
    }
  };

  // Drops entries this group has finished with: everything older than its oldest pending entry
  // (or, with none pending, than the last one delivered). Other consumer groups are not consulted.
  const trim = async (redis: Redis): Promise<void> => {
    const summary = (await redis.xpending(key, group)) as [number, string | null, string | null, unknown];
    let minId = summary[1];
    if (!minId) {
      const groups = (await redis.xinfo('GROUPS', key)) as unknown[][];
      for (const g of groups) {
        const fields = g.map(String);
        if (fieldOf(fields, 'name') === group) minId = fieldOf(fields, 'last-delivered-id') ?? null;
      }
    }
    if (minId && minId !== '0-0') await redis.xtrim(key, 'MINID', minId);
  };

  const run = async (): Promise<void> => {
    const r = reader!;
    const c = cmd!;
    let lastClaim = Date.now();
    let backoff = 100;
    while (!stopping) {
      try {
        if (Date.now() - lastClaim >= claimEvery) {
          lastClaim = Date.now();
          await claimIdle(c);
          if (trimInbox) await trim(c);
        }
        if (stopping) return;
        blocked = true;
        const entries = await readGroup(r, '>', true).finally(() => {
          blocked = false;
        });
        await handleAll(c, entries);
        backoff = 100;
      } catch (e) {
        if (stopping) return;
        log.warn('inbox read failed; backing off', { error: e, backoffMs: backoff });
        await new Promise((res) => setTimeout(res, backoff));
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  };

  return {
    start() {
      starting ??= (async () => {
        reader = openRedis(opts.redis, { name: `${opts.prefix}-inbox-reader` });
        cmd = openRedis(opts.redis, { name: `${opts.prefix}-inbox` });
        reader.on('error', (e) => log.debug('inbox reader connection error', { error: e }));
        cmd.on('error', (e) => log.debug('inbox connection error', { error: e }));
        try {
          try {
            // From '0': requests XADDed before any agent ever ran are still answered.
            await cmd.xgroup('CREATE', key, group, '0', 'MKSTREAM');
          } catch (e) {
            if (!(e instanceof Error && e.message.includes('BUSYGROUP'))) throw toSyncError(e, 'unavailable');
          }
          await recoverOwn(cmd);
          await claimIdle(cmd);
        } catch (e) {
          // stop() during start cuts the connections; that is a stop, not a failure.
          if (stopping) return;
          throw e;
        }
        if (stopping) return;
        loop = run();
        log.info('inbox consumer started', { group, consumer: opts.consumerName });
      })();
      return starting;
    },
    stop() {
      stopped ??= (async () => {
        stopping = true;
        // A blocked XREADGROUP would hold stop for up to blockMs; cutting the reader is safe
        // because anything it had already read is pending for this consumer and re-read on start.
        if (blocked) reader?.disconnect();
        const settled = Promise.all([starting?.catch(() => undefined), loop]).then(() => true);
        const within = (ms: number) => Promise.race([settled, new Promise<false>((resolve) => setTimeout(resolve, ms, false).unref())]);
        if (!(await within(stopTimeoutMs))) {
          // Redis is unreachable and a command is waiting for it: cut it and move on (a command
          // queued while ioredis reconnects may never settle). The entry in hand stays pending.
          log.warn('inbox consumer did not stop in time; closing its connections', { stopTimeoutMs });
          cmd?.disconnect();
          reader?.disconnect();
          await within(1000);
        }
        reader?.disconnect();
        if (cmd) await closeRedis(cmd);
      })();
      return stopped;
    },
  };
}
