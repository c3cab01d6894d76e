import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { requestKeyOf } from '../../../src/handlers/run-start.js';
import { requestKeyOfJob } from '../../../src/queues/requests-queue.js';
import { thrownSyncError } from '../../support/async.js';

test('ids the agent or a client chose keep their key; BullMQ counter ids are keyed with the time the job was added', () => {
  assert.is(requestKeyOfJob('0b7c8a52-6c1f-4f57-9d7e-0d6b1d1f3a11', 1_700_000_000_000), 'job:0b7c8a52-6c1f-4f57-9d7e-0d6b1d1f3a11');
  assert.is(requestKeyOfJob('1700000000000-0', 1_700_000_000_001), 'job:1700000000000-0', 'an inbox entry id');
  assert.is(requestKeyOfJob('1', 1_700_000_000_000), 'job:1@1700000000000');
  assert.is.not(requestKeyOfJob('1', 1_700_000_000_000), requestKeyOfJob('1', 1_700_000_360_000), 'job 1 after a Redis reset is another request');
  assert.is(thrownSyncError(() => requestKeyOfJob('7', Number.NaN)).code, 'invalid_request');
});

test('handlers key a request by its idempotency key, else the queue key, else the request id', () => {
  assert.is(requestKeyOf({ requestId: '1', requestKey: 'job:1@5', idempotencyKey: 'k' }), 'k');
  assert.is(requestKeyOf({ requestId: '1', requestKey: 'job:1@5' }), 'job:1@5');
  assert.is(requestKeyOf({ requestId: 'req-1' }), 'job:req-1');
});

test.run();
