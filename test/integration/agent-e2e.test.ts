// The daemon end to end, driven only through its public interfaces: requests through the Redis inbox
// (from Python) and HTTP, EMR through the project's EMR-protocol server, completion through a real
// SQS server, run data and state in S3 (s3rver). Asserts what a user would look at afterwards.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { Redis } from 'ioredis';
import { eventBridgeClusterEvent } from '../../src/sandbox/emr-server.js';
import { startAgent, writeConfig, eventually, type AgentProcess } from '../support/agent-process.js';
import { startRedis, freePort, type TestRedis } from '../support/redis.js';
import { startS3, type S3Harness } from '../support/s3.js';
import { startSqs, type TestSqs } from '../support/sqs.js';
import { startEmr, type TestEmr } from '../support/emr.js';

const TOKEN = 'e2e-token-7f3a9c1d2b';
const EVENT_LOG = readFileSync('test/fixtures/eventlogs/apache-spark/application_1506645932520_24630151');

type Ctx = {
  dir: string;
  redis: TestRedis;
  s3: S3Harness;
  sqs: TestSqs;
  emr: TestEmr;
  queueUrl: string;
  agent: AgentProcess;
  r: Redis;
};
const e2e = suite<Ctx>('agent end to end');

async function s3Text(s3: S3Harness, url: string): Promise<string | undefined> {
  const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(url)!;
  try {
    const out = await s3.client.send(new GetObjectCommand({ Bucket: m[1], Key: m[2] }));
    return await out.Body!.transformToString();
  } catch (e) {
    if ((e as { name?: string }).name === 'NoSuchKey') return undefined;
    throw e;
  }
}

async function resultOf(r: Redis, id: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  return eventually(async () => {
    const raw = await r.hgetall(`e2e:result:${id}`);
    if (!raw.status) return undefined;
    return { ...raw, ...(raw.result ? { result: JSON.parse(raw.result) } : {}), ...(raw.error ? { error: JSON.parse(raw.error) } : {}) };
  }, timeoutMs, `result of ${id}`);
}

e2e.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'sync-e2e-'));
  ctx.redis = await startRedis();
  ctx.s3 = await startS3({ buckets: ['runs'] });
  ctx.sqs = await startSqs();
  const q = await ctx.sqs.createQueue('emr-events', { dlq: { maxReceiveCount: 3 } });
  ctx.queueUrl = q.url;
  const s3 = ctx.s3;
  const sqs = ctx.sqs;
  ctx.emr = await startEmr({
    timeline: { startingMs: 200, bootstrappingMs: 200, runningMs: 300, terminatingMs: 200 },
    pageSize: 2,
    // Spark's part: write the application's event log where spark.eventLog.dir points.
    onStepsRun: async (cluster) => {
      const defaults = (cluster.configurations as { Classification?: string; Properties?: Record<string, string> }[]).find(
        (c) => c.Classification === 'spark-defaults',
      );
      const dir = defaults?.Properties?.['spark.eventLog.dir'];
      if (!dir) throw new Error('no spark.eventLog.dir in the cluster request');
      const m = /^s3a:\/\/([^/]+)\/(.*)$/.exec(dir)!;
      await s3.client.send(new PutObjectCommand({ Bucket: m[1], Key: `${m[2]!.replace(/\/?$/, '/')}application_1506645932520_24630151`, Body: EVENT_LOG }));
    },
    // EventBridge's part: send the cluster state change to SQS.
    onStateChange: (cluster) => {
      const event = eventBridgeClusterEvent(cluster, 'us-east-1', '123456789012');
      void sqs.client.send(new SendMessageCommand({ QueueUrl: q.url, MessageBody: JSON.stringify(event) }));
    },
  });
  const httpPort = await freePort();
  const configPath = writeConfig(ctx.dir, {
    site: {
      id: 'e2e-host',
      redis: { url: ctx.redis.url },
      queues: { prefix: 'e2e', backoffMs: 200 },
      sqs: { completionQueueUrl: q.url, waitTimeSeconds: 1 },
      aws: { region: 'us-east-1', endpoints: { emr: ctx.emr.url, s3: ctx.s3.endpoint, sqs: ctx.sqs.endpoint } },
      http: { port: httpPort },
      eventLog: { waitTimeoutMs: 60_000, pollMs: 200 },
    },
    tenant: { id: 'acme', state: 's3://runs/state', projectLocation: 's3://runs/data' },
  });
  ctx.agent = startAgent({ configPath, httpPort, env: { SYNC_AGENT_TOKEN: TOKEN } });
  await ctx.agent.ready();
  ctx.r = new Redis(ctx.redis.url);
});

e2e.after(async (ctx) => {
  ctx.r?.disconnect();
  if (ctx.agent && ctx.agent.child.exitCode === null) await ctx.agent.stop();
  await ctx.emr?.stop();
  await ctx.sqs?.stop();
  await ctx.s3?.stop();
  await ctx.redis?.stop();
  rmSync(ctx.dir, { recursive: true, force: true });
});

const http = (ctx: Ctx, path: string, init: RequestInit = {}) =>
  fetch(`${ctx.agent.httpUrl}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...init.headers } });

/** The job flow every project here starts from: one master, three core nodes, a user setting and a user tag. */
const JOB_FLOW = {
  Name: 'nightly',
  ReleaseLabel: 'emr-6.10.0',
  Applications: [{ Name: 'Spark' }],
  Instances: {
    InstanceGroups: [
      { InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 },
      { InstanceRole: 'CORE', InstanceType: 'm5.2xlarge', InstanceCount: 3 },
    ],
  },
  Configurations: [{ Classification: 'spark-defaults', Properties: { 'spark.executor.memory': '6g' } }],
  Steps: [{ Name: 'etl', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', 's3://code/etl.py'] } }],
  Tags: [{ Key: 'team', Value: 'data' }],
  JobFlowRole: 'EMR_EC2_DefaultRole',
  ServiceRole: 'EMR_DefaultRole',
};

/** Sends a request through the Redis inbox and returns its completed result (fails the test otherwise). */
async function requestThroughInbox(ctx: Ctx, id: string, name: string, data: unknown, timeoutMs = 30_000): Promise<unknown> {
  await ctx.r.xadd('e2e:inbox', '*', 'request', JSON.stringify({ id, name, data }));
  const res = await resultOf(ctx.r, id, timeoutMs);
  assert.is(res.status, 'completed', `${name} ${id}: ${JSON.stringify(res)}`);
  return res.result;
}

/** Each test that needs a project creates its own, so one failure shows as one failure. */
const createProject = (ctx: Ctx, projectId: string) =>
  requestThroughInbox(ctx, `create-${projectId}`, 'project.create', { projectId, name: projectId, platform: 'emr', jobFlow: JOB_FLOW });

/** The clusters started for one project (the EMR server is shared by the tests of this file). */
const clustersOf = (ctx: Ctx, projectId: string) => ctx.emr.server.clusters().filter((c) => c.tags['sync:project-id'] === projectId);

type StateRun = { id: string; status: string; reportUrl?: string; clusterState?: string };
/** Resolves with the run once the project's state document shows it recorded. */
function waitRecorded(ctx: Ctx, projectId: string, runId: string): Promise<StateRun> {
  return eventually(async () => {
    const doc = JSON.parse((await s3Text(ctx.s3, `s3://runs/state/projects/${projectId}.json`))!) as { runs: StateRun[] };
    const run = doc.runs.find((x) => x.id === runId);
    return run?.status === 'recorded' ? run : undefined;
  }, 40_000, `run ${runId} of ${projectId} recorded in state`);
}

e2e('project.create through the inbox stream, from Python', async (ctx) => {
  const script = `
import json, sys, redis
r = redis.Redis.from_url(sys.argv[1])
r.xadd('e2e:inbox', {'request': json.dumps({'id': 'py-create-1', 'name': 'project.create', 'data': {
  'projectId': 'py-etl', 'name': 'Nightly ETL', 'platform': 'emr', 'jobFlow': json.loads(sys.argv[2])}})})
`;
  const py = spawnSync('/usr/bin/python3', ['-c', script, ctx.redis.url, JSON.stringify(JOB_FLOW)], { encoding: 'utf8' });
  assert.is(py.status, 0, py.stderr);
  const res = await resultOf(ctx.r, 'py-create-1');
  assert.is(res.status, 'completed', JSON.stringify(res));
  assert.is((res.result as { id: string }).id, 'py-etl');
  const doc = JSON.parse((await s3Text(ctx.s3, 's3://runs/state/projects/py-etl.json'))!) as { project: { name: string; jobFlow: unknown } };
  assert.is(doc.project.name, 'Nightly ETL');
  assert.equal(doc.project.jobFlow, JOB_FLOW);
});

e2e('run.start through HTTP: one cluster, job-flow.json written, run recorded after the SQS completion event', async (ctx) => {
  await createProject(ctx, 'nightly-etl');
  const post = await http(ctx, '/v1/requests', {
    method: 'POST',
    body: JSON.stringify({ id: 'http-start-1', name: 'run.start', data: { projectId: 'nightly-etl' }, idempotencyKey: 'nightly-2026-11-22' }),
  });
  assert.is(post.status, 202);
  const started = await eventually(async () => {
    const res = await http(ctx, '/v1/requests/http-start-1');
    const body = (await res.json()) as { status: string; result?: { runId: string; clusterId: string; location: string } };
    return body.status === 'completed' ? body.result : body.status === 'failed' ? Promise.reject(new Error(JSON.stringify(body))) : undefined;
  }, 30_000, 'run.start result');
  assert.match(started.location, /^s3:\/\/runs\/data\/nightly-etl\/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\/[^/]+\/$/);
  assert.is(clustersOf(ctx, 'nightly-etl').length, 1);
  const cluster = clustersOf(ctx, 'nightly-etl')[0]!;
  assert.is(cluster.id, started.clusterId);
  assert.is(cluster.tags['sync:project-id'], 'nightly-etl');
  assert.is(cluster.tags['sync:run-id'], started.runId);
  assert.is(cluster.tags['sync:tenant-id'], 'acme');
  assert.is(cluster.tags.team, 'data', 'the user tag survives');

  // The exact request sent to EMR is saved beside the run, and keeps the user's settings.
  const jobFlow = JSON.parse((await s3Text(ctx.s3, `${started.location}job-flow.json`))!) as Record<string, unknown>;
  assert.equal(jobFlow, cluster.request);
  const sparkDefaults = (jobFlow.Configurations as { Classification: string; Properties: Record<string, string> }[]).find((c) => c.Classification === 'spark-defaults')!;
  assert.is(sparkDefaults.Properties['spark.executor.memory'], '6g');
  assert.is(sparkDefaults.Properties['spark.eventLog.enabled'], 'true');
  assert.is(sparkDefaults.Properties['spark.eventLog.dir'], `${started.location.replace(/^s3:/, 's3a:')}eventlog/`);

  // The cluster runs its step (writing the event log), terminates; EventBridge -> SQS -> run.record.
  const report = await eventually(() => s3Text(ctx.s3, `${started.location}emr-cluster-report.json`), 40_000, 'emr-cluster-report.json');
  const parsed = JSON.parse(report) as { Cluster: { Id: string; Status: { State: string } }; Instances: unknown[]; Steps: unknown[]; BootstrapActions: unknown[]; Region: string; InstanceGroups?: unknown[] };
  assert.is(parsed.Cluster.Id, started.clusterId);
  assert.is(parsed.Cluster.Status.State, 'TERMINATED');
  assert.is(parsed.Region, 'us-east-1');
  assert.is(parsed.Steps.length, 1);
  assert.is(parsed.Instances.length, 4, 'one master and three core instances');
  assert.is(parsed.InstanceGroups?.length, 2);

  const state = await waitRecorded(ctx, 'nightly-etl', started.runId);
  assert.is(state.clusterState, 'TERMINATED');
  assert.is(state.reportUrl, `${started.location}emr-cluster-report.json`);
  const recordedRun = state as unknown as { cluster?: { instanceType: string; nodes: number }; costUsd?: number };
  assert.equal(recordedRun.cluster, { instanceType: 'm5.2xlarge', nodes: 3, masterInstanceType: 'm5.xlarge' });
  assert.ok((recordedRun.costUsd ?? 0) > 0, 'the run is priced from the catalog');

  // The same run.start again (same idempotency key, new request id) starts no second cluster.
  const again = await http(ctx, '/v1/requests', {
    method: 'POST',
    body: JSON.stringify({ id: 'http-start-2', name: 'run.start', data: { projectId: 'nightly-etl' }, idempotencyKey: 'nightly-2026-11-22' }),
  });
  assert.is(again.status, 202);
  assert.is(((await again.json()) as { duplicate: boolean }).duplicate, true);
  await new Promise((r) => setTimeout(r, 1000));
  assert.is(clustersOf(ctx, 'nightly-etl').length, 1);
});

e2e('prediction.create then prediction.apply through the queue: a second cluster from the recommended configuration', async (ctx) => {
  // Its own project and first run, recorded from the cluster's event log.
  await createProject(ctx, 'predicted-etl');
  const first = (await requestThroughInbox(ctx, 'predicted-start-1', 'run.start', { projectId: 'predicted-etl' })) as { runId: string };
  await waitRecorded(ctx, 'predicted-etl', first.runId);
  await ctx.r.xadd('e2e:inbox', '*', 'request', JSON.stringify({ id: 'predict-1', name: 'prediction.create', data: { projectId: 'predicted-etl' } }));
  const created = await resultOf(ctx.r, 'predict-1', 60_000);
  assert.is(created.status, 'completed', JSON.stringify(created));
  const prediction = created.result as { predictionId: string; solutions: Record<string, { configuration: { Instances: { InstanceGroups: { InstanceRole: string; InstanceType: string; InstanceCount: number }[] } } }> };
  const saved = JSON.parse((await s3Text(ctx.s3, `s3://runs/data/predicted-etl/predictions/${prediction.predictionId}.json`))!) as { predictionId: string };
  assert.is(saved.predictionId, prediction.predictionId);

  await ctx.r.xadd('e2e:inbox', '*', 'request', JSON.stringify({ id: 'apply-1', name: 'prediction.apply', data: { projectId: 'predicted-etl', preference: 'economy' } }));
  const applied = await resultOf(ctx.r, 'apply-1', 30_000);
  assert.is(applied.status, 'completed', JSON.stringify(applied));
  const { clusterId } = applied.result as { clusterId: string };
  assert.is(clustersOf(ctx, 'predicted-etl').length, 2);
  const cluster = ctx.emr.server.cluster(clusterId)!;
  assert.is(cluster.tags['sync:prediction-id'], prediction.predictionId);
  const want = prediction.solutions.economy!.configuration.Instances.InstanceGroups.find((g) => g.InstanceRole === 'CORE')!;
  const got = cluster.instanceGroups.find((g) => g.role === 'CORE')!;
  assert.equal({ type: got.instanceType, count: got.requestedCount }, { type: want.InstanceType, count: want.InstanceCount });
  assert.is(cluster.steps.length, 1, "the project's step is carried into the applied run");
});

e2e('bad input is rejected with a reason, nothing is written outside the state location, and the daemon stays ready', async (ctx) => {
  const stateKeys = async () => ((await ctx.s3.client.send(new ListObjectsV2Command({ Bucket: 'runs', Prefix: 'state/' }))).Contents ?? []).map((o) => o.Key).sort();
  const keysBefore = await stateKeys();
  const bad: [string, string][] = [
    ['bad-json', '{"id":"bad-json","name":"project.create","data":{'],
    ['bad-name', JSON.stringify({ id: 'bad-name', name: 'cluster.nuke', data: {} })],
    ['bad-type', JSON.stringify({ id: 'bad-type', name: 'run.start', data: { projectId: 42 } })],
    ['bad-path', JSON.stringify({ id: 'bad-path', name: 'project.create', data: { projectId: '../../etc', name: 'x', platform: 'emr' } })],
    ['bad-proto', '{"id":"bad-proto","name":"project.create","data":{"name":"x","platform":"emr","__proto__":{"admin":true}}}'],
    ['bad-size', JSON.stringify({ id: 'bad-size', name: 'project.create', data: { name: 'x'.repeat(300_000), platform: 'emr' } })],
  ];
  for (const [, body] of bad) await ctx.r.xadd('e2e:inbox', '*', 'request', body);
  const reasons: Record<string, string> = {};
  for (const [id] of bad.filter(([id]) => id !== 'bad-json' && id !== 'bad-size')) {
    const res = await resultOf(ctx.r, id);
    assert.is(res.status, 'rejected', `${id}: ${JSON.stringify(res)}`);
    reasons[id] = (res.error as { message: string }).message;
  }
  assert.match(reasons['bad-name']!, /cluster\.nuke/);
  assert.match(reasons['bad-type']!, /projectId/);
  assert.match(reasons['bad-path']!, /projectId/);
  assert.match(reasons['bad-proto']!, /__proto__/);
  // Unparseable or oversized entries carry no readable id: they are answered on the results stream by entry id.
  const rejectedText = await eventually(async () => {
    const text = (await ctx.r.xrange('e2e:results', '-', '+')).map(([, f]) => f.join(' ')).join('\n');
    return /limit is 262144/.test(text) ? text : undefined;
  }, 10_000, 'the oversized entry to be answered');
  assert.match(rejectedText, /JSON/i);

  const overHttp = await http(ctx, '/v1/requests', { method: 'POST', body: '{"name":"run.start","data":{"projectId":"a/../../b"}}' });
  assert.is(overHttp.status, 400);
  const unauth = await fetch(`${ctx.agent.httpUrl}/v1/requests`, { method: 'POST', body: '{}' });
  assert.is(unauth.status, 401);

  assert.equal(await stateKeys(), keysBefore, 'no project document was written or removed');
  const ready = await fetch(`${ctx.agent.httpUrl}/readyz`);
  assert.is(ready.status, 200);
  // The token never reaches the logs.
  assert.not.ok(ctx.agent.output().includes(TOKEN));
});

e2e('metrics count requests by name and outcome', async (ctx) => {
  /** The value of the sample of `metric` whose labels include `labels` (0 when there is none yet). */
  const count = async (metric: string, labels: Record<string, string>) => {
    const text = await (await fetch(`${ctx.agent.httpUrl}/metrics`)).text();
    for (const [, body, value] of text.matchAll(/^(\w+\{[^}]*\}) (\S+)$/gm)) {
      const [name, rest] = body!.split('{') as [string, string];
      const have = Object.fromEntries([...rest.matchAll(/(\w+)="([^"]*)"/g)].map(([, k, v]) => [k, v]));
      if (name === metric && Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(value);
    }
    return 0;
  };
  const completed = { name: 'project.create', outcome: 'completed' };
  const requestsBefore = await count('sync_requests_total', completed);
  const timedBefore = await count('sync_handler_duration_seconds_count', { name: 'project.create' });
  await createProject(ctx, 'metered-etl');
  assert.is(await count('sync_requests_total', completed), requestsBefore + 1, 'one completed project.create counted');
  assert.is(await count('sync_handler_duration_seconds_count', { name: 'project.create' }), timedBefore + 1, 'and timed');
});

e2e('SIGTERM stops the daemon gracefully with exit code 0', async (ctx) => {
  const code = await ctx.agent.stop();
  assert.is(code, 0, ctx.agent.output().slice(-2000));
});

e2e.run();
