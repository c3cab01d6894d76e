// `sync-agent demo --platform databricks` as a user runs it: the loop on the sandbox workspace, DBU and VM
// cost per run, and nothing left running.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';

test('demo --platform databricks prints VM and DBU cost per run and leaves no run going', () => {
  const r = spawnSync(process.execPath, ['bin/sync-agent.js', 'demo', '--platform', 'databricks', '--iterations', '2', '--time-scale', '3000', '--seed', '5'], { encoding: 'utf8', timeout: 180_000 });
  assert.is(r.status, 0, r.stderr);
  const rows = r.stdout.split('\n').filter((l) => /^\s+\d+\s+\d+ x \S+/.test(l));
  assert.is(rows.length, 2, r.stdout);
  for (const row of rows) {
    const [vm, dbu, total] = row.trim().split(/\s+/).slice(6, 9).map(Number);
    assert.ok(vm! > 0 && dbu! > 0 && Math.abs(vm! + dbu! - total!) < 0.02, row);
  }
  assert.match(r.stdout, /Databricks runs submitted: 2; still running: 0/);
  const bad = spawnSync(process.execPath, ['bin/sync-agent.js', 'demo', '--platform', 'gcp'], { encoding: 'utf8', timeout: 30_000 });
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /--platform must be emr or databricks/);
  const ui = spawnSync(process.execPath, ['bin/sync-agent.js', 'demo', '--platform', 'databricks', '--ui'], { encoding: 'utf8', timeout: 30_000 });
  assert.is(ui.status, 2, 'the dashboard is the EMR demo\'s: refused, not silently ignored');
  assert.match(ui.stderr, /--ui is for the EMR demo/);
  assert.is(ui.stdout, '', 'nothing ran');
  const help = spawnSync(process.execPath, ['bin/sync-agent.js', 'demo', '--help'], { encoding: 'utf8', timeout: 30_000 });
  assert.match(help.stdout, /--platform emr\|databricks/);
});

test.run();
