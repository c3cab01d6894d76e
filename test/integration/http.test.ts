import { request as httpRequest } from 'node:http';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startRedis } from '../support/redis.js';
import type { TestRedis } from '../support/redis.js';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/adapters/logger.js';
import { createMetrics } from '../../src/agent/metrics.js';
import type { Metrics } from '../../src/agent/metrics.js';
import { createHttpServer, bearerMatches } from '../../src/agent/http.js';
import type { HttpServer, Readiness } from '../../src/agent/http.js';
import { createResults } from '../../src/queues/results.js';
import type { Results } from '../../src/queues/results.js';
import { createRequestQueue, createRequestWorker } from '../../src/queues/requests-queue.js';
import type { RequestQueue } from '../../src/queues/requests-queue.js';
import { parseRequestJson, validateRequest } from '../../src/queues/validate-request.js';
import { sleep, waitFor } from '../support/async.js';



const TOKEN = 'tok-3f9a1c7e5b2d4a60';
const PREFIX = 'web';

type Ctx = {
  redisServer: TestRedis;
  redis: Redis;
  queue: RequestQueue;
  results: Results;
  metrics: Metrics;
  http: HttpServer;
  base: string;
  lines: string[];
  readiness: Readiness;
};
const H = suite<Ctx>('http');

function server(ctx: Ctx, token: string | undefined): HttpServer {
  const logger = createLogger({ level: 'debug', sink: (l) => ctx.lines.push(l) });
  return createHttpServer({
    port: 0,
    ...(token !== undefined ? { token } : {}),
    enqueue: ctx.queue.enqueue,
    results: ctx.results,
    state: ctx.queue.state,
    ready: async () => ctx.readiness,
    metrics: ctx.metrics,
    logger,
    parse: parseRequestJson,
    validate: validateRequest,
  });
}

H.before(async (ctx) => {
  ctx.redisServer = await startRedis();
  ctx.redis = new Redis(ctx.redisServer.url, { maxRetriesPerRequest: null });
  ctx.results = createResults(ctx.redis, PREFIX);
  ctx.metrics = createMetrics();
  ctx.lines = [];
  ctx.readiness = { ok: true, checks: { redis: true, queue: true } };
  ctx.queue = createRequestQueue({ connection: { url: ctx.redisServer.url }, prefix: PREFIX, attempts: 2, backoffMs: 20, logger: createLogger({ sink: (l) => ctx.lines.push(l) }), metrics: ctx.metrics });
  ctx.http = server(ctx, TOKEN);
  ctx.base = (await ctx.http.listen()).url;
});
H.after(async (ctx) => {
  await ctx.http.close();
  await ctx.queue.close();
  ctx.redis.disconnect();
  await ctx.redisServer.stop();
});

const auth = { authorization: `Bearer ${TOKEN}` };
const json = (body: unknown) => ({ method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });

H('binds 127.0.0.1 by default; /healthz is live', async (ctx) => {
  assert.match(ctx.base, /^http:\/\/127\.0\.0\.1:\d+$/);
  const r = await fetch(`${ctx.base}/healthz`);
  assert.is(r.status, 200);
  assert.equal(await r.json(), { status: 'ok' });
});

H('/readyz answers 200 or 503 with the checks', async (ctx) => {
  let r = await fetch(`${ctx.base}/readyz`);
  assert.is(r.status, 200);
  assert.equal(await r.json(), { ok: true, checks: { redis: true, queue: true } });
  ctx.readiness = { ok: false, checks: { redis: 'connect ECONNREFUSED', queue: false } };
  r = await fetch(`${ctx.base}/readyz`);
  assert.is(r.status, 503);
  assert.equal(await r.json(), { ok: false, checks: { redis: 'connect ECONNREFUSED', queue: false } });
  ctx.readiness = { ok: true, checks: { redis: true, queue: true } };
});

H('POST /v1/requests without or with a wrong token is 401 with WWW-Authenticate', async (ctx) => {
  const body = JSON.stringify({ name: 'run.start', data: { projectId: 'p1' } });
  let r = await fetch(`${ctx.base}/v1/requests`, { method: 'POST', body });
  assert.is(r.status, 401);
  assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer realm="sync-agent"/);
  r = await fetch(`${ctx.base}/v1/requests`, { method: 'POST', body, headers: { authorization: `Bearer ${TOKEN}x` } });
  assert.is(r.status, 401);
  assert.match(r.headers.get('www-authenticate') ?? '', /invalid_token/);
  r = await fetch(`${ctx.base}/v1/requests`, { method: 'POST', body, headers: { authorization: TOKEN } });
  assert.is(r.status, 401, 'the scheme is required');
  r = await fetch(`${ctx.base}/v1/requests/anything`, {});
  assert.is(r.status, 401);
  assert.is(await ctx.redis.xlen(`${PREFIX}:results`), 0, 'nothing was written');
});

H('bearerMatches compares exactly', () => {
  assert.ok(bearerMatches(`Bearer ${TOKEN}`, TOKEN));
  assert.ok(bearerMatches(`bearer ${TOKEN}`, TOKEN));
  assert.not.ok(bearerMatches(`Bearer ${TOKEN.slice(0, -1)}`, TOKEN));
  assert.not.ok(bearerMatches('Bearer ', ''));
  assert.not.ok(bearerMatches(undefined, TOKEN));
});

H('a body over 256 KiB is 413, declared or chunked', async (ctx) => {
  const big = JSON.stringify({ name: 'run.start', data: { projectId: 'p1', pad: 'x'.repeat(256 * 1024) } });
  const r = await fetch(`${ctx.base}/v1/requests`, { method: 'POST', headers: auth, body: big });
  assert.is(r.status, 413);
  assert.is(((await r.json()) as { error: { code: string } }).error.code, 'invalid_request');
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpRequest(`${ctx.base}/v1/requests`, { method: 'POST', headers: { ...auth, 'transfer-encoding': 'chunked' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'EPIPE' || (e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)));
    for (let i = 0; i < 20; i++) req.write('x'.repeat(16 * 1024));
    req.end();
  });
  assert.is(status, 413);
  // Exactly at the limit is fine (it fails validation instead, proving it was read).
  const atLimit = Buffer.alloc(256 * 1024, 0x20);
  atLimit.write('{"name":"run.start","data":{"projectId":"p1"},"id":"at-limit-1"}');
  const r2 = await fetch(`${ctx.base}/v1/requests`, { method: 'POST', headers: auth, body: atLimit });
  assert.is(r2.status, 202);
});

H('malformed JSON is 400 with the reason and a rejected result', async (ctx) => {
  const r = await fetch(`${ctx.base}/v1/requests`, { method: 'POST', headers: auth, body: '{"name": "run.start",' });
  assert.is(r.status, 400);
  const body = (await r.json()) as { id: string; error: { code: string; message: string } };
  assert.is(body.error.code, 'invalid_request');
  assert.match(body.error.message, /not valid JSON/);
  const entry = await ctx.results.get(body.id);
  assert.is(entry?.status, 'rejected');
  assert.is(entry?.error?.message, body.error.message);
});

H('invalid data is 400 naming the field; the rejected result is under the request id', async (ctx) => {
  const r = await fetch(`${ctx.base}/v1/requests`, json({ id: 'bad-1', name: 'run.start', data: {} }));
  assert.is(r.status, 400);
  const body = (await r.json()) as { id: string; error: { code: string; message: string } };
  assert.is(body.id, 'bad-1');
  assert.match(body.error.message, /projectId/);
  const g = await fetch(`${ctx.base}/v1/requests/bad-1`, { headers: auth });
  assert.is(g.status, 200);
  const entry = (await g.json()) as { status: string; name: string; error: { code: string } };
  assert.is(entry.status, 'rejected');
  assert.is(entry.name, 'run.start');
  assert.is(entry.error.code, 'invalid_request');
  const u = await fetch(`${ctx.base}/v1/requests`, json({ name: 'cluster.delete', data: {} }));
  assert.is(u.status, 400);
  assert.is(((await u.json()) as { error: { code: string } }).error.code, 'unknown_request');
});

H('a valid request is 202 {id, duplicate}; GET shows queued, then the result', async (ctx) => {
  const r = await fetch(`${ctx.base}/v1/requests`, json({ name: 'run.start', data: { projectId: 'p1' }, idempotencyKey: 'k-http-1' }));
  assert.is(r.status, 202);
  const a = (await r.json()) as { id: string; duplicate: boolean };
  assert.is(a.duplicate, false);
  const r2 = await fetch(`${ctx.base}/v1/requests`, json({ name: 'run.start', data: { projectId: 'p1' }, idempotencyKey: 'k-http-1' }));
  assert.is(r2.status, 202);
  assert.equal(await r2.json(), { id: a.id, duplicate: true });
  let g = await fetch(`${ctx.base}/v1/requests/${a.id}`, { headers: auth });
  assert.is(g.status, 200);
  assert.equal(await g.json(), { id: a.id, status: 'queued' });
  const worker = createRequestWorker({
    connection: { url: ctx.redisServer.url },
    prefix: PREFIX,
    concurrency: 1,
    dispatch: async (name, data) => ({ ran: name, projectId: (data as { projectId: string }).projectId }),
    validate: validateRequest,
    logger: createLogger({ sink: () => {} }),
    metrics: ctx.metrics,
    results: ctx.results,
  });
  try {
    const end = Date.now() + 10_000;
    let entry: { status: string; result?: unknown } = { status: 'queued' };
    while (Date.now() < end) {
      g = await fetch(`${ctx.base}/v1/requests/${a.id}`, { headers: auth });
      entry = (await g.json()) as typeof entry;
      if (entry.status === 'completed') break;
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.is(entry.status, 'completed');
    assert.equal(entry.result, { ran: 'run.start', projectId: 'p1' });
  } finally {
    await worker.close();
  }
  const nf = await fetch(`${ctx.base}/v1/requests/no-such-request`, { headers: auth });
  assert.is(nf.status, 404);
});

H('a rejection never overwrites the result of a finished request with the same id', async (ctx) => {
  await ctx.results.publish({ id: 'done-1', name: 'run.start', status: 'completed', result: { runId: 'r-1' } });
  const r = await fetch(`${ctx.base}/v1/requests`, json({ id: 'done-1', name: 'run.start', data: {} }));
  assert.is(r.status, 400);
  const body = (await r.json()) as { id: string };
  assert.is.not(body.id, 'done-1');
  assert.is((await ctx.results.get(body.id))?.status, 'rejected');
  assert.equal((await ctx.results.get('done-1'))?.result, { runId: 'r-1' });
});

H('/metrics is Prometheus text with the request counters', async (ctx) => {
  const scrape = async () => {
    const r = await fetch(`${ctx.base}/metrics`);
    assert.is(r.status, 200);
    assert.is(r.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    return r.text();
  };
  /** One sample of sync_requests_total (0 before the first count), so this test counts only its own requests. */
  const requests = (text: string, name: string, outcome: string) =>
    Number(new RegExp(`^sync_requests_total\\{name="${name.replace('.', '\\.')}",outcome="${outcome}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  const before = await scrape();
  assert.is((await fetch(`${ctx.base}/v1/requests`, json({ name: 'run.start', data: {} }))).status, 400);
  for (let i = 0; i < 2; i++) assert.is((await fetch(`${ctx.base}/v1/requests`, json({ name: 'run.start', data: { projectId: 'p-metrics' }, idempotencyKey: 'k-metrics-1' }))).status, 202);
  assert.is((await fetch(`${ctx.base}/v1/requests`, { method: 'POST', headers: auth, body: '{"name": "run.start",' })).status, 400);
  assert.is((await fetch(`${ctx.base}/v1/requests`, json({ name: 'cluster.delete', data: {} }))).status, 400);
  const text = await scrape();
  assert.match(text, /# TYPE sync_requests_total counter/);
  assert.is(requests(text, 'run.start', 'rejected') - requests(before, 'run.start', 'rejected'), 1);
  assert.is(requests(text, 'run.start', 'duplicate') - requests(before, 'run.start', 'duplicate'), 1);
  // Malformed JSON and an unknown name are counted under "unknown", never under a client-chosen label.
  assert.is(requests(text, 'unknown', 'rejected') - requests(before, 'unknown', 'rejected'), 2);
  assert.not.match(text, /cluster\.delete/);
  assert.match(text, /# TYPE sync_handler_duration_seconds histogram/);
  assert.match(text, /# TYPE sync_inflight_requests gauge/);
  assert.match(text, /# TYPE sync_sqs_lag_seconds gauge/);
  assert.match(text, /# TYPE sync_completion_events_total counter/);
  assert.match(text, /process_cpu_user_seconds_total/);
});

H('unknown routes are 404, wrong methods 405', async (ctx) => {
  assert.is((await fetch(`${ctx.base}/nope`)).status, 404);
  const m = await fetch(`${ctx.base}/v1/requests`, { headers: auth });
  assert.is(m.status, 405);
  assert.is(m.headers.get('allow'), 'POST');
});

H('without a configured token, request ingress is 503 saying how to configure it', async (ctx) => {
  const s = server(ctx, undefined);
  const { url } = await s.listen();
  try {
    const r = await fetch(`${url}/v1/requests`, json({ name: 'run.start', data: { projectId: 'p1' } }));
    assert.is(r.status, 503);
    const body = (await r.json()) as { error: { message: string } };
    assert.match(body.error.message, /SYNC_AGENT_TOKEN/);
    assert.is((await fetch(`${url}/healthz`)).status, 200);
  } finally {
    await s.close();
    await s.close();
  }
});

H('the token never reaches the logs', (ctx) => {
  assert.ok(ctx.lines.length > 0, 'something was logged');
  assert.ok(ctx.lines.every((l) => !l.includes(TOKEN)), 'no log line carries the token');
  assert.ok(ctx.lines.every((l) => !/authorization/i.test(l)));
});

H.run();
