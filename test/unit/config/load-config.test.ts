import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig, SEARCH_PLACES } from '../../../src/config/load-config.js';
import type { ConfigProblem } from '../../../src/config/reader.js';
import { rejection, tempDir } from './helpers.js';

const dirs: Array<ReturnType<typeof tempDir>> = [];
const fresh = () => {
  const d = tempDir();
  dirs.push(d);
  return d;
};
test.after(() => dirs.forEach((d) => d.cleanup()));

const minimal = `export default { site: { redis: 'embedded' }, tenant: { id: 'acme' } };\n`;
const problemsOf = (e: { details?: Record<string, unknown> }) => (e.details?.problems ?? []) as ConfigProblem[];

test('sync.config.js in cwd: every documented default is applied', async () => {
  const d = fresh();
  const file = d.write('sync.config.js', minimal);
  const c = await loadConfig({ cwd: d.dir, env: {}, hostname: 'host-a' });
  assert.equal(c.sources, [file]);
  assert.is(c.site.id, 'host-a');
  assert.equal(c.site.redis, { embedded: true });
  assert.equal(c.site.queues, { prefix: 'sync', concurrency: 4, attempts: 5, backoffMs: 2000, lockDurationMs: 30_000 });
  assert.equal(c.site.aws, { region: 'us-east-1', endpoints: {}, s3ForcePathStyle: false });
  assert.equal(c.site.predictions, { backend: 'local', apiUrl: 'https://api.synccomputing.com' });
  assert.equal(c.site.http, { enabled: true, port: 8080, host: '127.0.0.1', ui: true });
  assert.equal(c.site.shutdown, { graceMs: 30000 });
  assert.equal(c.site.reconcile, { intervalMs: 300000 });
  assert.equal(c.site.orphans, { graceMs: 3_600_000, terminate: false, maxDescribesPerPass: 20, lookbackMs: 14 * 86_400_000 });
  assert.equal(c.site.eventLog, { waitTimeoutMs: 900000, pollMs: 15000 });
  assert.is(c.site.logLevel, 'info');
  assert.is(c.site.sqs, undefined);
  assert.is(c.site.predictionPreference, undefined);
  assert.equal(c.tenant, { id: 'acme', state: 'file:///var/lib/sync-agent/state' });
});

test('a full file is read as written (site -> tenant), sqs defaults filled in', async () => {
  const d = fresh();
  d.write(
    'sync.config.mjs',
    `export default {
      site: {
        id: 'etl-host-1', predictionPreference: 'performance', projectLocation: 's3://my-bucket/runs/',
        redis: { url: 'redis://10.0.0.5:6380' }, queues: { prefix: 'tuning', concurrency: 2 },
        sqs: { completionQueueUrl: 'https://sqs.us-west-2.amazonaws.com/123456789012/emr-events' },
        aws: { region: 'us-west-2', endpoints: { emr: 'http://127.0.0.1:9001', s3: 'http://127.0.0.1:9002' } },
        predictions: { backend: 'sync-api', instances: [{ instanceType: 'm5.xlarge', vcpu: 4, onDemandUsdPerHour: 0.192 }], emrPricing: { 'm5.xlarge': 0.048 } },
        http: { enabled: false, port: 9090, host: '0.0.0.0' }, logLevel: 'debug',
      },
      tenant: { id: 'acme', state: 's3://state-bucket/acme', predictionPreference: 'economy', projectLocation: 'file:///data/runs' },
    };`,
  );
  const c = await loadConfig({ cwd: d.dir, env: { AWS_REGION: 'eu-west-1' } });
  assert.is(c.site.id, 'etl-host-1');
  assert.is(c.site.predictionPreference, 'performance');
  assert.is(c.site.projectLocation, 's3://my-bucket/runs');
  assert.equal(c.site.redis, { url: 'redis://10.0.0.5:6380' });
  assert.equal(c.site.queues, { prefix: 'tuning', concurrency: 2, attempts: 5, backoffMs: 2000, lockDurationMs: 30_000 });
  assert.equal(c.site.sqs, { completionQueueUrl: 'https://sqs.us-west-2.amazonaws.com/123456789012/emr-events', waitTimeSeconds: 20, visibilityTimeoutSeconds: 60 });
  assert.equal(c.site.aws, { region: 'us-west-2', endpoints: { emr: 'http://127.0.0.1:9001', s3: 'http://127.0.0.1:9002' }, s3ForcePathStyle: true });
  assert.equal(c.site.predictions.instances, [{ instanceType: 'm5.xlarge', vcpu: 4, onDemandUsdPerHour: 0.192 }]);
  assert.equal(c.site.predictions.emrPricing, { 'm5.xlarge': 0.048 });
  assert.is(c.site.predictions.backend, 'sync-api');
  assert.equal(c.site.http, { enabled: false, port: 9090, host: '0.0.0.0', ui: true });
  assert.is(c.site.logLevel, 'debug');
  assert.equal(c.tenant, { id: 'acme', state: 's3://state-bucket/acme', predictionPreference: 'economy', projectLocation: 'file:///data/runs' });
});

test('region: AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1; an explicit region wins', async () => {
  const d = fresh();
  d.write('sync.config.js', minimal);
  assert.is((await loadConfig({ cwd: d.dir, env: { AWS_REGION: 'eu-central-1', AWS_DEFAULT_REGION: 'ap-south-1' } })).site.aws.region, 'eu-central-1');
  assert.is((await loadConfig({ cwd: d.dir, env: { AWS_DEFAULT_REGION: 'ap-south-1' } })).site.aws.region, 'ap-south-1');
  assert.is((await loadConfig({ cwd: d.dir, env: {} })).site.aws.region, 'us-east-1');
  const e = fresh();
  e.write('.syncrc.json', JSON.stringify({ site: { aws: { region: 'sa-east-1' } }, tenant: { id: 't' } }));
  assert.is((await loadConfig({ cwd: e.dir, env: { AWS_REGION: 'eu-central-1' } })).site.aws.region, 'sa-east-1');
});

test('s3ForcePathStyle: false without an S3 endpoint, true with one, explicit value kept', async () => {
  const d = fresh();
  d.write('.syncrc.json', JSON.stringify({ site: { aws: { endpoints: { s3: 'http://127.0.0.1:4569' }, s3ForcePathStyle: false } }, tenant: { id: 't' } }));
  assert.is((await loadConfig({ cwd: d.dir, env: {} })).site.aws.s3ForcePathStyle, false);
  const e = fresh();
  e.write('.syncrc.json', JSON.stringify({ site: { aws: { endpoints: { sqs: 'http://127.0.0.1:4576' } } }, tenant: { id: 't' } }));
  assert.is((await loadConfig({ cwd: e.dir, env: {} })).site.aws.s3ForcePathStyle, false);
});

test('every file kind cosmiconfig finds: .syncrc (yaml), .syncrc.yaml, package.json#sync, sync.config.cjs', async () => {
  const a = fresh();
  a.write('.syncrc', 'site:\n  id: from-rc\n  redis: embedded\ntenant:\n  id: acme\n');
  assert.is((await loadConfig({ cwd: a.dir, env: {} })).site.id, 'from-rc');
  const b = fresh();
  b.write('.syncrc.yaml', 'site: { id: from-yaml }\ntenant: { id: acme }\n');
  assert.is((await loadConfig({ cwd: b.dir, env: {} })).site.id, 'from-yaml');
  const c = fresh();
  c.write('package.json', JSON.stringify({ name: 'x', sync: { site: { id: 'from-pkg' }, tenant: { id: 'acme' } } }));
  const pc = await loadConfig({ cwd: c.dir, env: {} });
  assert.is(pc.site.id, 'from-pkg');
  assert.equal(pc.site.redis, { url: 'redis://127.0.0.1:6379' });
  const d = fresh();
  d.write('package.json', JSON.stringify({ name: 'no-sync-key' }));
  d.write('sync.config.cjs', `module.exports = { site: { id: 'from-cjs' }, tenant: { id: 'acme' } };`);
  assert.is((await loadConfig({ cwd: d.dir, env: {} })).site.id, 'from-cjs');
});

test('explicit configPath is resolved against cwd and used without searching', async () => {
  const d = fresh();
  d.write('sync.config.js', `export default { site: { id: 'searched' }, tenant: { id: 'a' } };`);
  const file = d.write('etc/custom.json', JSON.stringify({ site: { id: 'explicit' }, tenant: { id: 'a' } }));
  const c = await loadConfig({ cwd: d.dir, configPath: 'etc/custom.json', env: {} });
  assert.is(c.site.id, 'explicit');
  assert.equal(c.sources, [file]);
  const err = await rejection(loadConfig({ cwd: d.dir, configPath: 'etc/missing.js', env: {} }));
  assert.is(err.code, 'invalid_config');
  assert.match(err.message, join(d.dir, 'etc/missing.js'));
});

test('no file: a SyncError naming every place searched, or embedded defaults when allowed', async () => {
  const d = fresh();
  const err = await rejection(loadConfig({ cwd: d.dir, env: {} }));
  assert.is(err.code, 'invalid_config');
  for (const place of ['package.json', '.syncrc', '.syncrc.json', '.syncrc.yaml', 'sync.config.js', 'sync.config.mjs', 'sync.config.cjs']) {
    assert.ok(err.message.includes(join(d.dir, place)), `names ${place}`);
  }
  assert.is(SEARCH_PLACES.length, 8);
  const c = await loadConfig({ cwd: d.dir, env: {}, allowDefaults: true, hostname: 'h' });
  assert.equal(c.site.redis, { embedded: true, dir: join(d.dir, '.sync-agent', 'redis') });
  assert.is(c.tenant.state, pathToFileURL(join(d.dir, '.sync-agent', 'state')).href);
  assert.is(c.tenant.projectLocation, pathToFileURL(join(d.dir, '.sync-agent', 'runs')).href);
  assert.equal(c.sources, []);
  assert.is(c.site.id, 'h');
});

test('site.orphans: set values are read; bad ones are named', async () => {
  const d = fresh();
  d.write('sync.config.js', `export default { site: { redis: 'embedded', orphans: { graceMs: 600000, terminate: true } }, tenant: { id: 'acme' } };\n`);
  const c = await loadConfig({ cwd: d.dir, env: {} });
  assert.equal(c.site.orphans, { graceMs: 600_000, terminate: true, maxDescribesPerPass: 20, lookbackMs: 14 * 86_400_000 });
  const bad = fresh();
  bad.write('sync.config.js', `export default { site: { redis: 'embedded', orphans: { graceMs: -1, terminate: 'yes', grace: 1 } }, tenant: { id: 'acme' } };\n`);
  const err = await rejection(loadConfig({ cwd: bad.dir, env: {} }));
  assert.is(err.code, 'invalid_config');
  assert.equal(problemsOf(err).map((p) => p.path).sort(), ['site.orphans.grace', 'site.orphans.graceMs', 'site.orphans.terminate']);
});

test('several problems are reported at once, each with key path and file', async () => {
  const d = fresh();
  const file = d.write(
    'sync.config.js',
    `export default {
      site: {
        http: { port: 70000 },
        queues: { concurency: 8, attempts: 0 },
        logLevel: 'verbose',
        predictionPreference: 'cheap',
        redis: { url: 'http://127.0.0.1:6379' },
        projectLocation: 's3a://bucket/x',
      },
      tenant: { state: 'file://relative/no' },
      extra: 1,
    };`,
  );
  const err = await rejection(loadConfig({ cwd: d.dir, env: {} }));
  assert.is(err.code, 'invalid_config');
  const problems = problemsOf(err);
  const paths = problems.map((p) => p.path).sort();
  assert.equal(paths, [
    'extra',
    'site.http.port',
    'site.logLevel',
    'site.predictionPreference',
    'site.projectLocation',
    'site.queues.attempts',
    'site.queues.concurency',
    'site.redis.url',
    'tenant.id',
    'tenant.state',
  ]);
  assert.ok(problems.every((p) => p.file === file));
  assert.ok(err.message.includes(`site.http.port: must be an integer between 1 and 65535, got 70000 (in ${file})`));
  assert.match(problems.find((p) => p.path === 'site.queues.concurency')?.message ?? '', "did you mean 'concurrency'?");
  assert.match(problems.find((p) => p.path === 'tenant.id')?.message ?? '', 'required');
  assert.ok(err.message.split('\n').length >= 11, 'one line per problem after the summary');
});

test('predictions.instances and emrPricing: each bad entry reported with its index or key', async () => {
  const d = fresh();
  d.write(
    '.syncrc.json',
    JSON.stringify({
      site: { predictions: { backend: 'remote', instances: [{ instanceType: 'm5.xlarge', vcpu: 2.5 }, 'r5.large', { vcpus: 4 }], emrPricing: { 'm5.xlarge': -1, bogus: 0.1 } } },
      tenant: { id: 't' },
    }),
  );
  const paths = problemsOf(await rejection(loadConfig({ cwd: d.dir, env: {} }))).map((p) => p.path).sort();
  assert.equal(paths, [
    'site.predictions.backend',
    'site.predictions.emrPricing.bogus',
    'site.predictions.emrPricing.m5.xlarge',
    'site.predictions.instances[0].vcpu',
    'site.predictions.instances[1]',
    'site.predictions.instances[2].instanceType',
    'site.predictions.instances[2].vcpus',
  ]);
});

test('unknown keys are rejected with did-you-mean when close, plain otherwise', async () => {
  const d = fresh();
  d.write('.syncrc.json', JSON.stringify({ site: { htpp: {}, wibble: 1 }, tenat: { id: 'x' } }));
  const problems = problemsOf(await rejection(loadConfig({ cwd: d.dir, env: {} })));
  const byPath = new Map(problems.map((p) => [p.path, p.message]));
  assert.match(byPath.get('site.htpp') ?? '', "did you mean 'http'?");
  assert.match(byPath.get('tenat') ?? '', "did you mean 'tenant'?");
  assert.ok(!(byPath.get('site.wibble') ?? 'did you').includes('did you mean'));
  assert.ok(byPath.has('tenant'), 'tenant is still reported missing');
});

test('credentials in the file are refused, values never echoed', async () => {
  const d = fresh();
  d.write(
    '.syncrc.json',
    JSON.stringify({
      site: { apiKeySecret: 'hunter2-secret', http: { token: 'tok-123456' }, redis: { url: 'redis://:pa55word@127.0.0.1:6379' } },
      tenant: { id: 'a', accessKeyId: 'AKIAEXAMPLE' },
    }),
  );
  const err = await rejection(loadConfig({ cwd: d.dir, env: {} }));
  const problems = problemsOf(err);
  assert.equal(problems.map((p) => p.path).sort(), ['site.apiKeySecret', 'site.http.token', 'site.redis.url', 'tenant.accessKeyId']);
  for (const p of problems) assert.match(p.message, 'credentials never live in the config file');
  for (const secret of ['hunter2', 'tok-123456', 'pa55word', 'AKIAEXAMPLE']) assert.not.ok(err.message.includes(secret), `${secret} not echoed`);
});

test("redis: 'embedded', a URL string, { embedded, dir } resolved against the file's folder", async () => {
  const d = fresh();
  d.write('sync.config.js', `export default { site: { redis: { embedded: true, dir: './redis-data' } }, tenant: { id: 'a' } };`);
  assert.equal((await loadConfig({ cwd: d.dir, env: {} })).site.redis, { embedded: true, dir: join(d.dir, 'redis-data') });
  const e = fresh();
  e.write('sync.config.js', `export default { site: { redis: 'rediss://cache.internal:6380/2' }, tenant: { id: 'a' } };`);
  assert.equal((await loadConfig({ cwd: e.dir, env: {} })).site.redis, { url: 'rediss://cache.internal:6380/2' });
  const f = fresh();
  f.write('sync.config.js', `export default { site: { redis: { embedded: false } }, tenant: { id: 'a' } };`);
  assert.equal(problemsOf(await rejection(loadConfig({ cwd: f.dir, env: {} }))).map((p) => p.path), ['site.redis.embedded']);
  const g = fresh();
  g.write('sync.config.js', `export default { site: { redis: 'embeded' }, tenant: { id: 'a' } };`);
  const [p] = problemsOf(await rejection(loadConfig({ cwd: g.dir, env: {} })));
  assert.is(p?.path, 'site.redis');
  assert.match(p?.message ?? '', "did you mean 'embedded'?");
});

test("relative file: locations resolve against the config file's folder, not cwd", async () => {
  const d = fresh();
  d.write('conf/sync.config.js', `export default { site: { projectLocation: 'file:./runs' }, tenant: { id: 'a', state: 'file:../state dir' } };`);
  const c = await loadConfig({ cwd: d.dir, configPath: 'conf/sync.config.js', env: {} });
  assert.is(c.site.projectLocation, pathToFileURL(join(d.dir, 'conf', 'runs')).href);
  assert.is(c.tenant.state, pathToFileURL(join(d.dir, 'state dir')).href);
  assert.ok(c.tenant.state.endsWith('/state%20dir'));
});

test('tenant as a local JSON document, relative to the config file; sources in site -> tenant order', async () => {
  const d = fresh();
  const site = d.write('sync.config.js', `export default { site: { id: 's' }, tenant: './tenants/acme.json' };`);
  const doc = d.write('tenants/acme.json', JSON.stringify({ id: 'acme', state: 'file:./state', predictionPreference: 'economy' }));
  const c = await loadConfig({ cwd: d.dir, env: {} });
  assert.equal(c.sources, [site, doc]);
  assert.equal(c.tenant, { id: 'acme', state: pathToFileURL(join(d.dir, 'tenants', 'state')).href, predictionPreference: 'economy' });
});

test('problems in a tenant document name that document; a missing document is named too', async () => {
  const d = fresh();
  d.write('sync.config.js', `export default { site: { http: { port: 0 } }, tenant: 'tenant.json' };`);
  const doc = d.write('tenant.json', JSON.stringify({ id: 'acme', stat: 'file:///x' }));
  const problems = problemsOf(await rejection(loadConfig({ cwd: d.dir, env: {} })));
  assert.equal(problems.map((p) => [p.path, p.file]).sort(), [
    ['site.http.port', join(d.dir, 'sync.config.js')],
    ['tenant.stat', doc],
  ]);
  const e = fresh();
  e.write('sync.config.js', `export default { site: {}, tenant: 'nope.json' };`);
  const err = await rejection(loadConfig({ cwd: e.dir, env: {} }));
  assert.match(err.message, `${join(e.dir, 'nope.json')} does not exist`);
});

test('tenant as s3:// uses the injected fetchTenant, and fails clearly without it', async () => {
  const d = fresh();
  d.write('sync.config.js', `export default { site: {}, tenant: 's3://cfg-bucket/tenants/acme.json' };`);
  const asked: string[] = [];
  const c = await loadConfig({
    cwd: d.dir,
    env: {},
    fetchTenant: async (url) => {
      asked.push(url);
      return JSON.stringify({ id: 'acme', state: 's3://state-bucket/acme/' });
    },
  });
  assert.equal(asked, ['s3://cfg-bucket/tenants/acme.json']);
  assert.equal(c.tenant, { id: 'acme', state: 's3://state-bucket/acme' });
  assert.is(c.sources[1], 's3://cfg-bucket/tenants/acme.json');
  const err = await rejection(loadConfig({ cwd: d.dir, env: {} }));
  assert.is(err.code, 'invalid_config');
  assert.match(err.message, 'fetchTenant');
  const rel = await rejection(loadConfig({ cwd: d.dir, env: {}, fetchTenant: async () => JSON.stringify({ id: 'a', state: 'file:./x' }) }));
  assert.match(rel.message, 'relative file: URLs are only allowed in a local configuration file');
  assert.match(rel.message, '(in s3://cfg-bucket/tenants/acme.json)');
});

test('reload: calling loadConfig again sees the file as it is now (.js and .cjs)', async () => {
  for (const name of ['sync.config.js', 'sync.config.cjs']) {
    const d = fresh();
    const body = (id: string) => (name.endsWith('.cjs') ? `module.exports = { site: { id: '${id}' }, tenant: { id: 'a' } };` : `export default { site: { id: '${id}' }, tenant: { id: 'a' } };`);
    d.write(name, body('first'));
    assert.is((await loadConfig({ cwd: d.dir, env: {} })).site.id, 'first');
    d.write(name, body('second'));
    assert.is((await loadConfig({ cwd: d.dir, env: {} })).site.id, 'second', name);
  }
});

test('a syntax error or an empty file is an invalid_config naming the file', async () => {
  const d = fresh();
  d.write('.syncrc.json', '{ "site": ');
  const err = await rejection(loadConfig({ cwd: d.dir, env: {} }));
  assert.is(err.code, 'invalid_config');
  assert.match(err.message, join(d.dir, '.syncrc.json'));
  const e = fresh();
  const file = e.write('sync.config.js', '// nothing yet\nexport const x = 1;\n');
  const empty = await rejection(loadConfig({ cwd: e.dir, env: {} }));
  assert.is(empty.code, 'invalid_config');
  assert.match(empty.message, file);
});

test('site.queues.lockDurationMs is validated with the others', async () => {
  const { parseConfig } = await import('../../../src/config/load-config.js');
  const err = (await parseConfig({ site: { queues: { lockDurationMs: 10 } }, tenant: { id: 't' } }, { file: '/etc/sync/sync.config.js', env: {} }).then(
    () => undefined,
    (e: unknown) => e,
  )) as { message: string } | undefined;
  assert.ok(err, 'a 10 ms lock duration is refused');
  assert.match(err!.message, /site\.queues\.lockDurationMs/);
  assert.match(err!.message, /\/etc\/sync\/sync\.config\.js/);
});

test.run();
