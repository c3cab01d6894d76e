// Step logs as EMR uploads them: under `{LogUri}{clusterId}/steps/{stepId}/`, `controller.gz`,
// `stderr.gz` and `stdout.gz`, each grown every few minutes by one more gzip member (a multi-member
// gzip file decompresses to the whole log so far).
import { gzipSync } from 'node:zlib';
import { isSyncError } from '../domain/errors.js';
import type { ObjectStore } from '../domain/ports.js';
import type { SimClock } from './sim-clock.js';

/** How often the simulated log pusher uploads (simulated ms), as EMR's does every few minutes. */
export const LOG_PUSH_MS = 5 * 60_000;
/** One stderr progress line per this many simulated ms. */
const LINE_MS = 30_000;

export type StepLogStream = 'controller' | 'stderr' | 'stdout';

const stamp = (ms: number) => {
  const d = new Date(ms).toISOString();
  return `${d.slice(2, 4)}/${d.slice(5, 7)}/${d.slice(8, 10)} ${d.slice(11, 19)}`;
};

/** Log lines of one stream for the simulated interval [from, to): deterministic, one stderr line per 30 s. */
export function stepLogText(stream: StepLogStream, step: { id: string; name: string; args: readonly string[] }, from: number, to: number, end?: { failure?: string }): string {
  const lines: string[] = [];
  if (stream === 'controller' && from === to && end === undefined) lines.push(`${new Date(from).toISOString()} INFO startExec 'hadoop jar command-runner.jar ${step.args.join(' ')}'`);
  if (stream === 'stderr') {
    for (let t = Math.ceil(from / LINE_MS) * LINE_MS; t < to; t += LINE_MS) lines.push(`${stamp(t)} INFO Client: Application report for step ${step.id} (${step.name}) (state: RUNNING)`);
  }
  if (end) {
    if (stream === 'stderr' && end.failure !== undefined) lines.push(`${stamp(to)} ERROR Client: ${end.failure}`, `Exception in thread "main" org.apache.spark.SparkException: ${end.failure}`);
    if (stream === 'stdout') lines.push(`step ${step.id} ${end.failure === undefined ? 'finished' : 'failed'}`);
    if (stream === 'controller') lines.push(`${new Date(to).toISOString()} INFO Step ${end.failure === undefined ? 'succeeded with exitCode 0' : 'failed with exitCode 1'} and took ${Math.round((to - from) / 1000)} seconds`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** A step's log pusher: uploads what was logged since the last push, every LOG_PUSH_MS, and once more at the end. */
export type StepLogs = { close(at: number, failure?: string): Promise<void> };

/** Starts pushing one step's logs under `prefix` (`{LogUri}{clusterId}/steps/{stepId}/`) from simulated time `start`. */
export function startStepLogs(opts: {
  objects: ObjectStore;
  clock: SimClock;
  prefix: string;
  step: { id: string; name: string; args: readonly string[] };
  start: number;
  signal: AbortSignal;
  onError: (e: unknown, where: string) => void;
}): StepLogs {
  const { objects, prefix, step, start } = opts;
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  opts.signal.addEventListener('abort', onAbort, { once: true });
  let pushedTo = start;
  let chain: Promise<void> = Promise.resolve();

  const append = async (stream: StepLogStream, text: string) => {
    if (text === '') return;
    const url = `${prefix}${stream}.gz`;
    let old: Buffer = Buffer.alloc(0);
    try {
      old = (await objects.get(url)).body;
    } catch (e) {
      if (!isSyncError(e, 'not_found')) throw e;
    }
    await objects.put(url, Buffer.concat([old, gzipSync(text)]), { contentType: 'application/gzip' });
  };
  // Pushes run one after another, so parts land in order.
  const push = (to: number, end?: { failure?: string }) => {
    const from = pushedTo;
    pushedTo = to;
    chain = chain.then(async () => {
      for (const stream of ['controller', 'stderr', 'stdout'] as const) {
        try {
          await append(stream, stepLogText(stream, step, from, to, end));
        } catch (e) {
          opts.onError(e, `step log ${prefix}${stream}.gz`);
        }
      }
    });
    return chain;
  };

  void push(start);
  void (async () => {
    for (let t = start + LOG_PUSH_MS; !stop.signal.aborted; t += LOG_PUSH_MS) {
      try {
        await opts.clock.at(t, () => (stop.signal.aborted ? undefined : push(t)), stop.signal);
      } catch {
        return;
      }
    }
  })();

  let closed: Promise<void> | undefined;
  return {
    close(at, failure) {
      closed ??= (async () => {
        stop.abort();
        opts.signal.removeEventListener('abort', onAbort);
        await push(Math.max(at, pushedTo), failure === undefined ? {} : { failure });
      })();
      return closed;
    },
  };
}
