// Redis as users run it, against real servers this test starts: a TLS-only redis-server (rediss://,
// a throwaway CA made by openssl) with an ACL user whose password comes from credentials, and a
// Sentinel (TLS too) in front of such a master. The daemon and the CLI carry requests end to end;
// a wrong CA or password fails at start with a clear reason and the password appears nowhere.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { connectRedis } from '../../src/adapters/redis-connection.js';
import { createAgent } from '../../src/agent/daemon.js';
import { run as enqueue } from '../../src/cli/commands/enqueue.js';
import type { CliIo } from '../../src/cli/io.js';
import { SyncError } from '../../src/domain/errors.js';
import { startAgent, writeConfig } from '../support/agent-process.js';
import { rejection } from '../support/async.js';
import { freePort } from '../support/redis.js';
import { makeCerts, startServer, type ServerProcess, type TestCerts } from '../support/redis-tls.js';

const PASSWORD = 'acl-pw-7f3e91c2d5';
const WRONG = 'not-the-pw-0b6a44';
const SENTINEL_PASSWORD = 'sentinel-pw-c1a9e0';
// Keys limited to the prefixes the tests use, as the README advises (`~<prefix>:*`).
const ACL_USER = [`user default off`, `user agent on >${PASSWORD} ~tls:* ~snt:* ~bad:* &* +@all`];

type Ctx = { certs: TestCerts; impostor: TestCerts; server: ServerProcess; dirs: string[] };
const ctx = {} as Ctx;

test.before(async () => {
  ctx.dirs = [];
  ctx.certs = makeCerts();
  ctx.impostor = makeCerts('impostor CA');
  // TLS only (port 0): any connection that works is a TLS one, and only as the ACL user 'agent'.
  ctx.server = await startServer({ tls: ctx.certs, conf: ACL_USER });
});

test.after(async () => {
  await ctx.server?.stop();
  ctx.certs?.remove();
  ctx.impostor?.remove();
  for (const d of ctx.dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sync-redis-tls-test-'));
  ctx.dirs.push(d);
  return d;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

const tenant = (dir: string) => ({ id: 'acme', state: pathToFileURL(join(dir, 'state')).href, projectLocation: pathToFileURL(join(dir, 'runs')).href });

function io(env: Record<string, string>, cwd: string): CliIo & { outText: () => string } {
  const out: string[] = [];
  return { out: (t) => out.push(t), err: (t) => out.push(t), env, cwd, outText: () => out.join('\n') };
}

test('rediss:// + ACL user: a real `sync-agent start` and the CLI carry a request end to end over TLS', async () => {
  const dir = tempDir();
  const credentials = join(dir, 'credentials');
  mkdirSync(credentials);
  writeFileSync(join(credentials, 'redis-password'), PASSWORD + '\n', { mode: 0o600 });
  const httpPort = await freePort();
  const configPath = writeConfig(dir, {
    site: {
      id: 'tls-host',
      redis: { url: `rediss://localhost:${ctx.server.port}`, username: 'agent', tls: { ca: ctx.certs.caCert } },
      queues: { prefix: 'tls' },
      http: { port: httpPort },
    },
    tenant: tenant(dir),
  });
  const env = { CREDENTIALS_DIRECTORY: credentials };
  const agent = startAgent({ configPath, httpPort, env });
  try {
    await agent.ready();
    const cli = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'enqueue', 'project.create', '--id', 'tls-create-1', '--data', '{"projectId":"p-tls","name":"over TLS","platform":"emr"}', '--wait', '--timeout', '30', '--config', configPath], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
    });
    assert.is(cli.status, 0, cli.stderr + cli.stdout);
    assert.match(cli.stdout, /"status": "completed"/);
    const status = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'status', 'tls-create-1', '--config', configPath], { encoding: 'utf8', env: { ...process.env, ...env } });
    assert.is(status.status, 0, status.stderr);
    assert.match(status.stdout, /"status": "completed"/);
    // Every part of the daemon reached Redis through the one factory: their connections are all
    // here, on the TLS-only port, as the ACL user.
    const r = await connectRedis({ url: `rediss://127.0.0.1:${ctx.server.port}`, username: 'agent', password: PASSWORD, tls: { ca: ctx.certs.caCert, rejectUnauthorized: true } });
    const clients = String(await r.call('CLIENT', 'LIST')).trim().split('\n');
    r.disconnect();
    const names = clients.map((l) => /\bname=(\S*)/.exec(l)?.[1] ?? '');
    for (const n of ['tls-agent', 'tls-queue', 'tls-worker', 'tls-inbox', 'tls-inbox-reader']) assert.ok(names.includes(n), `${n} connected (clients: ${names.join(', ')})`);
    for (const l of clients) assert.match(l, /\buser=agent\b/);
    assert.is(await agent.stop(), 0);
    const output = agent.output() + cli.stdout + cli.stderr + status.stdout + status.stderr;
    assert.not.ok(output.includes(PASSWORD), 'the password is in no output');
    for (const f of filesUnder(dir)) if (!f.startsWith(credentials)) assert.not.ok(readFileSync(f, 'utf8').includes(PASSWORD), `not in ${f}`);
  } finally {
    if (agent.child.exitCode === null) await agent.stop();
  }
});

async function failedStart(redis: unknown, env: Record<string, string>): Promise<{ err: SyncError; lines: string[]; state: string }> {
  const dir = tempDir();
  const configPath = writeConfig(dir, { site: { id: 'bad-host', redis, queues: { prefix: 'bad' }, http: { enabled: false } }, tenant: tenant(dir) });
  const lines: string[] = [];
  const agent = createAgent({ configPath, env, home: dir, logSink: (l) => lines.push(l) });
  const err = await rejection(agent.start());
  assert.instance(err, SyncError);
  return { err: err as SyncError, lines, state: agent.state };
}

test('a wrong CA fails the start at once with an error naming TLS and the setting to check', async () => {
  const redis = { url: `rediss://localhost:${ctx.server.port}`, username: 'agent', tls: { ca: ctx.impostor.caCert } };
  const { err, lines, state } = await failedStart(redis, { SYNC_REDIS_PASSWORD: PASSWORD });
  assert.is(state, 'failed');
  assert.is(err.code, 'invalid_config');
  assert.match(err.message, /^TLS connection to Redis \(rediss:\/\/localhost:\d+\) failed: .*certificate/);
  assert.match(err.message, 'site.redis.tls.ca');
  assert.ok(lines.some((l) => l.includes('TLS connection to Redis')), 'logged');
  assert.not.ok(lines.join('\n').includes(PASSWORD));
  // The CLI says the same.
  const dir = tempDir();
  const configPath = writeConfig(dir, { site: { redis, queues: { prefix: 'bad' } }, tenant: tenant(dir) });
  const cliErr = await rejection(enqueue(['project.create', '--data', '{"projectId":"x","name":"x","platform":"emr"}', '--config', configPath], io({ SYNC_REDIS_PASSWORD: PASSWORD }, dir)));
  assert.match((cliErr as Error).message, /^TLS connection to Redis .* failed/);
});

test('a wrong password fails clearly (WRONGPASS, where the password comes from), without the password in logs', async () => {
  const redis = { url: `rediss://localhost:${ctx.server.port}`, username: 'agent', tls: { ca: ctx.certs.caCert } };
  const { err, lines } = await failedStart(redis, { SYNC_REDIS_PASSWORD: WRONG });
  assert.is(err.code, 'access_denied');
  assert.match(err.message, 'WRONGPASS');
  assert.match(err.message, 'SYNC_REDIS_PASSWORD');
  const text = lines.join('\n') + err.message + JSON.stringify(err.details);
  assert.not.ok(text.includes(WRONG), 'the wrong password is not logged');
  assert.not.ok(text.includes(PASSWORD));
  // Plain redis:// to the TLS port: a hint to use rediss://.
  const plain = await rejection(enqueue(['project.create', '--data', '{"projectId":"x","name":"x","platform":"emr"}'], io({ SYNC_REDIS_PASSWORD: PASSWORD }, writeTo({ url: `redis://127.0.0.1:${ctx.server.port}`, username: 'agent' }))));
  assert.match((plain as Error).message, 'use a rediss:// URL');
});

test('tls.rejectUnauthorized: false connects without the CA, and the start says loudly that nothing is verified', async () => {
  const dir = tempDir();
  const configPath = writeConfig(dir, {
    site: { id: 'unverified', redis: { url: `rediss://localhost:${ctx.server.port}`, username: 'agent', tls: { rejectUnauthorized: false } }, queues: { prefix: 'bad' }, http: { enabled: false } },
    tenant: tenant(dir),
  });
  const lines: string[] = [];
  const agent = createAgent({ configPath, env: { SYNC_REDIS_PASSWORD: PASSWORD }, home: dir, logSink: (l) => lines.push(l) });
  await agent.start();
  await agent.stop();
  const warning = lines.map((l) => JSON.parse(l) as { level: string; msg: string }).find((l) => l.msg.includes('rejectUnauthorized is false'));
  assert.is(warning?.level, 'warn');
  assert.match(warning?.msg ?? '', 'NOT verified');
});

test('Sentinel failover: the master dies, the sentinel promotes its replica, the agent follows and keeps working', async () => {
  const master = await startServer({ tls: ctx.certs, conf: ACL_USER });
  const replication = ['masteruser agent', `masterauth ${PASSWORD}`, 'tls-replication yes'];
  const replica = await startServer({ tls: ctx.certs, conf: [...ACL_USER, `replicaof 127.0.0.1 ${master.port}`, ...replication] });
  const sentinel = await startServer({
    sentinel: true,
    tls: ctx.certs,
    conf: [
      `sentinel monitor mymaster 127.0.0.1 ${master.port} 1`,
      'sentinel down-after-milliseconds mymaster 1000',
      'sentinel failover-timeout mymaster 5000',
      'sentinel auth-user mymaster agent',
      `sentinel auth-pass mymaster ${PASSWORD}`,
      'tls-replication yes',
    ],
  });
  const dir = tempDir();
  const redis = { sentinel: { name: 'mymaster', sentinels: [{ host: '127.0.0.1', port: sentinel.port }], tls: { ca: ctx.certs.caCert } }, username: 'agent', tls: { ca: ctx.certs.caCert } };
  const configPath = writeConfig(dir, { site: { id: 'failover-host', redis, queues: { prefix: 'snt' }, http: { enabled: false } }, tenant: tenant(dir) });
  const env = { SYNC_REDIS_PASSWORD: PASSWORD };
  const lines: string[] = [];
  const agent = createAgent({ configPath, env, home: dir, logSink: (l) => lines.push(l) });
  const tls = { ca: ctx.certs.caCert, rejectUnauthorized: true };
  const direct = await connectRedis({ url: `rediss://127.0.0.1:${master.port}`, username: 'agent', password: PASSWORD, tls });
  const watcher = await connectRedis({ url: `rediss://127.0.0.1:${sentinel.port}`, tls });
  try {
    await agent.start();
    const send = async (id: string) => {
      const cli = io(env, dir);
      const code = await enqueue(['project.create', '--id', id, '--data', `{"projectId":"${id}","name":"${id}","platform":"emr"}`, '--wait', '--timeout', '60', '--config', configPath], cli);
      assert.is(code, 0, cli.outText());
      assert.match(cli.outText(), /"status": "completed"/);
    };
    await send('before-failover');
    // The replica has everything so far, then the master goes away.
    // (its first full sync may take a while on a loaded machine: bounded at 30 s)
    let acked = 0;
    for (let i = 0; i < 30 && acked < 1; i++) acked = Number(await direct.call('WAIT', '1', '1000'));
    assert.is(acked, 1, `the replica acknowledged:\n${replica.log().slice(-2000)}`);
    direct.disconnect();
    await master.stop();
    const deadline = Date.now() + 30_000;
    let addr: string[] = [];
    while (Date.now() < deadline) {
      addr = (await watcher.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster')) as string[];
      if (addr[1] === String(replica.port)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.is(addr[1], String(replica.port), 'the sentinel promoted the replica');
    await send('after-failover');
    assert.is(agent.state, 'running');
    // The operator saw the outage and the recovery, once each, said plainly.
    const logs = lines.map((l) => JSON.parse(l) as { level: string; msg: string; problem?: string });
    const problems = logs.filter((l) => l.msg === 'Redis connection problem');
    assert.ok(problems.length >= 1 && problems.every((p) => p.level === 'warn' && p.problem?.startsWith("Redis (Sentinel master 'mymaster'")), JSON.stringify(problems));
    assert.ok(logs.some((l) => l.msg === 'Redis connection restored'), 'recovery logged');
    assert.not.ok(lines.join('\n').includes(PASSWORD));
  } finally {
    direct.disconnect();
    watcher.disconnect();
    await agent.stop();
    await sentinel.stop();
    await replica.stop();
    await master.stop();
  }
});

function writeTo(redis: unknown): string {
  const dir = tempDir();
  writeConfig(dir, { site: { redis, queues: { prefix: 'bad' } }, tenant: tenant(dir) });
  return dir;
}

test('Sentinel (TLS, its own password) in front of a TLS + ACL master: the agent finds the master and runs a request', async () => {
  const sentinel = await startServer({
    sentinel: true,
    tls: ctx.certs,
    conf: [
      `sentinel monitor mymaster 127.0.0.1 ${ctx.server.port} 1`,
      'sentinel auth-user mymaster agent',
      `sentinel auth-pass mymaster ${PASSWORD}`,
      `requirepass ${SENTINEL_PASSWORD}`,
      'tls-replication yes',
    ],
  });
  const dir = tempDir();
  const redis = {
    sentinel: { name: 'mymaster', sentinels: [{ host: '127.0.0.1', port: sentinel.port }], tls: { ca: ctx.certs.caCert } },
    username: 'agent',
    tls: { ca: ctx.certs.caCert },
  };
  const configPath = writeConfig(dir, { site: { id: 'sentinel-host', redis, queues: { prefix: 'snt' }, http: { enabled: false } }, tenant: tenant(dir) });
  const env = { SYNC_REDIS_PASSWORD: PASSWORD, SYNC_REDIS_SENTINEL_PASSWORD: SENTINEL_PASSWORD };
  const lines: string[] = [];
  const agent = createAgent({ configPath, env, home: dir, logSink: (l) => lines.push(l) });
  try {
    await agent.start();
    const cli = io(env, dir);
    const code = await enqueue(['project.create', '--id', 'snt-create-1', '--data', '{"projectId":"p-snt","name":"via Sentinel","platform":"emr"}', '--wait', '--timeout', '30', '--config', configPath], cli);
    assert.is(code, 0, cli.outText());
    assert.match(cli.outText(), /"status": "completed"/);
    // A wrong Sentinel password is refused at start, naming the Sentinel credential sources.
    const { err } = await failedStart(redis, { SYNC_REDIS_PASSWORD: PASSWORD, SYNC_REDIS_SENTINEL_PASSWORD: WRONG });
    assert.match(err.message, 'SYNC_REDIS_SENTINEL_PASSWORD');
    assert.not.ok(err.message.includes(WRONG));
    // So is a group name the sentinels do not know.
    const unknown = await failedStart({ ...redis, sentinel: { ...redis.sentinel, name: 'no-such-master' } }, env);
    assert.is(unknown.err.code, 'invalid_config');
    assert.match(unknown.err.message, 'site.redis.sentinel.name');
  } finally {
    await agent.stop();
    await sentinel.stop();
  }
  const text = lines.join('\n');
  for (const secret of [PASSWORD, SENTINEL_PASSWORD]) assert.not.ok(text.includes(secret), 'no password in the logs');
});

test.run();
