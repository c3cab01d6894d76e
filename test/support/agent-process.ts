// Runs `sync-agent start` as a real child process for integration tests, and talks to it only
// through its public interfaces (HTTP, Redis streams, SQS, its logs).
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type AgentProcess = {
  child: ChildProcess;
  /** Every JSON log line the agent has written so far (parsed), and the raw stdout/stderr. */
  logs: Record<string, unknown>[];
  output(): string;
  /** Resolves when /readyz answers 200. */
  ready(timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM and wait for exit. */
  stop(timeoutMs?: number): Promise<number | string>;
  httpUrl: string;
};

/** Writes `config` as an ESM sync.config.js in `dir` and returns its path. */
export function writeConfig(dir: string, config: unknown, name = 'sync.config.mjs'): string {
  const path = join(dir, name);
  writeFileSync(path, `export default ${JSON.stringify(config, null, 2)};\n`);
  return path;
}

/** Starts the daemon from source through tsx with the given config file and environment. */
export function startAgent(opts: { configPath: string; httpPort: number; env?: Record<string, string>; args?: string[] }): AgentProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start', '--config', opts.configPath, ...(opts.args ?? [])], {
    env: { ...process.env, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let raw = '';
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    raw += d.toString();
    partial += d.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        /* not a log line */
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => (raw += d.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const httpUrl = `http://127.0.0.1:${opts.httpPort}`;
  return {
    child,
    logs,
    output: () => raw,
    httpUrl,
    exited,
    kill: (signal = 'SIGKILL') => {
      child.kill(signal);
    },
    stop: async (timeoutMs = 30_000) => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    ready: async (timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      let exitedEarly = false;
      void exited.then(() => (exitedEarly = true));
      for (;;) {
        if (exitedEarly) throw new Error(`agent exited before it was ready:\n${raw}`);
        try {
          const res = await fetch(`${httpUrl}/readyz`);
          if (res.status === 200) return;
        } catch {
          /* not listening yet */
        }
        if (Date.now() > deadline) throw new Error(`agent not ready within ${timeoutMs} ms:\n${raw}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

export { eventually } from './async.js';
