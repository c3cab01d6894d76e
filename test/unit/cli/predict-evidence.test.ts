// `sync-agent predict` (bin/sync-agent.js) on a real event log: every recommendation prints its evidence
// in words, the cluster shape's first and then one line per Spark setting; --json carries the same.
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Solution } from '../../../src/domain/types.js';

const LOG = 'test/fixtures/eventlogs/apache-spark/application_1538416563558_0014';
const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/sync-agent.js', 'predict', LOG, ...args], { encoding: 'utf8', timeout: 60_000 });

test('predict prints each recommendation with its evidence, and each Spark setting with its own', () => {
  const json = cli('--json');
  assert.is(json.status, 0, json.stderr);
  const out = JSON.parse(json.stdout) as { solutions: Record<string, Solution>; settings?: { key: string; value: string; evidence: string }[] };
  const settings = Object.values(out.solutions).flatMap((s) => s.settings ?? []);
  assert.ok(settings.length > 0, 'this log gets Spark settings (its heap peaked far below the executor memory)');
  const text = cli();
  assert.is(text.status, 0, text.stderr);
  for (const [pref, s] of Object.entries(out.solutions)) {
    assert.match(s.evidence?.[0] ?? '', /^the basis run's 35 tasks kept its \d+ task slots \d+% busy over [\d.]+ s/, pref);
    for (const e of s.evidence ?? []) assert.ok(text.stdout.includes(`evidence: ${e}`), `${pref}: ${e}`);
  }
  for (const s of settings) {
    assert.match(s.evidence, /\d/, `${s.key}: the evidence names what was measured`);
    assert.ok(text.stdout.includes(`evidence: ${s.key}=${s.value}: ${s.evidence}`), s.key);
  }
  assert.match(text.stdout, /spark\.executor\.memory=\d+m: no stage spilled and the executors' heap peaked at [\d.]+ MiB/);
  assert.match(text.stdout, /Spark settings \(from the event log's evidence\)/);
});

test('a setting the run never set and the engine leaves alone reads "left unset", not "left at (unset)"', () => {
  const r = spawnSync(process.execPath, ['bin/sync-agent.js', 'predict', 'test/fixtures/eventlogs/rapids-tools/aqeshuffle_eventlog.zstd'], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /spark\.sql\.shuffle\.partitions left unset: adaptive query execution is on/);
  assert.not.match(r.stdout, /\(unset\)/);
  // The replay's error against the observed run carries its sign either way (+ slower, - faster).
  assert.match(r.stdout, /^replayed +[\d.]+ s \([+-]\d+\.\d%\); baseline simulation [\d.]+ s \([+-]\d+\.\d%\)$/m);
});

test.run();
