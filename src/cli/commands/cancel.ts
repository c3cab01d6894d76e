import { parseCommand } from '../args.js';
import type { CliIo } from '../io.js';
import { run as enqueue } from './enqueue.js';

const USAGE = 'usage: sync-agent cancel PROJECT_ID RUN_ID [--reason TEXT] [--keep-cluster] [--no-wait] [--timeout SECONDS] [--config PATH]';

/** The enqueue arguments of a cancel: one idempotency key per run, so asking twice answers the same. */
export function cancelRequestArgs(projectId: string, runId: string, opts: { by: string; reason?: string; keepCluster: boolean; wait: boolean; timeout: string; config?: string }): string[] {
  const data: Record<string, unknown> = { projectId, runId, by: opts.by };
  if (opts.reason !== undefined) data.reason = opts.reason;
  if (opts.keepCluster) data.terminate = false;
  return [
    'run.cancel',
    '--data',
    JSON.stringify(data),
    '--idempotency-key',
    `cancel:${projectId}:${runId}`,
    ...(opts.wait ? ['--wait', '--timeout', opts.timeout] : []),
    ...(opts.config !== undefined ? ['--config', opts.config] : []),
  ];
}

/** `sync-agent cancel PROJECT RUN`: enqueues run.cancel (cancels the run's steps and terminates its cluster) and waits for the answer. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const parsed = parseCommand(argv, io, USAGE, {
    reason: { type: 'string' },
    'keep-cluster': { type: 'boolean', default: false },
    'no-wait': { type: 'boolean', default: false },
    timeout: { type: 'string', default: '120' },
    config: { type: 'string' },
  });
  if ('exit' in parsed) return parsed.exit;
  const { values, positionals } = parsed;
  const [projectId, runId] = positionals;
  if (!projectId || !runId || positionals.length > 2) {
    io.err(USAGE);
    return 2;
  }
  if (!/^\d+(\.\d+)?$/.test(values.timeout) || Number(values.timeout) <= 0) {
    io.err(`--timeout must be a positive number of seconds, not '${values.timeout}'\n${USAGE}`);
    return 2;
  }
  const by = `cli:${io.env.USER ?? io.env.LOGNAME ?? 'unknown'}`;
  return enqueue(
    cancelRequestArgs(projectId, runId, {
      by,
      keepCluster: values['keep-cluster'],
      wait: !values['no-wait'],
      timeout: values.timeout,
      ...(values.reason !== undefined ? { reason: values.reason } : {}),
      ...(values.config !== undefined ? { config: values.config } : {}),
    }),
    io,
  );
}
