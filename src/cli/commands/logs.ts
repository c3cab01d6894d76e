import { createAwsClients } from '../../adapters/aws-clients.js';
import { createEmrPlatform } from '../../adapters/emr-platform.js';
import { createFileObjectStore } from '../../adapters/file-object-store.js';
import { createObjectStoreRouter } from '../../adapters/object-store-router.js';
import { createS3ObjectStore } from '../../adapters/s3-object-store.js';
import { createStateStore } from '../../adapters/state-store.js';
import { loadConfig } from '../../config/load-config.js';
import { toSyncError } from '../../domain/errors.js';
import type { ObjectStore, Platform, StateStore } from '../../domain/ports.js';
import type { RunLogsData } from '../../domain/requests.js';
import { LOG_STREAMS, type LogStream } from '../../domain/run-steps.js';
import { readRunLog } from '../../handlers/run-logs.js';
import { parseCommand } from '../args.js';
import type { CliIo } from '../io.js';

const USAGE = 'usage: sync-agent logs PROJECT_ID RUN_ID [--step STEP_ID] [--stream stdout|stderr|controller] [--offset N] [--follow] [--config PATH]';

/**
 * Prints a step's log from `offset`; with `follow`, keeps reading from the next offset until the step
 * has ended and its log is read to the end (or `maxPolls` reads). Prints whole lines only, the last
 * partial line once the log is done. Resolves with the offset reached.
 */
export async function printLog(
  deps: { state: StateStore; objects: ObjectStore; platform: Platform },
  query: RunLogsData,
  write: (line: string) => void,
  opts: { follow: boolean; pollMs?: number; maxPolls?: number; signal?: AbortSignal } = { follow: false },
): Promise<{ offset: number; done: boolean }> {
  let offset = query.offset ?? 0;
  let partial = '';
  const maxPolls = opts.maxPolls ?? 100_000;
  for (let poll = 0; poll < maxPolls && !opts.signal?.aborted; poll++) {
    const r = await readRunLog(deps, { ...query, offset }, opts.signal ? { signal: opts.signal } : {});
    const text = partial + r.text;
    const cut = text.lastIndexOf('\n');
    if (cut >= 0) write(text.slice(0, cut));
    partial = text.slice(cut + 1);
    offset = r.nextOffset;
    const more = r.nextOffset > r.offset;
    if (r.done || (!opts.follow && !more)) {
      if (partial !== '') write(partial);
      return { offset, done: r.done };
    }
    if (!more) await new Promise((resolve) => setTimeout(resolve, opts.pollMs ?? 2000));
  }
  if (partial !== '') write(partial);
  return { offset, done: false };
}

/** `sync-agent logs PROJECT RUN`: a step's log from the cluster's LogUri (gzip-aware, by offset); `--follow` tails it until the step ends. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const parsed = parseCommand(argv, io, USAGE, {
    config: { type: 'string' },
    step: { type: 'string' },
    stream: { type: 'string', default: 'stdout' },
    offset: { type: 'string' },
    follow: { type: 'boolean', short: 'f', default: false },
  });
  if ('exit' in parsed) return parsed.exit;
  const { values, positionals } = parsed;
  const [projectId, runId] = positionals;
  if (!projectId || !runId || positionals.length > 2) {
    io.err(USAGE);
    return 2;
  }
  if (!LOG_STREAMS.includes(values.stream as LogStream)) {
    io.err(`--stream must be one of ${LOG_STREAMS.join(', ')}, not '${values.stream}'`);
    return 2;
  }
  const offset = values.offset === undefined ? 0 : Number(values.offset);
  if (!Number.isSafeInteger(offset) || offset < 0) {
    io.err(`--offset must be a non-negative integer, not '${values.offset}'`);
    return 2;
  }
  const config = await loadConfig({ ...(values.config ? { configPath: values.config } : {}), cwd: io.cwd, env: io.env, allowDefaults: true });
  const aws = createAwsClients({ region: config.site.aws.region, endpoints: config.site.aws.endpoints, s3ForcePathStyle: config.site.aws.s3ForcePathStyle });
  try {
    const objects = createObjectStoreRouter({ file: createFileObjectStore(), s3: createS3ObjectStore({ client: aws.s3 }) });
    const deps = { state: createStateStore(config.tenant.state, { objectStore: objects }), objects, platform: createEmrPlatform({ client: aws.emr, region: config.site.aws.region }) };
    const query: RunLogsData = { projectId, runId, stream: values.stream as LogStream, offset };
    if (values.step !== undefined) query.stepId = values.step;
    await printLog(deps, query, (line) => io.out(line), { follow: values.follow });
    return 0;
  } catch (e) {
    const err = toSyncError(e);
    io.err(`sync-agent logs: ${err.message}`);
    return err.code === 'not_found' ? 4 : 1;
  } finally {
    aws.emr.destroy();
    aws.s3.destroy();
    aws.sqs.destroy();
  }
}
