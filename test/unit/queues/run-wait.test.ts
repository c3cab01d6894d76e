import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runLocation, runOfLocation } from '../../../src/domain/run-location.js';
import { startedRun, waitForRun } from '../../../src/queues/run-wait.js';
import type { Run } from '../../../src/domain/types.js';

test('runOfLocation reads back what runLocation wrote', () => {
  for (const base of ['s3://bucket/prefix', 'file:///var/runs', 's3://bucket']) {
    const url = runLocation(base, 'nightly-etl', new Date('2026-11-22T03:04:05.678Z'), 'r-1a2b');
    assert.equal(runOfLocation(url), { projectId: 'nightly-etl', runId: 'r-1a2b' });
  }
  assert.is(runOfLocation('s3://bucket/p/not-a-time/r/'), undefined);
  assert.is(runOfLocation('r/'), undefined);
});

test('startedRun: only a completed result naming its run and run directory', () => {
  const location = runLocation('s3://bucket/x', 'p1', new Date('2026-01-01T00:00:00Z'), 'r-9');
  const entry = { id: 'q', name: 'run.start', status: 'completed' as const, finishedAt: 't', result: { runId: 'r-9', clusterId: 'j-1', location } };
  assert.equal(startedRun(entry), { projectId: 'p1', runId: 'r-9' });
  assert.is(startedRun({ ...entry, status: 'failed' }), undefined);
  assert.is(startedRun({ ...entry, result: { id: 'p1' } }), undefined, 'project.create started no run');
  assert.is(startedRun({ ...entry, result: { runId: 'other', location } }), undefined, 'the run id must match its directory');
});

test('waitForRun reads until the run is final, or until the deadline', async () => {
  const run = (status: Run['status']): Run => ({ id: 'r', projectId: 'p', status, location: 'l', createdAt: 'c', requestKey: 'k' });
  const statuses: Run['status'][] = ['starting', 'running', 'recording', 'recorded', 'failed'];
  let reads = 0;
  const final = await waitForRun(async () => run(statuses[reads++]!), { deadline: Date.now() + 10_000, pollMs: 1 });
  assert.is(final?.status, 'recorded');
  assert.is(reads, 4, 'stops at the first final status');
  let pending = 0;
  const timedOut = await waitForRun(async () => (pending++, run('running')), { deadline: Date.now() + 30, pollMs: 5 });
  assert.is(timedOut?.status, 'running');
  assert.ok(pending >= 2);
});

test.run();
