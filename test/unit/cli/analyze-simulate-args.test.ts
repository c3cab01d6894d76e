// `sync-agent analyze` and `simulate` (bin/sync-agent.js): a bad number is a usage error (exit 2) naming the
// option and the value, not the bare usage line.
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const LOG = 'test/fixtures/eventlogs/dr-elephant/event_log_1';
const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/sync-agent.js', ...args], { encoding: 'utf8', timeout: 60_000 });

test('simulate --executors/--cores that are not whole numbers >= 1', () => {
  const e = cli('simulate', LOG, '--executors', 'abc', '--cores', '4');
  assert.is(e.status, 2);
  assert.ok(e.stderr.startsWith("sync-agent simulate: --executors must be a whole number >= 1, got 'abc'"), e.stderr);
  const c = cli('simulate', LOG, '--executors', '2', '--cores', '0');
  assert.is(c.status, 2);
  assert.ok(c.stderr.startsWith("sync-agent simulate: --cores must be a whole number >= 1, got '0'"), c.stderr);
  const ok = cli('simulate', LOG, '--executors', '2', '--cores', '2');
  assert.is(ok.status, 0, ok.stderr);
});

test('analyze --top that is not a whole number >= 0', () => {
  const r = cli('analyze', LOG, '--top', 'x');
  assert.is(r.status, 2);
  assert.ok(r.stderr.startsWith("sync-agent analyze: --top must be a whole number >= 0, got 'x'"), r.stderr);
});

test.run();
