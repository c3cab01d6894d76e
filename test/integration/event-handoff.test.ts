// A completion event redelivered after the agent was killed between claiming its idempotency key and adding
// the run.record job: the hand-off finishes at once (the event's request id is derived from its key), instead
// of waiting out the claim of a request that will never be added (up to a minute; seen delaying recording in
// the record-without-log scenario).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { silentLogger } from '../../src/adapters/logger.js';
import { SyncError } from '../../src/domain/errors.js';
import { eventRequestId, recordIdempotencyKey } from '../../src/queues/completion-events.js';
import { createRequestQueue, idempotencyKeyOf } from '../../src/queues/requests-queue.js';
import { startRedis } from '../support/redis.js';
import { syncRejection } from '../support/async.js';

test('a redelivered completion event finishes the hand-off a killed agent left half done', async () => {
  const server = await startRedis();
  const redis = new Redis(server.url, { maxRetriesPerRequest: 3 });
  const queue = createRequestQueue({ connection: { url: server.url }, prefix: 'ho', attempts: 1, backoffMs: 10, logger: silentLogger });
  try {
    const key = recordIdempotencyKey('j-HANDOFF1', 'TERMINATED');
    const data = { projectId: 'p', clusterId: 'j-HANDOFF1', runId: 'r-1' };
    // What a kill after the claim and before the job leaves behind: the key claimed by the event's request, no job.
    await redis.set(idempotencyKeyOf('ho', key), eventRequestId(key), 'EX', 60, 'NX');
    const answer = await queue.enqueue({ id: eventRequestId(key), name: 'run.record', data, idempotencyKey: key });
    assert.is(answer.id, eventRequestId(key));
    assert.is(answer.duplicate, false, 'the job is added now');
    assert.ok((await queue.state(answer.id)) !== undefined, 'and it is pending');
    // Delivered again: the same request, answered as a duplicate.
    assert.is((await queue.enqueue({ id: eventRequestId(key), name: 'run.record', data, idempotencyKey: key })).duplicate, true);
    // A hand-off under a fresh random id (what the consumer did before) is told to wait out the claim instead.
    const other = recordIdempotencyKey('j-HANDOFF2', 'TERMINATED');
    await redis.set(idempotencyKeyOf('ho', other), eventRequestId(other), 'EX', 60, 'NX');
    const err = await syncRejection(queue.enqueue({ name: 'run.record', data: { ...data, clusterId: 'j-HANDOFF2' }, idempotencyKey: other }));
    assert.ok(err instanceof SyncError && err.code === 'unavailable', String(err));
  } finally {
    await queue.close();
    redis.disconnect();
    await server.stop();
  }
});

test.run();
