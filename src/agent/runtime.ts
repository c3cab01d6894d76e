import { mkdirSync, readFileSync, renameSync, writeFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { redisEndpoint, type RedisEndpoint } from '../adapters/redis-connection.js';
import type { Config, Credentials } from '../config/types.js';
import { SyncError } from '../domain/errors.js';

/** What a running agent publishes about itself for the CLI (embedded Redis has a random port). */
export type RuntimeInfo = { pid: number; redisUrl: string; httpUrl?: string; startedAt: string };

/** The folder of the embedded redis-server: site.redis.dir, else beside a file:// state, else ~/.sync-agent/redis. */
export function embeddedRedisDir(config: Config, env: Readonly<Record<string, string | undefined>> = process.env): string {
  if ('embedded' in config.site.redis && config.site.redis.dir) return config.site.redis.dir;
  if (config.tenant.state.startsWith('file://')) return join(dirname(fileURLToPath(config.tenant.state)), 'redis');
  if (env.STATE_DIRECTORY) return join(env.STATE_DIRECTORY.split(':')[0]!, 'redis');
  return join(homedir(), '.sync-agent', 'redis');
}

const runtimeFile = (config: Config, env?: Readonly<Record<string, string | undefined>>) => join(embeddedRedisDir(config, env), 'agent-runtime.json');

/** Publishes the running agent's addresses (atomically) so `sync-agent enqueue/status` can find them. */
export function writeRuntimeInfo(config: Config, info: RuntimeInfo): void {
  const file = runtimeFile(config);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file + '.tmp', JSON.stringify(info) + '\n', { mode: 0o600 });
  renameSync(file + '.tmp', file);
}

/** Removes the runtime file on shutdown. */
export function clearRuntimeInfo(config: Config): void {
  rmSync(runtimeFile(config), { force: true });
}

/** The Redis a CLI command should use: the configured one (with its passwords), or the running agent's embedded one. */
export function resolveRedisEndpoint(
  config: Config,
  credentials: Pick<Credentials, 'redisPassword' | 'redisSentinelPassword'>,
  env: Readonly<Record<string, string | undefined>> = process.env,
): RedisEndpoint {
  if (!('embedded' in config.site.redis)) return redisEndpoint(config.site.redis, credentials);
  return { url: embeddedRedisUrl(config, env) };
}

/** The URL of the running agent's embedded redis-server, or the configured server URL (no user, no password). */
export function resolveRedisUrl(config: Config, env: Readonly<Record<string, string | undefined>> = process.env): string {
  if ('url' in config.site.redis) return config.site.redis.url;
  if ('sentinel' in config.site.redis) throw new SyncError('invalid_config', 'site.redis names a Sentinel group, which has no single URL; use resolveRedisEndpoint');
  return embeddedRedisUrl(config, env);
}

function embeddedRedisUrl(config: Config, env: Readonly<Record<string, string | undefined>>): string {
  const file = runtimeFile(config, env);
  let info: RuntimeInfo;
  try {
    info = JSON.parse(readFileSync(file, 'utf8')) as RuntimeInfo;
  } catch {
    throw new SyncError('unavailable', `site.redis is 'embedded' and no running agent was found (no ${file}); start it with \`sync-agent start\``);
  }
  return info.redisUrl;
}
