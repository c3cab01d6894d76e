// `sync-agent predict --declared-input SIZE --job-type T` (bin/sync-agent.js): each mistake in the cold-start
// flags is a usage error (exit 2) naming that mistake, and the guess names the declared size as given.
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const predict = (...args: string[]) => spawnSync(process.execPath, ['bin/sync-agent.js', 'predict', ...args], { encoding: 'utf8', timeout: 60_000 });

test('a size that is not one: exit 2 naming the value and the units', () => {
  for (const size of ['abc', '100PiB']) {
    const r = predict('--declared-input', size, '--job-type', 'sql');
    assert.is(r.status, 2, r.stderr);
    assert.ok(r.stderr.startsWith(`sync-agent predict: --declared-input must be a size such as 200GiB`), r.stderr);
    assert.ok(r.stderr.includes(`got '${size}'`), r.stderr);
  }
});

test('an unknown job type: exit 2 naming the job types, not an invalid_request error', () => {
  const r = predict('--declared-input', '200GiB', '--job-type', 'foo');
  assert.is(r.status, 2, r.stderr);
  assert.ok(r.stderr.startsWith("sync-agent predict: --job-type must be one of sql, python, ml, got 'foo'"), r.stderr);
});

test('one flag without the other, or with an event log: exit 2 saying which', () => {
  const a = predict('--declared-input', '200GiB');
  assert.is(a.status, 2);
  assert.ok(a.stderr.startsWith('sync-agent predict: --declared-input needs --job-type (sql, python, ml)'), a.stderr);
  const b = predict('--job-type', 'sql');
  assert.is(b.status, 2);
  assert.ok(b.stderr.startsWith('sync-agent predict: --job-type needs --declared-input SIZE'), b.stderr);
  const c = predict('some.log', '--declared-input', '1GiB', '--job-type', 'sql');
  assert.is(c.status, 2);
  assert.ok(c.stderr.startsWith('sync-agent predict: a cold start (--declared-input, --job-type) takes no event log or history'), c.stderr);
});

test('a bare number is bytes, and the guess says so (not "0 MiB")', () => {
  const r = predict('--declared-input', '200', '--job-type', 'sql');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /a guess from the declared input \(200 bytes, sql\)/);
  const g = predict('--declared-input', '200GiB', '--job-type', 'sql');
  assert.is(g.status, 0, g.stderr);
  assert.match(g.stdout, /^GUESS /);
  assert.match(g.stdout, /a guess from the declared input \(200 GiB, sql\): 10 x m5\.4xlarge/);
});

test.run();
