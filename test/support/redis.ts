import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A private redis-server for one test file. */
export type TestRedis = {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** The data directory (a temp dir unless one was given). */
  dir: string;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its temp dir; safe to call twice. */
  stop(): Promise<void>;
  /** Sends a signal (default SIGKILL) without waiting: a crash, for durability tests. */
  kill(signal?: NodeJS.Signals): void;
  /** Stops the server if running and starts it again on the same port and directory. */
  restart(): Promise<void>;
};

/** A free TCP port on loopback, as the OS hands it out. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves true when a PING on `port` answers +PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ port, host: '127.0.0.1' });
    let data = '';
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      data += d.toString();
      if (data.includes('\r\n')) done(data.startsWith('+PONG'));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Spawns `redis-server` on a free loopback port (bound to 127.0.0.1, no RDB snapshots, AOF only
 * when `appendonly`), in a temp dir unless `dir` is given, and resolves once it answers PING.
 */
export async function startRedis(opts: { appendonly?: boolean; dir?: string; startTimeoutMs?: number } = {}): Promise<TestRedis> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'sync-agent-redis-')));
  const timeoutMs = opts.startTimeoutMs ?? 10_000;
  let port = await freePort();
  let child: ChildProcess | undefined;
  let log = '';

  const launch = async (): Promise<void> => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no', '--save', ''];
    args.push('--appendonly', opts.appendonly ? 'yes' : 'no');
    if (opts.appendonly) args.push('--appendfsync', 'always');
    log = '';
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
    proc.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`redis-server exited (${proc.exitCode ?? proc.signalCode}) on port ${port}:\n${log}`);
      if (await ping(port)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    proc.kill('SIGKILL');
    throw new Error(`redis-server did not answer PING on port ${port} within ${timeoutMs} ms:\n${log}`);
  };

  const halt = async () => {
    const proc = child;
    if (!proc) return;
    child = undefined;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    await exited(proc);
    clearTimeout(timer);
  };

  // Another process may grab the port between freePort() and the spawn; try a fresh one then.
  for (let attempt = 1; ; attempt++) {
    try {
      await launch();
      break;
    } catch (e) {
      await halt();
      if (attempt >= 3) {
        if (ownDir) await rm(dir, { recursive: true, force: true });
        throw e;
      }
      port = await freePort();
    }
  }

  let stopped: Promise<void> | undefined;
  return {
    get url() {
      return `redis://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    dir,
    stop() {
      stopped ??= (async () => {
        await halt();
        if (ownDir) await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
    kill(signal = 'SIGKILL') {
      child?.kill(signal);
    },
    async restart() {
      if (stopped) throw new Error('restart after stop');
      const proc = child;
      if (proc && proc.exitCode === null && proc.signalCode === null) await halt();
      else if (proc) await exited(proc);
      child = undefined;
      await launch();
    },
  };
}
