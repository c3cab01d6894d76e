// Builds what a configured Databricks workspace gives the handlers: the platform, the object store for
// dbfs:/ and /Volumes, the cost catalog of the workspace's cloud, and VM prices.
import { readFileSync } from 'node:fs';
import type { Credentials, DatabricksSiteConfig } from '../config/types.js';
import type { DatabricksCloudCatalog, DatabricksNodeType } from '../domain/databricks-cost.js';
import { SyncError } from '../domain/errors.js';
import type { Catalog } from '../domain/prediction/catalog.js';
import type { DatabricksPlatformPort, ObjectStore } from '../domain/ports.js';
import { createDatabricksClient, databricksAuthFrom } from './databricks-client.js';
import { createDatabricksObjectStore } from './databricks-object-store.js';
import { createDatabricksPlatform } from './databricks-platform.js';

type CatalogFile = Record<'aws' | 'azure', { defaultPlan: string; dbuPrices: Record<string, Record<string, number>>; nodeTypes: DatabricksNodeType[] }>;

/** The shipped Databricks catalog of one cloud (data/databricks-catalog.json), with the config's overrides. */
export function loadDatabricksCatalog(
  cloud: 'aws' | 'azure',
  overrides: { dbuPrices?: Record<string, Record<string, number>>; nodeTypes?: DatabricksNodeType[] } = {},
  url: URL = new URL('../../data/databricks-catalog.json', import.meta.url),
): DatabricksCloudCatalog {
  let doc: CatalogFile;
  try {
    doc = JSON.parse(readFileSync(url, 'utf8')) as CatalogFile;
  } catch (e) {
    throw new SyncError('invalid_config', `the Databricks catalog ${url.href} could not be read: ${e instanceof Error ? e.message : String(e)}`);
  }
  const base = doc[cloud];
  const nodeTypes = new Map(base.nodeTypes.map((n) => [n.nodeTypeId, n]));
  for (const n of overrides.nodeTypes ?? []) nodeTypes.set(n.nodeTypeId, { ...nodeTypes.get(n.nodeTypeId), ...n });
  const dbuPrices = structuredClone(base.dbuPrices);
  for (const [plan, prices] of Object.entries(overrides.dbuPrices ?? {})) dbuPrices[plan] = { ...dbuPrices[plan], ...prices };
  return { defaultPlan: base.defaultPlan, dbuPrices, nodeTypes: [...nodeTypes.values()] };
}

/** The workspace's platform, object store, catalog and VM prices. Throws 'invalid_config' without credentials. */
export function createDatabricksWiring(site: DatabricksSiteConfig, credentials: Credentials, opts: { region: string; ec2: Catalog | undefined }) {
  const client = createDatabricksClient({ host: site.host, auth: databricksAuthFrom(credentials) });
  const platform: DatabricksPlatformPort = createDatabricksPlatform({ client, cloud: site.cloud, region: opts.region });
  const objects: ObjectStore = createDatabricksObjectStore(client);
  const catalog = loadDatabricksCatalog(site.cloud);
  const vmPrice = (nodeType: string, spot: boolean, cloud: 'aws' | 'azure'): number | undefined => {
    if (cloud === 'azure') return catalog.nodeTypes.find((n) => n.nodeTypeId === nodeType)?.vmUsdPerHour;
    const spec = opts.ec2?.get(nodeType);
    if (!spec) return undefined;
    return spot && spec.spotUsdPerHour !== undefined ? spec.spotUsdPerHour : spec.onDemandUsdPerHour;
  };
  return { client, platform, objects, catalog, vmPrice };
}
