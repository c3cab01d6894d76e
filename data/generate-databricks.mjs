// Generates data/databricks-catalog.json from the CSV files in data/databricks/ (copied verbatim from the
// project's shared data; provenance in data/PROVENANCE.md). Run: node data/generate-databricks.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const dir = new URL('./databricks/', import.meta.url);
const csv = (name) => {
  const [head, ...rows] = readFileSync(new URL(name, dir), 'utf8').trim().split('\n');
  const cols = head.split(',');
  return rows.map((r) => Object.fromEntries(r.split(',').map((v, i) => [cols[i], v])));
};
const num = (v) => (v === undefined || v === '' ? undefined : Number(v));

const awsNodes = csv('databricks-aws-node-types.csv')
  .filter((r) => r.marked_deprecated !== 'true')
  .map((r) => ({ nodeTypeId: r.instance_type, vcpu: num(r.vcpus), memoryGib: num(r.memory_gib_derived), dbuPerHour: num(r.dbu_per_hour) }));

// AWS $/DBU by plan x compute type; the upstream's swapped Enterprise Jobs / Jobs Light pair is corrected (see PROVENANCE).
const awsPrices = {};
for (const r of csv('databricks-aws-sku-usd-per-dbu-optscale.csv')) {
  const type = { JOBS_COMPUTE: 'jobs', ALL_PURPOSE_COMPUTE: 'all-purpose' }[r.compute_type];
  if (!type || !r.plan) continue;
  const key = `${type}${r.photon === 'true' ? '-photon' : ''}`;
  let price = num(r.usd_per_dbu);
  if (r.plan === 'ENTERPRISE' && key === 'jobs') price = 0.2;
  (awsPrices[r.plan.toLowerCase()] ??= {})[key] = price;
}

const vm = new Map(csv('azure-vm-specs-prices.csv').map((r) => [r.arm_sku_name, r]));
// Every SKU's eastus Linux PAYG price (the specs table above joins only the sizes spark-rapids-tools lists).
const payg = new Map(csv('azure-vm-linux-payg-prices.csv').filter((r) => r.region === 'eastus').map((r) => [r.arm_sku_name, r.linux_payg_usd_per_hour]));
const azureNodes = csv('databricks-azure-node-types.csv')
  .filter((r) => r.dbu_per_hour_jobs !== '')
  .map((r) => {
    const v = vm.get(r.node_type_id);
    const row = { nodeTypeId: r.node_type_id, vcpu: num(r.vcpus), memoryGib: num(r.memory_gib), dbuPerHour: num(r.dbu_per_hour_jobs) };
    const photon = num(r.dbu_per_hour_jobs_photon);
    if (photon !== undefined) row.dbuPerHourPhoton = photon;
    const price = num(v?.eastus_linux_payg_usd_per_hour) ?? num(payg.get(r.node_type_id));
    if (price !== undefined) row.vmUsdPerHour = price;
    return row;
  });
const azurePrices = {};
for (const r of csv('databricks-azure-usd-per-dbu-eastus.csv')) {
  const type = { jobs: 'jobs', all_purpose: 'all-purpose' }[r.compute_type];
  if (!type) continue;
  const p = (azurePrices[r.plan] ??= {});
  p[type] = num(r.usd_per_dbu);
  // The Photon premium on Azure is in DBU/h; Photon SKUs carry the same $/DBU (PROVENANCE §2).
  p[`${type}-photon`] = num(r.usd_per_dbu);
}

const out = {
  generatedFrom: ['data/databricks/*.csv'],
  provenance: 'data/PROVENANCE.md',
  aws: { region: 'us-east-1', asOf: '2023-03 (node types), 2023-11 ($/DBU)', defaultPlan: 'premium', vmPrices: 'data/instances.json (EC2 on-demand)', dbuPrices: awsPrices, nodeTypes: awsNodes },
  azure: { region: 'eastus', asOf: '2026 (node types), 2026-09-18 ($/DBU), 2026-06-18 (VM prices)', defaultPlan: 'premium', dbuPrices: azurePrices, nodeTypes: azureNodes },
};
const lines = JSON.stringify(out, null, 1).split('\n');
writeFileSync(new URL('./databricks-catalog.json', import.meta.url), lines.join('\n') + '\n');
console.log(`aws: ${awsNodes.length} node types; azure: ${azureNodes.length} node types (${azureNodes.filter((n) => n.vmUsdPerHour !== undefined).length} with a VM price)`);
