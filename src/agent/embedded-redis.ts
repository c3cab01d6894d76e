import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { SyncError } from '../domain/errors.js';
import type { Logger } from '../domain/ports.js';

export type EmbeddedRedis = {
  url: string;
  port: number;
  /** Stops the server (SHUTDOWN via SIGTERM, then SIGKILL after a timeout). Safe to call twice. */
  stop(): Promise<void>;
};

/** Finds a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Resolves when a Redis on `port` answers PING with PONG, or rejects after `timeoutMs`. */
export async function waitForRedis(port: number, timeoutMs = 10_000, host = '127.0.0.1'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect({ port, host }, () => sock.write('PING\r\n'));
      sock.setTimeout(500);
      sock.on('data', (d) => {
        sock.destroy();
        resolve(d.toString().startsWith('+PONG'));
      });
      sock.on('error', () => resolve(false));
      sock.on('timeout', () => {
        sock.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new SyncError('unavailable', `redis-server on 127.0.0.1:${port} did not answer PING within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** True when a `redis-server` binary is on PATH. */
export function hasRedisServer(binary = 'redis-server'): boolean {
  const r = spawnSync(binary, ['--version'], { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops a redis-server left running on `dir` by an agent that died without stopping it (its pid is in
 * `redis.pid`): two servers appending to one AOF would corrupt it. Returns the pid it stopped, if any.
 */
export async function stopLeftoverRedis(dir: string, logger?: Logger): Promise<number | undefined> {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dir, 'redis.pid'), 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 1 || !alive(pid)) return undefined;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    // No /proc (not Linux): trust the pidfile only if the process is a redis-server we can't inspect.
  }
  if (cmdline && !cmdline.includes('redis-server')) return undefined;
  logger?.warn('stopping a redis-server left running by an earlier agent on the same data folder', { pid, dir });
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 5_000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  return pid;
}

/**
 * Starts a private redis-server on a free loopback port with its data in `dir`
 * (append-only file on, so queued requests survive an agent restart).
 */
export async function startEmbeddedRedis(options: { dir: string; logger?: Logger; binary?: string; persist?: boolean }): Promise<EmbeddedRedis> {
  const binary = options.binary ?? 'redis-server';
  if (!hasRedisServer(binary)) {
    throw new SyncError(
      'unavailable',
      "site.redis is 'embedded' but no redis-server binary was found on PATH. Install it (Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`) or set site.redis.url to an existing Redis.",
    );
  }
  mkdirSync(options.dir, { recursive: true });
  await stopLeftoverRedis(options.dir, options.logger);
  const port = await freePort();
  const persist = options.persist ?? true;
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--protected-mode', 'yes',
    '--dir', options.dir,
    '--save', '',
    '--appendonly', persist ? 'yes' : 'no',
    '--logfile', join(options.dir, 'redis.log'),
    '--pidfile', join(options.dir, 'redis.pid'),
    '--daemonize', 'no',
  ];
  const child: ChildProcess = spawn(binary, args, { stdio: 'ignore' });
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  child.once('error', () => (exited = true));
  try {
    await waitForRedis(port);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  options.logger?.info('embedded redis-server started', { port, dir: options.dir });
  let stopping: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () =>
      (stopping ??= (async () => {
        if (exited) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exitPromise;
        clearTimeout(timer);
      })()),
  };
}
