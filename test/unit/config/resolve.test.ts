import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { embeddedDefaults } from '../../../src/config/defaults.js';
import { resolvePreference, resolveProjectLocation } from '../../../src/config/resolve.js';
import type { Config } from '../../../src/config/types.js';
import { SyncError } from '../../../src/domain/errors.js';

function config(site: Partial<Config['site']> = {}, tenant: Partial<Config['tenant']> = {}): Config {
  const base = embeddedDefaults('/srv/agent', { env: {}, hostname: 'h' });
  const t: Config['tenant'] = { id: 'acme', state: 'file:///var/lib/sync-agent/state', ...tenant };
  return { site: { ...base.site, ...site }, tenant: t, sources: ['/etc/sync/sync.config.js'] };
}

function thrown(fn: () => unknown): SyncError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SyncError) return e;
    throw e;
  }
  throw new Error('expected a SyncError');
}

test('preference: request -> project -> site -> tenant -> balanced', () => {
  const full = config({ predictionPreference: 'performance' }, { predictionPreference: 'economy' });
  assert.is(resolvePreference({ request: { preference: 'economy' }, project: { preference: 'performance' }, config: full }), 'economy');
  assert.is(resolvePreference({ request: {}, project: { preference: 'economy' }, config: config({ predictionPreference: 'performance' }) }), 'economy');
  assert.is(resolvePreference({ project: {}, config: full }), 'performance');
  assert.is(resolvePreference({ config: config({}, { predictionPreference: 'economy' }) }), 'economy');
  assert.is(resolvePreference({ request: { preference: undefined }, config: config() }), 'balanced');
});

test('preference: a request value outside the union is an invalid_request', () => {
  const e = thrown(() => resolvePreference({ request: { preference: 'cheapest' as never }, config: config() }));
  assert.is(e.code, 'invalid_request');
  assert.match(e.message, 'cheapest');
});

test('location: request -> project -> site -> tenant, normalised without trailing slash', () => {
  const c = config({ projectLocation: 's3://site-bucket/runs' }, { projectLocation: 's3://tenant-bucket/runs' });
  assert.is(resolveProjectLocation({ request: { location: 's3://req-bucket/a/' }, project: { location: 's3://proj-bucket/b' }, config: c }), 's3://req-bucket/a');
  assert.is(resolveProjectLocation({ request: {}, project: { location: 'file:///data/p/' }, config: c }), 'file:///data/p');
  assert.is(resolveProjectLocation({ project: {}, config: c }), 's3://site-bucket/runs');
  assert.is(resolveProjectLocation({ config: config({}, { projectLocation: 's3://tenant-bucket' }) }), 's3://tenant-bucket');
});

test('location missing everywhere on a cold start: invalid_config naming the key and every place looked', () => {
  const c = config();
  delete c.tenant.projectLocation;
  const e = thrown(() => resolveProjectLocation({ request: {}, project: undefined, config: c }));
  assert.is(e.code, 'invalid_config');
  for (const part of ['`location`', "the request's", "the project's", 'site.projectLocation', 'tenant.projectLocation', '/etc/sync/sync.config.js']) {
    assert.ok(e.message.includes(part), `mentions ${part}`);
  }
  assert.is(e.details?.key, 'projectLocation');
});

test('location validation: only s3://bucket/prefix and file:///abs/path', () => {
  const c = config();
  const bad: Array<[string, string]> = [
    ['s3a://bucket/x', 's3://'],
    ['https://bucket.s3.amazonaws.com/x', 's3://bucket/prefix'],
    ['s3://Bad_Bucket/x', 'bucket'],
    ['s3://bucket/a/../b', "'..'"],
    ['file://host/path', 'three slashes'],
    ['file:./relative', 'relative'],
    ['/plain/path', 's3://bucket/prefix'],
    ['', 's3://bucket/prefix'],
  ];
  for (const [value, hint] of bad) {
    const e = thrown(() => resolveProjectLocation({ request: { location: value }, config: c }));
    assert.is(e.code, 'invalid_request', value);
    assert.ok(e.message.includes(hint), `${value}: ${e.message}`);
  }
  const fromProject = thrown(() => resolveProjectLocation({ project: { location: 'gs://x/y' }, config: c }));
  assert.is(fromProject.code, 'invalid_config');
  assert.match(fromProject.message, "the project's `location`");
});

test.run();
