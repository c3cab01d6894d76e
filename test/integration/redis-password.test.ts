// A password-protected Redis: the password comes from credentials (never the config file), the
// daemon and the CLI both connect, and it appears in no log line and no file the agent writes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startAgent, writeConfig } from '../support/agent-process.js';
import { freePort } from '../support/redis.js';
import { waitForRedis } from '../../src/agent/embedded-redis.js';

const PASSWORD = 'r3dis-pw-5d1c9e77';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

test('daemon and CLI reach a Redis with requirepass; the password is never logged or written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sync-redispw-'));
  const port = await freePort();
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', PASSWORD], { stdio: 'ignore' });
  try {
    await waitForRedis(port).catch(() => undefined); // PING answers NOAUTH, which is not PONG: wait for the port instead
    await new Promise((r) => setTimeout(r, 300));
    const httpPort = await freePort();
    const configPath = writeConfig(dir, {
      site: { id: 'pw-host', redis: { url: `redis://127.0.0.1:${port}` }, queues: { prefix: 'pw' }, http: { port: httpPort } },
      tenant: { id: 'acme', state: pathToFileURL(join(dir, 'state')).href, projectLocation: pathToFileURL(join(dir, 'runs')).href },
    });
    const env = { SYNC_REDIS_PASSWORD: PASSWORD };
    const agent = startAgent({ configPath, httpPort, env });
    await agent.ready();
    const cli = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'enqueue', 'project.create', '--data', '{"projectId":"p1","name":"p1","platform":"emr"}', '--wait', '--timeout', '30', '--config', configPath], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
    });
    assert.is(cli.status, 0, cli.stderr + cli.stdout);
    assert.match(cli.stdout, /"status": "completed"/);
    assert.is(await agent.stop(), 0);
    assert.not.ok(agent.output().includes(PASSWORD), 'not in the daemon output');
    assert.not.ok(cli.stdout.includes(PASSWORD) || cli.stderr.includes(PASSWORD), 'not in the CLI output');
    for (const f of filesUnder(dir)) assert.not.ok(readFileSync(f, 'utf8').includes(PASSWORD), `not in ${f}`);
    // Without the password the daemon fails its start at once (exit 1), saying why.
    const denied = startAgent({ configPath, httpPort });
    const code = await Promise.race([denied.exited, new Promise((r) => setTimeout(() => r('still running'), 60_000))]);
    if (code === 'still running') await denied.stop();
    assert.is(code, 1, denied.output());
    assert.match(denied.output(), /NOAUTH/);
    assert.match(denied.output(), /SYNC_REDIS_PASSWORD/);
  } finally {
    redis.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
