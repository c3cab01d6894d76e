import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cancelRequestArgs, run } from '../../../src/cli/commands/cancel.js';
import { validateRequest } from '../../../src/queues/validate-request.js';

test('cancel enqueues a valid run.cancel with one idempotency key per run', () => {
  const args = cancelRequestArgs('p1', 'r-1', { by: 'cli:ana', reason: 'wrong input', keepCluster: true, wait: true, timeout: '60' });
  assert.equal(args.slice(0, 1), ['run.cancel']);
  const data = JSON.parse(args[2]!) as unknown;
  assert.equal(data, { projectId: 'p1', runId: 'r-1', by: 'cli:ana', reason: 'wrong input', terminate: false });
  assert.equal(validateRequest({ name: 'run.cancel', data, idempotencyKey: args[4] }).data, data);
  assert.is(args[4], 'cancel:p1:r-1');
  assert.ok(args.includes('--wait'));
});

test('cancel without a run is a usage error', async () => {
  const err: string[] = [];
  assert.is(await run(['p1'], { out: () => {}, err: (t) => void err.push(t), env: {}, cwd: '/' }), 2);
  assert.match(err.join('\n'), /usage: sync-agent cancel PROJECT_ID RUN_ID/);
});

test.run();
