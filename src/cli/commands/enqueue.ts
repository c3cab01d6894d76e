import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/load-config.js';
import { resolveRedisEndpoint } from '../../agent/runtime.js';
import { connectRedis } from '../../adapters/redis-connection.js';
import { loadCredentials } from '../../config/credentials.js';
import { homedir } from 'node:os';
import { newId } from '../../domain/ids.js';
import { inboxKey } from '../../queues/inbox.js';
import { idempotencyKeyOf } from '../../queues/requests-queue.js';
import { createResults } from '../../queues/results.js';
import { parseRequestJson, validateRequest } from '../../queues/validate-request.js';
import type { CliIo } from '../io.js';
import type { Config } from '../../config/types.js';
import { createFileObjectStore } from '../../adapters/file-object-store.js';
import { createObjectStoreRouter } from '../../adapters/object-store-router.js';
import { createS3ObjectStore } from '../../adapters/s3-object-store.js';
import { createStateStore } from '../../adapters/state-store.js';
import { createAwsClients } from '../../adapters/aws-clients.js';
import { isSyncError } from '../../domain/errors.js';
import { findRunAnywhere } from '../../handlers/find-run.js';
import type { ResultEntry } from '../../queues/results.js';
import { FINAL_RUN_STATUSES, WAIT_UNTIL, runView, startedRun, waitForRun } from '../../queues/run-wait.js';

const USAGE =
  'usage: sync-agent enqueue NAME --data JSON|@FILE [--id ID] [--idempotency-key KEY] [--wait [--until started|recorded]] [--timeout SECONDS] [--config PATH]';

/** The requests whose result names a run they started, so that `--until recorded` can wait for it. */
const RUN_STARTING = ['run.start', 'prediction.apply', 'project.iterate'] as const;

/** `sync-agent enqueue`: validates a request locally, adds it to `<prefix>:inbox`, prints its id (and, with --wait, its result). */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      data: { type: 'string' },
      id: { type: 'string' },
      'idempotency-key': { type: 'string' },
      wait: { type: 'boolean', default: false },
      until: { type: 'string', default: 'started' },
      timeout: { type: 'string', default: '300' },
      config: { type: 'string' },
    },
  });
  const name = positionals[0];
  if (!name || positionals.length > 1) {
    io.err(USAGE);
    return 2;
  }
  if (!(WAIT_UNTIL as readonly string[]).includes(values.until)) {
    io.err(`--until must be one of ${WAIT_UNTIL.join(', ')}, not '${values.until}'\n${USAGE}`);
    return 2;
  }
  if (values.until === 'recorded' && !values.wait) {
    io.err(`--until recorded needs --wait\n${USAGE}`);
    return 2;
  }
  if (values.until === 'recorded' && !(RUN_STARTING as readonly string[]).includes(name)) {
    // Refused before it is sent: the request would run, then the wait would have no run to wait for.
    io.err(`--until recorded waits for the run a request starts (${RUN_STARTING.join(', ')}); ${name} starts none\n${USAGE}`);
    return 2;
  }
  if (!/^\d+(\.\d+)?$/.test(values.timeout) || Number(values.timeout) <= 0) {
    io.err(`--timeout must be a positive number of seconds, not '${values.timeout}'\n${USAGE}`);
    return 2;
  }
  const dataText = values.data === undefined ? '{}' : values.data.startsWith('@') ? await readFile(values.data.slice(1), 'utf8') : values.data;
  const id = values.id ?? newId('req');
  const envelope = {
    id,
    name,
    data: parseRequestJson(dataText),
    ...(values['idempotency-key'] ? { idempotencyKey: values['idempotency-key'] } : {}),
  };
  // Same validation the agent applies: a bad request is refused here, with the field named, before it is sent.
  validateRequest(envelope);
  const config = await loadConfig({ ...(values.config ? { configPath: values.config } : {}), cwd: io.cwd, env: io.env, allowDefaults: true });
  const prefix = config.site.queues.prefix;
  const credentials = await loadCredentials({ env: io.env, home: homedir(), ...(io.env.CREDENTIALS_DIRECTORY ? { credentialsDirectory: io.env.CREDENTIALS_DIRECTORY } : {}) });
  const endpoint = resolveRedisEndpoint(config, credentials, io.env);
  const redis = await connectRedis(endpoint, { name: 'sync-agent-cli' });
  try {
    await redis.xadd(inboxKey(prefix), '*', 'request', JSON.stringify(envelope));
    if (!values.wait) {
      io.out(id);
      return 0;
    }
    const results = createResults(redis, prefix);
    const deadline = Date.now() + Number(values.timeout) * 1000;
    for (;;) {
      let entry = await results.get(id);
      // A request whose idempotency key an earlier request holds is answered by that request (the
      // agent enqueues it as a duplicate of the owner): wait for the owner's result instead.
      if (!entry && values['idempotency-key']) {
        const owner = await redis.get(idempotencyKeyOf(prefix, values['idempotency-key']));
        if (owner !== null && owner !== id) entry = await results.get(owner);
      }
      if (entry && values.until === 'recorded' && entry.status === 'completed') return await untilRecorded(entry, config, deadline, values.timeout, io);
      if (entry) {
        io.out(JSON.stringify(entry, null, 2));
        return entry.status === 'completed' ? 0 : 1;
      }
      if (Date.now() > deadline) {
        io.err(`request ${id} has no result after ${values.timeout} s (it is still queued or running; check with: sync-agent status ${id})`);
        return 3;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    redis.disconnect();
  }
}

/**
 * `--until recorded`: after a run.start's result, reads the run from the project state until it is
 * recorded, failed or cancelled. Prints the result with `run` (its status, and how it ended); exit 0
 * when recorded, 1 when failed or cancelled, 3 when the timeout passes first.
 */
async function untilRecorded(entry: ResultEntry, config: Config, deadline: number, timeout: string, io: CliIo): Promise<number> {
  const target = startedRun(entry);
  if (!target) {
    io.out(JSON.stringify(entry, null, 2));
    io.err(`--until recorded waits for the run a run.start started; request ${entry.id} (${entry.name}) started none`);
    return 1;
  }
  const aws = createAwsClients({ region: config.site.aws.region, endpoints: config.site.aws.endpoints, s3ForcePathStyle: config.site.aws.s3ForcePathStyle });
  try {
    const state = createStateStore(config.tenant.state, { objectStore: createObjectStoreRouter({ file: createFileObjectStore(), s3: createS3ObjectStore({ client: aws.s3 }) }) });
    const read = async () => {
      try {
        return (await findRunAnywhere(state, target.projectId, target.runId))?.run;
      } catch (e) {
        if (isSyncError(e, 'not_found')) return undefined;
        throw e;
      }
    };
    const run = await waitForRun(read, { deadline, pollMs: 1000 });
    const done = run !== undefined && FINAL_RUN_STATUSES.has(run.status);
    io.out(JSON.stringify({ ...entry, run: run ? runView(run) : { id: target.runId, projectId: target.projectId, status: 'unknown' }, recorded: done }, null, 2));
    if (!done) {
      io.err(`run ${target.runId} of project ${target.projectId} is not recorded after ${timeout} s (status ${run?.status ?? 'unknown'}); check with: sync-agent runs ${target.projectId}`);
      return 3;
    }
    return run.status === 'recorded' ? 0 : 1;
  } finally {
    aws.emr.destroy();
    aws.s3.destroy();
    aws.sqs.destroy();
  }
}
