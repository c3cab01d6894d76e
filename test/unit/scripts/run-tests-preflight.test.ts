// The README's test command on a machine that lacks a system package: scripts/run-tests.mjs stops at once,
// before any test file runs, naming what is missing, which files need it and the exact apt-get line.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Runs the test runner on `files` with a PATH that holds only `node`: no redis-server, no systemd-analyze. */
function runWithBarePath(files: string[]) {
  const bin = mkdtempSync(join(tmpdir(), 'sync-bare-path-'));
  try {
    symlinkSync(process.execPath, join(bin, 'node'));
    const started = Date.now();
    const r = spawnSync(process.execPath, ['scripts/run-tests.mjs', ...files], { env: { ...process.env, PATH: bin }, encoding: 'utf8', timeout: 60_000 });
    return { ...r, ms: Date.now() - started };
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
}

test('missing redis-server and systemd-analyze: one failure at once, with the exact install line', () => {
  const r = runWithBarePath(['test/integration/demo.test.ts', 'test/unit/agent/systemd-unit.test.ts']);
  assert.is(r.status, 1);
  assert.match(r.stderr, /missing redis-server on the PATH .*: needed by test\/integration\/demo\.test\.ts/);
  assert.match(r.stderr, /missing systemd-analyze on the PATH .*: needed by test\/unit\/agent\/systemd-unit\.test\.ts/);
  assert.match(r.stderr, /^ {2}(sudo )?apt-get update && (sudo )?apt-get install -y redis-server systemd$/m);
  assert.is(r.stdout, '0 passed, 1 failed\n', 'no test file ran; the summary line is the last line');
});

test('unit tests that need no system package are not held up by a missing one', () => {
  const r = runWithBarePath(['test/unit/domain/ids.test.ts']);
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^\d+ passed, 0 failed$/m);
});

test.run();
