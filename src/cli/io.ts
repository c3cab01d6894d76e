import type { Interface } from 'node:readline';
import { isSyncError } from '../domain/errors.js';
/** What a CLI command may touch of the process: its output streams, environment and working folder. */
export type CliIo = {
  out(text: string): void;
  err(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Interactive input, when stdin is a TTY. */
  prompt?: (question: string) => Promise<string>;
};

/**
 * How a command ends on an error it caught: a SyncError is one line on stderr,
 * `sync-agent <command>: <code>: <message>`, and exit 1; anything else is a bug and is rethrown.
 */
export function syncErrorExit(io: CliIo, command: string, e: unknown): 1 {
  if (isSyncError(e)) {
    io.err(`sync-agent ${command}: ${e.code}: ${e.message}`);
    return 1;
  }
  throw e;
}

/** The real process's IO. */
export function processIo(): CliIo {
  return {
    out: (t) => process.stdout.write(t.endsWith('\n') ? t : t + '\n'),
    err: (t) => process.stderr.write(t.endsWith('\n') ? t : t + '\n'),
    env: process.env,
    cwd: process.cwd(),
    ...(process.stdin.isTTY ? { prompt: ttyPrompt } : {}),
  };
}

type Terminal = { rl: Interface; lines: string[]; waiting?: ((line: string | null) => void) | undefined; closed: boolean };
let terminal: Terminal | undefined;

// One interface for the process, with a queue so that type-ahead and pasted lines are not dropped, and
// paused between questions so that an idle stdin does not keep the process alive.
async function ttyPrompt(question: string): Promise<string> {
  if (!terminal) {
    const { createInterface } = await import('node:readline');
    const t: Terminal = { rl: createInterface({ input: process.stdin, output: process.stdout }), lines: [], closed: false };
    t.rl.on('line', (line) => {
      const w = t.waiting;
      t.waiting = undefined;
      if (w) w(line);
      else t.lines.push(line);
    });
    t.rl.on('close', () => {
      t.closed = true;
      t.waiting?.(null);
    });
    terminal = t;
  }
  const t = terminal;
  process.stdout.write(question);
  const queued = t.lines.shift();
  if (queued !== undefined) {
    process.stdout.write(queued + '\n');
    return queued;
  }
  if (t.closed) throw new Error('stdin closed before an answer was given');
  t.rl.resume();
  const line = await new Promise<string | null>((resolve) => (t.waiting = resolve));
  t.rl.pause();
  if (line === null) throw new Error('stdin closed before an answer was given');
  return line;
}

/** An IO that records output, for tests. */
export function memoryIo(env: Record<string, string | undefined> = {}, cwd = process.cwd()): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { out: (t) => stdout.push(t), err: (t) => stderr.push(t), env, cwd, stdout, stderr };
}
