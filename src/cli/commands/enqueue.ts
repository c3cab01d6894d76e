import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/load-config.js';
import { resolveRedisEndpoint } from '../../agent/runtime.js';
import { connectRedis } from '../../adapters/redis-connection.js';
import { loadCredentials } from '../../config/credentials.js';
import { homedir } from 'node:os';
import { newId } from '../../domain/ids.js';
import { inboxKey } from '../../queues/inbox.js';
import { createResults } from '../../queues/results.js';
import { parseRequestJson, validateRequest } from '../../queues/validate-request.js';
import type { CliIo } from '../io.js';

const USAGE = 'usage: sync-agent enqueue NAME --data JSON|@FILE [--id ID] [--idempotency-key KEY] [--wait] [--timeout SECONDS] [--config PATH]';

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
      timeout: { type: 'string', default: '300' },
      config: { type: 'string' },
    },
  });
  const name = positionals[0];
  if (!name || positionals.length > 1) {
    io.err(USAGE);
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
      const entry = await results.get(id);
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
