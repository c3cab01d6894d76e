import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startRedis } from '../support/redis.js';
import type { TestRedis } from '../support/redis.js';
import { Redis } from 'ioredis';
import { SyncError } from '../../src/domain/errors.js';
import { silentLogger } from '../../src/adapters/logger.js';
import { createMetrics } from '../../src/agent/metrics.js';
import { createResults } from '../../src/queues/results.js';
import { createRequestQueue, createRequestWorker } from '../../src/queues/requests-queue.js';
import type { Dispatch, RequestQueue, RequestWorker, Validate } from '../../src/queues/requests-queue.js';
import { sleep, syncRejection as rejection, waitFor } from '../support/async.js';



// Only a test double: the real validator is src/queues/validate-request.ts.
const validate: Validate = (raw) => {
  const r = raw as { name?: unknown; data?: unknown; id?: string; idempotencyKey?: string };
  if (typeof r.name !== 'string' || !r.name.includes('.')) throw new SyncError('unknown_request', `unknown request name ${String(r.name)}`);
  if (typeof r.data !== 'object' || r.data === null) throw new SyncError('invalid_request', 'data: must be an object');
  return { name: r.name, data: r.data, ...(r.id ? { id: r.id } : {}), ...(r.idempotencyKey ? { idempotencyKey: r.idempotencyKey } : {}) };
};

type Ctx = {
  server: TestRedis;
  redis: Redis;
  open: { close(): Promise<void> }[];
  n: number;
};
const Q = suite<Ctx>('requests queue + worker');

Q.before(async (ctx) => {
  ctx.server = await startRedis();
  ctx.redis = new Redis(ctx.server.url, { maxRetriesPerRequest: null });
  ctx.open = [];
  ctx.n = 0;
});
Q.after.each(async (ctx) => {
  for (const o of ctx.open.splice(0).reverse()) await o.close();
});
Q.after(async (ctx) => {
  ctx.redis.disconnect();
  await ctx.server.stop();
});

function setup(ctx: Ctx, dispatch: Dispatch, options: { attempts?: number; graceMs?: number; concurrency?: number; notReadyDelayMs?: number; notReadyMaxMs?: number } = {}) {
  const prefix = `t${++ctx.n}`;
  const metrics = createMetrics({ defaultMetrics: false });
  const results = createResults(ctx.redis, prefix);
  const queue: RequestQueue = createRequestQueue({ connection: { url: ctx.server.url }, prefix, attempts: options.attempts ?? 3, backoffMs: 20, logger: silentLogger, metrics });
  const startWorker = (d: Dispatch = dispatch): RequestWorker => {
    const w = createRequestWorker({
      connection: { url: ctx.server.url },
      prefix,
      concurrency: options.concurrency ?? 2,
      dispatch: d,
      validate,
      logger: silentLogger,
      metrics,
      results,
      graceMs: options.graceMs ?? 5_000,
      ...(options.notReadyDelayMs !== undefined ? { notReadyDelayMs: options.notReadyDelayMs } : {}),
      ...(options.notReadyMaxMs !== undefined ? { notReadyMaxMs: options.notReadyMaxMs } : {}),
    });
    ctx.open.push(w);
    return w;
  };
  ctx.open.push(queue);
  const stream = async () => {
    const entries = await ctx.redis.xrange(`${prefix}:results`, '-', '+');
    return entries.map(([, flat]) => {
      const o: Record<string, string> = {};
      for (let i = 0; i < flat.length; i += 2) o[flat[i]!] = flat[i + 1]!;
      return o;
    });
  };
  return { prefix, metrics, results, queue, startWorker, stream };
}

Q('results: a final entry is written once; a rejected one may be superseded by the job', async (ctx) => {
  const results = createResults(ctx.redis, 'res');
  assert.is(await results.publish({ id: 'r1', name: 'run.start', status: 'completed', result: { a: 1 } }), true);
  assert.is(await results.publish({ id: 'r1', name: 'run.start', status: 'failed', error: { code: 'internal', message: 'late' } }), false);
  assert.is(await results.publish({ id: 'r2', name: 'run.start', status: 'rejected', error: { code: 'invalid_request', message: 'x' } }), true);
  assert.is(await results.publish({ id: 'r2', name: 'run.start', status: 'completed', result: null }), true);
  const stream = await ctx.redis.xrange('res:results', '-', '+');
  assert.equal(stream.map(([, f]) => `${f[1]}:${f[5]}`), ['r1:completed', 'r2:rejected', 'r2:completed']);
  assert.equal(await results.get('r1'), { id: 'r1', name: 'run.start', status: 'completed', result: { a: 1 }, finishedAt: (await results.get('r1'))!.finishedAt });
  assert.is((await results.get('r2'))?.status, 'completed');
  assert.is((await results.get('r2'))?.error, undefined, 'no stale error field from the rejection');
  assert.is(await results.get('nope'), undefined);
});

Q('enqueue -> worker -> one completed entry on the results stream and by id', async (ctx) => {
  const seen: { name: string; data: unknown; requestId: string }[] = [];
  const t = setup(ctx, async (name, data, c) => {
    seen.push({ name, data, requestId: c.requestId });
    return { echoed: (data as { n: number }).n * 2 };
  });
  t.startWorker();
  const { id, duplicate } = await t.queue.enqueue({ name: 'run.start', data: { n: 21 } });
  assert.is(duplicate, false);
  assert.ok(/^[0-9a-f-]{36}$/.test(id), 'a uuid is generated when the request has no id');
  const entries = await waitFor('result', async () => ((await t.stream()).length > 0 ? t.stream() : undefined));
  assert.is(entries.length, 1);
  assert.is(entries[0]!.id, id);
  assert.is(entries[0]!.name, 'run.start');
  assert.is(entries[0]!.status, 'completed');
  assert.equal(JSON.parse(entries[0]!.result!), { echoed: 42 });
  assert.equal(seen, [{ name: 'run.start', data: { n: 21 }, requestId: id }]);
  const byId = await t.results.get(id);
  assert.is(byId?.status, 'completed');
  assert.equal(byId?.result, { echoed: 42 });
  const ttl = await ctx.redis.ttl(`${t.prefix}:result:${id}`);
  assert.ok(ttl > 6 * 24 * 3600 && ttl <= 7 * 24 * 3600, `ttl ${ttl}`);
  assert.ok((await t.metrics.render()).includes('sync_requests_total{name="run.start",outcome="completed"} 1'));
});

Q('a retryable error is retried, then success gives exactly one result', async (ctx) => {
  let calls = 0;
  const t = setup(ctx, async () => {
    calls += 1;
    if (calls < 3) throw new SyncError('throttled', 'slow down');
    return 'ok';
  }, { attempts: 5 });
  t.startWorker();
  const { id } = await t.queue.enqueue({ id: 'req-retry', name: 'run.record', data: {} });
  assert.is(id, 'req-retry');
  await waitFor('result', async () => (await t.results.get(id)) ?? undefined);
  await sleep(200);
  assert.is(calls, 3);
  const entries = await t.stream();
  assert.is(entries.length, 1);
  assert.is(entries[0]!.status, 'completed');
  assert.ok((await t.metrics.render()).includes('sync_requests_total{name="run.record",outcome="retried"} 2'));
});

Q('a retryable error on every attempt fails once, after the configured attempts', async (ctx) => {
  let calls = 0;
  const t = setup(ctx, async () => {
    calls += 1;
    throw new SyncError('unavailable', 'EMR is down');
  }, { attempts: 3 });
  t.startWorker();
  const { id } = await t.queue.enqueue({ name: 'run.record', data: {} });
  const r = await waitFor('result', () => t.results.get(id));
  await sleep(200);
  assert.is(calls, 3);
  assert.is(r.status, 'failed');
  assert.equal(r.error, { code: 'unavailable', message: 'EMR is down' });
  assert.is((await t.stream()).length, 1);
});

Q('a non-retryable error fails at once: one attempt, one failed entry', async (ctx) => {
  let calls = 0;
  const t = setup(ctx, async () => {
    calls += 1;
    throw new SyncError('access_denied', 'no permission to RunJobFlow');
  }, { attempts: 5 });
  t.startWorker();
  const { id } = await t.queue.enqueue({ name: 'run.start', data: {} });
  const r = await waitFor('result', () => t.results.get(id));
  await sleep(300);
  assert.is(calls, 1);
  assert.is(r.status, 'failed');
  assert.is(r.error?.code, 'access_denied');
  const entries = await t.stream();
  assert.is(entries.length, 1);
  assert.equal(JSON.parse(entries[0]!.error!), { code: 'access_denied', message: 'no permission to RunJobFlow' });
});

Q('a job that fails validation in the worker fails at once without running the handler', async (ctx) => {
  let calls = 0;
  const t = setup(ctx, async () => {
    calls += 1;
  }, { attempts: 5 });
  t.startWorker();
  const { id } = await t.queue.enqueue({ name: 'run.start', data: 'not an object' });
  const r = await waitFor('result', () => t.results.get(id));
  await sleep(200);
  assert.is(calls, 0);
  assert.is(r.status, 'failed');
  assert.equal(r.error, { code: 'invalid_request', message: 'data: must be an object' });
  assert.is((await t.stream()).length, 1);
});

Q('the same idempotency key twice makes one job; the same id twice too', async (ctx) => {
  let calls = 0;
  const t = setup(ctx, async () => {
    calls += 1;
    return calls;
  });
  const a = await t.queue.enqueue({ name: 'run.start', data: { x: 1 }, idempotencyKey: 'nightly-2026-11-22' });
  const b = await t.queue.enqueue({ name: 'run.start', data: { x: 2 }, idempotencyKey: 'nightly-2026-11-22' });
  assert.is(a.duplicate, false);
  assert.is(b.duplicate, true);
  assert.is(b.id, a.id);
  assert.is(await ctx.redis.get(`${t.prefix}:idem:nightly-2026-11-22`), a.id);
  const c = await t.queue.enqueue({ id: 'fixed-1', name: 'run.start', data: {} });
  const d = await t.queue.enqueue({ id: 'fixed-1', name: 'run.start', data: {} });
  assert.equal([c.duplicate, d.duplicate], [false, true]);
  assert.is(await t.queue.state(a.id), 'queued');
  t.startWorker();
  await waitFor('two results', async () => ((await t.stream()).length >= 2 ? true : undefined));
  await sleep(300);
  assert.is(calls, 2);
  assert.is((await t.stream()).length, 2);
  // Finished and still answered as a duplicate (by its result).
  const e = await t.queue.enqueue({ id: 'fixed-1', name: 'run.start', data: {} });
  assert.is(e.duplicate, true);
});

Q('a bad request id is refused before anything is written', async (ctx) => {
  const t = setup(ctx, async () => undefined);
  for (const id of ['has:colon', '12345', '', 'x'.repeat(129), '-lead', 'a..b', 'sp ace']) {
    const err = await t.queue.enqueue({ id, name: 'run.start', data: {} }).then(() => undefined, (e: unknown) => e);
    assert.instance(err, SyncError, `id ${id}`);
    assert.is((err as SyncError).code, 'invalid_request');
  }
});

Q('close() stops taking jobs and waits for the in-flight request', async (ctx) => {
  let finished = false;
  let started!: () => void;
  const startedP = new Promise<void>((r) => (started = r));
  const t = setup(ctx, async () => {
    started();
    await sleep(600);
    finished = true;
    return 'done';
  }, { concurrency: 1 });
  const w = t.startWorker();
  const { id } = await t.queue.enqueue({ name: 'run.start', data: {} });
  await startedP;
  assert.is(await t.queue.state(id), 'active');
  const second = await t.queue.enqueue({ name: 'run.start', data: {} });
  const before = Date.now();
  await Promise.all([w.close(), w.close()]);
  assert.ok(finished, 'close resolved only after the handler finished');
  assert.ok(Date.now() - before >= 400);
  assert.is((await t.results.get(id))?.status, 'completed');
  assert.is(await t.results.get(second.id), undefined);
  assert.is(await t.queue.state(second.id), 'queued');
});

Q('abort() aborts in-flight handlers; the request is retried later, never lost', async (ctx) => {
  let started!: () => void;
  const startedP = new Promise<void>((r) => (started = r));
  let sawAbort = false;
  const t = setup(ctx, (_n, _d, c) =>
    new Promise((_resolve, reject) => {
      started();
      c.signal.addEventListener('abort', () => {
        sawAbort = true;
        reject(c.signal.reason);
      });
    }), { graceMs: 60_000 });
  const w = t.startWorker();
  const { id } = await t.queue.enqueue({ name: 'run.start', data: {} });
  await startedP;
  const closed = w.close();
  await sleep(100);
  w.abort();
  await closed;
  assert.ok(sawAbort);
  assert.is(await t.results.get(id), undefined, 'an aborted attempt is not a final result');
  assert.is(await t.queue.state(id), 'queued');
  t.startWorker(async () => 'second time');
  const r = await waitFor('result', () => t.results.get(id));
  assert.is(r.status, 'completed');
  assert.is(r.result, 'second time');
  assert.is((await t.stream()).length, 1);
});

Q('the grace period ends with an abort', async (ctx) => {
  let started!: () => void;
  const startedP = new Promise<void>((r) => (started = r));
  const t = setup(ctx, (_n, _d, c) =>
    new Promise((_resolve, reject) => {
      started();
      c.signal.addEventListener('abort', () => reject(new Error('stopped')));
    }), { graceMs: 300, attempts: 1 });
  const w = t.startWorker();
  const { id } = await t.queue.enqueue({ name: 'run.start', data: {} });
  await startedP;
  const before = Date.now();
  await w.close();
  const took = Date.now() - before;
  assert.ok(took >= 250 && took < 5_000, `took ${took} ms`);
  const r = await t.results.get(id);
  assert.is(r?.status, 'failed', 'with one attempt, the aborted attempt was the last');
  assert.is(r?.error?.code, 'aborted');
});

Q('with Redis down, enqueue fails fast as unavailable and ping is false; both recover', async () => {
  const r2 = await startRedis();
  const queue = createRequestQueue({ connection: { url: r2.url }, prefix: 'down', attempts: 1, backoffMs: 10, logger: silentLogger, readyTimeoutMs: 300 });
  try {
    assert.is((await queue.enqueue({ name: 'run.start', data: {} })).duplicate, false);
    r2.kill('SIGKILL');
    await sleep(200);
    const before = Date.now();
    const err = await queue.enqueue({ name: 'run.start', data: {}, idempotencyKey: 'while-down' }).then(() => undefined, (e: unknown) => e);
    assert.instance(err, SyncError);
    assert.is((err as SyncError).code, 'unavailable');
    assert.ok(Date.now() - before < 2_000, `took ${Date.now() - before} ms`);
    assert.is(await queue.ping(), false);
    await r2.restart();
    await waitFor('reconnect', async () => ((await queue.ping()) ? true : undefined));
    const again = await queue.enqueue({ name: 'run.start', data: {}, idempotencyKey: 'while-down' });
    assert.is(again.duplicate, false, 'the failed attempt left no claim behind');
  } finally {
    await queue.close();
    await r2.stop();
  }
});

Q('two agents on one Redis: every request runs exactly once', async (ctx) => {
  const runs = new Map<string, string[]>();
  const t = setup(ctx, async () => undefined, { concurrency: 3 });
  const agent = (who: string): Dispatch => async (_n, _d, c) => {
    runs.set(c.requestId, [...(runs.get(c.requestId) ?? []), who]);
    await sleep(5);
    return who;
  };
  t.startWorker(agent('a'));
  t.startWorker(agent('b'));
  const ids = await Promise.all(Array.from({ length: 60 }, (_, i) => t.queue.enqueue({ id: `multi-${i}`, name: 'run.start', data: { i } }).then((r) => r.id)));
  await waitFor('60 results', async () => ((await t.stream()).length >= 60 ? true : undefined), 20_000);
  await sleep(200);
  assert.is((await t.stream()).length, 60);
  assert.equal([...runs.keys()].sort(), [...ids].sort());
  assert.ok([...runs.values()].every((v) => v.length === 1), 'no request ran twice');
  const by = [...runs.values()].flat();
  assert.ok(by.includes('a') && by.includes('b'), 'both agents took work');
});

Q('not_ready waits without spending attempts (7 waits with 3 attempts still completes), and gives up with not_ready once its patience is out', async (ctx) => {
  let calls = 0;
  const patient = setup(ctx, async () => {
    calls += 1;
    if (calls <= 7) throw new SyncError('not_ready', 'the event log is still being written');
    return { recorded: true };
  }, { attempts: 3, notReadyDelayMs: 50, notReadyMaxMs: 60_000 });
  patient.startWorker();
  await patient.queue.enqueue({ id: 'slow-log', name: 'run.record', data: {} });
  const done = await waitFor('the result', () => patient.results.get('slow-log'), 15_000);
  assert.is(done.status, 'completed', JSON.stringify(done));
  assert.is(calls, 8);
  assert.equal((await patient.stream()).map((e) => e.status), ['completed'], 'one result, no intermediate failure');

  let tries = 0;
  const impatient = setup(ctx, async () => {
    tries += 1;
    throw new SyncError('not_ready', 'still running');
  }, { attempts: 2, notReadyDelayMs: 50, notReadyMaxMs: 300 });
  impatient.startWorker();
  await impatient.queue.enqueue({ id: 'never-ready', name: 'project.iterate', data: {} });
  const failed = await waitFor('the final failure', () => impatient.results.get('never-ready'), 15_000);
  assert.is(failed.status, 'failed');
  assert.is(failed.error?.code, 'not_ready');
  assert.ok(tries >= 3, `waited, then spent its 2 attempts (${tries} calls)`);
});

Q('an idempotency key whose job and result have expired is enqueued again; a pending claim still says retry', async (ctx) => {
  const handled: string[] = [];
  const { prefix, queue, results, startWorker } = setup(ctx, async (_name, _data, c) => {
    handled.push(c.requestId);
    return { ok: true };
  });
  startWorker();
  const first = await queue.enqueue({ id: 'first', name: 'run.start', data: {}, idempotencyKey: 'dag-run-2026-11-15' });
  assert.is(first.duplicate, false);
  await waitFor('the first result', () => results.get('first'));
  // A week later the job and its result are gone (removeOnComplete, result TTL); the key is not.
  await ctx.redis.del(`${prefix}:result:first`);
  const jobKeys = await ctx.redis.keys(`${prefix}:${prefix}.requests:first*`);
  if (jobKeys.length > 0) await ctx.redis.del(...jobKeys);
  await ctx.redis.zrem(`${prefix}:${prefix}.requests:completed`, 'first');
  const again = await queue.enqueue({ id: 'again', name: 'run.start', data: {}, idempotencyKey: 'dag-run-2026-11-15' });
  assert.equal(again, { id: 'again', duplicate: false }, 'enqueued; the handler answers from its own per-key state');
  await waitFor('the second result', () => results.get('again'));
  assert.equal(handled, ['first', 'again']);
  // A claim still in its pending window (its owner is mid hand-off) is not taken over.
  await ctx.redis.set(`${prefix}:idem:in-flight`, 'owner-x', 'EX', 30);
  const e = await rejection(queue.enqueue({ id: 'late', name: 'run.start', data: {}, idempotencyKey: 'in-flight' }));
  assert.is(e.code, 'unavailable');
});

Q.run();
