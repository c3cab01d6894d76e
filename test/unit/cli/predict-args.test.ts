// `sync-agent predict EVENTLOG` (bin/sync-agent.js): a bad --max-cost, --max-runtime or --families is a usage
// error (exit 2) naming the option and the value, not the bare usage or a silent "keep".
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const LOG = 'test/fixtures/eventlogs/dr-elephant/event_log_1';
const predict = (...args: string[]) => spawnSync(process.execPath, ['bin/sync-agent.js', 'predict', LOG, ...args], { encoding: 'utf8', timeout: 60_000 });

test('--max-cost and --max-runtime that are not positive numbers: exit 2 naming the option and value', () => {
  const cost = predict('--max-cost', 'abc');
  assert.is(cost.status, 2);
  assert.ok(cost.stderr.startsWith("sync-agent predict: --max-cost must be a positive number of US dollars, got 'abc'"), cost.stderr);
  const runtime = predict('--max-runtime', '0');
  assert.is(runtime.status, 2);
  assert.ok(runtime.stderr.startsWith("sync-agent predict: --max-runtime must be a positive number of seconds, got '0'"), runtime.stderr);
});

test('--families naming no family or type in the catalog: exit 2 naming it (not a silent keep of the current cluster)', () => {
  const r = predict('--families', 'zz9,m5');
  assert.is(r.status, 2);
  assert.is(r.stdout, '');
  assert.ok(r.stderr.startsWith("sync-agent predict: --families: 'zz9' is not a family or instance type in the catalog"), r.stderr);
  const ok = predict('--families', 'm5,r6g.xlarge', '--json');
  assert.is(ok.status, 0, ok.stderr);
  const types = new Set((JSON.parse(ok.stdout) as { candidates: { instanceType: string }[] }).candidates.map((c) => c.instanceType));
  assert.ok(types.size > 1, 'a family and a type: candidates of both');
  for (const t of types) assert.ok(t.startsWith('m5.') || t === 'r6g.xlarge', t);
});

test.run();
