// The ioredis options every connection gets from site.redis + credentials (no server needed).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeEndpoint, describeRedisError, redisEndpoint, redisOptions, redisWarnings } from '../../../src/adapters/redis-connection.js';
import { thrownSyncError } from '../../support/async.js';

const dir = mkdtempSync(join(tmpdir(), 'sync-redis-opts-'));
const ca = join(dir, 'ca.pem');
writeFileSync(ca, 'CA PEM');
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('rediss:// turns TLS on (verified by default); the CA file is read; SNI is the host name, never an IP', () => {
  const o = redisOptions(redisEndpoint({ url: 'rediss://cache.example.com:6380/2', username: 'agent', tls: { ca, rejectUnauthorized: true } }, { redisPassword: 'pw' }), { name: 'x-queue' });
  assert.is(o.host, 'cache.example.com');
  assert.is(o.port, 6380);
  assert.is(o.db, 2);
  assert.is(o.username, 'agent');
  assert.is(o.password, 'pw');
  assert.is(o.connectionName, 'x-queue');
  assert.is(o.maxRetriesPerRequest, null, 'BullMQ needs no per-command retry limit');
  assert.is(o.tls?.rejectUnauthorized, true);
  assert.is(o.tls?.servername, 'cache.example.com');
  assert.is(String(o.tls?.ca), 'CA PEM');
  const ip = redisOptions({ url: 'rediss://127.0.0.1:6379' });
  assert.equal(ip.tls, { rejectUnauthorized: true });
  assert.is(redisOptions({ url: 'rediss://127.0.0.1:6379', tls: { servername: 'localhost', rejectUnauthorized: true } }).tls?.servername, 'localhost');
});

test('redis:// has no TLS; a plain { url } (tests, embedded) works as before', () => {
  const o = redisOptions({ url: 'redis://127.0.0.1:7000' }, { failFast: true });
  assert.is(o.tls, undefined);
  assert.is(o.port, 7000);
  assert.is(o.enableOfflineQueue, false);
  assert.is(o.password, undefined);
});

test('Sentinel: group, sentinels, users and passwords for both, TLS for master (enableTLSForSentinelMode) and sentinels', () => {
  const endpoint = redisEndpoint(
    { sentinel: { name: 'mymaster', sentinels: [{ host: 's1', port: 26379 }], username: 'watcher', tls: { ca, rejectUnauthorized: true } }, username: 'agent', tls: { rejectUnauthorized: true }, db: 1 },
    { redisPassword: 'master-pw', redisSentinelPassword: 'sentinel-pw' },
  );
  const o = redisOptions(endpoint);
  assert.is(o.name, 'mymaster');
  assert.equal(o.sentinels, [{ host: 's1', port: 26379 }]);
  assert.is(o.username, 'agent');
  assert.is(o.password, 'master-pw');
  assert.is(o.sentinelUsername, 'watcher');
  assert.is(o.sentinelPassword, 'sentinel-pw');
  assert.is(o.enableTLSForSentinelMode, true);
  assert.equal(o.tls, { rejectUnauthorized: true });
  assert.is(String(o.sentinelTLS?.ca), 'CA PEM');
  assert.is(o.db, 1);
  assert.not.ok(describeEndpoint(endpoint).includes('pw'));
  assert.is(describeEndpoint(endpoint), "Sentinel master 'mymaster' via s1:26379");
});

test('an unreadable CA file is a clear invalid_config naming the key', () => {
  const err = thrownSyncError(() => redisOptions({ url: 'rediss://h:1', tls: { ca: join(dir, 'missing.pem'), rejectUnauthorized: true } }));
  assert.is(err.code, 'invalid_config');
  assert.match(err.message, 'site.redis.tls.ca');
  assert.match(err.message, 'ENOENT');
});

test('connection errors are classified: TLS and credentials (never retried away) vs unreachable', () => {
  const ep = { url: 'rediss://127.0.0.1:6380', password: 'hunter2' };
  const tls = describeRedisError(Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }), ep);
  assert.is(tls.kind, 'tls');
  assert.match(tls.message, 'TLS connection to Redis (rediss://127.0.0.1:6380) failed');
  assert.match(tls.message, 'site.redis.tls.ca');
  const auth = describeRedisError(new Error('WRONGPASS invalid username-password pair or user is disabled.'), ep);
  assert.is(auth.kind, 'auth');
  assert.match(auth.message, 'SYNC_REDIS_PASSWORD');
  const down = describeRedisError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6380'), { code: 'ECONNREFUSED' }), ep);
  assert.is(down.kind, 'unreachable');
  for (const d of [tls, auth, down]) assert.not.ok(d.message.includes('hunter2'));
  assert.match(describeRedisError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), { url: 'redis://h:1' }).message, 'use a rediss:// URL');
});

test("Sentinel failures (ioredis' 'All sentinels are unreachable ... Last error: X') name the Sentinel settings", () => {
  const ep = redisEndpoint({ sentinel: { name: 'mymaster', sentinels: [{ host: 's1', port: 26379 }] } }, {});
  const auth = describeRedisError(new Error('All sentinels are unreachable. Retrying from scratch after 200ms. Last error: WRONGPASS invalid username-password pair or user is disabled.'), ep);
  assert.is(auth.kind, 'auth');
  assert.match(auth.message, 'SYNC_REDIS_SENTINEL_PASSWORD');
  assert.not.ok(auth.message.includes('Retrying'));
  const name = describeRedisError(new Error('All sentinels are unreachable. Retrying from scratch after 400ms. Last error: ERR No such master with that name'), ep);
  assert.is(name.kind, 'config');
  assert.match(name.message, 'site.redis.sentinel.name');
  assert.is(describeRedisError(new Error('All sentinels are unreachable. Retrying from scratch after 200ms. Last error: Connection is closed.'), ep).kind, 'unreachable');
  // The master's own refusal (reached through the sentinels) names the master's settings.
  assert.match(describeRedisError(new Error('WRONGPASS invalid username-password pair'), ep).message, 'SYNC_REDIS_PASSWORD');
});

test('rejectUnauthorized: false yields a loud warning; verified TLS none', () => {
  assert.equal(redisWarnings({ url: 'rediss://h:1', tls: { rejectUnauthorized: true } }), []);
  const [w] = redisWarnings({ url: 'rediss://h:1', tls: { rejectUnauthorized: false } });
  assert.match(w ?? '', 'NOT verified');
  assert.is(redisWarnings({ sentinel: { name: 'm', sentinels: [], tls: { rejectUnauthorized: false } }, tls: { rejectUnauthorized: false } }).length, 2);
});

test.run();
