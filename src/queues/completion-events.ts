import { createHash } from 'node:crypto';
import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Message, ReceiveMessageCommandInput, SQSClient } from '@aws-sdk/client-sqs';
import type { Redis } from 'ioredis';
import { SyncError, toSyncError } from '../domain/errors.js';
import type { ClusterInfo, Logger } from '../domain/ports.js';
import type { Metrics } from '../agent/metrics.js';
import type { Enqueue } from './requests-queue.js';
import { TAG_POOL_ID, parsePooledStepName } from '../domain/pools.js';

/** An EMR "Cluster State Change" event, with its stringified `stateChangeReason` decoded. */
export type EmrClusterStateChange = {
  kind: 'cluster';
  /** The EventBridge event id. */
  eventId: string;
  clusterId: string;
  /** STARTING, BOOTSTRAPPING, RUNNING, WAITING, TERMINATING, TERMINATED, TERMINATED_WITH_ERRORS. */
  state: string;
  stateChangeReason: { code?: string; message?: string };
  time: Date;
  name?: string;
  message?: string;
  /** EventBridge events carry no tags; filled by callers that looked the cluster up. */
  tags?: Record<string, string>;
};

/** An EMR "Step Status Change" event (handed to run.step). */
export type EmrStepStatusChange = {
  kind: 'step';
  eventId: string;
  clusterId: string;
  stepId: string;
  state: string;
  time: Date;
  name?: string;
};

export type EmrEvent = EmrClusterStateChange | EmrStepStatusChange;

/** Cluster states after which a run is recorded (WAITING: a long-lived cluster finished its steps). */
export const FINAL_CLUSTER_STATES: ReadonlySet<string> = new Set(['TERMINATED', 'TERMINATED_WITH_ERRORS', 'WAITING']);

/** The idempotency key of the run.record for a cluster reaching a state; shared by the SQS consumer and the reconciler. */
export function recordIdempotencyKey(clusterId: string, state: string): string {
  return `record:${clusterId}:${state}`;
}

/**
 * The request id of an event's hand-off, derived from its idempotency key: an event redelivered after an
 * agent was killed between claiming the key and adding the job is the same request, so it finishes that
 * hand-off at once instead of waiting out the claim of a request that will never be added.
 */
export function eventRequestId(idempotencyKey: string): string {
  return `evt-${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32)}`;
}

/** The idempotency key of the run.step for a step reaching a state. */
export function stepIdempotencyKey(clusterId: string, stepId: string, state: string): string {
  return `step:${clusterId}:${stepId}:${state}`;
}

const bad = (message: string): SyncError => new SyncError('corrupt_data', message);

const str = (o: Record<string, unknown>, key: string, where: string): string => {
  const v = o[key];
  if (typeof v !== 'string' || v === '') throw bad(`${where}.${key} is missing or not a string`);
  return v;
};

const optStr = (o: Record<string, unknown>, key: string): string | undefined => (typeof o[key] === 'string' ? (o[key] as string) : undefined);

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Parses an SQS message body holding an EventBridge EMR event (also unwrapping an SNS envelope).
 * Pure; throws SyncError 'corrupt_data' naming what is wrong, or 'unsupported' for other event types.
 */
export function parseEmrEvent(body: string): EmrEvent {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (e) {
    throw bad(`message body is not JSON (${(e as Error).message}); starts with ${JSON.stringify(body.slice(0, 40))}`);
  }
  if (isObject(doc) && doc.Type === 'Notification' && typeof doc.Message === 'string') return parseEmrEvent(doc.Message);
  if (!isObject(doc)) throw bad('message body is not a JSON object');
  const detailType = doc['detail-type'];
  if (doc.source !== 'aws.emr') throw new SyncError('unsupported', `event source is ${JSON.stringify(doc.source)}, not "aws.emr"`);
  const eventId = str(doc, 'id', 'event');
  const timeText = str(doc, 'time', 'event');
  const time = new Date(timeText);
  if (Number.isNaN(time.getTime())) throw bad(`event.time ${JSON.stringify(timeText)} is not a date`);
  const detail = doc.detail;
  if (!isObject(detail)) throw bad('event.detail is missing or not an object');
  const clusterId = str(detail, 'clusterId', 'detail');
  const state = str(detail, 'state', 'detail');
  const name = optStr(detail, 'name');
  if (detailType === 'EMR Step Status Change') {
    const step: EmrStepStatusChange = { kind: 'step', eventId, clusterId, stepId: str(detail, 'stepId', 'detail'), state, time };
    if (name !== undefined) step.name = name;
    return step;
  }
  if (detailType !== 'EMR Cluster State Change') throw new SyncError('unsupported', `EMR event type ${JSON.stringify(detailType)} is not handled`);
  const event: EmrClusterStateChange = { kind: 'cluster', eventId, clusterId, state, stateChangeReason: parseReason(detail.stateChangeReason), time };
  if (name !== undefined) event.name = name;
  const message = optStr(detail, 'message');
  if (message !== undefined) event.message = message;
  return event;
}

// EMR puts the reason in as a JSON *string* ("{\"code\":\"USER_REQUEST\",...}"); accept an object too.
function parseReason(raw: unknown): { code?: string; message?: string } {
  if (raw === undefined || raw === null || raw === '') return {};
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch (e) {
      throw bad(`detail.stateChangeReason is a string but not JSON (${(e as Error).message}): ${JSON.stringify(raw.slice(0, 60))}`);
    }
  }
  if (!isObject(value)) throw bad('detail.stateChangeReason is not a JSON object');
  const out: { code?: string; message?: string } = {};
  if (typeof value.code === 'string' && value.code !== '') out.code = value.code;
  if (typeof value.message === 'string' && value.message !== '') out.message = value.message;
  return out;
}

export type CompletionConsumerOptions = {
  sqs: Pick<SQSClient, 'send'>;
  queueUrl: string;
  waitTimeSeconds: number;
  visibilityTimeoutSeconds: number;
  describeCluster: (clusterId: string, signal: AbortSignal) => Promise<ClusterInfo>;
  enqueue: Enqueue;
  /** For event deduplication (`<prefix>:event:<clusterId>:<state>`). */
  redis: Redis;
  prefix: string;
  logger: Logger;
  metrics?: Metrics;
  /**
   * When set, an unparseable message's visibility is cut to this many seconds so its next receive
   * (and so the DLQ) comes sooner; by default it keeps the normal visibility timeout.
   */
  poisonRetrySeconds?: number;
  /** How long a handled (cluster, state) is remembered; default 30 days. */
  dedupeTtlSeconds?: number;
  /** Upper bound of the backoff after SQS errors; default 30000. */
  maxBackoffMs?: number;
  /** How long stop() waits for the messages in hand; default 10000. */
  stopTimeoutMs?: number;
};

export type CompletionConsumer = {
  /** Starts the long-poll loop (returns at once). */
  start(): void;
  /** Interrupts the long poll and waits for the messages in hand. Safe to call twice. */
  stop(): Promise<void>;
};

/** What one message came to. */
export type MessageOutcome = 'recorded' | 'step' | 'duplicate' | 'ignored' | 'unparseable' | 'error';

/**
 * Long-polls the EMR completion-event queue and hands a `run.record` to the requests queue for
 * project clusters reaching a final state, and a `run.step` for each step state change of one. A message is deleted only once that hand-off is durable;
 * unparseable ones are left for the queue's redrive policy (DLQ).
 */
export function createCompletionConsumer(opts: CompletionConsumerOptions): CompletionConsumer {
  const log = opts.logger.child({ component: 'completion-events' });
  const poisonRetry = opts.poisonRetrySeconds;
  const dedupeTtl = opts.dedupeTtlSeconds ?? 30 * 24 * 3600;
  const maxBackoff = opts.maxBackoffMs ?? 30_000;
  const controller = new AbortController();
  let loop: Promise<void> | undefined;
  let stopped: Promise<void> | undefined;

  const remove = async (m: Message) => {
    await opts.sqs.send(new DeleteMessageCommand({ QueueUrl: opts.queueUrl, ReceiptHandle: m.ReceiptHandle }));
  };

  /** The project's cluster tags, or undefined when the cluster is gone or not a project's (the message is then dropped). */
  const projectCluster = async (clusterId: string): Promise<ClusterInfo | undefined> => {
    try {
      const cluster = await opts.describeCluster(clusterId, controller.signal);
      return cluster.tags['sync:project-id'] ? cluster : undefined;
    } catch (e) {
      const err = toSyncError(e);
      if (err.code === 'not_found') {
        log.warn('event for a cluster that does not exist; dropped', { clusterId });
        return undefined;
      }
      throw err;
    }
  };

  /** The project and run of a step on one of this tenant's pool clusters, by the step's name (see pooledStepName). */
  const pooledStep = async (event: EmrStepStatusChange): Promise<{ projectId: string; runId: string } | undefined> => {
    const named = parsePooledStepName(event.name);
    if (!named) return undefined;
    try {
      const cluster = await opts.describeCluster(event.clusterId, controller.signal);
      return cluster.tags[TAG_POOL_ID] ? named : undefined;
    } catch (e) {
      if (toSyncError(e).code === 'not_found') return undefined;
      throw e;
    }
  };

  // A step changed state: hand a run.step to the queue (one per step and state), which keeps the
  // run's steps and the failing step's reason and log location.
  const handleStep = async (m: Message, event: EmrStepStatusChange): Promise<MessageOutcome> => {
    const eventKey = `${opts.prefix}:event:${event.clusterId}:${event.stepId}:${event.state}`;
    if ((await opts.redis.exists(eventKey)) === 1) {
      await remove(m);
      return 'duplicate';
    }
    const cluster = await projectCluster(event.clusterId);
    // A pool cluster (no project of its own): the step's name says whose run it is.
    const pooled = cluster ? undefined : await pooledStep(event);
    if (!cluster && !pooled) {
      await remove(m);
      return 'ignored';
    }
    const data: Record<string, string> = { projectId: pooled?.projectId ?? cluster!.tags['sync:project-id']!, clusterId: event.clusterId, stepId: event.stepId };
    const runId = pooled?.runId ?? cluster!.tags['sync:run-id'];
    if (runId) data.runId = runId;
    const stepKey = stepIdempotencyKey(event.clusterId, event.stepId, event.state);
    const { id, duplicate } = await opts.enqueue({ id: eventRequestId(stepKey), name: 'run.step', data, idempotencyKey: stepKey });
    await opts.redis.set(eventKey, id, 'EX', dedupeTtl, 'NX');
    await remove(m);
    log.info('step status handed to run.step', { clusterId: event.clusterId, stepId: event.stepId, state: event.state, requestId: id, duplicate });
    return duplicate ? 'duplicate' : 'step';
  };

  const handle = async (m: Message): Promise<MessageOutcome> => {
    let event: EmrEvent;
    try {
      event = parseEmrEvent(m.Body ?? '');
    } catch (e) {
      const err = toSyncError(e, 'corrupt_data');
      log.warn('unparseable completion event left for the dead-letter queue', {
        messageId: m.MessageId,
        receiveCount: m.Attributes?.ApproximateReceiveCount,
        error: err.toJSON(),
      });
      // Not deleted: after maxReceiveCount receives the queue's redrive policy moves it to the DLQ.
      if (poisonRetry !== undefined) {
        await opts.sqs
          .send(new ChangeMessageVisibilityCommand({ QueueUrl: opts.queueUrl, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: poisonRetry }))
          .catch((ce: unknown) => log.debug('could not shorten the visibility of an unparseable message', { error: ce }));
      }
      return 'unparseable';
    }
    opts.metrics?.sqsLagSeconds.set(Math.max(0, (Date.now() - event.time.getTime()) / 1000));
    opts.metrics?.completionLastEvent.set(Date.now() / 1000);
    if (event.kind === 'step') return handleStep(m, event);
    if (!FINAL_CLUSTER_STATES.has(event.state)) {
      await remove(m);
      return 'ignored';
    }
    const eventKey = `${opts.prefix}:event:${event.clusterId}:${event.state}`;
    if ((await opts.redis.exists(eventKey)) === 1) {
      await remove(m);
      return 'duplicate';
    }
    let cluster: ClusterInfo;
    try {
      cluster = await opts.describeCluster(event.clusterId, controller.signal);
    } catch (e) {
      const err = toSyncError(e);
      if (err.code === 'not_found') {
        log.warn('completion event for a cluster that does not exist; dropped', { clusterId: event.clusterId });
        await remove(m);
        return 'ignored';
      }
      throw err;
    }
    const projectId = cluster.tags['sync:project-id'];
    if (!projectId) {
      await remove(m);
      return 'ignored';
    }
    const runId = cluster.tags['sync:run-id'];
    const data: Record<string, string> = { projectId, clusterId: event.clusterId };
    if (runId) data.runId = runId;
    const recordKey = recordIdempotencyKey(event.clusterId, event.state);
    const { id, duplicate } = await opts.enqueue({ id: eventRequestId(recordKey), name: 'run.record', data, idempotencyKey: recordKey });
    // The run.record job is durable in Redis now, so losing this message can no longer lose the run.
    await opts.redis.set(eventKey, id, 'EX', dedupeTtl, 'NX');
    await remove(m);
    log.info('cluster completion handed to run.record', { clusterId: event.clusterId, state: event.state, projectId, runId, requestId: id, duplicate });
    return duplicate ? 'duplicate' : 'recorded';
  };

  const handleIsolated = async (m: Message): Promise<void> => {
    let outcome: MessageOutcome;
    try {
      outcome = await handle(m);
    } catch (e) {
      // Left undeleted: the message becomes visible again after the visibility timeout and is retried.
      log.warn('completion event not handled; it will be received again', { messageId: m.MessageId, error: toSyncError(e).toJSON() });
      outcome = 'error';
    }
    opts.metrics?.completionEvents.inc({ outcome });
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        controller.signal.removeEventListener('abort', done);
        resolve();
      }
      controller.signal.addEventListener('abort', done, { once: true });
    });

  const run = async () => {
    let backoff = 500;
    while (!controller.signal.aborted) {
      try {
        const out = await opts.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: opts.queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: opts.waitTimeSeconds,
            VisibilityTimeout: opts.visibilityTimeoutSeconds,
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
            // The deprecated spelling too, for SQS-compatible servers that only know it.
            AttributeNames: ['ApproximateReceiveCount'] as unknown as NonNullable<ReceiveMessageCommandInput['AttributeNames']>,
          }),
          { abortSignal: controller.signal },
        );
        await Promise.all((out.Messages ?? []).map(handleIsolated));
        backoff = 500;
      } catch (e) {
        if (controller.signal.aborted) return;
        log.warn('receiving completion events failed; backing off', { error: toSyncError(e).toJSON(), backoffMs: backoff });
        await sleep(backoff);
        backoff = Math.min(backoff * 2, maxBackoff);
      }
    }
  };

  return {
    start() {
      if (loop || controller.signal.aborted) return;
      loop = run();
      log.info('completion-event consumer started', { queueUrl: opts.queueUrl });
    },
    stop() {
      stopped ??= (async () => {
        controller.abort();
        // Bounded: with Redis unreachable a hand-off can wait indefinitely; its message simply
        // becomes visible again and is handled by the next agent to poll.
        const timeout = new Promise<void>((resolve) => setTimeout(resolve, opts.stopTimeoutMs ?? 10_000).unref());
        await Promise.race([loop, timeout]);
      })();
      return stopped;
    },
  };
}
