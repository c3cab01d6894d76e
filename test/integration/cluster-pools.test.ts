// Cluster pools through public interfaces: a real agent process (requests through the Redis inbox),
// the sandbox EMR (long-lived clusters running added steps, writing step logs and event logs to
// s3rver, Step Status Change events to a real SQS queue), run data and state in S3.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { Redis } from 'ioredis';
import { createS3ObjectStore } from '../../src/adapters/s3-object-store.js';
import { createSandboxPlatform, type SandboxPlatform } from '../../src/sandbox/sandbox-platform.js';
import { shippedWorkloads } from '../../src/sandbox/shipped-workloads.js';
import type { PoolState } from '../../src/domain/pools.js';
import type { Prediction, ProjectState, Run } from '../../src/domain/types.js';
import { startAgent, writeConfig, eventually, type AgentProcess } from '../support/agent-process.js';
import { startRedis, freePort, type TestRedis } from '../support/redis.js';
import { startS3, type S3Harness } from '../support/s3.js';
import { startSqs, type TestSqs } from '../support/sqs.js';

type Ctx = {
  dir: string;
  redis: TestRedis;
  s3: S3Harness;
  sqs: TestSqs;
  sandbox: SandboxPlatform;
  agent: AgentProcess;
  configPath: string;
  httpPort: number;
  r: Redis;
  /** Called with every step event the sandbox emits (before it goes to SQS). */
  onStepEvent?: (detail: Record<string, string>) => void;
};
const S = suite<Ctx>('cluster pools');

const POOL_JOB_FLOW = {
  Name: 'shared-etl',
  ReleaseLabel: 'emr-6.10.0',
  Applications: [{ Name: 'Spark' }],
  LogUri: 's3://runs/emr-logs/',
  Instances: {
    InstanceGroups: [
      { InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 },
      { InstanceRole: 'CORE', InstanceType: 'm5.2xlarge', InstanceCount: 2 },
    ],
  },
  JobFlowRole: 'EMR_EC2_DefaultRole',
  ServiceRole: 'EMR_DefaultRole',
};
const STEPS = [{ Name: 'etl', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', '--deploy-mode', 'cluster', 's3://runs/code/etl-shuffle.py'] } }];

async function s3Json<T>(ctx: Ctx, key: string): Promise<T | undefined> {
  try {
    const out = await ctx.s3.client.send(new GetObjectCommand({ Bucket: 'runs', Key: key }));
    return JSON.parse(await out.Body!.transformToString()) as T;
  } catch (e) {
    if ((e as { name?: string }).name === 'NoSuchKey') return undefined;
    throw e;
  }
}

async function s3Keys(ctx: Ctx, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await ctx.s3.client.send(new ListObjectsV2Command({ Bucket: 'runs', Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of out.Contents ?? []) keys.push(o.Key!);
    token = out.NextContinuationToken;
  } while (token);
  return keys;
}

async function request(ctx: Ctx, id: string, name: string, data: unknown, idempotencyKey?: string): Promise<void> {
  await ctx.r.xadd('pools:inbox', '*', 'request', JSON.stringify({ id, name, data, ...(idempotencyKey ? { idempotencyKey } : {}) }));
}

async function result(ctx: Ctx, id: string, timeoutMs = 60_000): Promise<{ status: string; result?: unknown; error?: unknown }> {
  return eventually(async () => {
    const h = await ctx.r.hgetall(`pools:result:${id}`);
    if (!h.status || h.status === 'running' || h.status === 'queued') return undefined;
    return { status: h.status, ...(h.result ? { result: JSON.parse(h.result) as unknown } : {}), ...(h.error ? { error: JSON.parse(h.error) as unknown } : {}) };
  }, timeoutMs, `result of ${id}`);
}

async function completed(ctx: Ctx, id: string, name: string, data: unknown): Promise<unknown> {
  await request(ctx, id, name, data);
  const res = await result(ctx, id);
  assert.is(res.status, 'completed', `${name} ${id}: ${JSON.stringify(res)}`);
  return res.result;
}

const poolClusters = (ctx: Ctx, poolId: string) => ctx.sandbox.server.clusters().filter((c) => c.tags['sync:pool-id'] === poolId);
const activeSteps = (c: { steps: { state: string }[] }) => c.steps.filter((s) => s.state === 'PENDING' || s.state === 'RUNNING').length;

function startTestAgent(ctx: Ctx): AgentProcess {
  return startAgent({ configPath: ctx.configPath, httpPort: ctx.httpPort });
}

S.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'sync-pools-'));
  ctx.redis = await startRedis();
  ctx.s3 = await startS3({ buckets: ['runs'] });
  ctx.sqs = await startSqs();
  const q = await ctx.sqs.createQueue('emr-events');
  await ctx.s3.client.send(new PutObjectCommand({ Bucket: 'runs', Key: 'code/etl-shuffle.py', Body: '# etl\n' }));
  const sqs = ctx.sqs;
  ctx.sandbox = await createSandboxPlatform({
    objects: createS3ObjectStore({ client: ctx.s3.client }),
    workloads: shippedWorkloads(),
    timeScale: 1500,
    seed: 3,
    onEvent: async (event) => {
      if (event['detail-type'] === 'EMR Step Status Change') ctx.onStepEvent?.(event.detail as Record<string, string>);
      await sqs.client.send(new SendMessageCommand({ QueueUrl: q.url, MessageBody: JSON.stringify(event) }));
    },
  });
  ctx.httpPort = await freePort();
  ctx.configPath = writeConfig(ctx.dir, {
    site: {
      id: 'pools-host',
      redis: { url: ctx.redis.url },
      queues: { prefix: 'pools', backoffMs: 200, lockDurationMs: 3_000 },
      sqs: { completionQueueUrl: q.url, waitTimeSeconds: 1, visibilityTimeoutSeconds: 10 },
      aws: { region: 'us-east-1', endpoints: { emr: ctx.sandbox.url, s3: ctx.s3.endpoint, sqs: ctx.sqs.endpoint } },
      http: { port: ctx.httpPort },
      eventLog: { waitTimeoutMs: 60_000, pollMs: 300 },
    },
    tenant: { id: 'acme', state: 's3://runs/state', projectLocation: 's3://runs/data' },
  });
  ctx.agent = startTestAgent(ctx);
  await ctx.agent.ready();
  ctx.r = new Redis(ctx.redis.url);
});

S.after(async (ctx) => {
  ctx.r?.disconnect();
  if (ctx.agent && ctx.agent.child.exitCode === null && ctx.agent.child.signalCode === null) await ctx.agent.stop();
  await ctx.sandbox?.close();
  await ctx.sqs?.stop();
  await ctx.s3?.stop();
  await ctx.redis?.stop();
  rmSync(ctx.dir, { recursive: true, force: true });
});

/** Waits until every run of the project is recorded; returns them. */
async function allRecorded(ctx: Ctx, projectId: string, n: number, timeoutMs = 90_000): Promise<Run[]> {
  return eventually(async () => {
    const doc = await s3Json<ProjectState>(ctx, `state/projects/${projectId}.json`);
    const runs = doc?.runs ?? [];
    return runs.length === n && runs.every((r) => r.status === 'recorded') ? runs : undefined;
  }, timeoutMs, `${n} recorded runs of ${projectId}`);
}

S('a pool of 3 clusters takes 30 runs: spread over its clusters, each recorded with its event log and its cost share', async (ctx) => {
  const created = (await completed(ctx, 'pool-a', 'pool.create', { poolId: 'shared', size: 3, jobFlow: POOL_JOB_FLOW })) as { clusters: { id: string; status: string }[] };
  assert.is(created.clusters.length, 3);
  const clusters = poolClusters(ctx, 'shared');
  assert.is(clusters.length, 3, 'three pool clusters started');
  for (const c of clusters) {
    assert.is(c.keepAlive, true, 'long-lived');
    assert.is(c.tags['sync:tenant-id'], 'acme');
    assert.is(c.tags['sync:project-id'], undefined, 'a pool cluster belongs to no project');
  }
  await Promise.all(clusters.map((c) => ctx.sandbox.server.waitForState(c.id, 'WAITING', 30_000)));
  await request(ctx, 'proj-nopool', 'project.create', { projectId: 'nopool', name: 'nopool', platform: 'emr', pool: 'missing', jobFlow: { Steps: STEPS } });
  const refused = await result(ctx, 'proj-nopool');
  assert.is(refused.status, 'failed');
  assert.match(JSON.stringify(refused.error), /pool 'missing' does not exist/);
  await completed(ctx, 'proj-a', 'project.create', { projectId: 'pooled', name: 'pooled', platform: 'emr', pool: 'shared', jobFlow: { Steps: STEPS } });

  // Watch the spread on EMR while the 30 runs arrive together and run: steps per cluster at every
  // observation, and running + pending steps per cluster while runs are being placed. (Once all are
  // placed, running + pending drifts apart with the steps' own run times, which placement cannot change:
  // printed, not asserted.)
  const spread = (xs: number[]) => Math.max(...xs) - Math.min(...xs);
  const worst = { placed: 0, activeWhilePlacing: 0, activeAfter: 0 };
  let placing = true;
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      const now = poolClusters(ctx, 'shared');
      worst.placed = Math.max(worst.placed, spread(now.map((c) => c.steps.length)));
      const active = spread(now.map(activeSteps));
      if (placing) worst.activeWhilePlacing = Math.max(worst.activeWhilePlacing, active);
      else worst.activeAfter = Math.max(worst.activeAfter, active);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  for (let i = 0; i < 30; i++) await request(ctx, `start-${i}`, 'run.start', { projectId: 'pooled' }, `pooled-${i}`);
  const starts = await Promise.all(Array.from({ length: 30 }, (_, i) => result(ctx, `start-${i}`)));
  placing = false;
  for (const s of starts) assert.is(s.status, 'completed', JSON.stringify(s));
  const runs = await allRecorded(ctx, 'pooled', 30);
  watching = false;
  await watcher;

  const perCluster = poolClusters(ctx, 'shared').map((c) => c.steps.length);
  assert.ok(poolClusters(ctx, 'shared').flatMap((c) => c.steps).every((st) => st.config.Args.some((a) => a.startsWith('spark.eventLog.dir=s3a://runs/data/pooled/'))), 'each step logs under its run');
  const costs = runs.map((r) => r.costUsd ?? 0);
  console.log(`pool spread: steps per cluster ${perCluster.join('/')}; worst max-min of steps per cluster ${worst.placed}, of running+pending while placing ${worst.activeWhilePlacing}, after ${worst.activeAfter}; cost per run ${Math.min(...costs)}..${Math.max(...costs)} USD`);
  assert.is(perCluster.reduce((a, b) => a + b, 0), 30, `one step per run, none twice: ${perCluster.join(', ')}`);
  assert.ok(worst.placed <= 2, `max - min steps per cluster was ${worst.placed} at worst`);
  assert.ok(worst.activeWhilePlacing <= 2, `max - min running+pending steps per cluster while placing was ${worst.activeWhilePlacing} at worst`);
  assert.ok(Math.min(...perCluster) >= 5, `every cluster took a share: ${perCluster.join(', ')}`);
  for (const run of runs) {
    assert.ok(run.clusterId && clusters.some((c) => c.id === run.clusterId), `run ${run.id} on a pool cluster`);
    assert.ok((run.costUsd ?? 0) > 0, `run ${run.id} has a cost: ${run.costUsd}`);
    assert.is(run.eventLog?.status, 'complete', `run ${run.id} event log: ${JSON.stringify(run.eventLog)}`);
    const prefix = run.eventLogUrl!.replace('s3://runs/', '');
    const logs = (await s3Keys(ctx, prefix)).filter((k) => k.includes('application_'));
    assert.is(logs.length, 1, `run ${run.id} has its own event log under its run directory: ${logs.join(', ')}`);
    assert.equal(run.steps?.map((s) => s.state), ['COMPLETED']);
  }
  // The cost share: a run's cost is its steps' share of the cluster's cost, so the 30 costs sum to no more than the clusters' busy time.
  const stepLogs = await s3Keys(ctx, 'emr-logs/');
  assert.ok(stepLogs.some((k) => k.endsWith('/stderr.gz')), 'step logs written under the pool LogUri');
  // A prediction for the pooled project: settings within the pool's cluster shape, never a new cluster.
  const prediction = (await completed(ctx, 'predict-a', 'prediction.create', { projectId: 'pooled' })) as Prediction;
  console.log(`pooled prediction: ${Object.entries(prediction.solutions).map(([p, s]) => `${p}: ${s.keep ? 'keep' : JSON.stringify(s.configuration.Configurations)} ${s.estimate.runtimeSeconds}s $${s.estimate.costUsd.toFixed(3)}`).join('; ')}; basis ${prediction.basis.runtimeSeconds}s $${prediction.basis.costUsd.toFixed(3)}`);
  for (const [pref, solution] of Object.entries(prediction.solutions)) {
    assert.is(solution.configuration.Instances, undefined, `${pref}: no new cluster`);
    assert.match(solution.explanation, /pool's clusters \(2 x m5\.2xlarge\) are fixed/, `${pref}: ${solution.explanation}`);
    if (!solution.keep) assert.ok(Array.isArray(solution.configuration.Configurations) && (solution.settings?.length ?? 0) > 0, `${pref}: executor settings`);
  }
  // Applying it runs on the pool too, with the prediction's settings (if any) on the step's spark-submit.
  const applied = (await completed(ctx, 'apply-a', 'prediction.apply', { projectId: 'pooled', preference: 'economy' })) as { clusterId: string; runId: string };
  const appliedStep = poolClusters(ctx, 'shared').flatMap((c) => c.steps).find((st) => st.name.includes(`/${applied.runId}/`))!;
  assert.ok(clusters.some((c) => c.id === applied.clusterId), 'applied on a pool cluster');
  const economy = prediction.solutions.economy;
  const wanted = economy.keep ? [] : Object.entries((economy.configuration.Configurations as { Properties: Record<string, string> }[])[0]!.Properties).map(([k, v]) => `${k}=${v}`);
  for (const kv of wanted) assert.ok(appliedStep.config.Args.includes(kv), `--conf ${kv} on the applied step: ${appliedStep.config.Args.join(' ')}`);
  await allRecorded(ctx, 'pooled', 31);
  // A run is recorded first and its placement ended just after (a redelivered step event ends it if the
  // agent dies in between), so the last placement may end a moment after its run is recorded.
  const pool = await eventually(async () => {
    const doc = await s3Json<PoolState>(ctx, 'state/pools/shared.json');
    return doc && doc.placements.length === 31 && doc.placements.every((p) => p.status === 'ended') ? doc : undefined;
  }, 15_000, '31 ended placements in pool shared');
  assert.is(pool.placements.length, 31);
});

S('SIGKILL of the agent mid-placement, then a restart: no step is added twice and every run is recorded', async (ctx) => {
  await completed(ctx, 'pool-b', 'pool.create', { poolId: 'crashy', size: 2, jobFlow: POOL_JOB_FLOW });
  await Promise.all(poolClusters(ctx, 'crashy').map((c) => ctx.sandbox.server.waitForState(c.id, 'WAITING', 30_000)));
  await completed(ctx, 'proj-b', 'project.create', { projectId: 'crashy-etl', name: 'crashy-etl', platform: 'emr', pool: 'crashy', jobFlow: { Steps: STEPS } });
  let pending = 0;
  const victim = ctx.agent;
  // Killed the moment EMR has added the 3rd run's step, before the agent hears back.
  ctx.onStepEvent = (detail) => {
    if (detail.state !== 'PENDING' || !detail.name?.startsWith('sync:crashy-etl/')) return;
    pending += 1;
    if (pending === 3) victim.kill('SIGKILL');
  };
  for (let i = 0; i < 6; i++) await request(ctx, `crash-${i}`, 'run.start', { projectId: 'crashy-etl' }, `crashy-${i}`);
  assert.is(await victim.exited, 'SIGKILL');
  delete ctx.onStepEvent;
  const before = await s3Json<PoolState>(ctx, 'state/pools/crashy.json');
  const claimedAtKill = before!.placements.filter((p) => p.status === 'claimed').length;

  ctx.agent = startTestAgent(ctx);
  await ctx.agent.ready();
  for (let i = 0; i < 6; i++) {
    const res = await result(ctx, `crash-${i}`, 90_000);
    assert.is(res.status, 'completed', JSON.stringify(res));
  }
  const runs = await allRecorded(ctx, 'crashy-etl', 6);
  const steps = poolClusters(ctx, 'crashy').flatMap((c) => c.steps);
  assert.is(steps.length, 6, `six steps for six runs: ${steps.map((s) => s.name).join(', ')}`);
  const byRun = new Map<string, number>();
  for (const s of steps) {
    const runId = /^sync:[^/]+\/([^/]+)\//.exec(s.name)![1]!;
    byRun.set(runId, (byRun.get(runId) ?? 0) + 1);
  }
  for (const run of runs) {
    assert.is(byRun.get(run.id), 1, `run ${run.id} has exactly one step`);
    assert.ok((run.costUsd ?? 0) > 0);
    assert.is(run.eventLog?.status, 'complete');
  }
  console.log(`crash: ${claimedAtKill} placement(s) claimed but not placed at the kill; ${steps.length} steps for ${runs.length} runs`);
  assert.ok(claimedAtKill >= 1, `the kill came between a claim and its placement (${claimedAtKill} claimed)`);
});

S('pool.delete drains: no new placements, the clusters terminate', async (ctx) => {
  const out = (await completed(ctx, 'del-b', 'pool.delete', { poolId: 'crashy' })) as { status: string };
  assert.ok(out.status === 'deleted' || out.status === 'deleting', out.status);
  await Promise.all(poolClusters(ctx, 'crashy').map((c) => ctx.sandbox.server.waitForState(c.id, 'TERMINATED', 30_000)));
  await request(ctx, 'after-delete', 'run.start', { projectId: 'crashy-etl' }, 'crashy-after');
  const res = await result(ctx, 'after-delete');
  assert.is(res.status, 'failed');
  assert.match(JSON.stringify(res.error), /being deleted/);
  assert.is(poolClusters(ctx, 'shared').filter((c) => c.state === 'WAITING').length, 3, 'the other pool is untouched');
});

S('pool.resize: shrinking drains and terminates the newest cluster, growing starts a new one', async (ctx) => {
  const before = poolClusters(ctx, 'shared');
  const newest = before.reduce((a, b) => (Number(a.tags['sync:pool-slot']) > Number(b.tags['sync:pool-slot']) ? a : b));
  const down = (await completed(ctx, 'resize-down', 'pool.resize', { poolId: 'shared', size: 2 })) as { clusters: { id: string; status: string }[] };
  assert.is(down.clusters.find((c) => c.id === newest.id)?.status, 'terminated', 'idle, so drained at once');
  await ctx.sandbox.server.waitForState(newest.id, 'TERMINATED', 30_000);
  const up = (await completed(ctx, 'resize-up', 'pool.resize', { poolId: 'shared', size: 3 })) as { clusters: { id: string; slot: number; status: string }[] };
  assert.equal(up.clusters.filter((c) => c.status === 'active').map((c) => c.slot), [0, 1, 3], 'a new slot, never a reused one');
  const live = poolClusters(ctx, 'shared').filter((c) => !c.state.startsWith('TERMINAT'));
  assert.is(live.length, 3);
  // Three runs at once on three idle clusters: one each, the new cluster included.
  for (let i = 0; i < 3; i++) await request(ctx, `after-resize-${i}`, 'run.start', { projectId: 'pooled' }, `pooled-after-resize-${i}`);
  const placed = await Promise.all([0, 1, 2].map((i) => result(ctx, `after-resize-${i}`)));
  for (const p of placed) assert.is(p.status, 'completed', JSON.stringify(p));
  const on = new Set(placed.map((p) => (p.result as { clusterId: string }).clusterId));
  assert.equal([...on].sort(), up.clusters.filter((c) => c.status === 'active').map((c) => c.id).sort());
  await allRecorded(ctx, 'pooled', 34);
});

S('run.cancel of a pooled run cancels its own step only; the shared cluster and the other runs carry on', async (ctx) => {
  // Two runs per idle cluster: one runs, one waits behind it.
  for (let i = 0; i < 6; i++) await request(ctx, `busy-${i}`, 'run.start', { projectId: 'pooled' }, `pooled-busy-${i}`);
  const started = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => result(ctx, `busy-${i}`)));
  for (const st of started) assert.is(st.status, 'completed', JSON.stringify(st));
  const ids = new Set(started.map((st) => (st.result as { runId: string }).runId));
  const waiting = poolClusters(ctx, 'shared').flatMap((c) => c.steps.map((st) => ({ cluster: c.id, st }))).find(({ st }) => st.state === 'PENDING' && ids.has(/^sync:[^/]+\/([^/]+)\//.exec(st.name)![1]!));
  assert.ok(waiting, 'a step waits behind another');
  const runId = /^sync:[^/]+\/([^/]+)\//.exec(waiting!.st.name)![1]!;
  const cancelled = (await completed(ctx, 'cancel-pooled', 'run.cancel', { projectId: 'pooled', runId, by: 'test' })) as { status: string; cancelledSteps?: string[] };
  assert.is(cancelled.status, 'cancelled');
  assert.equal(cancelled.cancelledSteps, [waiting!.st.id]);
  const doc = await eventually(async () => {
    const d = await s3Json<ProjectState>(ctx, 'state/projects/pooled.json');
    const others = d?.runs.filter((r) => ids.has(r.id) && r.id !== runId) ?? [];
    return others.length === 5 && others.every((r) => r.status === 'recorded') ? d : undefined;
  }, 60_000, 'the other five runs recorded');
  assert.is(doc.runs.find((r) => r.id === runId)?.status, 'cancelled');
  const cluster = ctx.sandbox.server.cluster(waiting!.cluster)!;
  assert.is(cluster.steps.find((st) => st.id === waiting!.st.id)?.state, 'CANCELLED');
  assert.ok(!cluster.state.startsWith('TERMINAT'), `the shared cluster is up: ${cluster.state}`);
  await eventually(async () => (await s3Json<PoolState>(ctx, 'state/pools/shared.json'))?.placements.find((p) => p.runId === runId)?.status === 'ended' || undefined, 30_000, 'the cancelled run frees its placement');
});

S.run();
