// Found by the crash scenario: an agent killed between claiming an idempotency key and adding the
// job left a 30-day claim that answered "duplicate" for a job that never existed, so the redelivered
// request (inbox entry, SQS completion event, reconciler pass) was acknowledged and lost.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { silentLogger } from '../../src/adapters/logger.js';
import { SyncError } from '../../src/domain/errors.js';
import { createRequestQueue, idempotencyKeyOf } from '../../src/queues/requests-queue.js';
import { startRedis } from '../support/redis.js';

test('a claim left without its job: the same request finishes its hand-off; another waits for the claim to lapse', async () => {
  const server = await startRedis();
  const r = new Redis(server.url);
  const queue = createRequestQueue({ connection: { url: server.url }, prefix: 'ec', attempts: 1, backoffMs: 10, logger: silentLogger, pendingClaimTtlSeconds: 1 });
  try {
    // What a killed agent leaves: the key claimed for request 'ghost', no job.
    await r.set(idempotencyKeyOf('ec', 'nightly'), 'ghost', 'EX', 1);
    const again = await queue.enqueue({ id: 'ghost', name: 'run.start', data: { projectId: 'p' }, idempotencyKey: 'nightly' });
    assert.equal(again, { id: 'ghost', duplicate: false }, 'the redelivered request is enqueued, not answered duplicate');
    assert.ok((await r.exists('ec:ec.requests:ghost')) === 1, 'its job exists');
    assert.ok((await r.ttl(idempotencyKeyOf('ec', 'nightly'))) > 3600, 'the claim is long-lived once the job exists');
    const dup = await queue.enqueue({ id: 'other', name: 'run.start', data: { projectId: 'p' }, idempotencyKey: 'nightly' });
    assert.equal(dup, { id: 'ghost', duplicate: true }, 'a real duplicate is still answered as one');

    await r.set(idempotencyKeyOf('ec', 'weekly'), 'dead-owner', 'EX', 1);
    const err = await queue.enqueue({ name: 'run.record', data: {}, idempotencyKey: 'weekly' }).then(() => undefined, (e: unknown) => e);
    assert.instance(err, SyncError);
    assert.is((err as SyncError).code, 'unavailable');
    assert.is((err as SyncError).retryable, true, 'the caller retries instead of dropping the request');
    await new Promise((res) => setTimeout(res, 1_200));
    const later = await queue.enqueue({ name: 'run.record', data: {}, idempotencyKey: 'weekly' });
    assert.is(later.duplicate, false, 'after the orphaned claim lapses the request is enqueued');
  } finally {
    await queue.close();
    r.disconnect();
    await server.stop();
  }
});

test.run();
