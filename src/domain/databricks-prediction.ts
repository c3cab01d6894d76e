// Predictions for Databricks projects, on the same engine as EMR: the Databricks cluster report is shown
// to the engine as the equivalent instance groups (driver = master, workers = core), and each solution
// comes back as a Databricks cluster fragment priced as VM + DBUs.
import { clusterShape, type DatabricksClusterFragment } from './databricks-job.js';
import { databricksRunCost, type DatabricksCloudCatalog } from './databricks-cost.js';
import { SyncError } from './errors.js';
import type { ClusterReport, DatabricksClusterReport } from './ports.js';
import type { InstanceSpec } from './prediction/catalog.js';
import type { JobFlow, Prediction, Solution } from './types.js';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether the cluster bought its workers on spot (SPOT / SPOT_WITH_FALLBACK, SPOT_AZURE, ...). */
export function spotWorkers(cluster: Record<string, unknown>): boolean {
  const a = (isRecord(cluster.aws_attributes) ? cluster.aws_attributes : isRecord(cluster.azure_attributes) ? cluster.azure_attributes : {}) as { availability?: unknown };
  return typeof a.availability === 'string' && a.availability.includes('SPOT');
}

/**
 * Splits an Azure size into the engine's family and size: `Standard_E8ds_v4` -> family `Eds_v4`, size `8`;
 * `Standard_D13_v2` -> `D_v2`, `13`; `Standard_L16s` -> `Ls`, `16`. Undefined for names not of that shape.
 */
export function azureFamilyOf(nodeTypeId: string): { family: string; size: string; arm: boolean; gpu: boolean } | undefined {
  const m = /^Standard_([A-Z]+)(\d+)([a-z]*)((?:_[A-Za-z0-9]+)*)$/.exec(nodeTypeId);
  if (!m) return undefined;
  const [, series, size, features, rest] = m as unknown as [string, string, string, string, string];
  const parts = rest.split('_').filter((x) => x !== '');
  const version = parts.find((x) => /^v\d+$/.test(x));
  const accelerator = parts.some((x) => !/^v\d+$/.test(x));
  return {
    family: `${series}${features}${version ? `_${version}` : ''}`,
    size,
    // Azure's Arm sizes carry a `p` feature letter (Dpds_v6, Eps_v6: Cobalt / Ampere).
    arm: features.includes('p'),
    // N-series sizes carry GPUs (NC, ND, NV), as do names with an accelerator part (_A100_, _T4_).
    gpu: series.startsWith('N') || accelerator,
  };
}

/**
 * The engine's instance specs for an Azure Databricks workspace: every x86 CPU node type of the catalog
 * with a VM price, priced per hour as VM (as the engine's "EC2" price) plus its Jobs Compute DBUs at the
 * plan's $/DBU (in the place of EMR's surcharge), so the engine ranks candidates by what Databricks bills.
 * Arm and GPU sizes are left out (the engine's notes on Arm are Graviton's, and it models no GPUs), except
 * the basis run's own node types (`keep`).
 */
export function azureEngineInstances(catalog: DatabricksCloudCatalog, photon = false, plan = catalog.defaultPlan, keep: readonly string[] = []): InstanceSpec[] {
  const usdPerDbu = catalog.dbuPrices[plan]?.[photon ? 'jobs-photon' : 'jobs'];
  const out: InstanceSpec[] = [];
  for (const n of catalog.nodeTypes) {
    const f = azureFamilyOf(n.nodeTypeId);
    // The basis run's own node types (`keep`) stay whatever they are, so the engine can read the run it starts from.
    if (!f || (!keep.includes(n.nodeTypeId) && (f.arm || f.gpu)) || n.vmUsdPerHour === undefined || !(n.vcpu > 0) || !(n.memoryGib > 0)) continue;
    const dbus = photon ? (n.dbuPerHourPhoton ?? n.dbuPerHour) : n.dbuPerHour;
    out.push({
      instanceType: n.nodeTypeId,
      family: f.family,
      size: f.size,
      vcpu: n.vcpu,
      memoryGib: n.memoryGib,
      onDemandUsdPerHour: n.vmUsdPerHour,
      emrUsdPerHour: usdPerDbu === undefined ? 0 : Math.round(dbus * usdPerDbu * 10_000) / 10_000,
      arch: f.arm ? 'arm64' : 'x86_64',
    });
  }
  return out;
}

/** The EMR-shaped report the engine reads, made from a Databricks report (driver as master, workers as core). */
export function engineReportOf(report: DatabricksClusterReport): ClusterReport {
  const c = report.Cluster;
  const shape = clusterShape(c);
  if (!shape.nodeType) throw new SyncError('corrupt_data', 'the Databricks cluster report has no node_type_id');
  const run = report.Run as { start_time?: number; setup_duration?: number; end_time?: number };
  const at = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : undefined);
  const sparkConf = isRecord(c.spark_conf) ? c.spark_conf : {};
  const spot = spotWorkers(c);
  return {
    Cluster: {
      Id: String(c.cluster_id ?? ''),
      Name: String(c.cluster_name ?? ''),
      InstanceCollectionType: 'INSTANCE_GROUP',
      Status: { State: 'TERMINATED', Timeline: { CreationDateTime: at(run.start_time), ReadyDateTime: at(run.start_time && run.setup_duration ? run.start_time + run.setup_duration : undefined), EndDateTime: at(run.end_time) } },
      Configurations: [{ Classification: 'spark-defaults', Properties: { ...sparkConf } }],
    },
    InstanceGroups: [
      { InstanceGroupType: 'MASTER', InstanceType: shape.driverNodeType ?? shape.nodeType, RequestedInstanceCount: 1, RunningInstanceCount: 1, Market: 'ON_DEMAND' },
      { InstanceGroupType: 'CORE', InstanceType: shape.nodeType, RequestedInstanceCount: Math.max(1, shape.workers), RunningInstanceCount: Math.max(1, shape.workers), Market: spot ? 'SPOT' : 'ON_DEMAND' },
    ],
    Instances: [],
    Steps: [],
    BootstrapActions: [],
    Region: report.Region,
  };
}

/**
 * The recommended Spark settings a Databricks cluster takes in spark_conf: every spark.* key but the
 * executor counts (Databricks sizes executors by num_workers / autoscale, not dynamic allocation).
 */
const DATABRICKS_CONF = (key: string) => key.startsWith('spark.') && key !== 'spark.executor.instances' && !key.startsWith('spark.dynamicAllocation.');

/** The Databricks cluster fragment of an engine solution (a RunJobFlow fragment); `autoscaled` keeps autoscale. */
export function fragmentOf(configuration: JobFlow, autoscaled: { min: number; max: number } | undefined): DatabricksClusterFragment {
  const instances = isRecord(configuration.Instances) ? configuration.Instances : {};
  const groups = Array.isArray(instances.InstanceGroups) ? instances.InstanceGroups.filter(isRecord) : [];
  const fleets = Array.isArray(instances.InstanceFleets) ? instances.InstanceFleets.filter(isRecord) : [];
  let worker: string | undefined;
  let driver: string | undefined;
  let workers = 0;
  for (const g of groups) {
    const role = g.InstanceRole ?? g.InstanceGroupType;
    if (role === 'MASTER' && typeof g.InstanceType === 'string') driver = g.InstanceType;
    if ((role === 'CORE' || role === 'TASK') && typeof g.InstanceType === 'string') {
      worker ??= g.InstanceType;
      if (g.InstanceType === worker) workers += Number(g.InstanceCount ?? 0);
    }
  }
  for (const f of fleets) {
    const spec = Array.isArray(f.InstanceTypeSpecifications) ? f.InstanceTypeSpecifications.filter(isRecord)[0] : undefined;
    const type = typeof spec?.InstanceType === 'string' ? spec.InstanceType : undefined;
    if (f.InstanceFleetType === 'MASTER') driver = type;
    else if (type) {
      worker ??= type;
      workers += Number(f.TargetOnDemandCapacity ?? 0) + Number(f.TargetSpotCapacity ?? 0);
    }
  }
  const out: DatabricksClusterFragment = {};
  if (worker) out.node_type_id = worker;
  if (driver) out.driver_node_type_id = driver;
  if (autoscaled) out.autoscale = { min_workers: Math.max(1, Math.min(autoscaled.min, workers)), max_workers: Math.max(1, workers) };
  else out.num_workers = workers;
  const conf: Record<string, string> = {};
  for (const c of Array.isArray(configuration.Configurations) ? configuration.Configurations.filter(isRecord) : []) {
    if (c.Classification === 'spark-defaults' && isRecord(c.Properties)) for (const [k, v] of Object.entries(c.Properties)) if (typeof v === 'string' && DATABRICKS_CONF(k)) conf[k] = v;
  }
  if (Object.keys(conf).length > 0) out.spark_conf = conf;
  return out;
}

/**
 * Turns the engine's prediction into a Databricks one: each solution's configuration becomes a cluster
 * fragment, its cost (and the basis's) is re-priced as VM + DBUs for the runtime it estimates, and the
 * explanation names both parts (and whether the recommendation keeps autoscale).
 */
export function toDatabricksPrediction(
  prediction: Prediction,
  input: {
    report: DatabricksClusterReport;
    catalog: DatabricksCloudCatalog;
    vmPrice: (nodeType: string, spot: boolean) => number | undefined;
  },
): Prediction {
  const c = input.report.Cluster;
  const shape = clusterShape(c);
  const photon = c.runtime_engine === 'PHOTON';
  const spot = spotWorkers(c);
  const price = (fragment: DatabricksClusterFragment, seconds: number) =>
    databricksRunCost(
      input.catalog,
      input.report.Cloud,
      { nodeType: fragment.node_type_id ?? shape.nodeType ?? '', driverNodeType: fragment.driver_node_type_id ?? shape.driverNodeType ?? '', workers: fragment.num_workers ?? fragment.autoscale?.max_workers ?? shape.workers, photon, spotWorkers: spot },
      seconds,
      input.vmPrice,
    );
  const solutions = {} as Prediction['solutions'];
  const warnings = [...(prediction.warnings ?? [])];
  for (const [pref, s] of Object.entries(prediction.solutions) as [keyof Prediction['solutions'], Solution][]) {
    const fragment = fragmentOf(s.configuration, shape.autoscale);
    let estimateCost = s.estimate.costUsd;
    let note = '';
    let breakdown: Solution['costBreakdown'];
    try {
      const cost = price(fragment, s.estimate.runtimeSeconds);
      estimateCost = cost.totalUsd;
      breakdown = { vmUsd: cost.vmUsd, dbuUsd: cost.dbuUsd, dbus: cost.dbus };
      note = ` On Databricks (this replaces the ${input.report.Cloud === 'azure' ? "engine's ranking" : 'EC2 + EMR'} figure above): $${cost.totalUsd.toFixed(2)} = VM $${cost.vmUsd.toFixed(2)} + DBUs $${cost.dbuUsd.toFixed(2)} (${cost.dbus.toFixed(1)} DBU, Jobs Compute${photon ? ' Photon' : ''}).`;
    } catch (e) {
      warnings.push(`${pref}: could not price ${fragment.node_type_id ?? 'the recommendation'} on Databricks (${e instanceof Error ? e.message : String(e)}); the cost shown is the engine's EC2 estimate`);
    }
    if (shape.autoscale) note += ` Your cluster autoscaled, so this keeps autoscale with at most ${fragment.autoscale?.max_workers ?? 0} workers.`;
    // The evidence's dollar figures are the engine's EC2 + EMR prices: say what it costs on Databricks beside them.
    const evidence = s.evidence && s.evidence.length > 0 && estimateCost !== s.estimate.costUsd ? [`${s.evidence[0]} (EC2 + EMR prices; on Databricks $${estimateCost.toFixed(2)})`, ...s.evidence.slice(1)] : s.evidence;
    solutions[pref] = { ...s, configuration: fragment as JobFlow, estimate: { runtimeSeconds: s.estimate.runtimeSeconds, costUsd: estimateCost }, explanation: `${s.explanation}${note}`, ...(evidence ? { evidence } : {}), ...(breakdown ? { costBreakdown: breakdown } : {}) };
  }
  let basisCost = prediction.basis.costUsd;
  try {
    basisCost = price({}, prediction.basis.runtimeSeconds).totalUsd;
  } catch {
    // Keep the engine's figure; the warning above (if any) says why.
  }
  const out: Prediction = { ...prediction, solutions, basis: { runtimeSeconds: prediction.basis.runtimeSeconds, costUsd: basisCost } };
  delete out.points; // the engine's EC2+EMR figures would not compare with the Databricks costs above
  if (warnings.length > 0) out.warnings = warnings;
  return out;
}
