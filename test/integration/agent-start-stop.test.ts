// SIGTERM while `sync-agent start` is still starting: the real CLI process, with an embedded
// redis-server held back by a gate (a wrapper on PATH that waits for a file before it execs the real
// server), so the signal lands inside start() every time, without any timing guess.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { startAgent, writeConfig } from '../support/agent-process.js';
import { eventually } from '../support/async.js';
import { freePort } from '../support/redis.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('SIGTERM during start: the CLI exits 0, start never reports ready, and the embedded redis-server is stopped', async () => {
  const real = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();
  assert.ok(real, 'redis-server is on PATH');
  const dir = mkdtempSync(join(tmpdir(), 'sync-start-stop-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const gate = join(dir, 'gate');
  const pidOut = join(dir, 'redis-wrapper.pid');
  // `--version` (the agent's "is it installed" probe) goes straight through; the server itself waits for the gate.
  writeFileSync(
    join(bin, 'redis-server'),
    `#!/bin/sh\nif [ "$1" = "--version" ]; then exec ${real} "$@"; fi\necho $$ > ${pidOut}\nn=0\nwhile [ ! -e ${gate} ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n+1)); done\nexec ${real} "$@"\n`,
  );
  chmodSync(join(bin, 'redis-server'), 0o755);
  const httpPort = await freePort();
  const configPath = writeConfig(dir, {
    site: { id: 'start-stop-host', redis: { embedded: true, dir: join(dir, 'redis') }, queues: { prefix: 'startstop' }, http: { port: httpPort } },
    tenant: { id: 'acme', state: pathToFileURL(join(dir, 'state')).href, projectLocation: pathToFileURL(join(dir, 'runs')).href },
  });
  const agent = startAgent({ configPath, httpPort, env: { PATH: `${bin}:${process.env.PATH ?? ''}` } });
  let redisPid: number | undefined;
  try {
    await eventually(() => (existsSync(pidOut) ? true : undefined), 20_000, 'the embedded redis-server being spawned');
    redisPid = Number(readFileSync(pidOut, 'utf8').trim());
    agent.kill('SIGTERM');
    await eventually(() => agent.logs.find((l) => l.msg === 'signal received: draining'), 10_000, 'the signal being handled');
    // Only now may the server come up: the stop was requested while start() waited for it.
    writeFileSync(gate, '');
    const code = await Promise.race([agent.exited, new Promise<string>((r) => setTimeout(() => r('still running after 30 s'), 30_000).unref())]);
    assert.is(code, 0, `the CLI exits 0 after a SIGTERM during start (got ${String(code)}):\n${agent.output().slice(-3000)}`);
    assert.not.ok(agent.logs.some((l) => l.msg === 'sync-agent ready'), 'the agent never reported ready');
    assert.ok(agent.logs.some((l) => l.msg === 'sync-agent stopped'), 'the agent logged its stop');
    await eventually(() => (alive(redisPid!) ? undefined : true), 10_000, `the embedded redis-server (pid ${redisPid}) to be gone`);
  } finally {
    if (agent.child.exitCode === null && agent.child.signalCode === null) agent.kill('SIGKILL');
    if (redisPid !== undefined && alive(redisPid)) process.kill(redisPid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
