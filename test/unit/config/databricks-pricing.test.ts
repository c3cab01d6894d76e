// site.predictions.databricks.{plan, dbuPrices, nodeTypes}: read and checked by the config loader (a bad
// value names its key), merged over the shipped catalog, and used by the workspace's prices.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../../src/config/load-config.js';
import type { ConfigProblem } from '../../../src/config/reader.js';
import { createDatabricksWiring, loadDatabricksCatalog } from '../../../src/adapters/databricks-wiring.js';
import { databricksRunCost } from '../../../src/domain/databricks-cost.js';
import { rejection, tempDir } from './helpers.js';

const dirs: Array<ReturnType<typeof tempDir>> = [];
const fresh = () => {
  const d = tempDir('sync-dbx-pricing-');
  dirs.push(d);
  return d;
};
test.after(() => dirs.forEach((d) => d.cleanup()));
const withPredictions = (databricks: string) =>
  `export default { site: { redis: 'embedded', databricks: { host: 'https://dbc-1.cloud.databricks.com' }, predictions: { databricks: ${databricks} } }, tenant: { id: 'acme' } };\n`;
const problemsOf = (e: { details?: Record<string, unknown> }) => (e.details?.problems ?? []) as ConfigProblem[];

test('site.predictions.databricks: read as given', async () => {
  const d = fresh();
  d.write('sync.config.js', withPredictions(`{ plan: 'enterprise', dbuPrices: { enterprise: { jobs: 0.18, 'jobs-photon': 0.18 } }, nodeTypes: [{ nodeTypeId: 'm5.4xlarge', dbuPerHour: 2.5 }, { nodeTypeId: 'm7i.4xlarge', vcpu: 16, memoryGib: 64, dbuPerHour: 2.9, vmUsdPerHour: 0.8064 }] }`));
  const c = await loadConfig({ cwd: d.dir, env: {} });
  assert.equal(c.site.predictions.databricks, {
    plan: 'enterprise',
    dbuPrices: { enterprise: { jobs: 0.18, 'jobs-photon': 0.18 } },
    nodeTypes: [{ nodeTypeId: 'm5.4xlarge', dbuPerHour: 2.5 }, { nodeTypeId: 'm7i.4xlarge', vcpu: 16, memoryGib: 64, dbuPerHour: 2.9, vmUsdPerHour: 0.8064 }],
  });
});

test('site.predictions.databricks: a bad value is refused with its key named', async () => {
  const d = fresh();
  d.write('sync.config.js', withPredictions(`{ dbuPrices: { premium: { jobs: -1, jobz: 0.2 }, 'Bad Plan': { jobs: 0.1 } }, nodeTypes: [{ vcpu: 4 }, { nodeTypeId: 'm5.xlarge', dbuPerHour: 'lots' }], plan: 7 }`));
  const byPath = (problems: ConfigProblem[], p: string) => problems.find((x) => x.path === p)?.message ?? '';
  const problems = problemsOf(await rejection(loadConfig({ cwd: d.dir, env: {} })));
  assert.match(byPath(problems, 'site.predictions.databricks.dbuPrices.premium.jobs'), /must be a number >= 0/);
  assert.match(byPath(problems, 'site.predictions.databricks.dbuPrices.premium.jobz'), /unknown key; did you mean 'jobs'/);
  assert.match(byPath(problems, 'site.predictions.databricks.dbuPrices.Bad Plan'), /plan name/);
  assert.match(byPath(problems, 'site.predictions.databricks.nodeTypes[0].nodeTypeId'), /is required/);
  assert.match(byPath(problems, 'site.predictions.databricks.nodeTypes[1].dbuPerHour'), /must be a number >= 0, got/);
  assert.match(byPath(problems, 'site.predictions.databricks.plan'), /non-empty string/);
  d.write('sync.config.js', withPredictions(`{ nodeTypes: 'm5.xlarge' }`));
  assert.match(byPath(problemsOf(await rejection(loadConfig({ cwd: d.dir, env: {} }))), 'site.predictions.databricks.nodeTypes'), /must be an array/);
});

test('the overrides replace the shipped figures; a new node type must be complete; the plan must be priced', () => {
  const shipped = loadDatabricksCatalog('aws');
  const catalog = loadDatabricksCatalog('aws', { dbuPrices: { premium: { jobs: 0.5 } }, nodeTypes: [{ nodeTypeId: 'm5.4xlarge', dbuPerHour: 9 }, { nodeTypeId: 'm7i.4xlarge', vcpu: 16, memoryGib: 64, dbuPerHour: 2.9, vmUsdPerHour: 0.8 }] });
  assert.is(catalog.dbuPrices.premium!.jobs, 0.5);
  assert.is(catalog.dbuPrices.premium!['all-purpose'], shipped.dbuPrices.premium!['all-purpose'], 'other compute types kept');
  const m5 = catalog.nodeTypes.find((n) => n.nodeTypeId === 'm5.4xlarge')!;
  assert.is(m5.dbuPerHour, 9);
  assert.is(m5.vcpu, shipped.nodeTypes.find((n) => n.nodeTypeId === 'm5.4xlarge')!.vcpu, 'other fields kept');
  const cost = databricksRunCost(catalog, 'aws', { nodeType: 'm7i.4xlarge', driverNodeType: 'm5.4xlarge', workers: 2, photon: false }, 3600, () => 1);
  assert.is(cost.dbus, 9 + 2 * 2.9);
  assert.is(cost.dbuUsd, Math.round((9 + 2 * 2.9) * 0.5 * 10_000) / 10_000);
  const incomplete = (() => {
    try {
      loadDatabricksCatalog('aws', { nodeTypes: [{ nodeTypeId: 'm5.4xlarge', dbuPerHour: 3 }, { nodeTypeId: 'x9.huge', dbuPerHour: 3 }] });
    } catch (e) {
      return e as Error & { code?: string };
    }
    return undefined;
  })();
  assert.is(incomplete?.code, 'invalid_config');
  assert.match(incomplete?.message ?? '', /site\.predictions\.databricks\.nodeTypes\[1\]: 'x9\.huge' is not in the shipped aws catalog, so it must give vcpu, memoryGib/);
  assert.throws(() => loadDatabricksCatalog('azure', { plan: 'enterprise' }), /site\.predictions\.databricks\.plan: the azure catalog has no Jobs Compute \$\/DBU for plan 'enterprise'/);
  assert.is(loadDatabricksCatalog('azure', { plan: 'enterprise', dbuPrices: { enterprise: { jobs: 0.25 } } }).defaultPlan, 'enterprise');
});

test('the wiring prices with the overrides: a node type VM price wins over EC2', () => {
  const wiring = createDatabricksWiring({ host: 'https://dbc-1.cloud.databricks.com', cloud: 'aws', pollIntervalMs: 30_000, maxCallsPerPass: 50, logDelivery: { waitTimeoutMs: 600_000, pollMs: 15_000 } }, { sources: [], databricksToken: 'dapi-x' } as never, {
    region: 'us-east-1',
    ec2: { instances: [], get: (t: string) => (t === 'm5.4xlarge' ? ({ onDemandUsdPerHour: 0.768 } as never) : undefined) },
    pricing: { nodeTypes: [{ nodeTypeId: 'm7i.4xlarge', vcpu: 16, memoryGib: 64, dbuPerHour: 2.9, vmUsdPerHour: 0.8064 }] },
  });
  assert.is(wiring.vmPrice('m7i.4xlarge', false, 'aws'), 0.8064);
  assert.is(wiring.vmPrice('m5.4xlarge', false, 'aws'), 0.768);
  assert.ok(wiring.catalog.nodeTypes.some((n) => n.nodeTypeId === 'm7i.4xlarge'));
});

test.run();
