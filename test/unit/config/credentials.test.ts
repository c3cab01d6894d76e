import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { loadCredentials, secretValues } from '../../../src/config/credentials.js';
import { rejection, tempDir } from './helpers.js';

const dirs: Array<ReturnType<typeof tempDir>> = [];
const fresh = () => {
  const d = tempDir('sync-creds-');
  dirs.push(d);
  return d;
};
test.after(() => dirs.forEach((d) => d.cleanup()));

const userFile = (home: ReturnType<typeof tempDir>, body: object, mode = 0o600) => {
  const path = home.write('.sync/credentials', JSON.stringify(body));
  chmodSync(path, mode);
  return path;
};

test('environment first: SYNC_API_KEY_ID/SECRET and SYNC_AGENT_TOKEN; sources name, never values', async () => {
  const home = fresh();
  userFile(home, { api_key_id: 'file-id', api_key_secret: 'file-secret', http_token: 'file-token' });
  const c = await loadCredentials({ env: { SYNC_API_KEY_ID: 'env-id', SYNC_API_KEY_SECRET: 'env-secret', SYNC_AGENT_TOKEN: 'env-token' }, home: home.dir });
  assert.is(c.apiKeyId, 'env-id');
  assert.is(c.apiKeySecret, 'env-secret');
  assert.is(c.httpToken, 'env-token');
  assert.ok(c.sources.some((s) => s.includes('SYNC_API_KEY_ID')));
  assert.ok(c.sources.some((s) => s.includes('SYNC_AGENT_TOKEN')));
  for (const v of ['env-id', 'env-secret', 'env-token']) assert.not.ok(c.sources.join(' ').includes(v));
});

test('only one of the two API key variables is an error naming the missing one', async () => {
  const home = fresh();
  const e = await rejection(loadCredentials({ env: { SYNC_API_KEY_ID: 'id-only' }, home: home.dir }));
  assert.is(e.code, 'invalid_config');
  assert.match(e.message, 'SYNC_API_KEY_SECRET');
});

test('$CREDENTIALS_DIRECTORY (systemd LoadCredential=) comes before ~/.sync/credentials', async () => {
  const home = fresh();
  userFile(home, { api_key_id: 'file-id', api_key_secret: 'file-secret', http_token: 'file-token' });
  const creds = fresh();
  creds.write('sync-api-key', JSON.stringify({ api_key_id: 'dir-id', api_key_secret: 'dir-secret' }));
  creds.write('http-token', '  dir-token\n');
  const c = await loadCredentials({ env: { CREDENTIALS_DIRECTORY: creds.dir }, home: home.dir });
  assert.equal([c.apiKeyId, c.apiKeySecret, c.httpToken], ['dir-id', 'dir-secret', 'dir-token']);
  assert.ok(c.sources.includes(`api key: ${join(creds.dir, 'sync-api-key')}`));
  assert.ok(c.sources.includes(`http token: ${join(creds.dir, 'http-token')}`));
  const viaOption = await loadCredentials({ env: {}, home: home.dir, credentialsDirectory: creds.dir });
  assert.is(viaOption.apiKeyId, 'dir-id');
});

test('~/.sync/credentials with mode 600 is read, token included; absent everything gives no secrets', async () => {
  const home = fresh();
  const path = userFile(home, { api_key_id: 'file-id', api_key_secret: 'file-secret', http_token: 'file-token' });
  const c = await loadCredentials({ env: {}, home: home.dir });
  assert.equal([c.apiKeyId, c.apiKeySecret, c.httpToken], ['file-id', 'file-secret', 'file-token']);
  assert.equal(c.sources, [`api key: ${path}`, `http token: ${path}`]);
  const empty = await loadCredentials({ env: {}, home: fresh().dir });
  assert.equal(empty, { sources: [] });
});

test('~/.sync/credentials readable by group or others is refused with access_denied', async () => {
  for (const mode of [0o640, 0o604, 0o620, 0o700 | 0o001]) {
    const home = fresh();
    const path = userFile(home, { api_key_id: 'file-id', api_key_secret: 'file-secret' }, mode);
    const e = await rejection(loadCredentials({ env: {}, home: home.dir }));
    assert.is(e.code, 'access_denied', mode.toString(8));
    assert.match(e.message, path);
    assert.match(e.message, 'chmod 600');
    assert.not.ok(e.message.includes('file-secret'));
  }
});

test('malformed files are named without echoing their content', async () => {
  const creds = fresh();
  creds.write('sync-api-key', '{"api_key_id": "id", "api_key_secret": "s3cr3t-value"');
  const e = await rejection(loadCredentials({ env: { CREDENTIALS_DIRECTORY: creds.dir }, home: fresh().dir }));
  assert.is(e.code, 'invalid_config');
  assert.match(e.message, join(creds.dir, 'sync-api-key'));
  assert.not.ok(e.message.includes('s3cr3t'));
  const home = fresh();
  userFile(home, { api_key_id: 'only-id' });
  const half = await rejection(loadCredentials({ env: {}, home: home.dir }));
  assert.match(half.message, 'api_key_secret');
});

test('secretValues lists every secret for the logger mask', async () => {
  assert.equal(secretValues({ apiKeyId: 'id', apiKeySecret: 'sec', httpToken: 'tok', redisPassword: 'pw', sources: [] }).sort(), ['id', 'pw', 'sec', 'tok']);
  assert.equal(secretValues({ sources: ['x'] }), []);
  const c = await loadCredentials({ env: { SYNC_REDIS_PASSWORD: 'redis-pw' }, home: fresh().dir });
  assert.is(c.redisPassword, 'redis-pw');
  assert.equal(secretValues(c), ['redis-pw']);
});

test.run();
