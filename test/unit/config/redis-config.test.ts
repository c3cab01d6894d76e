// site.redis as users run it: rediss:// with TLS options, an ACL user, Sentinel; passwords only from credentials.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/load-config.js';
import { loadCredentials, secretValues } from '../../../src/config/credentials.js';
import type { ConfigProblem } from '../../../src/config/reader.js';
import { rejection, tempDir } from './helpers.js';

const dirs: Array<ReturnType<typeof tempDir>> = [];
const fresh = () => {
  const d = tempDir('sync-redis-config-');
  dirs.push(d);
  return d;
};
test.after(() => dirs.forEach((d) => d.cleanup()));

const problemsOf = (e: { details?: Record<string, unknown> }) => (e.details?.problems ?? []) as ConfigProblem[];
const withRedis = (redis: unknown) => `export default ${JSON.stringify({ site: { redis }, tenant: { id: 'acme' } })};\n`;

async function redisOf(redis: unknown, files: Record<string, string> = {}) {
  const d = fresh();
  for (const [name, text] of Object.entries(files)) d.write(name, text);
  d.write('sync.config.mjs', withRedis(redis));
  return { dir: d.dir, redis: (await loadConfig({ cwd: d.dir, env: {} })).site.redis };
}

async function problemsFor(redis: unknown): Promise<{ problems: ConfigProblem[]; message: string }> {
  const d = fresh();
  d.write('sync.config.mjs', withRedis(redis));
  const err = await rejection(loadConfig({ cwd: d.dir, env: {} }));
  return { problems: problemsOf(err), message: err.message };
}

test('rediss:// with a CA relative to the config file, a servername, and an ACL user', async () => {
  const { dir, redis } = await redisOf(
    { url: 'rediss://master.cache.example.com:6379', username: 'agent', tls: { ca: './certs/ca.pem', servername: 'cache.example.com' } },
    { 'certs/ca.pem': '-----BEGIN CERTIFICATE-----\n' },
  );
  assert.equal(redis, {
    url: 'rediss://master.cache.example.com:6379',
    username: 'agent',
    tls: { rejectUnauthorized: true, servername: 'cache.example.com', ca: join(dir, 'certs/ca.pem') },
  });
});

test('a user in the URL becomes site.redis.username and leaves the URL; tls: true means verified TLS', async () => {
  assert.equal((await redisOf({ url: 'rediss://agent@cache:6380/2', tls: true })).redis, { url: 'rediss://cache:6380/2', username: 'agent', tls: { rejectUnauthorized: true } });
  const { problems } = await problemsFor({ url: 'redis://agent@cache:6379', username: 'other' });
  assert.equal(problems.map((p) => p.path), ['site.redis.url']);
  assert.match(problems[0]?.message ?? '', 'give the user once');
});

test('a password in the URL is refused with where to put it, and never echoed', async () => {
  for (const url of ['redis://:s3cret-pw@cache:6379', 'rediss://agent:s3cret-pw@cache:6379']) {
    for (const redis of [url, { url }]) {
      const { problems, message } = await problemsFor(redis);
      assert.equal(problems.map((p) => p.path), [typeof redis === 'string' ? 'site.redis' : 'site.redis.url']);
      assert.match(message, 'SYNC_REDIS_PASSWORD');
      assert.match(message, '$CREDENTIALS_DIRECTORY/redis-password');
      assert.not.ok(message.includes('s3cret-pw'), 'the password is not echoed');
    }
  }
});

test('TLS problems are all reported at once, naming the key', async () => {
  const { problems } = await problemsFor({ url: 'redis://cache:6379', username: '', tls: { ca: '/nonexistent/ca.pem', rejectUnauthorized: 'no', verify: true } });
  const byPath = new Map(problems.map((p) => [p.path, p.message]));
  assert.match(byPath.get('site.redis.tls') ?? '', 'applies only to a rediss:// URL');
  assert.match(byPath.get('site.redis.tls.ca') ?? '', 'cannot read the CA file /nonexistent/ca.pem (ENOENT)');
  assert.match(byPath.get('site.redis.tls.rejectUnauthorized') ?? '', 'true or false');
  assert.match(byPath.get('site.redis.tls.verify') ?? '', 'unknown key');
  assert.match(byPath.get('site.redis.username') ?? '', 'non-empty string');
  assert.is(problems.length, 5);
});

test('rejectUnauthorized: false is accepted as written (the daemon warns about it at start)', async () => {
  assert.equal((await redisOf({ url: 'rediss://cache:6379', tls: { rejectUnauthorized: false } })).redis, { url: 'rediss://cache:6379', tls: { rejectUnauthorized: false } });
});

test('Sentinel: name, sentinels (port defaults to 26379), TLS and users for sentinels and master', async () => {
  const { redis } = await redisOf({
    sentinel: { name: 'mymaster', sentinels: [{ host: '10.0.0.1', port: 26380 }, { host: 'sentinel-b' }], tls: true, username: 'watcher' },
    username: 'agent',
    tls: { rejectUnauthorized: true },
    db: 3,
  });
  assert.equal(redis, {
    sentinel: { name: 'mymaster', sentinels: [{ host: '10.0.0.1', port: 26380 }, { host: 'sentinel-b', port: 26379 }], username: 'watcher', tls: { rejectUnauthorized: true } },
    username: 'agent',
    tls: { rejectUnauthorized: true },
    db: 3,
  });
});

test('Sentinel problems name each key', async () => {
  const { problems } = await problemsFor({ sentinel: { sentinels: [{ host: 'a', port: 0 }, 'b', { port: 1 }], password: 'x' }, url: 'redis://a' });
  const paths = problems.map((p) => p.path).sort();
  assert.equal(paths, [
    'site.redis.sentinel.name',
    'site.redis.sentinel.password',
    'site.redis.sentinel.sentinels[0].port',
    'site.redis.sentinel.sentinels[1]',
    'site.redis.sentinel.sentinels[2].host',
    'site.redis.url',
  ]);
  assert.equal(problemsOf(await rejection((async () => {
    const d = fresh();
    d.write('sync.config.mjs', withRedis({ sentinel: { name: 'm', sentinels: [] } }));
    return loadConfig({ cwd: d.dir, env: {} });
  })())).map((p) => p.path), ['site.redis.sentinel.sentinels']);
});

test('the Sentinel password comes from SYNC_REDIS_SENTINEL_PASSWORD or $CREDENTIALS_DIRECTORY/redis-sentinel-password, and is masked', async () => {
  const home = fresh();
  const fromEnv = await loadCredentials({ env: { SYNC_REDIS_SENTINEL_PASSWORD: 'sent-pw', SYNC_REDIS_PASSWORD: 'redis-pw' }, home: home.dir });
  assert.is(fromEnv.redisSentinelPassword, 'sent-pw');
  assert.is(fromEnv.redisPassword, 'redis-pw');
  assert.ok(secretValues(fromEnv).includes('sent-pw'));
  assert.ok(fromEnv.sources.includes('redis sentinel password: environment SYNC_REDIS_SENTINEL_PASSWORD'));
  const creds = fresh();
  creds.write('redis-sentinel-password', 'dir-pw\n');
  const fromDir = await loadCredentials({ env: {}, home: home.dir, credentialsDirectory: creds.dir });
  assert.is(fromDir.redisSentinelPassword, 'dir-pw');
  assert.not.ok(fromDir.sources.join(' ').includes('dir-pw'));
  const user = fresh();
  user.write('.sync/credentials', JSON.stringify({ redis_password: 'file-redis-pw', redis_sentinel_password: 'file-sent-pw' }), 0o600);
  const fromFile = await loadCredentials({ env: {}, home: user.dir });
  assert.is(fromFile.redisPassword, 'file-redis-pw');
  assert.is(fromFile.redisSentinelPassword, 'file-sent-pw');
});

test.run();
