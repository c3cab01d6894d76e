import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/load-config.js';
import { resolveRedisEndpoint } from '../../agent/runtime.js';
import { connectRedis } from '../../adapters/redis-connection.js';
import { loadCredentials } from '../../config/credentials.js';
import { homedir } from 'node:os';
import { createRequestQueue } from '../../queues/requests-queue.js';
import { createResults } from '../../queues/results.js';
import { silentLogger } from '../../adapters/logger.js';
import type { CliIo } from '../io.js';

/** `sync-agent status ID`: prints the request's final result, or where it stands while pending. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { config: { type: 'string' } } });
  const id = positionals[0];
  if (!id || positionals.length > 1) {
    io.err('usage: sync-agent status ID [--config PATH]');
    return 2;
  }
  const config = await loadConfig({ ...(values.config ? { configPath: values.config } : {}), cwd: io.cwd, env: io.env, allowDefaults: true });
  const credentials = await loadCredentials({ env: io.env, home: homedir(), ...(io.env.CREDENTIALS_DIRECTORY ? { credentialsDirectory: io.env.CREDENTIALS_DIRECTORY } : {}) });
  const endpoint = resolveRedisEndpoint(config, credentials, io.env);
  const prefix = config.site.queues.prefix;
  const redis = await connectRedis(endpoint, { name: 'sync-agent-cli' });
  try {
    const entry = await createResults(redis, prefix).get(id);
    if (entry) {
      io.out(JSON.stringify(entry, null, 2));
      return entry.status === 'completed' ? 0 : 1;
    }
    const queue = createRequestQueue({ connection: endpoint, prefix, attempts: 1, backoffMs: 0, logger: silentLogger });
    try {
      const state = await queue.state(id);
      if (state) {
        io.out(JSON.stringify({ id, status: state }, null, 2));
        return 0;
      }
    } finally {
      await queue.close();
    }
    io.err(`no request with id ${id} (unknown, or its result has expired)`);
    return 4;
  } finally {
    redis.disconnect();
  }
}
