// SIGHUP re-reads the configuration: a valid change applies, a broken file is refused with its
// problems logged, and the daemon keeps running on the configuration it had. site.predictions
// changes are applied (a new catalog and backend), or refused naming the key.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startAgent, writeConfig } from '../support/agent-process.js';
import { eventually } from '../support/async.js';
import { freePort, startRedis } from '../support/redis.js';

test('SIGHUP: a valid change is applied, a broken file is refused and the agent stays ready', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sync-reload-'));
  const redis = await startRedis();
  const httpPort = await freePort();
  const config = (extra: Record<string, unknown>) => ({
    site: { id: 'reload-host', redis: { url: redis.url }, queues: { prefix: 'reload' }, http: { port: httpPort }, ...extra },
    tenant: { id: 'acme', state: pathToFileURL(join(dir, 'state')).href, projectLocation: pathToFileURL(join(dir, 'runs')).href },
  });
  const configPath = writeConfig(dir, config({}));
  const agent = startAgent({ configPath, httpPort });
  try {
    await agent.ready();
    writeConfig(dir, config({ logLevel: 'debug', predictionPreference: 'economy', queues: { prefix: 'other' }, predictions: { emrPricing: { 'm5.xlarge': 0.5 } } }));
    agent.kill('SIGHUP');
    const reloaded = await eventually(() => agent.logs.find((l) => l.msg === 'configuration reloaded'), 10_000, 'the reload log line');
    assert.match(String(reloaded.warning), /need a restart/, 'the changed queue prefix is reported as needing a restart');
    assert.equal(reloaded.applied, ['site.predictions'], 'the new EMR pricing is applied (catalog and backend rebuilt), not silently ignored');
    // A predictions change that cannot be applied (no Sync API key here) is refused, naming the key.
    writeConfig(dir, config({ predictions: { backend: 'sync-api' } }));
    agent.kill('SIGHUP');
    const refused = await eventually(() => agent.logs.find((l) => l.msg === 'configuration reload failed; keeping the running configuration'), 10_000, 'the refused reload');
    assert.match(JSON.stringify(refused.error), /site\.predictions\.backend/);
    agent.logs.splice(0, agent.logs.length);
    writeFileSync(configPath, 'export default { site: { http: { port: "eighty" } }, tenant: {} };\n');
    agent.kill('SIGHUP');
    const failed = await eventually(() => agent.logs.find((l) => l.msg === 'configuration reload failed; keeping the running configuration'), 10_000, 'the failed reload');
    const message = JSON.stringify(failed.error);
    assert.match(message, /site\.http\.port/);
    assert.match(message, /tenant\.id/);
    assert.is((await fetch(`${agent.httpUrl}/readyz`)).status, 200);
    assert.is(await agent.stop(), 0);
  } finally {
    if (agent.child.exitCode === null && agent.child.signalCode === null) await agent.stop();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
