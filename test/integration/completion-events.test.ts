import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startRedis } from '../support/redis.js';
import type { TestRedis } from '../support/redis.js';
import { startSqs } from '../support/sqs.js';
import type { TestSqs } from '../support/sqs.js';
import { SyncError } from '../../src/domain/errors.js';
import type { ClusterInfo } from '../../src/domain/ports.js';
import { silentLogger } from '../../src/adapters/logger.js';
import { createMetrics } from '../../src/agent/metrics.js';
import type { Metrics } from '../../src/agent/metrics.js';
import { createCompletionConsumer } from '../../src/queues/completion-events.js';
import type { CompletionConsumer } from '../../src/queues/completion-events.js';
import { createRequestQueue } from '../../src/queues/requests-queue.js';
import type { RequestQueue } from '../../src/queues/requests-queue.js';
import { sleep, waitFor } from '../support/async.js';

const PREFIX = 'ce';

type Ctx = {
  redisServer: TestRedis;
  redis: Redis;
  sqs: TestSqs;
  queueUrl: string;
  dlqUrl: string;
  requests: RequestQueue;
  jobs: Queue;
  metrics: Metrics;
  consumer: CompletionConsumer;
  clusters: Map<string, ClusterInfo>;
  describeFailures: Map<string, number>;
  describes: string[];
};
const C = suite<Ctx>('SQS completion events');

C.before(async (ctx) => {
  ctx.redisServer = await startRedis();
  ctx.redis = new Redis(ctx.redisServer.url, { maxRetriesPerRequest: null });
  ctx.sqs = await startSqs();
  const q = await ctx.sqs.createQueue('emr-events', { dlq: { maxReceiveCount: 2 } });
  ctx.queueUrl = q.url;
  ctx.dlqUrl = q.dlqUrl!;
  ctx.metrics = createMetrics({ defaultMetrics: false });
  ctx.requests = createRequestQueue({ connection: { url: ctx.redisServer.url }, prefix: PREFIX, attempts: 3, backoffMs: 100, logger: silentLogger, metrics: ctx.metrics });
  ctx.jobs = new Queue(`${PREFIX}.requests`, { connection: { host: '127.0.0.1', port: ctx.redisServer.port }, prefix: PREFIX });
  ctx.clusters = new Map();
  ctx.describeFailures = new Map();
  ctx.describes = [];
  ctx.consumer = createCompletionConsumer({
    sqs: ctx.sqs.client,
    queueUrl: ctx.queueUrl,
    // local-aws-sqs keeps collecting for the whole long poll, so a visibility shorter than the
    // wait would hand the same message out twice in one receive.
    waitTimeSeconds: 1,
    visibilityTimeoutSeconds: 2,
    describeCluster: async (id) => {
      ctx.describes.push(id);
      const failures = ctx.describeFailures.get(id) ?? 0;
      if (failures > 0) {
        ctx.describeFailures.set(id, failures - 1);
        throw new SyncError('throttled', 'Rate exceeded');
      }
      const c = ctx.clusters.get(id);
      if (!c) throw new SyncError('not_found', `cluster ${id} not found`);
      return c;
    },
    enqueue: ctx.requests.enqueue,
    redis: ctx.redis,
    prefix: PREFIX,
    logger: silentLogger,
    metrics: ctx.metrics,
  });
  ctx.consumer.start();
});

C.after(async (ctx) => {
  await ctx.consumer.stop();
  await ctx.jobs.close();
  await ctx.requests.close();
  ctx.redis.disconnect();
  await ctx.sqs.stop();
  await ctx.redisServer.stop();
});


// An "EMR Cluster State Change" as EventBridge delivers it to SQS.
function clusterEvent(clusterId: string, state: string, reason: { code: string; message: string }, eventId = `ev-${Math.random().toString(16).slice(2)}`): string {
  return JSON.stringify({
    version: '0',
    id: eventId,
    'detail-type': 'EMR Cluster State Change',
    source: 'aws.emr',
    account: '123456789012',
    time: new Date(Date.now() - 5_000).toISOString().replace(/\.\d+Z$/, 'Z'),
    region: 'us-east-1',
    resources: [],
    detail: {
      severity: state === 'TERMINATED_WITH_ERRORS' ? 'CRITICAL' : 'INFO',
      stateChangeReason: JSON.stringify(reason),
      name: `cluster ${clusterId}`,
      clusterId,
      state,
      message: `Amazon EMR Cluster ${clusterId} has changed state to ${state}.`,
    },
  });
}

const send = (ctx: Ctx, body: string) => ctx.sqs.client.send(new SendMessageCommand({ QueueUrl: ctx.queueUrl, MessageBody: body }));
async function messagesLeft(ctx: Ctx, url = ctx.queueUrl): Promise<number> {
  const out = await ctx.sqs.client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
  return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}
// An "EMR Step Status Change" as EventBridge delivers it to SQS.
function stepEvent(clusterId: string, stepId: string, state: string): string {
  return JSON.stringify({
    version: '0',
    id: `st-${Math.random().toString(16).slice(2)}`,
    'detail-type': 'EMR Step Status Change',
    source: 'aws.emr',
    account: '123456789012',
    time: new Date(Date.now() - 1_000).toISOString().replace(/\.\d+Z$/, 'Z'),
    region: 'us-east-1',
    resources: [],
    detail: { severity: state === 'FAILED' ? 'ERROR' : 'INFO', actionOnFailure: 'TERMINATE_CLUSTER', stepId, name: 'app', clusterId, state, message: `Step ${stepId} is ${state.toLowerCase()}.` },
  });
}
const stepJobs = async (ctx: Ctx) => (await ctx.jobs.getJobs(['waiting', 'delayed', 'active'])).filter((j) => j.name === 'run.step').map((j) => j.data as unknown);
const recordJobs = async (ctx: Ctx) => (await ctx.jobs.getJobs(['waiting', 'delayed', 'active'])).filter((j) => j.name === 'run.record');
const recordJobsFor = async (ctx: Ctx, clusterId: string) => (await recordJobs(ctx)).filter((j) => (j.data as { data: { clusterId: string } }).data.clusterId === clusterId);
/** sync_completion_events_total for one outcome (each test compares it before and after its own events). */
const outcomeCount = async (ctx: Ctx, outcome: string) =>
  Number(new RegExp(`^sync_completion_events_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(await ctx.metrics.render())?.[1] ?? 0);

C('a project cluster terminating enqueues one run.record, then the message is deleted', async (ctx) => {
  ctx.clusters.set('j-PROJ1', { id: 'j-PROJ1', state: 'TERMINATED', tags: { 'sync:project-id': 'proj-1', 'sync:run-id': 'run-1', 'sync:tenant-id': 'acme' } });
  await send(ctx, clusterEvent('j-PROJ1', 'TERMINATED', { code: 'ALL_STEPS_COMPLETED', message: 'Steps completed' }));
  const jobs = await waitFor('a run.record job', async () => ((await recordJobs(ctx)).length > 0 ? recordJobs(ctx) : undefined));
  assert.is(jobs.length, 1);
  assert.equal(jobs[0]!.data, { data: { projectId: 'proj-1', clusterId: 'j-PROJ1', runId: 'run-1' }, idempotencyKey: 'record:j-PROJ1:TERMINATED' });
  assert.is(await ctx.redis.get(`${PREFIX}:idem:record:j-PROJ1:TERMINATED`), jobs[0]!.id);
  await waitFor('the message deleted', async () => ((await messagesLeft(ctx)) === 0 ? true : undefined));
  assert.ok((await ctx.redis.exists(`${PREFIX}:event:j-PROJ1:TERMINATED`)) === 1);
  const text = await ctx.metrics.render();
  assert.match(text, /sync_completion_events_total\{outcome="recorded"\} 1/);
  const lag = Number(/^sync_sqs_lag_seconds (\S+)$/m.exec(text)?.[1]);
  assert.ok(lag >= 4 && lag < 60, `lag ${lag}`);
});

C('the same completion delivered again is deduplicated and deleted', async (ctx) => {
  // Its own cluster and first delivery, so this test stands alone.
  ctx.clusters.set('j-DUP', { id: 'j-DUP', state: 'TERMINATED', tags: { 'sync:project-id': 'proj-dup', 'sync:run-id': 'run-dup', 'sync:tenant-id': 'acme' } });
  await send(ctx, clusterEvent('j-DUP', 'TERMINATED', { code: 'ALL_STEPS_COMPLETED', message: 'Steps completed' }));
  await waitFor('the first delivery handled', async () => ((await recordJobsFor(ctx, 'j-DUP')).length > 0 && (await messagesLeft(ctx)) === 0 ? true : undefined));
  const before = ctx.describes.length;
  const duplicates = await outcomeCount(ctx, 'duplicate');
  await send(ctx, clusterEvent('j-DUP', 'TERMINATED', { code: 'ALL_STEPS_COMPLETED', message: 'Steps completed' }));
  await waitFor('the duplicate deleted', async () => ((await messagesLeft(ctx)) === 0 ? true : undefined));
  await waitFor('counted', async () => ((await outcomeCount(ctx, 'duplicate')) === duplicates + 1 ? true : undefined));
  assert.is((await recordJobsFor(ctx, 'j-DUP')).length, 1, 'still one job');
  assert.is(ctx.describes.length, before, 'no second DescribeCluster for a known event');
});

C('a cluster outside any project, and non-final states, are deleted without a job', async (ctx) => {
  const ignored = await outcomeCount(ctx, 'ignored');
  ctx.clusters.set('j-OTHER', { id: 'j-OTHER', state: 'TERMINATED', tags: { team: 'analytics' } });
  ctx.clusters.set('j-PROJ2', { id: 'j-PROJ2', state: 'RUNNING', tags: { 'sync:project-id': 'proj-2', 'sync:run-id': 'run-2' } });
  await send(ctx, clusterEvent('j-OTHER', 'TERMINATED', { code: 'USER_REQUEST', message: 'Terminated by user request' }));
  await send(ctx, clusterEvent('j-PROJ2', 'RUNNING', { code: '', message: '' }));
  await send(ctx, stepEvent('j-OTHER', 's-OTHER1', 'FAILED'));
  await waitFor('all deleted', async () => ((await messagesLeft(ctx)) === 0 ? true : undefined));
  await waitFor('counted', async () => ((await outcomeCount(ctx, 'ignored')) === ignored + 3 ? true : undefined));
  assert.equal(await stepJobs(ctx), [], 'a step of a cluster outside any project makes no run.step');
  assert.equal([...(await recordJobsFor(ctx, 'j-OTHER')), ...(await recordJobsFor(ctx, 'j-PROJ2'))], []);
  assert.ok(!ctx.describes.includes('j-PROJ2'), 'a non-final state needs no DescribeCluster');
});

C('a transient DescribeCluster failure leaves the message; it is handled on a later receive', async (ctx) => {
  ctx.clusters.set('j-PROJ3', { id: 'j-PROJ3', state: 'TERMINATED_WITH_ERRORS', tags: { 'sync:project-id': 'proj-3', 'sync:run-id': 'run-3' } });
  ctx.describeFailures.set('j-PROJ3', 1);
  await send(ctx, clusterEvent('j-PROJ3', 'TERMINATED_WITH_ERRORS', { code: 'STEP_FAILURE', message: 'Shut down as step failed' }));
  await waitFor('an error counted', async () => (/sync_completion_events_total\{outcome="error"\} 1/.test(await ctx.metrics.render()) ? true : undefined));
  assert.ok((await messagesLeft(ctx)) >= 1, 'not deleted after the failure');
  const job = await waitFor('the run.record', async () => (await recordJobsFor(ctx, 'j-PROJ3'))[0]);
  assert.equal(job.data, { data: { projectId: 'proj-3', clusterId: 'j-PROJ3', runId: 'run-3' }, idempotencyKey: 'record:j-PROJ3:TERMINATED_WITH_ERRORS' });
  await waitFor('deleted', async () => ((await messagesLeft(ctx)) === 0 ? true : undefined));
  assert.is(ctx.describes.filter((d) => d === 'j-PROJ3').length, 2);
});

C('a step status change of a project cluster enqueues one run.step per step and state', async (ctx) => {
  ctx.clusters.set('j-STEP1', { id: 'j-STEP1', state: 'RUNNING', tags: { 'sync:project-id': 'proj-s', 'sync:run-id': 'run-s' } });
  await send(ctx, stepEvent('j-STEP1', 's-AAA', 'RUNNING'));
  await send(ctx, stepEvent('j-STEP1', 's-AAA', 'FAILED'));
  await send(ctx, stepEvent('j-STEP1', 's-AAA', 'FAILED'));
  await waitFor('all deleted', async () => ((await messagesLeft(ctx)) === 0 ? true : undefined));
  const jobs = await stepJobs(ctx);
  assert.equal(
    jobs.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    [
      { data: { projectId: 'proj-s', clusterId: 'j-STEP1', stepId: 's-AAA', runId: 'run-s' }, idempotencyKey: 'step:j-STEP1:s-AAA:FAILED' },
      { data: { projectId: 'proj-s', clusterId: 'j-STEP1', stepId: 's-AAA', runId: 'run-s' }, idempotencyKey: 'step:j-STEP1:s-AAA:RUNNING' },
    ],
  );
  // One job per step and state is the invariant. The metric may count a duplicate delivered in the same
  // receive batch as handed over too: both carry the event's own request id, and BullMQ adds its job once.
  const handed = await outcomeCount(ctx, 'step');
  assert.ok(handed === 2 || handed === 3, `step outcomes ${handed}`);
});

C('a poison message is never deleted and ends in the dead-letter queue after maxReceiveCount receives', async (ctx) => {
  const jobsBefore = (await recordJobs(ctx)).length;
  const unparseable = await outcomeCount(ctx, 'unparseable');
  await send(ctx, '{"this is": "not an EMR event"');
  const moved = await waitFor('the DLQ message', async () => {
    const out = await ctx.sqs.client.send(new ReceiveMessageCommand({ QueueUrl: ctx.dlqUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 0 }));
    return out.Messages?.[0];
  }, 20_000);
  assert.is(moved.Body, '{"this is": "not an EMR event"');
  assert.is(await messagesLeft(ctx), 0);
  assert.is((await outcomeCount(ctx, 'unparseable')) - unparseable, 2, 'received (and refused) exactly maxReceiveCount times');
  assert.is((await recordJobs(ctx)).length, jobsBefore, 'it made no job');
});

C('stop() interrupts a long poll promptly', async (ctx) => {
  const c = createCompletionConsumer({
    sqs: ctx.sqs.client,
    queueUrl: ctx.queueUrl,
    waitTimeSeconds: 20,
    visibilityTimeoutSeconds: 30,
    describeCluster: async () => {
      throw new Error('unused');
    },
    enqueue: ctx.requests.enqueue,
    redis: ctx.redis,
    prefix: PREFIX,
    logger: silentLogger,
  });
  c.start();
  await sleep(300);
  const before = Date.now();
  await Promise.all([c.stop(), c.stop()]);
  assert.ok(Date.now() - before < 2_000, `stop took ${Date.now() - before} ms`);
});

C('SQS errors back off instead of spinning', async (ctx) => {
  let calls = 0;
  const c = createCompletionConsumer({
    sqs: {
      send: (async () => {
        calls += 1;
        throw Object.assign(new Error('connect ECONNREFUSED'), { name: 'Error' });
      }) as unknown as TestSqs['client']['send'],
    },
    queueUrl: ctx.queueUrl,
    waitTimeSeconds: 20,
    visibilityTimeoutSeconds: 30,
    describeCluster: async () => {
      throw new Error('unused');
    },
    enqueue: ctx.requests.enqueue,
    redis: ctx.redis,
    prefix: PREFIX,
    logger: silentLogger,
    maxBackoffMs: 1_000,
  });
  c.start();
  await sleep(1_600);
  await c.stop();
  // 0 ms, +500 ms, +1000 ms: three receives in 1.6 s, not thousands.
  assert.ok(calls >= 2 && calls <= 4, `calls ${calls}`);
});

C.run();
