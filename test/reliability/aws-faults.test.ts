// Scenario 5, AWS faults injected by the local EMR server and the S3 harness proxy: throttling, 5xx,
// dropped connections and timeouts are retried with backoff and bounded attempts (no tight loops);
// permanent errors are not retried and surface on the request with their code.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createAwsClients } from '../../src/adapters/aws-clients.js';
import { createEmrPlatform } from '../../src/adapters/emr-platform.js';
import { silentLogger } from '../../src/adapters/logger.js';
import { createS3ObjectStore } from '../../src/adapters/s3-object-store.js';
import { SyncError } from '../../src/domain/errors.js';
import type { AgentProcess } from '../support/agent-process.js';
import { EMR_TEST_CREDENTIALS } from '../support/emr.js';
import { startS3 } from '../support/s3.js';
import { pick, projectCreate, report, startWorld, stopDaemon, type World } from './harness.js';

const ROUNDS = pick(1, 5);
const figures: Record<string, unknown> = {};

async function rejection(p: Promise<unknown>): Promise<SyncError> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, SyncError);
    return e as SyncError;
  }
  throw new Error('expected a rejection');
}

const faults = suite<{ world: World; agent: AgentProcess; n: number }>('aws faults');

faults.before(async (ctx) => {
  ctx.world = await startWorld({ prefix: 'af', holdClusters: true });
  ctx.agent = await ctx.world.daemon('af-host');
  await ctx.world.send(projectCreate('p1'));
  await ctx.world.waitResults(['create-p1'], 30_000);
  ctx.n = 0;
});
faults.after(async (ctx) => {
  await stopDaemon(ctx.agent);
  await ctx.world?.stop();
});

const runStart = async (ctx: { world: World; n: number }) => {
  const id = `start-${++ctx.n}`;
  await ctx.world.send({ id, name: 'run.start', data: { projectId: 'p1' }, idempotencyKey: id });
  return (await ctx.world.waitResults([id], 90_000)).get(id)!;
};
const runJobFlows = (world: World, since: number) => world.emr.server.calls().filter((c) => c.op === 'RunJobFlow' && c.at >= since);

faults('daemon: throttled, 5xx and lost-answer RunJobFlow calls are retried with backoff; one cluster per run', async (ctx) => {
  const { world } = ctx;
  let calls = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const fault of [
      { kind: 'throttle', times: 3 },
      { kind: '5xx', times: 2 },
      { kind: 'reset', times: 2 },
      { kind: '5xx', times: 1, afterHandling: true },
    ] as const) {
      const since = Date.now();
      const clustersBefore = world.emr.server.clusters().length;
      world.emr.server.inject({ op: 'RunJobFlow', ...fault });
      const res = await runStart(ctx);
      assert.is(res.status, 'completed', `${fault.kind}: ${JSON.stringify(res)}`);
      assert.is(world.emr.server.clusters().length, clustersBefore + 1, `${fault.kind}: exactly one new cluster`);
      const seen = runJobFlows(world, since);
      // The faulted calls plus the one that succeeded (after a lost answer the retry finds the cluster by tag instead).
      const expected = fault.kind === '5xx' && 'afterHandling' in fault ? 1 : fault.times + 1;
      assert.is(seen.length, expected, `${fault.kind}: ${seen.map((c) => c.status).join(',')}`);
      calls += seen.length;
      if (seen.length > 1) {
        const spread = seen.at(-1)!.at - seen[0]!.at;
        assert.ok(spread >= 20, `${fault.kind}: retries are spaced (${spread} ms for ${seen.length} calls)`);
      }
    }
  }
  world.emr.server.clearFaults();
  figures.daemonFaultRounds = ROUNDS;
  figures.daemonRunJobFlowCalls = calls;
});

faults('daemon: a permanent EMR error fails the request at once with its code, without retries', async (ctx) => {
  const { world } = ctx;
  const since = Date.now();
  world.emr.server.inject({ op: 'RunJobFlow', kind: 'error', times: 1, status: 400, type: 'ValidationException', message: 'Instance type m5.nope is not supported' });
  const res = await runStart(ctx);
  assert.is(res.status, 'failed');
  assert.is(res.error?.code, 'invalid_request');
  assert.match(res.error!.message, /ValidationException|m5\.nope/);
  assert.is(runJobFlows(world, since).length, 1, 'not retried');
  world.emr.server.inject({ op: 'RunJobFlow', kind: 'error', times: 1, status: 400, type: 'AccessDeniedException', message: 'not authorized to perform elasticmapreduce:RunJobFlow' });
  const denied = await runStart(ctx);
  assert.is(denied.status, 'failed');
  assert.is(denied.error?.code, 'access_denied');
  assert.is((await fetch(`${ctx.agent.httpUrl}/readyz`)).status, 200);
});

faults('EMR adapter: sustained throttling ends in a throttled error after bounded, spaced calls; timeouts are retried', async () => {
  const world = await startWorld({ prefix: 'af2', holdClusters: true });
  try {
    const { emr } = createAwsClients({ region: 'us-east-1', endpoints: { emr: world.emr.url }, s3ForcePathStyle: true, credentials: EMR_TEST_CREDENTIALS, requestTimeoutMs: 300 });
    const retries: { code: unknown; message: unknown }[] = [];
    const logger = { ...silentLogger, warn: (msg: string, f?: Record<string, unknown>) => void (msg.includes('retrying') && retries.push({ code: f?.code, message: f?.error })) };
    const platform = createEmrPlatform({ client: emr, region: 'us-east-1', logger });
    const since = Date.now();
    world.emr.server.inject({ op: 'ListClusters', kind: 'throttle', times: 1_000 });
    retries.length = 0;
    const err = await rejection(platform.findClusterByTag({ tags: { 'sync:run-id': 'r-x' }, createdAfter: new Date(0) }));
    const calls = world.emr.server.calls().filter((c) => c.op === 'ListClusters' && c.at >= since);
    const spanMs = calls.at(-1)!.at - calls[0]!.at;
    assert.is(err.code, 'throttled');
    assert.is(calls.length, 6, 'one call and five retries, then it gives up');
    assert.ok(spanMs >= 300, `backoff between throttled calls (${spanMs} ms for 6 calls)`);
    world.emr.server.clearFaults();
    retries.length = 0;

    // Timeouts: the first two answers take longer than the client waits.
    const t0 = Date.now();
    world.emr.server.inject({ op: 'ListClusters', kind: 'delay', delayMs: 1_500, times: 2 });
    const found = await platform.findClusterByTag({ tags: { 'sync:run-id': 'r-none' }, createdAfter: new Date(0) });
    assert.is(found, undefined);
    // The server logs only answered calls; the client's own retry log shows the two timeouts.
    const answered = world.emr.server.calls().filter((c) => c.op === 'ListClusters' && c.at >= t0);
    assert.is(answered.length, 2, 'the third call was answered (clusters alive), then the pass over ended clusters');
    const timedOut = retries.filter((r) => r.code === 'unavailable');
    assert.is(timedOut.length, 2, `two timeouts retried: ${JSON.stringify(retries)}`);
    assert.ok(Date.now() - t0 < 5_000, 'the client did not wait out the slow answers');
    figures.emrSustainedThrottle = { calls: calls.length, spanMs, code: err.code };
    figures.emrTimeoutsRetried = timedOut.length;
    emr.destroy();
  } finally {
    await world.stop();
  }
});

faults('S3 adapter: SlowDown, 500, dropped connections and timeouts are retried; a missing key is not', async () => {
  const s3 = await startS3({ buckets: ['runs'] });
  try {
    const { s3: client } = createAwsClients({ region: 'us-east-1', endpoints: { s3: s3.endpoint }, s3ForcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, requestTimeoutMs: 300 });
    const store = createS3ObjectStore({ client });
    const count = (method: string, since: number) => s3.requests().slice(since).filter((r) => r.method === method).length;
    let mark = s3.requests().length;
    s3.inject({ kind: 'slowdown', times: 3, method: 'PUT' });
    await store.put('s3://runs/a.json', '{"a":1}');
    assert.is(count('PUT', mark), 4, 'three SlowDown answers, then stored');
    mark = s3.requests().length;
    s3.inject({ kind: 'internal', times: 2, method: 'GET' });
    assert.is((await store.get('s3://runs/a.json')).body.toString(), '{"a":1}');
    assert.is(count('GET', mark), 3);
    mark = s3.requests().length;
    s3.inject({ kind: 'reset', times: 2, method: 'GET' });
    assert.is((await store.get('s3://runs/a.json')).body.toString(), '{"a":1}');
    s3.inject({ kind: 'delay', ms: 1_500, times: 1, method: 'GET' });
    assert.is((await store.get('s3://runs/a.json')).body.toString(), '{"a":1}', 'a timed-out GET is retried');
    mark = s3.requests().length;
    const missing = await rejection(store.get('s3://runs/missing.json'));
    assert.is(missing.code, 'not_found');
    assert.is(count('GET', mark), 1, 'not_found is not retried');
    // Sustained SlowDown: bounded attempts, then a throttled error that names the operation.
    mark = s3.requests().length;
    const t0 = Date.now();
    s3.inject({ kind: 'slowdown', times: 1_000, method: 'PUT' });
    const slow = await rejection(store.put('s3://runs/b.json', 'x'));
    const spanMs = Date.now() - t0;
    s3.clearFaults();
    assert.is(slow.code, 'throttled');
    assert.match(slow.message, /b\.json/);
    assert.is(count('PUT', mark), 6);
    assert.ok(spanMs >= 300, `spaced (${spanMs} ms)`);
    figures.s3SustainedSlowDown = { calls: count('PUT', mark), spanMs, code: slow.code };
    client.destroy();
  } finally {
    await s3.stop();
  }
  report('aws-faults', figures);
});

faults.run();
