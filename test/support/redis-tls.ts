// Real redis-server processes the way users run them: TLS (rediss://) with a throwaway CA made by
// openssl at test time, ACL users, and redis-server in Sentinel mode. All on loopback, in a temp dir.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis.js';

/** A CA and a server certificate for localhost / 127.0.0.1 signed by it, as PEM files in `dir`. */
export type TestCerts = { dir: string; caCert: string; serverCert: string; serverKey: string; remove(): void };

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.error) throw new Error(`openssl is needed for the TLS tests (Debian: apt-get install openssl): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

/** Makes a throwaway CA (`name` in its subject) and a server certificate for localhost and 127.0.0.1. */
export function makeCerts(name = 'sync-agent test CA'): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'sync-redis-tls-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'server.ext'], dir);
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A redis-server (or sentinel) child process started by a test. */
export type ServerProcess = { port: number; dir: string; log(): string; stop(): Promise<void> };

/**
 * Starts `redis-server` with `conf` (redis.conf lines; `port`/`tls-port` are added from `port`) and
 * resolves once it logs that it accepts connections (PING cannot tell under TLS or requirepass).
 */
export async function startServer(opts: { conf: string[]; tls?: TestCerts; sentinel?: boolean; timeoutMs?: number }): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), opts.sentinel ? 'sync-sentinel-' : 'sync-redis-'));
  const port = await freePort();
  const lines = ['bind 127.0.0.1', `dir ${dir}`, 'save ""', 'appendonly no', 'daemonize no'];
  if (opts.sentinel) lines.splice(2, 2);
  if (opts.tls) {
    lines.push('port 0', `tls-port ${port}`, `tls-cert-file ${opts.tls.serverCert}`, `tls-key-file ${opts.tls.serverKey}`, `tls-ca-cert-file ${opts.tls.caCert}`, 'tls-auth-clients no');
  } else lines.push(`port ${port}`);
  lines.push(...opts.conf);
  const confPath = join(dir, opts.sentinel ? 'sentinel.conf' : 'redis.conf');
  writeFileSync(confPath, lines.join('\n') + '\n');
  const child: ChildProcess = spawn('redis-server', [confPath, ...(opts.sentinel ? ['--sentinel'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = opts.sentinel ? /Sentinel ID is|\+monitor master/ : /Ready to accept connections/;
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  while (!ready.test(out)) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`redis-server exited (${child.exitCode ?? child.signalCode}):\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not start within ${opts.timeoutMs ?? 10_000} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  let stopped: Promise<void> | undefined;
  return {
    port,
    dir,
    log: () => out,
    stop: () =>
      (stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        }
        rmSync(dir, { recursive: true, force: true });
      })()),
  };
}
