import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort, startRedis } from '../support/redis.js';
import type { TestRedis } from '../support/redis.js';
import { Redis } from 'ioredis';
import { SyncError } from '../../src/domain/errors.js';
import { silentLogger } from '../../src/adapters/logger.js';
import { createResults } from '../../src/queues/results.js';
import type { Results } from '../../src/queues/results.js';
import { createRequestQueue, createRequestWorker } from '../../src/queues/requests-queue.js';
import type { Dispatch, RequestQueue } from '../../src/queues/requests-queue.js';
import { createInboxConsumer } from '../../src/queues/inbox.js';
import { parseRequestJson as parse, validateRequest as validate } from '../../src/queues/validate-request.js';
import { sleep, waitFor } from '../support/async.js';

const run = promisify(execFile);


const dispatch: Dispatch = async (name, data, ctx) => ({ handled: name, data, requestId: ctx.requestId });

type Ctx = {
  server: TestRedis;
  redis: Redis;
  queue: RequestQueue;
  results: Results;
  closers: { close(): Promise<void> }[];
};
const PREFIX = 'inb';
const I = suite<Ctx>('inbox stream');

I.before(async (ctx) => {
  const s = await startRedis();
  ctx.server = s;
  ctx.redis = new Redis(s.url, { maxRetriesPerRequest: null });
  ctx.results = createResults(ctx.redis, PREFIX);
  ctx.queue = createRequestQueue({ connection: { url: s.url }, prefix: PREFIX, attempts: 2, backoffMs: 20, logger: silentLogger });
  const worker = createRequestWorker({ connection: { url: s.url }, prefix: PREFIX, concurrency: 2, dispatch, validate, logger: silentLogger, results: ctx.results, graceMs: 2000 });
  ctx.closers = [worker, ctx.queue];
});
I.after(async (ctx) => {
  for (const c of ctx.closers) await c.close();
  ctx.redis.disconnect();
  await ctx.server.stop();
});

function consumer(ctx: Ctx, consumerName: string, extra: { claimMinIdleMs?: number } = {}) {
  return createInboxConsumer({ redis: { url: ctx.server.url }, prefix: PREFIX, consumerName, enqueue: ctx.queue.enqueue, results: ctx.results, parse, validate, logger: silentLogger, blockMs: 500, ...extra });
}

// A client in another language: XADD a request, then wait for its answer on the results stream.
const PYTHON_CLIENT = `
import json, sys, redis
r = redis.Redis(host='127.0.0.1', port=int(sys.argv[1]), decode_responses=True)
req = {"id": "py-req-1", "name": "run.start", "data": {"projectId": "p-42"}, "idempotencyKey": "py-key"}
r.xadd("inb:inbox", {"request": json.dumps(req)})
last = "0"
while True:
    reply = r.xread({"inb:results": last}, block=10000, count=100)
    if not reply:
        print(json.dumps({"timeout": True})); sys.exit(1)
    for entry_id, fields in reply[0][1]:
        last = entry_id
        if fields.get("id") == req["id"]:
            print(json.dumps(fields)); sys.exit(0)
`;

I('a Python client XADDs a request and reads its result from the results stream', async (ctx) => {
  const c = consumer(ctx, 'agent-a');
  await c.start();
  try {
    const { stdout } = await run('/usr/bin/python3', ['-c', PYTHON_CLIENT, String(ctx.server.port)], { timeout: 20_000 });
    const fields = JSON.parse(stdout) as Record<string, string>;
    assert.is(fields.id, 'py-req-1');
    assert.is(fields.name, 'run.start');
    assert.is(fields.status, 'completed');
    assert.equal(JSON.parse(fields.result!), { handled: 'run.start', data: { projectId: 'p-42' }, requestId: 'py-req-1' });
    assert.is(await ctx.redis.get(`${PREFIX}:idem:py-key`), 'py-req-1');
    const pending = (await ctx.redis.xpending(`${PREFIX}:inbox`, 'sync-agent')) as [number, ...unknown[]];
    assert.is(pending[0], 0, 'the entry was acknowledged');
  } finally {
    await c.stop();
  }
});

I('redis-cli XADD without an id: the request id is the entry id', async (ctx) => {
  const c = consumer(ctx, 'agent-a');
  await c.start();
  try {
    const { stdout } = await run('redis-cli', ['-p', String(ctx.server.port), 'XADD', `${PREFIX}:inbox`, '*', 'request', '{"name":"run.record","data":{"clusterId":"j-1"}}']);
    const entryId = stdout.trim();
    assert.match(entryId, /^\d+-\d+$/);
    const r = await waitFor('result', () => ctx.results.get(entryId));
    assert.is(r.status, 'completed');
    assert.equal(r.result, { handled: 'run.record', data: { clusterId: 'j-1' }, requestId: entryId });
  } finally {
    await c.stop();
  }
});

I('malformed and invalid entries are answered with rejected results and acknowledged', async (ctx) => {
  const c = consumer(ctx, 'agent-a');
  await c.start();
  try {
    const notJson = await ctx.redis.xadd(`${PREFIX}:inbox`, '*', 'request', '{"name": "run.start", ');
    const noField = await ctx.redis.xadd(`${PREFIX}:inbox`, '*', 'payload', '{}');
    const unknown = await ctx.redis.xadd(`${PREFIX}:inbox`, '*', 'request', JSON.stringify({ id: 'bad-name-1', name: 'cluster.nuke', data: {} }));
    const badData = await ctx.redis.xadd(`${PREFIX}:inbox`, '*', 'request', JSON.stringify({ name: 'run.start', data: 7 }));
    const badId = await ctx.redis.xadd(`${PREFIX}:inbox`, '*', 'request', JSON.stringify({ id: 'a:b', name: 'run.start', data: { projectId: 'p-1' } }));
    const r1 = await waitFor('r1', () => ctx.results.get(notJson!));
    const r2 = await waitFor('r2', () => ctx.results.get(noField!));
    const r3 = await waitFor('r3', () => ctx.results.get('bad-name-1'));
    const r4 = await waitFor('r4', () => ctx.results.get(badData!));
    const r5 = await waitFor('r5', () => ctx.results.get('a:b'));
    assert.equal([r1.status, r2.status, r3.status, r4.status, r5.status], ['rejected', 'rejected', 'rejected', 'rejected', 'rejected']);
    assert.is(r1.error?.code, 'invalid_request');
    assert.match(r1.error!.message, /not valid JSON/);
    assert.match(r2.error!.message, /no "request" field/);
    assert.is(r3.error?.code, 'unknown_request');
    assert.is(r3.name, 'cluster.nuke');
    assert.match(r4.error!.message, /data: must be object/);
    assert.match(r5.error!.message, /request\.id: must match pattern/);
    await waitFor('acks', async () => (((await ctx.redis.xpending(`${PREFIX}:inbox`, 'sync-agent')) as [number])[0] === 0 ? true : undefined));
    const onStream = (await ctx.redis.xrange(`${PREFIX}:results`, '-', '+')).filter(([, f]) => f[f.indexOf('status') + 1] === 'rejected');
    assert.is(onStream.length, 5);
  } finally {
    await c.stop();
  }
});

I('a rejected entry reusing the id of a finished request is answered under its entry id', async (ctx) => {
  await ctx.results.publish({ id: 'done-2', name: 'run.start', status: 'completed', result: 'kept' });
  const c = consumer(ctx, 'agent-a');
  await c.start();
  try {
    const entryId = await ctx.redis.xadd(`${PREFIX}:inbox`, '*', 'request', JSON.stringify({ id: 'done-2', name: 'run.start', data: {} }));
    const r = await waitFor('rejection', () => ctx.results.get(entryId!));
    assert.is(r.status, 'rejected');
    assert.is((await ctx.results.get('done-2'))?.result, 'kept');
  } finally {
    await c.stop();
  }
});

I('crash recovery: an entry read but never acknowledged is re-read on restart', async (ctx) => {
  // The consumer group already exists (earlier tests); read as "agent-b" and "crash" before acking.
  await ctx.redis.xadd(`${PREFIX}:inbox`, '*', 'request', JSON.stringify({ id: 'crash-1', name: 'run.start', data: { projectId: 'p-1' } }));
  const read = (await ctx.redis.call('XREADGROUP', 'GROUP', 'sync-agent', 'agent-b', 'COUNT', 10, 'STREAMS', `${PREFIX}:inbox`, '>')) as [string, [string, string[]][]][];
  assert.is(read[0]![1].length, 1);
  assert.is(await ctx.results.get('crash-1'), undefined);
  const c = consumer(ctx, 'agent-b', { claimMinIdleMs: 3_600_000 });
  await c.start();
  try {
    const r = await waitFor('result', () => ctx.results.get('crash-1'));
    assert.is(r.status, 'completed');
  } finally {
    await c.stop();
  }
});

I('an entry left pending by a dead consumer is claimed after the idle time', async (ctx) => {
  await ctx.redis.xadd(`${PREFIX}:inbox`, '*', 'request', JSON.stringify({ id: 'orphan-1', name: 'run.start', data: { projectId: 'p-1' } }));
  await ctx.redis.call('XREADGROUP', 'GROUP', 'sync-agent', 'agent-dead', 'COUNT', 10, 'STREAMS', `${PREFIX}:inbox`, '>');
  await sleep(300);
  const c = consumer(ctx, 'agent-c', { claimMinIdleMs: 200 });
  await c.start();
  try {
    const r = await waitFor('result', () => ctx.results.get('orphan-1'));
    assert.is(r.status, 'completed');
    const pending = (await ctx.redis.xpending(`${PREFIX}:inbox`, 'sync-agent')) as [number];
    assert.is(pending[0], 0);
  } finally {
    await c.stop();
  }
});

I('an entry whose hand-off fails stays pending and is answered once the queue is back', async (ctx) => {
  let fail = true;
  const flaky = async (req: Parameters<RequestQueue['enqueue']>[0]) => {
    if (fail) throw new SyncError('unavailable', 'redis is down');
    return ctx.queue.enqueue(req);
  };
  const c = createInboxConsumer({ redis: { url: ctx.server.url }, prefix: PREFIX, consumerName: 'agent-d', enqueue: flaky, results: ctx.results, parse, validate, logger: silentLogger, blockMs: 200, claimMinIdleMs: 300, claimIntervalMs: 100 });
  await c.start();
  try {
    await ctx.redis.xadd(`${PREFIX}:inbox`, '*', 'request', JSON.stringify({ id: 'flaky-1', name: 'run.start', data: { projectId: 'p-1' } }));
    await sleep(400);
    assert.is(await ctx.results.get('flaky-1'), undefined);
    const pending = (await ctx.redis.xpending(`${PREFIX}:inbox`, 'sync-agent')) as [number];
    assert.is(pending[0], 1, 'not acknowledged while the hand-off fails');
    fail = false;
    const r = await waitFor('result', () => ctx.results.get('flaky-1'));
    assert.is(r.status, 'completed');
  } finally {
    await c.stop();
  }
});

I('entries the group has handled are trimmed from the inbox stream; unhandled ones stay', async (ctx) => {
  const c = createInboxConsumer({ redis: { url: ctx.server.url }, prefix: PREFIX, consumerName: 'agent-t', enqueue: ctx.queue.enqueue, results: ctx.results, parse, validate, logger: silentLogger, blockMs: 100, claimMinIdleMs: 3_600_000, claimIntervalMs: 150 });
  await c.start();
  try {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await ctx.redis.xadd(`${PREFIX}:inbox`, '*', 'request', JSON.stringify({ id: `trim-${i}`, name: 'run.start', data: { projectId: 'p-1' } })))!);
    await waitFor('results', async () => ((await ctx.results.get('trim-4')) ? true : undefined));
    await waitFor('trimmed', async () => ((await ctx.redis.xlen(`${PREFIX}:inbox`)) <= 1 ? true : undefined));
    const left = await ctx.redis.xrange(`${PREFIX}:inbox`, '-', '+');
    assert.ok(left.every(([id]) => id === ids[4]), 'only the last delivered entry may remain');
  } finally {
    await c.stop();
  }
});

I('stop() returns promptly even while blocked in XREADGROUP', async (ctx) => {
  const c = createInboxConsumer({ redis: { url: ctx.server.url }, prefix: PREFIX, consumerName: 'agent-e', enqueue: ctx.queue.enqueue, results: ctx.results, parse, validate, logger: silentLogger, blockMs: 30_000 });
  await c.start();
  await sleep(100);
  const before = Date.now();
  await Promise.all([c.stop(), c.stop()]);
  assert.ok(Date.now() - before < 2000, `stop took ${Date.now() - before} ms`);
});

I('stop() during a start that cannot reach Redis ends the start quietly and returns in bounded time', async (ctx) => {
  const port = await freePort();
  const c = createInboxConsumer({ redis: { url: `redis://127.0.0.1:${port}` }, prefix: PREFIX, consumerName: 'agent-f', enqueue: ctx.queue.enqueue, results: ctx.results, parse, validate, logger: silentLogger, stopTimeoutMs: 300 });
  const started = c.start();
  await sleep(200);
  const before = Date.now();
  await c.stop();
  assert.ok(Date.now() - before < 2_000, `stop took ${Date.now() - before} ms`);
  const outcome = await Promise.race([started.then(() => 'resolved', () => 'rejected'), sleep(500).then(() => 'pending')]);
  assert.ok(outcome !== 'rejected', 'a stop during start is not a start failure');
});

I.run();
