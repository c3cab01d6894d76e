// Request identity across a Redis reset: a client in another language adds run.start jobs to the
// requests queue without a jobId, so BullMQ numbers them 1, 2, ... from a counter kept in Redis. A reset
// (here: a real redis-server restarted without persistence) starts that counter again, while the project
// state lives elsewhere and remembers the runs; a new run.start must get a new run and cluster.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createDispatcher } from '../../src/handlers/registry.js';
import { createResults } from '../../src/queues/results.js';
import { createRequestWorker, requestQueueName, type RequestJobData } from '../../src/queues/requests-queue.js';
import { validateRequest } from '../../src/queues/validate-request.js';
import { createFakeDeps } from '../support/fakes.js';
import { waitFor } from '../support/async.js';
import { startRedis } from '../support/redis.js';

test('after a Redis reset, a run.start that BullMQ numbers 1 again gets a new run and cluster, not the old one', async () => {
  const server = await startRedis({ appendonly: false });
  const deps = createFakeDeps();
  const project = { id: 'p1', name: 'nightly', platform: 'emr' as const, tenantId: 'acme', createdAt: 'c', updatedAt: 'c', jobFlow: { Name: 'nightly', Instances: {} } };
  await deps.state.put('p1', { project, runs: [], predictions: [] }, null);
  const prefix = 'ident';

  // One "agent session" on the current Redis: a worker, a foreign client's job, its result.
  const session = async (): Promise<{ id: string; result: { runId: string; clusterId: string } }> => {
    const redis = new Redis(server.url, { maxRetriesPerRequest: null });
    const results = createResults(redis, prefix);
    const worker = createRequestWorker({ connection: { url: server.url }, prefix, concurrency: 1, dispatch: createDispatcher(deps), validate: validateRequest, logger: deps.logger, results, graceMs: 1000 });
    // What a Python/PHP BullMQ client does: add with the queue's prefix and no jobId.
    const client = new Queue<RequestJobData>(requestQueueName(prefix), { connection: { host: '127.0.0.1', port: server.port }, prefix });
    try {
      const job = await client.add('run.start', { data: { projectId: 'p1' } });
      const id = job.id!;
      const entry = await waitFor('the run.start result', () => results.get(id), 15_000);
      assert.is(entry.status, 'completed', JSON.stringify(entry));
      return { id, result: entry.result as { runId: string; clusterId: string } };
    } finally {
      await client.close();
      await worker.close();
      redis.disconnect();
    }
  };

  try {
    const first = await session();
    assert.is(first.id, '1', 'BullMQ numbered the first job 1');
    await server.restart(); // no AOF, no RDB: an empty Redis, as after a reset or a migration that lost the queue
    const second = await session();
    assert.is(second.id, '1', 'after the reset BullMQ numbers the new job 1 again');
    assert.is.not(second.result.runId, first.result.runId, 'a new run, not the one an earlier job 1 made');
    assert.is.not(second.result.clusterId, first.result.clusterId, 'a new cluster');
    assert.is(deps.platform.clusters.size, 2);
    assert.is(deps.state.read('p1')?.runs.length, 2);
  } finally {
    await server.stop();
  }
});

test.run();
