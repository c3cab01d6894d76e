import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const UNIT = 'systemd/sync-agent.service';
const unit = readFileSync(UNIT, 'utf8');

test('the unit is hardened to an exposure of at most 3.0 (systemd-analyze security --offline)', () => {
  const r = spawnSync('systemd-analyze', ['security', '--offline=true', '--no-pager', UNIT], { encoding: 'utf8' });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error('systemd-analyze is not installed: cannot check the unit (apt-get install systemd)');
  }
  const m = /Overall exposure level for sync-agent\.service: ([0-9.]+)/.exec(r.stdout + r.stderr);
  assert.ok(m, `no exposure line in: ${r.stdout}${r.stderr}`);
  assert.ok(Number(m[1]) <= 3.0, `exposure ${m[1]} > 3.0`);
});

test('the unit never sets MemoryDenyWriteExecute (V8 needs W+X pages)', () => {
  assert.not.match(unit, /^MemoryDenyWriteExecute=/m);
});

test('graceful stop: SIGTERM, mixed kill mode, and a stop timeout longer than the default grace period', () => {
  assert.match(unit, /^KillSignal=SIGTERM$/m);
  assert.match(unit, /^KillMode=mixed$/m);
  const t = /^TimeoutStopSec=(\d+)s$/m.exec(unit);
  assert.ok(t && Number(t[1]) > 30, 'TimeoutStopSec must exceed the 30 s default grace');
});

test('secrets come through LoadCredential, not Environment=', () => {
  assert.match(unit, /^LoadCredential=http-token:/m);
  assert.not.match(unit, /^Environment=.*(SECRET|TOKEN)/im);
});

test.run();
