import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mergeSteps, runFailure, sliceLog, stepLogPrefix, stepsFromEmr } from '../../../src/domain/run-steps.js';

// ListSteps as the EMR JSON protocol answers it (newest first, epoch seconds).
const listing = [
  {
    Id: 's-SECOND',
    Name: 'report',
    Status: { State: 'CANCELLED', StateChangeReason: { Message: 'Cancelled after an earlier step failed' }, Timeline: { CreationDateTime: 1700000000, EndDateTime: 1700000300 } },
  },
  {
    Id: 's-FIRST',
    Name: 'etl',
    Status: {
      State: 'FAILED',
      FailureDetails: { Reason: 'Unknown Error.', Message: 'Exception in thread "main" java.lang.OutOfMemoryError', LogFile: 's3://b/logs/j-1/steps/s-FIRST/stderr.gz' },
      Timeline: { CreationDateTime: 1700000000, StartDateTime: 1700000060, EndDateTime: 1700000300 },
    },
  },
];

test('stepsFromEmr: oldest first, ISO times, failure details', () => {
  const steps = stepsFromEmr(listing);
  assert.equal(steps, [
    {
      id: 's-FIRST',
      name: 'etl',
      state: 'FAILED',
      createdAt: '2023-11-14T22:13:20.000Z',
      startedAt: '2023-11-14T22:14:20.000Z',
      endedAt: '2023-11-14T22:18:20.000Z',
      failure: { reason: 'Unknown Error.', message: 'Exception in thread "main" java.lang.OutOfMemoryError', logFile: 's3://b/logs/j-1/steps/s-FIRST/stderr.gz' },
    },
    { id: 's-SECOND', name: 'report', state: 'CANCELLED', createdAt: '2023-11-14T22:13:20.000Z', endedAt: '2023-11-14T22:18:20.000Z' },
  ]);
});

test('stepsFromEmr: SDK Dates and ISO strings; entries without an Id are skipped', () => {
  const steps = stepsFromEmr([{ Name: 'no id' }, 'junk', { Id: 's-1', Status: { State: 'RUNNING', Timeline: { StartDateTime: new Date('2026-01-01T00:00:00Z'), CreationDateTime: '2025-12-31T23:59:00Z' } } }]);
  assert.equal(steps, [{ id: 's-1', name: 's-1', state: 'RUNNING', createdAt: '2025-12-31T23:59:00.000Z', startedAt: '2026-01-01T00:00:00.000Z' }]);
});

test('mergeSteps: a final state is never moved back by a late listing; new steps are added', () => {
  const known = [{ id: 's-1', name: 'etl', state: 'FAILED', failure: { reason: 'boom' } }];
  const merged = mergeSteps(known, [
    { id: 's-1', name: 'etl', state: 'RUNNING' },
    { id: 's-2', name: 'next', state: 'PENDING' },
  ]);
  assert.equal(merged, [
    { id: 's-1', name: 'etl', state: 'FAILED', failure: { reason: 'boom' } },
    { id: 's-2', name: 'next', state: 'PENDING' },
  ]);
  assert.equal(mergeSteps(merged, [{ id: 's-2', name: 'next', state: 'COMPLETED', endedAt: 'x' }])[1], { id: 's-2', name: 'next', state: 'COMPLETED', endedAt: 'x' });
});

test('runFailure: the first failed step with its reason and log; none when nothing failed', () => {
  assert.equal(runFailure(stepsFromEmr(listing)), {
    stepId: 's-FIRST',
    stepName: 'etl',
    reason: 'Unknown Error.',
    message: 'Exception in thread "main" java.lang.OutOfMemoryError',
    logFile: 's3://b/logs/j-1/steps/s-FIRST/stderr.gz',
  });
  assert.is(runFailure([{ id: 's', name: 'n', state: 'COMPLETED' }]), undefined);
  assert.is(runFailure(undefined), undefined);
});

test('sliceLog: contiguous slices that never split a UTF-8 character and join up to the whole log', () => {
  const log = Buffer.from('héllo wörld — ünïcödé\n'.repeat(5), 'utf8');
  for (const max of [1, 2, 3, 7, 64]) {
    const parts: Buffer[] = [];
    let offset = 0;
    for (let i = 0; i < 1000 && offset < log.length; i++) {
      const { bytes, nextOffset } = sliceLog(log, offset, max);
      assert.is(nextOffset - offset, bytes.length);
      assert.ok(bytes.length > 0, 'always progresses');
      if (max >= 3) assert.not.match(Buffer.from(bytes).toString('utf8'), /\uFFFD/, `max ${max}: no broken character`);
      parts.push(Buffer.from(bytes));
      offset = nextOffset;
    }
    assert.ok(Buffer.concat(parts).equals(log), `max ${max}`);
  }
  assert.equal(sliceLog(log, log.length + 5, 10), { bytes: log.subarray(log.length), nextOffset: log.length });
});

test('stepLogPrefix: LogUri with or without its trailing slash', () => {
  assert.is(stepLogPrefix('s3://b/logs', 'j-1', 's-2'), 's3://b/logs/j-1/steps/s-2/');
  assert.is(stepLogPrefix('s3://b/logs/', 'j-1', 's-2'), 's3://b/logs/j-1/steps/s-2/');
});

test.run();
