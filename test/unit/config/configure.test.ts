import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { run } from '../../../src/cli/commands/configure.js';
import { memoryIo } from '../../../src/cli/io.js';
import { loadConfig } from '../../../src/config/load-config.js';
import { tempDir } from './helpers.js';

const dirs: Array<ReturnType<typeof tempDir>> = [];
const fresh = () => {
  const d = tempDir('sync-configure-');
  dirs.push(d);
  return d;
};
test.after(() => dirs.forEach((d) => d.cleanup()));

test('flags -> sync.config.js that loadConfig reads back with the same values', async () => {
  const d = fresh();
  const io = memoryIo({}, d.dir);
  const code = await run(
    [
      '--site-id', 'etl-1', '--tenant-id', 'acme', '--state', 's3://state-bucket/acme', '--project-location', 's3://runs-bucket/p',
      '--redis', 'redis://10.1.2.3:6379', '--region', 'eu-west-1', '--preference', 'economy',
      '--sqs-queue-url', 'https://sqs.eu-west-1.amazonaws.com/123456789012/emr', '--http-port', '9091',
    ],
    io,
  );
  assert.is(code, 0, io.stderr.join('\n'));
  const file = join(d.dir, 'sync.config.js');
  assert.ok(readFileSync(file, 'utf8').includes('export default {'));
  const c = await loadConfig({ cwd: d.dir, env: {} });
  assert.equal(c.sources, [file]);
  assert.is(c.site.id, 'etl-1');
  assert.equal(c.site.redis, { url: 'redis://10.1.2.3:6379' });
  assert.is(c.site.aws.region, 'eu-west-1');
  assert.is(c.site.sqs?.completionQueueUrl, 'https://sqs.eu-west-1.amazonaws.com/123456789012/emr');
  assert.is(c.site.http.port, 9091);
  assert.equal(c.tenant, { id: 'acme', state: 's3://state-bucket/acme', predictionPreference: 'economy', projectLocation: 's3://runs-bucket/p' });
});

test('minimal flags: embedded redis, default state; --out elsewhere; relative file: state next to the file', async () => {
  const d = fresh();
  const io = memoryIo({}, d.dir);
  assert.is(await run(['--tenant-id', 'acme', '--out', 'etc/sync.config.js', '--state', "file:./it's state"], io), 0, io.stderr.join('\n'));
  const c = await loadConfig({ cwd: d.dir, configPath: 'etc/sync.config.js', env: {}, hostname: 'box' });
  assert.equal(c.site.redis, { embedded: true });
  assert.is(c.site.id, 'box');
  assert.is(c.tenant.state, pathToFileURL(join(d.dir, 'etc', "it's state")).href);
});

test('refuses to overwrite without --force; --force overwrites', async () => {
  const d = fresh();
  const path = d.write('sync.config.js', '// mine\n');
  const io = memoryIo({}, d.dir);
  assert.is(await run(['--tenant-id', 'acme'], io), 1);
  assert.match(io.stderr.join('\n'), '--force');
  assert.is(readFileSync(path, 'utf8'), '// mine\n');
  assert.is(await run(['--tenant-id', 'acme', '--force'], memoryIo({}, d.dir)), 0);
  assert.is((await loadConfig({ cwd: d.dir, env: {} })).tenant.id, 'acme');
});

test('non-interactive without --tenant-id, or with invalid values: exit 2 and nothing written', async () => {
  const d = fresh();
  const io = memoryIo({}, d.dir);
  assert.is(await run([], io), 2);
  assert.match(io.stderr.join('\n'), '--tenant-id');
  const bad = memoryIo({}, d.dir);
  assert.is(await run(['--tenant-id', 'acme', '--http-port', '99999', '--state', 's3a://x/y', '--preference', 'cheap'], bad), 2);
  const msg = bad.stderr.join('\n');
  for (const key of ['site.http.port', 'tenant.state', 'tenant.predictionPreference']) assert.ok(msg.includes(key), key);
  assert.not.ok(existsSync(join(d.dir, 'sync.config.js')));
  assert.is(await run(['--bogus'], memoryIo({}, d.dir)), 2);
});

test('interactive: asks only for what the flags left out, re-asks on a bad answer, defaults on empty', async () => {
  const d = fresh();
  const asked: string[] = [];
  const replies = ['', 'acme', 'not-a-url', 'file:///srv/state', '', '', '', 'economy', '', ''];
  const io = {
    ...memoryIo({ AWS_REGION: 'ap-southeast-2' }, d.dir),
    prompt: async (q: string) => {
      asked.push(q);
      return replies.shift() ?? '';
    },
  };
  assert.is(await run(['--site-id', 'given'], io), 0, io.stderr.join('\n'));
  assert.not.ok(asked.some((q) => q.startsWith('Site id')), 'site id came from a flag');
  assert.is(asked.filter((q) => q.startsWith('Project state')).length, 2, 'state asked twice');
  const c = await loadConfig({ cwd: d.dir, env: {} });
  assert.is(c.site.id, 'given');
  assert.equal(c.tenant, { id: 'acme', state: 'file:///srv/state', predictionPreference: 'economy' });
  assert.equal(c.site.redis, { embedded: true });
  assert.is(c.site.aws.region, 'ap-southeast-2');
  assert.is(c.site.http.port, 8080);
});

test('refuses a .js ES module inside a "type": "commonjs" package', async () => {
  const d = fresh();
  d.write('package.json', JSON.stringify({ name: 'x', type: 'commonjs' }));
  const io = memoryIo({}, d.dir);
  assert.is(await run(['--tenant-id', 'acme'], io), 2);
  assert.match(io.stderr.join('\n'), '.mjs');
  assert.is(await run(['--tenant-id', 'acme', '--out', 'sync.config.mjs'], memoryIo({}, d.dir)), 0);
  assert.is((await loadConfig({ cwd: d.dir, env: {} })).tenant.id, 'acme');
});

test.run();
