import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { passSlice } from '../../../src/queues/databricks-poller.js';

const runs = ['r-a', 'r-b', 'r-c', 'r-d', 'r-e'].map((runId) => ({ projectId: 'p', runId, clusterId: runId.slice(2) }));

test('passes are bounded and, from the shared cursor, cover every run in turn', () => {
  const seen: string[] = [];
  let cursor = 0;
  for (let pass = 0; pass < 3; pass++) {
    const { slice, next } = passSlice(runs, cursor, 2);
    assert.ok(slice.length <= 2);
    seen.push(...slice.map((r) => r.runId));
    cursor = next;
  }
  assert.equal(seen.slice(0, 5), ['r-a', 'r-b', 'r-c', 'r-d', 'r-e']);
  assert.equal(passSlice([], 3, 2), { slice: [], next: 0 });
  assert.equal(passSlice(runs, 99, 50).slice.length, 5, 'never more than the runs there are');
});

test.run();
