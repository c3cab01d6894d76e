// What a Databricks run costs: every node's VM price plus its DBUs (node type's DBU/h x $/DBU of the
// compute type and plan), over the cluster's life. Pure: the catalog is read by the caller.
import { SyncError } from './errors.js';
import type { DatabricksCloud } from './databricks-job.js';

/** One node type: DBUs per hour (Jobs Compute; Photon when known) and, on Azure, the VM's $/h. */
export type DatabricksNodeType = { nodeTypeId: string; vcpu: number; memoryGib: number; dbuPerHour: number; dbuPerHourPhoton?: number; vmUsdPerHour?: number };

/** One cloud's catalog: node types and $/DBU by plan then compute type (`jobs`, `jobs-photon`, `all-purpose`, ...). */
export type DatabricksCloudCatalog = { nodeTypes: DatabricksNodeType[]; dbuPrices: Record<string, Record<string, number>>; defaultPlan: string };

/** The cost of a run, VM and DBU apart (USD). */
export type DatabricksCost = { vmUsd: number; dbuUsd: number; totalUsd: number; dbus: number };

/** Jobs Photon DBU/h on AWS where the catalog has no figure: 2.0 x (third-party figure, unverified; see data/PROVENANCE.md). */
export const AWS_PHOTON_DBU_FACTOR = 2.0;

/** What a cluster looked like, for pricing. */
export type PricedCluster = {
  nodeType: string;
  driverNodeType: string;
  workers: number;
  /** Whether the cluster ran Photon (runtime_engine PHOTON). */
  photon: boolean;
  /** Workers on spot VMs (the driver stays on demand, as first_on_demand >= 1 usually keeps it). */
  spotWorkers?: boolean;
};

/**
 * Prices `seconds` of a cluster: (driver + workers) x (VM $/h + DBU/h x $/DBU) x hours, Jobs Compute (Photon
 * when the runtime engine is Photon) on `plan`. `vmUsdPerHour(nodeType, spot)` gives VM prices (EC2 for AWS
 * from the instance catalog; Azure from the Databricks catalog). Throws 'not_found' for an unknown node type.
 */
export function databricksRunCost(
  catalog: DatabricksCloudCatalog,
  cloud: DatabricksCloud,
  cluster: PricedCluster,
  seconds: number,
  vmUsdPerHour: (nodeType: string, spot: boolean) => number | undefined,
  plan = catalog.defaultPlan,
): DatabricksCost {
  const computeType = cluster.photon ? 'jobs-photon' : 'jobs';
  const usdPerDbu = catalog.dbuPrices[plan]?.[computeType];
  if (usdPerDbu === undefined) throw new SyncError('not_found', `no $/DBU for ${computeType} on the ${plan} plan (${cloud})`);
  const hours = Math.max(0, seconds) / 3600;
  const node = (type: string) => {
    const n = catalog.nodeTypes.find((x) => x.nodeTypeId === type);
    if (!n) throw new SyncError('not_found', `node type ${type} is not in the Databricks ${cloud} catalog`);
    return n;
  };
  const dbuOf = (n: DatabricksNodeType) => (cluster.photon ? (n.dbuPerHourPhoton ?? n.dbuPerHour * (cloud === 'aws' ? AWS_PHOTON_DBU_FACTOR : 2.5)) : n.dbuPerHour);
  const vmOf = (type: string, spot: boolean) => {
    const v = vmUsdPerHour(type, spot);
    if (v === undefined) throw new SyncError('not_found', `no VM price for ${type} (${cloud})`);
    return v;
  };
  const driver = node(cluster.driverNodeType);
  const worker = node(cluster.nodeType);
  const dbus = (dbuOf(driver) + cluster.workers * dbuOf(worker)) * hours;
  const vmUsd = (vmOf(driver.nodeTypeId, false) + cluster.workers * vmOf(worker.nodeTypeId, cluster.spotWorkers === true)) * hours;
  const dbuUsd = dbus * usdPerDbu;
  const round = (x: number) => Math.round(x * 10_000) / 10_000;
  return { vmUsd: round(vmUsd), dbuUsd: round(dbuUsd), totalUsd: round(vmUsd + dbuUsd), dbus: round(dbus) };
}
