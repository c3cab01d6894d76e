// The basis run's cluster as the engine needs it, read from an EMR cluster report.
import type { ClusterReport } from '../ports.js';

/** Core capacity, master and how the user asked for instances. */
export type ClusterShape = {
  coreInstanceType?: string;
  /** Core plus task nodes. */
  coreNodes?: number;
  masterInstanceType?: string;
  collection: 'groups' | 'fleets';
  spot: boolean;
  /** spark-defaults properties from the cluster's Configurations. */
  sparkDefaults: Record<string, string>;
  releaseLabel?: string;
  /** Seconds from cluster creation to ready (provisioning and bootstrap), when the report has the timeline. */
  startupSeconds?: number;
};

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function mostCommon(values: (string | undefined)[]): string | undefined {
  const counts = new Map<string, number>();
  for (const v of values) if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
}

/** Reads the cluster shape from a cluster report; missing parts stay undefined. */
export function clusterShapeFromReport(report: ClusterReport | undefined): ClusterShape {
  const shape: ClusterShape = { collection: 'groups', spot: false, sparkDefaults: {} };
  if (!report) return shape;
  const cluster = isRecord(report.Cluster) ? report.Cluster : {};
  if (cluster.InstanceCollectionType === 'INSTANCE_FLEET' || (report.InstanceFleets?.length ?? 0) > 0) shape.collection = 'fleets';
  const timeline = isRecord(cluster.Status) && isRecord(cluster.Status.Timeline) ? cluster.Status.Timeline : {};
  const at = (v: unknown) => (typeof v === 'number' ? v * 1000 : typeof v === 'string' ? Date.parse(v) : NaN);
  const created = at(timeline.CreationDateTime);
  const ready = at(timeline.ReadyDateTime);
  if (Number.isFinite(created) && Number.isFinite(ready) && ready >= created) shape.startupSeconds = (ready - created) / 1000;
  const release = str(cluster.ReleaseLabel);
  if (release) shape.releaseLabel = release;
  for (const c of Array.isArray(cluster.Configurations) ? cluster.Configurations : []) {
    if (isRecord(c) && c.Classification === 'spark-defaults' && isRecord(c.Properties)) {
      for (const [k, v] of Object.entries(c.Properties)) if (typeof v === 'string') shape.sparkDefaults[k] = v;
    }
  }
  let coreNodes = 0;
  const masterIds = new Set<string>();
  for (const g of report.InstanceGroups ?? []) {
    const role = str(g.InstanceGroupType);
    const type = str(g.InstanceType);
    const count = num(g.RunningInstanceCount) || num(g.RequestedInstanceCount) || 0;
    if (role === 'MASTER') {
      if (type) shape.masterInstanceType = type;
      if (str(g.Id)) masterIds.add(str(g.Id)!);
    } else if (role === 'CORE' || role === 'TASK') {
      if (type && (role === 'CORE' || !shape.coreInstanceType)) shape.coreInstanceType = type;
      coreNodes += count;
      if (g.Market === 'SPOT') shape.spot = true;
    }
  }
  for (const f of report.InstanceFleets ?? []) {
    const role = str(f.InstanceFleetType);
    const specs = Array.isArray(f.InstanceTypeSpecifications) ? f.InstanceTypeSpecifications.filter(isRecord) : [];
    const type = str(specs[0]?.InstanceType);
    if (role === 'MASTER') {
      if (type) shape.masterInstanceType = type;
      if (str(f.Id)) masterIds.add(str(f.Id)!);
    } else if (role === 'CORE' || role === 'TASK') {
      // A fleet may offer several types: the one its instances actually ran on wins.
      const used = mostCommon((report.Instances ?? []).filter((i) => str(f.Id) !== undefined && i.InstanceFleetId === f.Id).map((i) => str(i.InstanceType)));
      const chosen = used ?? type;
      if (chosen && (role === 'CORE' || !shape.coreInstanceType)) shape.coreInstanceType = chosen;
      // After termination the provisioned capacities read 0: fall back to the targets.
      const od = num(f.ProvisionedOnDemandCapacity) || num(f.TargetOnDemandCapacity) || 0;
      const sp = num(f.ProvisionedSpotCapacity) || num(f.TargetSpotCapacity) || 0;
      const weight = num(specs.find((x) => x.InstanceType === chosen)?.WeightedCapacity) ?? num(specs[0]?.WeightedCapacity) ?? 1;
      coreNodes += Math.round((od + sp) / Math.max(1, weight));
      if (sp > 0) shape.spot = true;
    }
  }
  if (coreNodes === 0 && Array.isArray(report.Instances)) {
    // No groups or fleets listed: count the instances that are not in the master group/fleet.
    const workers = report.Instances.filter((i) => !masterIds.has(str(i.InstanceGroupId) ?? str(i.InstanceFleetId) ?? ''));
    const types = workers.map((i) => str(i.InstanceType)).filter((t): t is string => t !== undefined);
    if (masterIds.size === 0 && workers.length > 1) {
      if (!shape.masterInstanceType && types[0]) shape.masterInstanceType = types[0];
      coreNodes = workers.length - 1;
      if (!shape.coreInstanceType && types[1]) shape.coreInstanceType = types[1];
    } else {
      coreNodes = workers.length;
      if (!shape.coreInstanceType && types[0]) shape.coreInstanceType = types[0];
    }
  }
  if (coreNodes > 0) shape.coreNodes = coreNodes;
  return shape;
}
