// The reconciler against a real Redis (its lease) and the sandbox EMR server: one agent at a time,
// one ListClusters instead of a DescribeCluster per run, a bounded round-robin share per pass, and
// runs that cannot finish by themselves ended with a reason.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { createEmrPlatform } from '../../src/adapters/emr-platform.js';
import { silentLogger } from '../../src/adapters/logger.js';
import { createRedisLease } from '../../src/queues/lease.js';
import { ACTIVE_CLUSTER_STATES, createReconciler } from '../../src/queues/reconciler.js';
import type { ReconcilerOptions, RunEnding, RunningRun } from '../../src/queues/reconciler.js';
import type { RequestInput } from '../../src/queues/requests-queue.js';
import type { Platform } from '../../src/domain/ports.js';
import { TAG_RUN_ID } from '../../src/domain/tags.js';
import { startEmr } from '../support/emr.js';
import type { TestEmr } from '../support/emr.js';
import { startRedis } from '../support/redis.js';
import type { TestRedis } from '../support/redis.js';
import { eventually, sleep } from '../support/async.js';

const held = { startingMs: Infinity, bootstrappingMs: Infinity, runningMs: Infinity, terminatingMs: 0 };
const test = suite('reconciler');
let redis: TestRedis;
let emr: TestEmr;
let platform: Platform;
const clients: Redis[] = [];
test.before(async () => {
  redis = await startRedis();
  emr = await startEmr({ timeline: held });
  platform = createEmrPlatform({ client: emr.client, region: 'us-east-1', retry: { retries: 0 } });
});
test.after(async () => {
  for (const c of clients) c.disconnect();
  await emr.stop();
  await redis.stop();
});

const connect = () => {
  const c = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  clients.push(c);
  return c;
};
const recent = () => new Date(Date.now() - 60_000).toISOString();
const cluster = async (name: string) => (await platform.startCluster({ Name: name, ReleaseLabel: 'emr-7.1.0', Instances: { MasterInstanceType: 'm5.xlarge', InstanceCount: 1 } })).clusterId;
const calls = (op: string) => emr.server.calls().filter((c) => c.op === op).length;

function reconciler(runs: () => RunningRun[], extra: Partial<ReconcilerOptions> = {}) {
  const queued: RequestInput[] = [];
  const ended: { run: RunningRun; ending: RunEnding }[] = [];
  const r = createReconciler({
    intervalMs: 60_000,
    listRunningRuns: () => Promise.resolve(runs()),
    describeCluster: (id, signal) => platform.describeCluster(id, { signal }),
    listActiveClusters: async (createdAfter, signal) =>
      new Map((await platform.listClusters!({ states: ACTIVE_CLUSTER_STATES, createdAfter }, { signal })).map((c) => [c.id, c.state])),
    endRun: (run, ending) => {
      ended.push({ run, ending });
      return Promise.resolve(true);
    },
    enqueue: (req) => {
      queued.push(req);
      return Promise.resolve({ id: `req-${queued.length}`, duplicate: false });
    },
    logger: silentLogger,
    ...extra,
  });
  return { r, queued, ended };
}

test('one pass lists the active clusters once and describes only the run whose cluster ended', async () => {
  const ids = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => cluster(`batch-${i}`)));
  await platform.terminateCluster(ids[2]!);
  await emr.server.waitForState(ids[2]!, 'TERMINATED', 5000);
  const runs = ids.map((id, i) => ({ projectId: 'p', runId: `r-${i}`, clusterId: id, status: 'running' as const, createdAt: recent() }));
  const { r, queued } = reconciler(() => runs);
  const describesBefore = calls('DescribeCluster');
  const listsBefore = calls('ListClusters');
  assert.is(await r.tick(), 1);
  assert.equal(
    queued.map((q) => q.data),
    [{ projectId: 'p', clusterId: ids[2], runId: 'r-2' }],
  );
  assert.is(calls('DescribeCluster') - describesBefore, 1, 'only the finished cluster is described (not one call per run)');
  // The sandbox pages by 2: the other 5 active clusters (and any of earlier tests) take a few pages of one listing.
  assert.ok(calls('ListClusters') - listsBefore >= 1);
  await r.stop();
});

test('a pass checks at most maxRunsPerPass runs, and the next pass goes on round-robin', async () => {
  const id = await cluster('rr');
  const runs = ['a', 'b', 'c', 'd', 'e'].map((x) => ({ projectId: 'p', runId: `r-${x}`, clusterId: id, status: 'running' as const, createdAt: recent() }));
  const { r } = reconciler(() => runs, { maxRunsPerPass: 2 });
  const seen: string[][] = [];
  for (let i = 0; i < 3; i++) {
    await r.tick();
    seen.push(r.lastPass!.checked);
  }
  assert.equal(seen, [
    ['r-a', 'r-b'],
    ['r-c', 'r-d'],
    ['r-e', 'r-a'],
  ]);
  await r.stop();
});

test("runs stuck in 'starting' past the limit, or on a cluster that no longer exists, are ended with a reason", async () => {
  const runs: RunningRun[] = [
    { projectId: 'p', runId: 'r-stuck', status: 'starting', createdAt: new Date(Date.now() - 3 * 3600_000).toISOString() },
    { projectId: 'p', runId: 'r-young', status: 'starting', createdAt: recent() },
    { projectId: 'p', runId: 'r-gone', clusterId: 'j-NOSUCHCLUSTER1', status: 'running', createdAt: recent() },
  ];
  const { r, ended, queued } = reconciler(() => runs, { startingTimeoutMs: 3600_000 });
  await r.tick();
  assert.equal(
    ended.map((e) => [e.run.runId, e.ending.code]),
    [
      ['r-gone', 'cluster_not_found'],
      ['r-stuck', 'start_timeout'],
    ],
  );
  assert.match(ended[1]!.ending.message, /stayed 'starting' for more than 60 min/);
  assert.is(queued.length, 0);
  assert.is(r.lastPass!.ended, 2);
  await r.stop();
});

test("a stuck 'starting' run whose cluster exists after all (tagged with its run id) is adopted, not ended", async () => {
  const clusterId = (await platform.startCluster({ Name: 'late', ReleaseLabel: 'emr-7.1.0', Instances: { MasterInstanceType: 'm5.xlarge', InstanceCount: 1 }, Tags: [{ Key: TAG_RUN_ID, Value: 'r-late' }] })).clusterId;
  const createdAt = new Date(Date.now() - 2 * 3600_000).toISOString();
  const runs: RunningRun[] = [
    { projectId: 'p', runId: 'r-late', status: 'starting', createdAt },
    { projectId: 'p', runId: 'r-never', status: 'starting', createdAt },
  ];
  const adopted: [string, string][] = [];
  const { r, ended } = reconciler(() => runs, {
    startingTimeoutMs: 3600_000,
    // The sandbox's clusters are created now; the run's own time bounds the real lookup.
    findRunCluster: async (run, signal) => (await platform.findClusterByTag({ tags: { [TAG_RUN_ID]: run.runId }, createdAfter: new Date(Date.now() - 60_000) }, { signal }))?.id,
    adoptRun: (run, id) => {
      adopted.push([run.runId, id]);
      return Promise.resolve(true);
    },
  });
  await r.tick();
  assert.equal(adopted, [['r-late', clusterId]]);
  assert.equal(
    ended.map((e) => e.run.runId),
    ['r-never'],
  );
  await r.stop();
});

test('with a shared lease only one agent reconciles; stop releases it, and an expired lease is taken over', async () => {
  const key = `t:${Date.now()}:reconciler:lease`;
  const id = await cluster('lease');
  const runs = [{ projectId: 'p', runId: 'r-l', clusterId: id, status: 'running' as const, createdAt: recent() }];
  // afterPass (the orphan sweep) runs on the lease holder only; its failure is not the pass's.
  const after = { a: 0, b: 0 };
  const a = reconciler(() => runs, {
    lease: createRedisLease({ redis: connect(), key, ttlMs: 60_000 }),
    afterPass: () => {
      after.a += 1;
      return Promise.reject(new Error('sweep failed'));
    },
  });
  const b = reconciler(() => runs, { lease: createRedisLease({ redis: connect(), key, ttlMs: 60_000 }), afterPass: () => Promise.resolve(void (after.b += 1)) });
  await a.r.tick();
  await b.r.tick();
  assert.is(a.r.lastPass!.leader, true);
  assert.equal(b.r.lastPass!, { leader: false, runs: 0, checked: [], described: 0, enqueued: 0, ended: 0, adopted: 0 }, 'the second agent does nothing');
  assert.equal(after, { a: 1, b: 0 });
  await a.r.stop();
  await b.r.tick();
  assert.is(b.r.lastPass!.leader, true, 'a stopped agent released the lease');
  assert.equal(after, { a: 1, b: 1 });
  await b.r.stop();

  // A holder that dies without releasing: the lease expires and the other agent takes it.
  const c = reconciler(() => runs, { lease: createRedisLease({ redis: connect(), key, ttlMs: 300 }) });
  const d = reconciler(() => runs, { lease: createRedisLease({ redis: connect(), key, ttlMs: 300 }) });
  await c.r.tick();
  assert.is(c.r.lastPass!.leader, true);
  await d.r.tick();
  assert.is(d.r.lastPass!.leader, false);
  await sleep(400);
  await eventually(async () => ((await d.r.tick(), d.r.lastPass!.leader) ? true : undefined), 5000, 'the takeover');
  await d.r.stop();
});

test.run();
