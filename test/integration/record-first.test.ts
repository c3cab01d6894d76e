// A run.record enqueued behind a burst of run.start requests is handled before them (it goes to the
// head of the requests queue), so a finished run is recorded within seconds of its completion event.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { silentLogger } from '../../src/adapters/logger.js';
import { createMetrics } from '../../src/agent/metrics.js';
import { createResults } from '../../src/queues/results.js';
import { createRequestQueue, createRequestWorker } from '../../src/queues/requests-queue.js';
import { waitFor } from '../support/async.js';
import { startRedis } from '../support/redis.js';

// Fails on the code before 99b5e2e (FIFO): the run.record was handled after the 20 run.starts.
test('run.record enqueued after 20 run.start requests is handled first', async () => {
  const server = await startRedis();
  const redis = new Redis(server.url, { maxRetriesPerRequest: null });
  const metrics = createMetrics({ defaultMetrics: false });
  const queue = createRequestQueue({ connection: { url: server.url }, prefix: 'rf', attempts: 1, backoffMs: 20, logger: silentLogger, metrics });
  const handled: string[] = [];
  try {
    for (let i = 0; i < 20; i++) await queue.enqueue({ id: `start-${i}`, name: 'run.start', data: { projectId: 'p' } });
    await queue.enqueue({ id: 'record-1', name: 'run.record', data: { clusterId: 'j-1' } });
    const worker = createRequestWorker({
      connection: { url: server.url },
      prefix: 'rf',
      concurrency: 1,
      dispatch: async (name, _data, ctx) => {
        handled.push(`${name}:${ctx.requestId}`);
        return {};
      },
      validate: (raw) => raw as never,
      logger: silentLogger,
      metrics,
      results: createResults(redis, 'rf'),
      graceMs: 1_000,
    });
    try {
      await waitFor('all 21 requests handled', async () => (handled.length >= 21 ? true : undefined), 20_000);
    } finally {
      await worker.close();
    }
    assert.is(handled[0], 'run.record:record-1', handled.slice(0, 3).join(', '));
    assert.is(handled.filter((h) => h.startsWith('run.start')).length, 20, 'the run.starts are all handled too');
  } finally {
    await queue.close();
    redis.disconnect();
    await server.stop();
  }
});

test.run();
