import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { startRedis } from '../support/redis.js';
import type { TestRedis } from '../support/redis.js';
import { startSqs } from '../support/sqs.js';
import type { TestSqs } from '../support/sqs.js';
import { DescribeClusterCommand, EMRClient, ListClustersCommand, ListInstanceGroupsCommand, RunJobFlowCommand, TerminateJobFlowsCommand } from '@aws-sdk/client-emr';
import type { RunJobFlowCommandInput } from '@aws-sdk/client-emr';
import { createEmrServer, eventBridgeClusterEvent } from '../../src/sandbox/emr-server.js';
import type { ClusterRecord, EmrServer } from '../../src/sandbox/emr-server.js';
import { mapAwsError } from '../../src/adapters/aws-errors.js';
import { createAwsClients } from '../../src/adapters/aws-clients.js';
import { startEmr } from '../support/emr.js';
import type { TestEmr } from '../support/emr.js';
import { rejection } from '../support/async.js';

const connect = (url: string) => new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1, retryStrategy: () => null });

const redis = suite('redis harness');
const started: TestRedis[] = [];
redis.after(async () => {
  for (const r of started) await r.stop();
});

redis('starts a private loopback redis-server without persistence and stops it', async () => {
  const r = await startRedis();
  started.push(r);
  assert.not.equal(r.port, 6379);
  assert.is(r.url, `redis://127.0.0.1:${r.port}`);
  const c = connect(r.url);
  try {
    assert.is(await c.set('k', 'v'), 'OK');
    assert.is(await c.get('k'), 'v');
    assert.equal(await c.config('GET', 'save'), ['save', '']);
    assert.equal(await c.config('GET', 'appendonly'), ['appendonly', 'no']);
    assert.equal(await c.config('GET', 'bind'), ['bind', '127.0.0.1']);
  } finally {
    c.disconnect();
  }
  assert.ok(existsSync(r.dir));
  await r.stop();
  await r.stop(); // twice is fine
  assert.not.ok(existsSync(r.dir), 'temp dir removed');
  const dead = connect(r.url);
  dead.on('error', () => {});
  let refused = false;
  try {
    await dead.ping();
  } catch {
    refused = true;
  } finally {
    dead.disconnect();
  }
  assert.ok(refused, 'server is gone after stop');
});

redis('appendonly survives a SIGKILL and restart on the same port; without it data is gone', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'redis-aof-test-'));
  try {
    const r = await startRedis({ appendonly: true, dir });
    started.push(r);
    let c = connect(r.url);
    await c.set('durable', '42');
    c.disconnect();
    const port = r.port;
    r.kill('SIGKILL');
    await r.restart();
    assert.is(r.port, port);
    c = connect(r.url);
    assert.is(await c.get('durable'), '42');
    c.disconnect();
    await r.stop();
    assert.ok(existsSync(dir), 'a caller-given dir is kept');

    const volatile = await startRedis();
    started.push(volatile);
    c = connect(volatile.url);
    await c.set('gone', '1');
    c.disconnect();
    await volatile.restart();
    c = connect(volatile.url);
    assert.is(await c.get('gone'), null);
    c.disconnect();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

redis.run();

const sqs = suite('sqs harness');
let s: TestSqs | undefined;
sqs.before(async () => {
  s = await startSqs();
});
sqs.after(async () => {
  await s?.stop();
});

sqs('send, receive and delete with the real SQS client', async () => {
  const { url } = await s!.createQueue('plain');
  assert.ok(url.startsWith(s!.endpoint), url);
  await s!.client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: '{"hello":1}' }));
  const got = await s!.client.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1, MaxNumberOfMessages: 10 }));
  assert.is(got.Messages?.length, 1);
  assert.is(got.Messages?.[0]?.Body, '{"hello":1}');
  await s!.client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: got.Messages![0]!.ReceiptHandle! }));
  const after = await s!.client.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 0, VisibilityTimeout: 0 }));
  assert.is(after.Messages?.length ?? 0, 0);
});

sqs('a message received maxReceiveCount times without delete moves to the DLQ', async () => {
  const q = await s!.createQueue('events', { dlq: { maxReceiveCount: 2 } });
  assert.ok(q.dlqUrl?.endsWith('/events-dlq'), q.dlqUrl);
  await s!.client.send(new SendMessageCommand({ QueueUrl: q.url, MessageBody: 'not json' }));
  for (let i = 1; i <= 2; i++) {
    // VisibilityTimeout 0: the message is visible again at once, as if the consumer had given up.
    // local-aws-sqs reads only the older `AttributeNames` (typed as queue attributes, so 'All').
    const r = await s!.client.send(
      new ReceiveMessageCommand({
        QueueUrl: q.url,
        WaitTimeSeconds: 1,
        VisibilityTimeout: 0,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        AttributeNames: ['All'],
      }),
    );
    assert.is(r.Messages?.length, 1, `receive ${i}`);
    assert.is(r.Messages?.[0]?.Attributes?.ApproximateReceiveCount, String(i));
  }
  const third = await s!.client.send(new ReceiveMessageCommand({ QueueUrl: q.url, WaitTimeSeconds: 1, VisibilityTimeout: 0 }));
  assert.is(third.Messages?.length ?? 0, 0, 'gone from the source queue');
  const dead = await s!.client.send(new ReceiveMessageCommand({ QueueUrl: q.dlqUrl!, WaitTimeSeconds: 1 }));
  assert.is(dead.Messages?.length, 1);
  assert.is(dead.Messages?.[0]?.Body, 'not json');
});

sqs.run();

const emrSuite = suite('emr server');
const emrs: (TestEmr | EmrServer)[] = [];
const held = { startingMs: Infinity, bootstrappingMs: Infinity, runningMs: Infinity, terminatingMs: Infinity };
emrSuite.after(async () => {
  for (const e of emrs) await ('stop' in e ? e.stop() : e.close());
});


const request = (name: string, extra: Partial<RunJobFlowCommandInput> = {}): RunJobFlowCommandInput => ({
  Name: name,
  ReleaseLabel: 'emr-7.1.0',
  Instances: { MasterInstanceType: 'm5.xlarge', SlaveInstanceType: 'm5.xlarge', InstanceCount: 2 },
  Steps: [
    { Name: 'a', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', 'a.py'] } },
    { Name: 'b', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', 'b.py'] } },
  ],
  ...extra,
});

async function post(url: string, op: string, body: unknown, auth = 'AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/elasticmapreduce/aws4_request') {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `ElasticMapReduce.${op}`, ...(auth ? { authorization: auth } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as Record<string, any> };
}

emrSuite('speaks AWS JSON 1.1: epoch-second dates, __type errors, signed requests only', async () => {
  const server = await createEmrServer({ timeline: held });
  emrs.push(server);
  const created = await post(server.url, 'RunJobFlow', request('wire'));
  assert.is(created.status, 200);
  assert.is(created.type, 'application/x-amz-json-1.1');
  const id = created.body.JobFlowId as string;
  assert.is(created.body.ClusterArn, `arn:aws:elasticmapreduce:us-east-1:123456789012:cluster/${id}`);
  const before = Date.now() / 1000;
  const described = await post(server.url, 'DescribeCluster', { ClusterId: id });
  const creation = described.body.Cluster.Status.Timeline.CreationDateTime;
  assert.type(creation, 'number');
  assert.ok(Math.abs(creation - before) < 5, `epoch seconds, got ${creation}`);
  assert.equal(await post(server.url, 'DescribeCluster', { ClusterId: 'j-NOPE' }).then((r) => [r.status, r.body]), [
    400,
    { __type: 'InvalidRequestException', Message: "Cluster id 'j-NOPE' is not valid." },
  ]);
  assert.equal((await post(server.url, 'Frobnicate', {})).body.__type, 'UnknownOperationException');
  assert.equal((await post(server.url, 'DescribeCluster', { ClusterId: id }, '')).body.__type, 'MissingAuthenticationTokenException');
  assert.equal((await post(server.url, 'ListClusters', { Marker: 'garbage' })).body.__type, 'InvalidRequestException');
  const missing = await post(server.url, 'RunJobFlow', { Name: 'x', ReleaseLabel: 'emr-7.1.0' });
  assert.is(missing.body.__type, 'ValidationException');
  assert.ok(String(missing.body.Message).includes("'instances'"), missing.body.Message);
  server.inject({ kind: '5xx', times: 1 });
  assert.equal(await post(server.url, 'ListClusters', {}).then((r) => [r.status, r.body.__type]), [500, 'InternalServerError']);
});

emrSuite('createAwsClients: endpoints only where set, path-style S3 with checksums when required, SDK retries only clock-skew corrections', async () => {
  const c = createAwsClients({
    region: 'eu-west-1',
    endpoints: { s3: 'http://127.0.0.1:4569' },
    s3ForcePathStyle: true,
    credentials: { accessKeyId: 'AKIDX', secretAccessKey: 'y' },
  });
  try {
    assert.is(c.s3.config.forcePathStyle, true);
    assert.is(await c.s3.config.requestChecksumCalculation(), 'WHEN_REQUIRED');
    assert.is(await c.s3.config.responseChecksumValidation(), 'WHEN_REQUIRED');
    assert.is(c.s3.config.isCustomEndpoint, true);
    assert.is(c.emr.config.isCustomEndpoint, false);
    assert.is(c.sqs.config.isCustomEndpoint, false);
    for (const client of [c.emr, c.s3, c.sqs]) {
      assert.is(await client.config.maxAttempts(), 2, 'one re-signed attempt after a clock-skew correction');
      assert.is(await client.config.region(), 'eu-west-1');
    }
  } finally {
    c.emr.destroy();
    c.s3.destroy();
    c.sqs.destroy();
  }
});

emrSuite('only listed access keys get in; the SDK error maps to access_denied', async () => {
  const emr = await startEmr({ timeline: held, accessKeyIds: ['AKIDALLOWED000000000'] });
  emrs.push(emr);
  const e = await rejection(emr.client.send(new ListClustersCommand({})));
  assert.is(mapAwsError(e, 'EMR ListClusters').code, 'access_denied');
  const allowed = new EMRClient({ region: 'us-east-1', endpoint: emr.url, credentials: { accessKeyId: 'AKIDALLOWED000000000', secretAccessKey: 's' } });
  try {
    assert.equal((await allowed.send(new ListClustersCommand({}))).Clusters, []);
  } finally {
    allowed.destroy();
  }
});

emrSuite('ListClusters filters by state and creation time and pages with Marker', async () => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const emr = await startEmr({ timeline: held, pageSize: 2, clock: { now: () => now } });
  emrs.push(emr);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    now += 60_000;
    ids.push((await emr.client.send(new RunJobFlowCommand(request(`c${i}`)))).JobFlowId!);
  }
  emr.server.advance(ids[0]); // c0 -> BOOTSTRAPPING
  const all: string[] = [];
  let Marker: string | undefined;
  let pages = 0;
  do {
    const out = await emr.client.send(new ListClustersCommand(Marker ? { Marker } : {}));
    all.push(...out.Clusters!.map((c) => c.Id!));
    Marker = out.Marker;
    pages++;
  } while (Marker);
  assert.is(pages, 3);
  assert.equal(all, [...ids].reverse(), 'newest first, each once');
  const starting = await emr.client.send(new ListClustersCommand({ ClusterStates: ['BOOTSTRAPPING'] }));
  assert.equal(starting.Clusters!.map((c) => c.Id), [ids[0]]);
  const window = await emr.client.send(
    new ListClustersCommand({ CreatedAfter: new Date('2026-01-01T00:02:00Z'), CreatedBefore: new Date('2026-01-01T00:03:00Z') }),
  );
  assert.equal(window.Clusters!.map((c) => c.Id), [ids[2], ids[1]]);
  const d = await emr.client.send(new DescribeClusterCommand({ ClusterId: ids[3] }));
  assert.equal(d.Cluster!.Status!.Timeline!.CreationDateTime, new Date('2026-01-01T00:04:00Z'));
  const groups = await rejection(
    emr.client.send(new ListInstanceGroupsCommand({ ClusterId: (await emr.client.send(new RunJobFlowCommand(request('f', { Instances: { InstanceFleets: [{ InstanceFleetType: 'MASTER', TargetOnDemandCapacity: 1, InstanceTypeConfigs: [{ InstanceType: 'm5.xlarge' }] }] } })))).JobFlowId! })),
  );
  assert.is((groups as Error).name, 'InvalidRequestException');
});

emrSuite('advance() steps a held cluster through its states; the work hook gates the last step', async () => {
  const changes: string[] = [];
  let release: () => void = () => {};
  let hookSaw: ClusterRecord | undefined;
  const emr = await startEmr({
    timeline: held,
    onStateChange: (c) => changes.push(c.state),
    onStepsRun: (c) => {
      hookSaw = c;
      return new Promise<void>((r) => (release = r));
    },
  });
  emrs.push(emr);
  const id = (await emr.client.send(new RunJobFlowCommand(request('held')))).JobFlowId!;
  assert.is(emr.server.cluster(id)?.state, 'STARTING');
  assert.is(emr.server.advance(id), 1);
  await emr.server.waitForState(id, 'BOOTSTRAPPING', 1000);
  emr.server.advance(id);
  await emr.server.waitForState(id, 'RUNNING', 1000);
  await new Promise((r) => setTimeout(r, 20));
  assert.is(hookSaw?.state, 'RUNNING');
  assert.equal(hookSaw?.steps.map((s) => s.state), ['RUNNING', 'PENDING']);
  emr.server.advance(id); // step a done
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(emr.server.cluster(id)?.steps.map((s) => s.state), ['COMPLETED', 'RUNNING']);
  emr.server.advance(id); // step b's time is up, but the hook still works
  await new Promise((r) => setTimeout(r, 20));
  assert.is(emr.server.advance(id), 0, 'nothing to advance while the hook runs');
  assert.equal(emr.server.cluster(id)?.steps.map((s) => s.state), ['COMPLETED', 'RUNNING']);
  release();
  await emr.server.waitForState(id, 'TERMINATING', 1000);
  emr.server.advance(id);
  const done = await emr.server.waitForState(id, 'TERMINATED', 1000);
  assert.equal(done.reason, { Code: 'ALL_STEPS_COMPLETED', Message: 'Steps completed' });
  assert.ok(done.instances.every((i) => i.state === 'TERMINATED' && i.endedAt !== undefined));
  assert.equal(changes, ['STARTING', 'BOOTSTRAPPING', 'RUNNING', 'TERMINATING', 'TERMINATED']);
});

emrSuite('a failing work hook fails the step and ends TERMINATED_WITH_ERRORS; the event says so', async () => {
  const events: ReturnType<typeof eventBridgeClusterEvent>[] = [];
  const emr = await startEmr({
    timeline: { startingMs: 5, bootstrappingMs: 5, runningMs: 50, terminatingMs: 5 },
    region: 'eu-west-1',
    account: '111122223333',
    onStateChange: (c) => events.push(eventBridgeClusterEvent(c, 'eu-west-1', '111122223333')),
    onStepsRun: async () => {
      await new Promise((r) => setTimeout(r, 10));
      throw new Error('executor lost');
    },
  });
  emrs.push(emr);
  const id = (await emr.client.send(new RunJobFlowCommand(request('failing')))).JobFlowId!;
  const end = await emr.server.waitForState(id, ['TERMINATED', 'TERMINATED_WITH_ERRORS'], 3000);
  assert.is(end.state, 'TERMINATED_WITH_ERRORS');
  assert.is(end.reason.Code, 'STEP_FAILURE');
  assert.ok(end.reason.Message?.includes('executor lost'));
  assert.equal(end.steps.map((s) => s.state), ['FAILED', 'CANCELLED']);
  const last = events.at(-1)!;
  assert.is(last.source, 'aws.emr');
  assert.is(last['detail-type'], 'EMR Cluster State Change');
  assert.is(last.account, '111122223333');
  assert.is(last.region, 'eu-west-1');
  assert.match(last.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.is(last.detail.clusterId, id);
  assert.is(last.detail.state, 'TERMINATED_WITH_ERRORS');
  assert.is(last.detail.severity, 'CRITICAL');
  assert.type(last.detail.stateChangeReason, 'string');
  assert.equal(JSON.parse(last.detail.stateChangeReason), { code: 'STEP_FAILURE', message: end.reason.Message });
  assert.equal(JSON.parse(events[0]!.detail.stateChangeReason), { code: '' });
  assert.equal(events.map((e) => e.detail.state), ['STARTING', 'BOOTSTRAPPING', 'RUNNING', 'TERMINATING', 'TERMINATED_WITH_ERRORS']);
});

emrSuite('terminating during the work aborts the hook; protected clusters refuse', async () => {
  let aborted = false;
  const emr = await startEmr({
    timeline: { startingMs: 5, bootstrappingMs: 5, runningMs: 5, terminatingMs: 5 },
    onStepsRun: (_c, signal) => new Promise<void>((resolve) => signal.addEventListener('abort', () => ((aborted = true), resolve()))),
  });
  emrs.push(emr);
  const id = (await emr.client.send(new RunJobFlowCommand(request('busy')))).JobFlowId!;
  await emr.server.waitForState(id, 'RUNNING', 1000);
  await emr.client.send(new TerminateJobFlowsCommand({ JobFlowIds: [id] }));
  const end = await emr.server.waitForState(id, 'TERMINATED', 1000);
  assert.ok(aborted);
  assert.is(end.reason.Code, 'USER_REQUEST');
  // Step a has 5 ms of work and may complete before the terminate lands (a loaded machine); step b, whose work
  // the hook holds, never completes.
  assert.is(end.steps.at(-1)!.state, 'CANCELLED');
  assert.ok(end.steps.every((s) => s.state === 'CANCELLED' || s.state === 'COMPLETED'), end.steps.map((s) => s.state).join(', '));

  const guarded = (
    await emr.client.send(
      new RunJobFlowCommand(request('guarded', { Instances: { MasterInstanceType: 'm5.xlarge', InstanceCount: 1, TerminationProtected: true } })),
    )
  ).JobFlowId!;
  const e = await rejection(emr.client.send(new TerminateJobFlowsCommand({ JobFlowIds: [guarded] })));
  assert.is((e as Error).name, 'ValidationException');
  const closing = Date.now();
  await emr.stop();
  assert.ok(Date.now() - closing < 2000, 'close does not wait for running clusters');
});

emrSuite.run();
