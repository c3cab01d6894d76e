import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadApplicationModel } from '../../../src/adapters/eventlog-source.js';
import { writeEventLog } from '../../../src/sandbox/eventlog-writer.js';
import { runWorkload } from '../../../src/sandbox/ground-truth.js';
import { databricksInstanceFacts, rolledEventLog, rolledPartName } from '../../../src/sandbox/databricks-server.js';
import { shippedWorkloads } from '../../../src/sandbox/shipped-workloads.js';

test('part names are the hour, as Databricks rolls them', () => {
  assert.is(rolledPartName(Date.UTC(2026, 11, 4, 1, 59, 59)), '2026-12-04--01-00');
});

test('a log spanning three hours is two gzip parts plus eventlog, and reads back as the same application', async () => {
  const workload = Object.values(shippedWorkloads())[0]!;
  const instances = databricksInstanceFacts();
  assert.ok(instances['Standard_E8ds_v4'], 'Azure node types are in the sandbox facts');
  const run = runWorkload(workload, { instanceType: 'm5.xlarge', nodes: 2 }, { seed: 3, startedAt: Date.UTC(2026, 11, 4, 0, 30), instances });
  const text = writeEventLog(run, workload, { appId: 'app-20261204003000-0001' });
  const start = Date.UTC(2026, 11, 4, 0, 40);
  const parts = rolledEventLog(text, start, start + 2.5 * 3_600_000);
  // 00:40 to 03:10: the hours 00, 01 and 02 are rolled; the last hour is the current `eventlog`.
  assert.equal(parts.map((p) => p.name), ['eventlog-2026-12-04--00-00.gz', 'eventlog-2026-12-04--01-00.gz', 'eventlog-2026-12-04--02-00.gz', 'eventlog']);
  const dir = mkdtempSync(join(tmpdir(), 'dbx-rolled-'));
  try {
    for (const p of parts) writeFileSync(join(dir, p.name), p.bytes);
    const rolled = await loadApplicationModel(dir);
    const whole = join(dir, '..', `${dir.split('/').pop()}-whole`);
    writeFileSync(whole, text);
    const direct = await loadApplicationModel(whole);
    rmSync(whole);
    assert.is(rolled.durationMs, direct.durationMs);
    assert.is(rolled.executors.length, direct.executors.length);
    assert.is(rolled.appId, 'app-20261204003000-0001');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
