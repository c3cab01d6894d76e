// Builds what a configured Databricks workspace gives the handlers: the platform, the object store for
// dbfs:/ and /Volumes, the cost catalog of the workspace's cloud, and VM prices.
import { readFileSync } from 'node:fs';
import type { Credentials, DatabricksPricingOverrides, DatabricksSiteConfig } from '../config/types.js';
import type { DatabricksCloudCatalog, DatabricksNodeType } from '../domain/databricks-cost.js';
import { SyncError } from '../domain/errors.js';
import type { Catalog } from '../domain/prediction/catalog.js';
import type { DatabricksPlatformPort, ObjectStore } from '../domain/ports.js';
import { createDatabricksClient, databricksAuthFrom } from './databricks-client.js';
import { createDatabricksObjectStore } from './databricks-object-store.js';
import { createDatabricksPlatform } from './databricks-platform.js';

type CatalogFile = Record<'aws' | 'azure', { defaultPlan: string; dbuPrices: Record<string, Record<string, number>>; nodeTypes: DatabricksNodeType[] }>;

/**
 * The shipped Databricks catalog of one cloud (data/databricks-catalog.json), with the config's overrides
 * (`site.predictions.databricks`): $/DBU merged by plan and compute type, node types merged field by field
 * (a new one must give vcpu, memoryGib and dbuPerHour), and the plan. Throws 'invalid_config' naming the key.
 */
export function loadDatabricksCatalog(
  cloud: 'aws' | 'azure',
  overrides: DatabricksPricingOverrides = {},
  url: URL = new URL('../../data/databricks-catalog.json', import.meta.url),
): DatabricksCloudCatalog {
  let doc: CatalogFile;
  try {
    doc = JSON.parse(readFileSync(url, 'utf8')) as CatalogFile;
  } catch (e) {
    throw new SyncError('invalid_config', `the Databricks catalog ${url.href} could not be read: ${e instanceof Error ? e.message : String(e)}`);
  }
  const base = doc[cloud];
  const key = 'site.predictions.databricks';
  const nodeTypes = new Map(base.nodeTypes.map((n) => [n.nodeTypeId, n]));
  (overrides.nodeTypes ?? []).forEach((n, i) => {
    const merged = { ...nodeTypes.get(n.nodeTypeId), ...n } as Partial<DatabricksNodeType>;
    const missing = (['vcpu', 'memoryGib', 'dbuPerHour'] as const).filter((k) => typeof merged[k] !== 'number' || !(merged[k] >= 0) || (k !== 'dbuPerHour' && merged[k] === 0));
    if (missing.length > 0) {
      throw new SyncError('invalid_config', `${key}.nodeTypes[${i}]: '${n.nodeTypeId}' is not in the shipped ${cloud} catalog, so it must give ${missing.join(', ')} (positive numbers)`);
    }
    nodeTypes.set(n.nodeTypeId, merged as DatabricksNodeType);
  });
  const dbuPrices = structuredClone(base.dbuPrices);
  for (const [plan, prices] of Object.entries(overrides.dbuPrices ?? {})) dbuPrices[plan] = { ...dbuPrices[plan], ...prices };
  const plan = overrides.plan ?? base.defaultPlan;
  const known = dbuPrices[plan];
  if (!known || known.jobs === undefined) {
    throw new SyncError('invalid_config', `${key}.plan: the ${cloud} catalog has no Jobs Compute $/DBU for plan '${plan}' (plans: ${Object.keys(dbuPrices).join(', ')}); add ${key}.dbuPrices.${plan}.jobs`);
  }
  return { defaultPlan: plan, dbuPrices, nodeTypes: [...nodeTypes.values()] };
}

/** The workspace's platform, object store, catalog and VM prices. Throws 'invalid_config' without credentials. */
export function createDatabricksWiring(site: DatabricksSiteConfig, credentials: Credentials, opts: { region: string; ec2: Catalog | undefined; pricing?: DatabricksPricingOverrides | undefined }) {
  const client = createDatabricksClient({ host: site.host, auth: databricksAuthFrom(credentials) });
  const platform: DatabricksPlatformPort = createDatabricksPlatform({ client, cloud: site.cloud, region: opts.region });
  const objects: ObjectStore = createDatabricksObjectStore(client);
  const catalog = loadDatabricksCatalog(site.cloud, opts.pricing);
  const vmPrice = (nodeType: string, spot: boolean, cloud: 'aws' | 'azure'): number | undefined => {
    // A VM price in the catalog (Azure's, or a site.predictions.databricks.nodeTypes override) wins over EC2's.
    const own = catalog.nodeTypes.find((n) => n.nodeTypeId === nodeType)?.vmUsdPerHour;
    if (cloud === 'azure' || own !== undefined) return own;
    const spec = opts.ec2?.get(nodeType);
    if (!spec) return undefined;
    return spot && spec.spotUsdPerHour !== undefined ? spec.spotUsdPerHour : spec.onDemandUsdPerHour;
  };
  return { client, platform, objects, catalog, vmPrice };
}
