import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decideLogDelivery, finalEventLog } from '../../../src/handlers/databricks-run.js';
import type { ObjectInfo } from '../../../src/domain/ports.js';

const ended = new Date('2026-12-04T02:00:00Z');
const file = (at: string, size = 1000, url = 'dbfs:/r/cluster-logs/c1/eventlog/c1_10_0_0_2/123/eventlog'): ObjectInfo => ({ url, size, etag: `"${size}"`, lastModified: new Date(at) });
const decide = (f: ObjectInfo | undefined, now: string, previous?: { size: number; modified: string }) =>
  decideLogDelivery({ endedAt: ended, now: new Date(now), file: f, previous, waitTimeoutMs: 600_000 });

test('waits while nothing or only a delivery from before the end is there', () => {
  assert.is(decide(undefined, '2026-12-04T02:01:00Z').kind, 'wait');
  const early = decide(file('2026-12-04T01:58:00Z'), '2026-12-04T02:01:00Z');
  assert.is(early.kind, 'wait');
  assert.match((early as { message: string }).message, /last delivered before the run ended/);
});

test('a delivery after the end is ready only once its size is seen twice unchanged', () => {
  const f = file('2026-12-04T02:05:00Z', 5000);
  const first = decide(f, '2026-12-04T02:06:00Z');
  assert.is(first.kind, 'wait');
  const observed = (first as { observed: { size: number; modified: string } }).observed;
  assert.equal(observed, { size: 5000, modified: '2026-12-04T02:05:00.000Z' });
  assert.is(decide(f, '2026-12-04T02:06:30Z', observed).kind, 'ready');
  // Grown since the last look: still being delivered.
  assert.is(decide(file('2026-12-04T02:06:20Z', 6000), '2026-12-04T02:06:30Z', observed).kind, 'wait');
});

test('after the wait limit it records without the log, with a warning naming the limit', () => {
  const late = decide(file('2026-12-04T01:58:00Z'), '2026-12-04T02:10:01Z');
  assert.is(late.kind, 'give-up');
  assert.match((late as { warning: string }).warning, /within 600 s/);
});

test('the final eventlog is the newest one under the cluster folder; rolled parts are not it', () => {
  const parts = [file('2026-12-04T01:00:00Z', 10, 'dbfs:/x/eventlog-2026-12-04--01-00.gz'), file('2026-12-04T02:05:00Z', 20, 'dbfs:/x/a/eventlog'), file('2026-12-04T02:06:00Z', 30, 'dbfs:/x/b/eventlog')];
  assert.is(finalEventLog(parts)?.url, 'dbfs:/x/b/eventlog');
  assert.is(finalEventLog([parts[0]!]), undefined);
});

test.run();
