import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { embeddedDefaults } from '../../../src/config/defaults.js';
import { loadConfig } from '../../../src/config/load-config.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

test('the example sync.config.js at the repo root loads and equals embeddedDefaults(repo root)', async () => {
  const c = await loadConfig({ configPath: join(root, 'sync.config.js'), env: {}, hostname: 'demo-host' });
  assert.equal(c.sources, [join(root, 'sync.config.js')]);
  assert.equal(c.tenant, {
    id: 'local',
    state: pathToFileURL(join(root, '.sync-agent', 'state')).href,
    projectLocation: pathToFileURL(join(root, '.sync-agent', 'runs')).href,
  });
  assert.equal(c.site.redis, { embedded: true, dir: join(root, '.sync-agent', 'redis') });
  assert.equal({ ...c, sources: [] }, embeddedDefaults(root, { env: {}, hostname: 'demo-host' }));
});

test('the example resolves against its own folder whatever the cwd', async () => {
  const c = await loadConfig({ cwd: '/', configPath: join(root, 'sync.config.js'), env: {} });
  assert.ok(c.tenant.state.startsWith(pathToFileURL(root).href));
});

test.run();
