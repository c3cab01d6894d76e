import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../../src/adapters/logger.js';
import { SyncError } from '../../../src/domain/errors.js';
import type { ClusterInfo } from '../../../src/domain/ports.js';
import { eventRequestId, recordIdempotencyKey } from '../../../src/queues/completion-events.js';
import { createDatabricksHook, hookRunId } from '../../../src/queues/databricks-hook.js';
import type { RequestInput } from '../../../src/queues/requests-queue.js';

const tags = { 'sync:tenant-id': 'acme', 'sync:project-id': 'orders', 'sync:run-id': 'r-1', team: 'orders' };

function hookWith(runs: Record<string, ClusterInfo>) {
  const sent: RequestInput[] = [];
  const handle = createDatabricksHook({
    tenantId: 'acme',
    describeRun: async (id) => {
      const r = runs[id];
      if (!r) throw new SyncError('not_found', `Run ${id} does not exist.`);
      return r;
    },
    enqueue: async (req) => {
      const duplicate = sent.some((s) => s.idempotencyKey === req.idempotencyKey);
      sent.push(req);
      return { id: req.id ?? 'x', duplicate };
    },
    logger: silentLogger,
  });
  return { handle, sent };
}

test('hookRunId: run.run_id as a number or string, or a top-level run_id; anything else names the field', () => {
  assert.is(hookRunId({ event_type: 'jobs.on_success', run: { run_id: 123 } }), '123');
  assert.is(hookRunId({ run: { run_id: '456' } }), '456');
  assert.is(hookRunId({ run_id: 789 }), '789');
  for (const bad of [null, [], 'x', {}, { run: { run_id: 'abc' } }, { run: { run_id: -1 } }, { run: { run_id: 0 } }, { run: { run_id: 1.5 } }]) {
    assert.throws(() => hookRunId(bad), (e: SyncError) => e.code === 'invalid_request' && /run_id|JSON object/.test(e.message), JSON.stringify(bad));
  }
});

test('a finished run of this tenant is handed to run.record under the poller key; others are ignored', async () => {
  const { handle, sent } = hookWith({
    '100': { id: '100', state: 'TERMINATED', tags },
    '101': { id: '101', state: 'RUNNING', tags },
    '102': { id: '102', state: 'TERMINATED_WITH_ERRORS', tags: { ...tags, 'sync:tenant-id': 'other' } },
    '103': { id: '103', state: 'TERMINATED', tags: { team: 'orders' } },
  });
  const signal = new AbortController().signal;
  const done = await handle({ run: { run_id: 100 } }, signal);
  assert.equal(done, { outcome: 'handed-off', databricksRunId: '100', requestId: eventRequestId(recordIdempotencyKey('100', 'TERMINATED')), duplicate: false, projectId: 'orders', runId: 'r-1' });
  assert.equal(sent[0], { id: eventRequestId('record:100:TERMINATED'), name: 'run.record', data: { projectId: 'orders', clusterId: '100', runId: 'r-1' }, idempotencyKey: 'record:100:TERMINATED' });
  assert.is((await handle({ run: { run_id: '100' } }, signal)).outcome, 'handed-off');
  assert.is(sent[1]!.idempotencyKey, sent[0]!.idempotencyKey, 'a redelivery is the same hand-off');
  const running = await handle({ run: { run_id: 101 } }, signal);
  assert.equal(running, { outcome: 'ignored', databricksRunId: '101', reason: 'run 101 is RUNNING, not finished; the poller hands it off when it is' });
  assert.match((await handle({ run: { run_id: 102 } }, signal) as { reason: string }).reason, /not started by this agent's tenant/);
  assert.match((await handle({ run: { run_id: 103 } }, signal) as { reason: string }).reason, /not started by this agent's tenant/);
  assert.match((await handle({ run: { run_id: 104 } }, signal) as { reason: string }).reason, /Databricks has no run 104/);
  assert.is(sent.length, 2, 'only the finished run of this tenant was handed off');
});

test.run();
