import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SyncError } from '../../../src/domain/errors.js';
import { silentLogger } from '../../../src/adapters/logger.js';
import type { ClusterInfo } from '../../../src/domain/ports.js';
import { FINAL_CLUSTER_STATES, parseEmrEvent, recordIdempotencyKey } from '../../../src/queues/completion-events.js';
import { createReconciler } from '../../../src/queues/reconciler.js';
import type { RequestInput } from '../../../src/queues/requests-queue.js';

// Shaped as EventBridge delivers EMR events to SQS (detail.stateChangeReason is a JSON string).
const terminated = {
  version: '0',
  id: '999cccaa-eaaa-0000-1111-123456789012',
  'detail-type': 'EMR Cluster State Change',
  source: 'aws.emr',
  account: '123456789012',
  time: '2026-11-15T13:51:29Z',
  region: 'us-east-1',
  resources: [],
  detail: {
    severity: 'INFO',
    stateChangeReason: '{"code":"ALL_STEPS_COMPLETED","message":"Steps completed"}',
    name: 'nightly-etl',
    clusterId: 'j-2AXXXXXXGAPLF',
    state: 'TERMINATED',
    message: 'Amazon EMR Cluster j-2AXXXXXXGAPLF (nightly-etl) has terminated at 2026-11-15 13:51 UTC with a reason of ALL_STEPS_COMPLETED.',
  },
};

const stepEvent = {
  version: '0',
  id: '1234abb0-f87e-1234-b7b6-000000000000',
  'detail-type': 'EMR Step Status Change',
  source: 'aws.emr',
  account: '123456789012',
  time: '2026-11-15T13:40:00Z',
  region: 'us-east-1',
  resources: [],
  detail: {
    severity: 'ERROR',
    actionOnFailure: 'CONTINUE',
    stepId: 's-1K7GXXXXXX9RP',
    name: 'spark-app',
    clusterId: 'j-2AXXXXXXGAPLF',
    state: 'FAILED',
    message: 'Step s-1K7GXXXXXX9RP (spark-app) in Amazon EMR cluster j-2AXXXXXXGAPLF failed at 2026-11-15 13:40 UTC.',
  },
};

const with_ = (patch: (e: Record<string, unknown> & { detail: Record<string, unknown> }) => void) => {
  const e = structuredClone(terminated) as unknown as Record<string, unknown> & { detail: Record<string, unknown> };
  patch(e);
  return JSON.stringify(e);
};

function thrown(f: () => unknown): SyncError {
  try {
    f();
  } catch (e) {
    assert.instance(e, SyncError);
    return e as SyncError;
  }
  throw new Error('expected a throw');
}

test('parses a cluster state change, decoding the stringified stateChangeReason', () => {
  const e = parseEmrEvent(JSON.stringify(terminated));
  assert.equal(e, {
    kind: 'cluster',
    eventId: '999cccaa-eaaa-0000-1111-123456789012',
    clusterId: 'j-2AXXXXXXGAPLF',
    state: 'TERMINATED',
    stateChangeReason: { code: 'ALL_STEPS_COMPLETED', message: 'Steps completed' },
    time: new Date(Date.UTC(2026, 10, 15, 13, 51, 29)),
    name: 'nightly-etl',
    message: terminated.detail.message,
  });
});

test('TERMINATED_WITH_ERRORS with an error reason; an empty reason is {}', () => {
  const e = parseEmrEvent(with_((x) => {
    x.detail.state = 'TERMINATED_WITH_ERRORS';
    x.detail.stateChangeReason = '{"code":"BOOTSTRAP_FAILURE","message":"On the master instance (i-0abc), bootstrap action 1 returned a  non-zero return code"}';
  }));
  assert.is(e.kind, 'cluster');
  assert.is(e.state, 'TERMINATED_WITH_ERRORS');
  assert.equal(e.kind === 'cluster' && e.stateChangeReason, { code: 'BOOTSTRAP_FAILURE', message: 'On the master instance (i-0abc), bootstrap action 1 returned a  non-zero return code' });
  const waiting = parseEmrEvent(with_((x) => {
    x.detail.state = 'WAITING';
    x.detail.stateChangeReason = '{}';
  }));
  assert.equal(waiting.kind === 'cluster' && waiting.stateChangeReason, {});
  const missing = parseEmrEvent(with_((x) => {
    delete x.detail.stateChangeReason;
  }));
  assert.equal(missing.kind === 'cluster' && missing.stateChangeReason, {});
});

test('an already-decoded reason object is accepted too', () => {
  const e = parseEmrEvent(with_((x) => {
    x.detail.stateChangeReason = { code: 'USER_REQUEST', message: 'Terminated by user request' };
  }));
  assert.equal(e.kind === 'cluster' && e.stateChangeReason, { code: 'USER_REQUEST', message: 'Terminated by user request' });
});

test('parses a step status change', () => {
  const e = parseEmrEvent(JSON.stringify(stepEvent));
  assert.equal(e, {
    kind: 'step',
    eventId: stepEvent.id,
    clusterId: 'j-2AXXXXXXGAPLF',
    stepId: 's-1K7GXXXXXX9RP',
    state: 'FAILED',
    time: new Date('2026-11-15T13:40:00Z'),
    name: 'spark-app',
  });
});

test('unwraps an SNS notification envelope', () => {
  const e = parseEmrEvent(JSON.stringify({ Type: 'Notification', MessageId: 'm-1', Message: JSON.stringify(terminated) }));
  assert.is(e.clusterId, 'j-2AXXXXXXGAPLF');
});

test('clear errors for what cannot be parsed', () => {
  assert.match(thrown(() => parseEmrEvent('not json')).message, /message body is not JSON/);
  assert.is(thrown(() => parseEmrEvent('not json')).code, 'corrupt_data');
  assert.match(thrown(() => parseEmrEvent('[1,2]')).message, /not a JSON object/);
  assert.match(thrown(() => parseEmrEvent(with_((x) => void (x.source = 'aws.ec2')))).message, /"aws.ec2"/);
  assert.is(thrown(() => parseEmrEvent(with_((x) => void (x['detail-type'] = 'EMR Auto Scaling Policy State Change')))).code, 'unsupported');
  assert.match(thrown(() => parseEmrEvent(with_((x) => void delete x.detail.clusterId))).message, /detail\.clusterId is missing/);
  assert.match(thrown(() => parseEmrEvent(with_((x) => void delete (x as Record<string, unknown>).detail))).message, /event\.detail is missing/);
  assert.match(thrown(() => parseEmrEvent(with_((x) => void (x.time = 'yesterday')))).message, /event\.time "yesterday" is not a date/);
  assert.match(thrown(() => parseEmrEvent(with_((x) => void (x.detail.stateChangeReason = '{"code":')))).message, /stateChangeReason is a string but not JSON/);
  assert.match(thrown(() => parseEmrEvent(with_((x) => void (x.detail.stateChangeReason = '[1]')))).message, /stateChangeReason is not a JSON object/);
});

test('final states and the shared idempotency key', () => {
  assert.equal([...FINAL_CLUSTER_STATES].sort(), ['TERMINATED', 'TERMINATED_WITH_ERRORS', 'WAITING']);
  assert.is(recordIdempotencyKey('j-1', 'TERMINATED'), 'record:j-1:TERMINATED');
});

test('reconciler: enqueues run.record only for finished clusters, once per interval, isolates failures', async () => {
  const states: Record<string, string> = { 'j-a': 'TERMINATED', 'j-b': 'RUNNING', 'j-c': 'TERMINATED_WITH_ERRORS', 'j-d': 'boom' };
  const keys = new Set<string>();
  const queued: RequestInput[] = [];
  let clock = 0;
  const r = createReconciler({
    intervalMs: 60_000,
    now: () => clock,
    listRunningRuns: async () => [
      { projectId: 'p1', runId: 'r-a', clusterId: 'j-a' },
      { projectId: 'p1', runId: 'r-b', clusterId: 'j-b' },
      { projectId: 'p2', runId: 'r-d', clusterId: 'j-d' },
      { projectId: 'p2', runId: 'r-c', clusterId: 'j-c' },
    ],
    describeCluster: async (id): Promise<ClusterInfo> => {
      if (states[id] === 'boom') throw new SyncError('throttled', 'Rate exceeded');
      return { id, state: states[id]!, tags: {} };
    },
    enqueue: async (req) => {
      const duplicate = keys.has(req.idempotencyKey!);
      if (!duplicate) {
        keys.add(req.idempotencyKey!);
        queued.push(req);
      }
      return { id: `req-${req.idempotencyKey}`, duplicate };
    },
    logger: silentLogger,
  });
  assert.is(await r.tick(), 2);
  assert.equal(queued, [
    { name: 'run.record', data: { projectId: 'p1', clusterId: 'j-a', runId: 'r-a' }, idempotencyKey: 'record:j-a:TERMINATED:pass:0' },
    { name: 'run.record', data: { projectId: 'p2', clusterId: 'j-c', runId: 'r-c' }, idempotencyKey: 'record:j-c:TERMINATED_WITH_ERRORS:pass:0' },
  ]);
  assert.is(await r.tick(), 0, 'a second pass in the same interval finds nothing new');
  states['j-d'] = 'TERMINATED';
  assert.is(await r.tick(), 1, 'the throttled run is picked up on a later pass');
  clock = 60_000;
  assert.is(await r.tick(), 3, 'runs still unrecorded an interval later are handed over again (without a pending check)');
  await r.stop();
  await r.stop();
});

test('reconciler: a run whose run.record is still pending (from SQS or an earlier pass) is left alone', async () => {
  const pendingKeys = new Set<string>(['record:j-sqs:TERMINATED']);
  const queued: string[] = [];
  let clock = 0;
  const r = createReconciler({
    intervalMs: 1_000,
    now: () => clock,
    listRunningRuns: async () => [
      { projectId: 'p', runId: 'r-sqs', clusterId: 'j-sqs' },
      { projectId: 'p', runId: 'r-lost', clusterId: 'j-lost' },
    ],
    describeCluster: async (id): Promise<ClusterInfo> => ({ id, state: 'TERMINATED', tags: {} }),
    enqueue: async (req) => {
      queued.push(req.idempotencyKey!);
      pendingKeys.add(req.idempotencyKey!);
      return { id: `req-${queued.length}`, duplicate: false };
    },
    pending: async (key) => pendingKeys.has(key),
    logger: silentLogger,
  });
  assert.is(await r.tick(), 1);
  assert.equal(queued, ['record:j-lost:TERMINATED:pass:0'], 'only the run whose SQS hand-off is not pending');
  clock = 5_000;
  assert.is(await r.tick(), 0, 'its own hand-off is still pending: nothing again');
  pendingKeys.delete('record:j-lost:TERMINATED:pass:0'); // that run.record failed finally; the run is still unrecorded
  assert.is(await r.tick(), 1);
  assert.equal(queued.at(-1), 'record:j-lost:TERMINATED:pass:5');
  await r.stop();
});

test.run();
