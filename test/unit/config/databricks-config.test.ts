import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync } from 'node:fs';
import { loadCredentials, secretValues } from '../../../src/config/credentials.js';
import { loadConfig } from '../../../src/config/load-config.js';
import type { ConfigProblem } from '../../../src/config/reader.js';
import { databricksAuthFrom } from '../../../src/adapters/databricks-client.js';
import { rejection, tempDir } from './helpers.js';

const dirs: Array<ReturnType<typeof tempDir>> = [];
const fresh = () => {
  const d = tempDir('sync-dbx-');
  dirs.push(d);
  return d;
};
test.after(() => dirs.forEach((d) => d.cleanup()));
const withSite = (databricks: string) => `export default { site: { redis: 'embedded', databricks: ${databricks} }, tenant: { id: 'acme' } };\n`;
const problemsOf = (e: { details?: Record<string, unknown> }) => (e.details?.problems ?? []) as ConfigProblem[];

test('site.databricks: defaults, and the cloud follows from the host', async () => {
  const d = fresh();
  d.write('sync.config.js', withSite(`{ host: 'https://adb-1234567890123456.7.azuredatabricks.net/' }`));
  const c = await loadConfig({ cwd: d.dir, env: {} });
  assert.equal(c.site.databricks, {
    host: 'https://adb-1234567890123456.7.azuredatabricks.net',
    cloud: 'azure',
    pollIntervalMs: 30_000,
    maxCallsPerPass: 50,
    logDelivery: { waitTimeoutMs: 600_000, pollMs: 15_000 },
  });
  d.write('sync.config.js', withSite(`{ host: 'https://dbc-a1b2c3d4-e5f6.cloud.databricks.com', pollIntervalMs: 5000, logDelivery: { waitTimeoutMs: 1000 } }`));
  const aws = await loadConfig({ cwd: d.dir, env: {} });
  assert.is(aws.site.databricks?.cloud, 'aws');
  assert.is(aws.site.databricks?.pollIntervalMs, 5000);
  assert.is(aws.site.databricks?.logDelivery.waitTimeoutMs, 1000);
  d.write('sync.config.js', withSite(`{ host: 'http://127.0.0.1:9999', cloud: 'azure' }`));
  assert.is((await loadConfig({ cwd: d.dir, env: {} })).site.databricks?.cloud, 'azure');
  d.write('sync.config.js', `export default { site: { redis: 'embedded' }, tenant: { id: 'acme' } };\n`);
  assert.is((await loadConfig({ cwd: d.dir, env: {} })).site.databricks, undefined);
});

test('site.databricks: plain http off loopback, a path, a token key and a bad cloud are each named', async () => {
  const d = fresh();
  d.write('sync.config.js', withSite(`{ host: 'http://dbc-1.cloud.databricks.com', cloud: 'gcp', token: 'dapi-secret', logDelivery: { waitTimeoutMs: -1 } }`));
  const e = await rejection(loadConfig({ cwd: d.dir, env: {} }));
  const problems = problemsOf(e);
  const byPath = (p: string) => problems.find((x) => x.path === p)?.message ?? '';
  assert.match(byPath('site.databricks.host'), /plain http:\/\/ only for a loopback/);
  assert.match(byPath('site.databricks.cloud'), /'aws', 'azure'/);
  assert.match(byPath('site.databricks.token'), /credentials never live in the config file/);
  assert.match(byPath('site.databricks.logDelivery.waitTimeoutMs'), /between 0 and/);
  assert.not.ok(e.message.includes('dapi-secret'), 'the value of a secret-looking key is never echoed');
  d.write('sync.config.js', withSite(`{ host: 'https://dbc-1.cloud.databricks.com/api/2.1' }`));
  assert.match(problemsOf(await rejection(loadConfig({ cwd: d.dir, env: {} })))[0]?.message ?? '', /workspace URL alone/);
});

test('Databricks credentials: DATABRICKS_TOKEN, then the credentials directory, then ~/.sync/credentials; OAuth M2M pairs', async () => {
  const home = fresh();
  const dir = fresh();
  const path = home.write('.sync/credentials', JSON.stringify({ databricks_token: 'dapi-from-file' }));
  chmodSync(path, 0o600);
  assert.is((await loadCredentials({ env: { DATABRICKS_TOKEN: 'dapi-env' }, home: home.dir })).databricksToken, 'dapi-env');
  dir.write('databricks-token', 'dapi-from-dir\n');
  const fromDir = await loadCredentials({ env: {}, home: home.dir, credentialsDirectory: dir.dir });
  assert.is(fromDir.databricksToken, 'dapi-from-dir');
  const fromFile = await loadCredentials({ env: {}, home: home.dir });
  assert.is(fromFile.databricksToken, 'dapi-from-file');
  assert.ok(fromFile.sources.some((s) => s.startsWith('databricks token: ') && s.endsWith('credentials')));
  const m2m = await loadCredentials({ env: { DATABRICKS_CLIENT_ID: 'sp-id', DATABRICKS_CLIENT_SECRET: 'sp-secret' }, home: fresh().dir });
  assert.equal(databricksAuthFrom(m2m), { kind: 'oauth', clientId: 'sp-id', clientSecret: 'sp-secret' });
  assert.ok(secretValues(m2m).includes('sp-secret'));
  assert.ok(secretValues(fromFile).includes('dapi-from-file'));
  assert.not.ok(m2m.sources.join(' ').includes('sp-secret'));
  const half = await rejection(loadCredentials({ env: { DATABRICKS_CLIENT_ID: 'sp-id' }, home: home.dir }));
  assert.match(half.message, /DATABRICKS_CLIENT_SECRET is set but|DATABRICKS_CLIENT_ID is set but DATABRICKS_CLIENT_SECRET is not/);
  const none = (() => {
    try {
      databricksAuthFrom({});
    } catch (e) {
      return e as Error & { code?: string };
    }
    return undefined;
  })();
  assert.is(none?.code, 'invalid_config');
  assert.match(none?.message ?? '', /DATABRICKS_TOKEN/);
});

test.run();
