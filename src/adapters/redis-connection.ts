// The one place that turns site.redis (plus the passwords from credentials) into ioredis options, so that
// every connection -- the agent's own, BullMQ's Queue and Worker (whose blocking connection is a
// duplicate() of the one given here), the inbox reader, the CLI -- gets the same TLS, ACL user and Sentinel.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Redis, type RedisOptions } from 'ioredis';
import type { Credentials, RedisSentinelConfig, RedisServerConfig, RedisTlsConfig } from '../config/types.js';
import { SyncError } from '../domain/errors.js';

/**
 * Where and how to reach Redis: a server URL (TLS when rediss://) or a Sentinel group, with the ACL
 * user and the password from credentials. `{ url }` alone is a plain server (tests, the embedded one).
 * Holds secrets: pass it to openRedis, never to a logger.
 */
export type RedisEndpoint =
  | (RedisServerConfig & { password?: string })
  | (Omit<RedisSentinelConfig, 'sentinel'> & { sentinel: RedisSentinelConfig['sentinel'] & { password?: string }; password?: string });

/** site.redis (an existing server or Sentinel, not embedded) with the Redis and Sentinel passwords from credentials. */
export function redisEndpoint(redis: RedisServerConfig | RedisSentinelConfig, credentials: Pick<Credentials, 'redisPassword' | 'redisSentinelPassword'>): RedisEndpoint {
  const password = credentials.redisPassword ? { password: credentials.redisPassword } : {};
  if ('url' in redis) return { ...redis, ...password };
  const sentinelPassword = credentials.redisSentinelPassword ? { password: credentials.redisSentinelPassword } : {};
  return { ...redis, sentinel: { ...redis.sentinel, ...sentinelPassword }, ...password };
}

/** Where `endpoint` points, for logs and error messages: host:port or the Sentinel group, never a user or password. */
export function describeEndpoint(endpoint: RedisEndpoint): string {
  if ('url' in endpoint) {
    try {
      const u = new URL(endpoint.url);
      return `${u.protocol}//${u.host}${u.pathname.length > 1 ? u.pathname : ''}`;
    } catch {
      return 'the configured Redis URL';
    }
  }
  return `Sentinel master '${endpoint.sentinel.name}' via ${endpoint.sentinel.sentinels.map((s) => `${s.host}:${s.port}`).join(', ')}`;
}

/** Warnings a configuration deserves at every start (TLS without certificate checks). */
export function redisWarnings(redis: RedisServerConfig | RedisSentinelConfig | { embedded: true }): string[] {
  const out: string[] = [];
  if ('embedded' in redis) return out;
  const off = (tls: RedisTlsConfig | undefined) => tls !== undefined && !tls.rejectUnauthorized;
  if (off(redis.tls)) out.push('site.redis.tls.rejectUnauthorized is false: the Redis server certificate is NOT verified, so anyone on the network path can impersonate it and read the queues; set tls.ca to the server CA instead');
  if ('sentinel' in redis && off(redis.sentinel.tls)) out.push('site.redis.sentinel.tls.rejectUnauthorized is false: the Sentinel certificates are NOT verified, so anyone on the network path can redirect the agent to another Redis; set sentinel.tls.ca instead');
  return out;
}

/** How one connection behaves; all connections share the endpoint's TLS, user and Sentinel settings. */
export type OpenRedisOptions = {
  /** CLIENT SETNAME, to tell the agent's connections apart in CLIENT LIST. */
  name?: string;
  /** Commands fail at once while disconnected instead of waiting in the offline queue. */
  failFast?: boolean;
  /** Do not connect until the first command or connect(). */
  lazy?: boolean;
  /** Default null (no limit), as BullMQ requires; the CLI uses a small number. */
  maxRetriesPerRequest?: number | null;
};

function tlsOptions(tls: RedisTlsConfig | undefined, host: string | undefined, what: string): ConnectionOptions {
  const t = tls ?? { rejectUnauthorized: true };
  const out: ConnectionOptions = { rejectUnauthorized: t.rejectUnauthorized };
  if (t.ca !== undefined) {
    try {
      out.ca = readFileSync(t.ca);
    } catch (e) {
      throw new SyncError('invalid_config', `${what}.ca: cannot read the CA file ${t.ca} (${(e as { code?: string }).code ?? 'error'})`, { cause: e });
    }
  }
  // Node checks the certificate against the host connected to; SNI may not be an IP address.
  if (t.servername !== undefined) out.servername = t.servername;
  else if (host !== undefined && isIP(host) === 0) out.servername = host;
  return out;
}

/** The ioredis options for `endpoint` (reads a configured CA file; throws SyncError 'invalid_config' if it cannot). */
export function redisOptions(endpoint: RedisEndpoint, options: OpenRedisOptions = {}): RedisOptions {
  const common: RedisOptions = {
    maxRetriesPerRequest: options.maxRetriesPerRequest === undefined ? null : options.maxRetriesPerRequest,
    ...(options.failFast ? { enableOfflineQueue: false } : {}),
    ...(options.lazy ? { lazyConnect: true } : {}),
    ...(options.name ? { connectionName: options.name } : {}),
  };
  if ('url' in endpoint) {
    let u: URL;
    try {
      u = new URL(endpoint.url);
    } catch {
      throw new SyncError('invalid_config', 'site.redis.url is not a valid URL');
    }
    if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new SyncError('invalid_config', `site.redis.url must be redis:// or rediss://, got ${u.protocol}//`);
    const host = u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
    const db = Number(u.pathname.slice(1) || '0');
    const username = endpoint.username ?? (u.username ? decodeURIComponent(u.username) : undefined);
    const password = endpoint.password ?? (u.password ? decodeURIComponent(u.password) : undefined);
    return {
      ...common,
      host,
      port: Number(u.port || 6379),
      ...(Number.isInteger(db) && db > 0 ? { db } : {}),
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
      ...(u.protocol === 'rediss:' ? { tls: tlsOptions(endpoint.tls, host, 'site.redis.tls') } : {}),
    };
  }
  const s = endpoint.sentinel;
  return {
    ...common,
    name: s.name,
    sentinels: s.sentinels.map((x) => ({ host: x.host, port: x.port })),
    ...(endpoint.db ? { db: endpoint.db } : {}),
    ...(endpoint.username ? { username: endpoint.username } : {}),
    ...(endpoint.password ? { password: endpoint.password } : {}),
    // ioredis uses `tls` for the master only together with enableTLSForSentinelMode.
    ...(endpoint.tls ? { tls: tlsOptions(endpoint.tls, undefined, 'site.redis.tls'), enableTLSForSentinelMode: true } : {}),
    ...(s.username ? { sentinelUsername: s.username } : {}),
    ...(s.password ? { sentinelPassword: s.password } : {}),
    ...(s.tls ? { sentinelTLS: tlsOptions(s.tls, undefined, 'site.redis.sentinel.tls') } : {}),
    // Ask the sentinels again at once after a failover rather than keep a stale master address.
    sentinelRetryStrategy: (times: number) => Math.min(times * 200, 2000),
  };
}

/** Opens an ioredis connection to `endpoint`; every Redis connection of the agent and the CLI is made here. */
export function openRedis(endpoint: RedisEndpoint, options: OpenRedisOptions = {}): Redis {
  return new Redis(redisOptions(endpoint, options));
}

const TLS_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

/** What kind of failure a Redis connection error is: a setting to fix (tls, auth, config) or a passing outage. */
export type RedisFailureKind = 'tls' | 'auth' | 'config' | 'unreachable';

/** The SyncError code for a failure kind. */
function codeOf(kind: RedisFailureKind): 'invalid_config' | 'access_denied' | 'unavailable' {
  return kind === 'auth' ? 'access_denied' : kind === 'unreachable' ? 'unavailable' : 'invalid_config';
}

/**
 * Classifies a connection error and says what to check, naming settings and credential sources,
 * never their values. `tls`, `auth` and `config` failures do not heal by retrying.
 */
export function describeRedisError(err: unknown, endpoint: RedisEndpoint): { kind: RedisFailureKind; message: string } {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  const raw = (typeof e?.message === 'string' ? e.message : String(err)).split('\n')[0]!;
  // ioredis reports a Sentinel failure as "All sentinels are unreachable. Retrying ... Last error: <the sentinel's answer>".
  const viaSentinels = 'sentinel' in endpoint && raw.startsWith('All sentinels are unreachable');
  const text = raw.replace(/ Retrying from scratch after \d+ms\./, '').replace(/\.+$/, '');
  const where = describeEndpoint(endpoint);
  const tlsKey = viaSentinels ? 'site.redis.sentinel.tls' : 'site.redis.tls';
  if (TLS_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || /certificate|SSL routines|TLS/i.test(text)) {
    return {
      kind: 'tls',
      message: `TLS connection to Redis (${where}) failed: ${text}${code && !text.includes(code) ? ` (${code})` : ''}. Check ${tlsKey}.ca (the CA that signed the server certificate), ${tlsKey}.servername (the name in it), and that the server speaks TLS on that port`,
    };
  }
  if (/WRONGPASS|NOAUTH|NOPERM|invalid username-password|invalid password|AUTH failed|no password is set/i.test(text)) {
    return {
      kind: 'auth',
      message: viaSentinels
        ? `the Redis Sentinels (${where}) refused the agent's credentials: ${text}. Check site.redis.sentinel.username and the Sentinel password in SYNC_REDIS_SENTINEL_PASSWORD, $CREDENTIALS_DIRECTORY/redis-sentinel-password or ~/.sync/credentials`
        : `Redis (${where}) refused the agent's credentials: ${text}. Check site.redis.username and the password in SYNC_REDIS_PASSWORD, $CREDENTIALS_DIRECTORY/redis-password or ~/.sync/credentials`,
    };
  }
  if (viaSentinels && /No such master/i.test(text)) {
    return { kind: 'config', message: `the Redis Sentinels (${where}) know no master of that name: ${text}. Check site.redis.sentinel.name` };
  }
  // A plain client talking to a TLS port sees the server hang up on it.
  const plain = 'url' in endpoint && endpoint.url.startsWith('redis:') && (code === 'ECONNRESET' || /Connection is closed/.test(text));
  return { kind: 'unreachable', message: `Redis (${where}) is not reachable: ${text}${plain ? ' (if that server requires TLS, use a rediss:// URL)' : ''}` };
}

/**
 * Waits for the first outcome of a new connection: resolves when it is ready, or as soon as it fails
 * in a way that may pass (Redis down: the connection keeps retrying, the caller carries on), or after
 * `timeoutMs`; rejects with a clear SyncError when TLS or authentication fails, which no retry fixes.
 */
export function firstContact(redis: Redis, endpoint: RedisEndpoint, timeoutMs: number): Promise<{ ready: boolean; problem?: string }> {
  if (redis.status === 'ready') return Promise.resolve({ ready: true });
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
    };
    const onReady = () => {
      done();
      resolve({ ready: true });
    };
    const onError = (err: unknown) => {
      const d = describeRedisError(err, endpoint);
      done();
      if (d.kind === 'unreachable') resolve({ ready: false, problem: d.message });
      else reject(new SyncError(codeOf(d.kind), d.message, { details: { redis: describeEndpoint(endpoint), failure: d.kind } }));
    };
    const timer = setTimeout(() => {
      done();
      resolve({ ready: false, problem: `Redis (${describeEndpoint(endpoint)}) did not answer within ${timeoutMs} ms` });
    }, timeoutMs);
    redis.on('ready', onReady);
    redis.on('error', onError);
  });
}

/**
 * Opens and connects a short-lived connection (the CLI's): resolves once it is ready, or rejects at the
 * first failure (or after `timeoutMs`) with a SyncError that says whether TLS, the credentials, the
 * Sentinel group or reachability is the problem. (ioredis' own connect() keeps retrying through
 * Sentinel failures and reports only "Connection is closed".)
 */
export async function connectRedis(endpoint: RedisEndpoint, options: Omit<OpenRedisOptions, 'lazy'> & { timeoutMs?: number } = {}): Promise<Redis> {
  const { timeoutMs = 10_000, ...open } = options;
  const redis = openRedis(endpoint, { maxRetriesPerRequest: 3, ...open, lazy: true });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new SyncError('unavailable', `Redis (${describeEndpoint(endpoint)}) did not answer within ${timeoutMs} ms`)), timeoutMs);
      redis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
      redis.once('error', (e) => {
        clearTimeout(timer);
        const d = describeRedisError(e, endpoint);
        reject(new SyncError(codeOf(d.kind), d.message, { details: { redis: describeEndpoint(endpoint), failure: d.kind } }));
      });
      redis.connect().catch(() => undefined);
    });
  } catch (e) {
    redis.disconnect();
    throw e;
  }
  // Later errors surface on the commands themselves; without a listener ioredis prints each one.
  redis.on('error', () => undefined);
  return redis;
}
