// The basis run's cluster as the engine needs it, read from an EMR cluster report.
import type { ClusterReport } from '../ports.js';

/** One instance the report lists, with the role of its group or fleet. */
export type ReportInstance = {
  instanceType: string;
  role: 'MASTER' | 'CORE' | 'TASK' | 'UNKNOWN';
  spot: boolean;
  privateDns?: string;
  privateIp?: string;
};

/** Worker capacity of one type and market (core and task nodes), as the report lists it. */
export type WorkerGroup = { instanceType: string; role: 'CORE' | 'TASK'; count: number; spot: boolean };

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
  /** Every instance the report lists (empty when it lists none). */
  instances: ReportInstance[];
  /** Core and task capacity per type and market: from the instances when listed, else from the groups/fleets. */
  workers: WorkerGroup[];
  /** vCPU and memory the report itself gives for a type (EC2 DescribeInstanceTypes fields or flat ones). */
  typeFacts: Record<string, { vcpu?: number; memoryGib?: number }>;
};

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function mostCommon(values: (string | undefined)[]): string | undefined {
  const counts = new Map<string, number>();
  for (const v of values) if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
}

function listIn(report: ClusterReport, cluster: Record<string, unknown>, key: 'InstanceGroups' | 'InstanceFleets'): Record<string, unknown>[] {
  // Ours writes the lists at the top level; the origin project's record_run wrote them inside Cluster.
  const top = report[key];
  const inner = cluster[key];
  const list = Array.isArray(top) && top.length > 0 ? top : Array.isArray(inner) ? inner : [];
  return list.filter(isRecord);
}

const ROLES = ['MASTER', 'CORE', 'TASK'] as const;
const roleOf = (v: unknown): 'MASTER' | 'CORE' | 'TASK' | undefined => ROLES.find((r) => r === v);

function factsFrom(o: Record<string, unknown>): { vcpu?: number; memoryGib?: number } {
  const vInfo = isRecord(o.VCpuInfo) ? o.VCpuInfo : {};
  const mInfo = isRecord(o.MemoryInfo) ? o.MemoryInfo : {};
  const vcpu = num(vInfo.DefaultVCpus) ?? num(o.VCpu) ?? num(o.Vcpu) ?? num(o.vcpu) ?? num(o.VCPU);
  const mib = num(mInfo.SizeInMiB) ?? num(o.MemoryMiB) ?? num(o.memoryMiB);
  const gib = num(o.MemoryGib) ?? num(o.memoryGib) ?? (mib !== undefined ? mib / 1024 : undefined);
  return { ...(vcpu !== undefined && vcpu > 0 ? { vcpu } : {}), ...(gib !== undefined && gib > 0 ? { memoryGib: gib } : {}) };
}

/** Reads the cluster shape from a cluster report; missing parts stay undefined. */
export function clusterShapeFromReport(report: ClusterReport | undefined): ClusterShape {
  const shape: ClusterShape = { collection: 'groups', spot: false, sparkDefaults: {}, instances: [], workers: [], typeFacts: {} };
  if (!report) return shape;
  const cluster = isRecord(report.Cluster) ? report.Cluster : {};
  const groups = listIn(report, cluster, 'InstanceGroups');
  const fleets = listIn(report, cluster, 'InstanceFleets');
  if (cluster.InstanceCollectionType === 'INSTANCE_FLEET' || fleets.length > 0) shape.collection = 'fleets';
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
  const addFacts = (type: string | undefined, o: Record<string, unknown>) => {
    const f = factsFrom(o);
    if (type && (f.vcpu !== undefined || f.memoryGib !== undefined)) shape.typeFacts[type] = { ...shape.typeFacts[type], ...f };
  };
  for (const t of Array.isArray(report.InstanceTypes) ? report.InstanceTypes : []) if (isRecord(t)) addFacts(str(t.InstanceType), t);

  // Roles of groups and fleets by id, and the capacity they declare.
  const roleById = new Map<string, 'MASTER' | 'CORE' | 'TASK'>();
  const declared: WorkerGroup[] = [];
  for (const g of groups) {
    const role = roleOf(g.InstanceGroupType ?? g.InstanceRole);
    const type = str(g.InstanceType);
    const count = num(g.RunningInstanceCount) || num(g.RequestedInstanceCount) || num(g.InstanceCount) || 0;
    if (!role) continue;
    if (str(g.Id)) roleById.set(str(g.Id)!, role);
    addFacts(type, g);
    if (role === 'MASTER') {
      if (type) shape.masterInstanceType = type;
    } else {
      if (type && count > 0) declared.push({ instanceType: type, role, count, spot: g.Market === 'SPOT' });
      if (g.Market === 'SPOT') shape.spot = role === 'CORE' || shape.spot;
    }
  }
  for (const f of fleets) {
    const role = roleOf(f.InstanceFleetType);
    const specs = Array.isArray(f.InstanceTypeSpecifications) ? f.InstanceTypeSpecifications.filter(isRecord) : [];
    for (const sp of specs) addFacts(str(sp.InstanceType), sp);
    if (!role) continue;
    if (str(f.Id)) roleById.set(str(f.Id)!, role);
    // A fleet may offer several types: the one its instances actually ran on wins.
    const used = mostCommon((report.Instances ?? []).filter((i) => str(f.Id) !== undefined && i.InstanceFleetId === f.Id).map((i) => str(i.InstanceType)));
    const type = used ?? str(specs[0]?.InstanceType);
    if (role === 'MASTER') {
      if (type) shape.masterInstanceType = type;
      continue;
    }
    // After termination the provisioned capacities read 0: fall back to the targets.
    const od = num(f.ProvisionedOnDemandCapacity) || num(f.TargetOnDemandCapacity) || 0;
    const sp = num(f.ProvisionedSpotCapacity) || num(f.TargetSpotCapacity) || 0;
    const weight = num(specs.find((x) => x.InstanceType === type)?.WeightedCapacity) ?? num(specs[0]?.WeightedCapacity) ?? 1;
    if (type && od > 0) declared.push({ instanceType: type, role, count: Math.max(1, Math.round(od / Math.max(1, weight))), spot: false });
    if (type && sp > 0) declared.push({ instanceType: type, role, count: Math.max(1, Math.round(sp / Math.max(1, weight))), spot: true });
    if (role === 'CORE' && sp > 0) shape.spot = true;
  }

  for (const i of Array.isArray(report.Instances) ? report.Instances : []) {
    if (!isRecord(i)) continue;
    const type = str(i.InstanceType);
    if (!type) continue;
    addFacts(type, i);
    const role = roleById.get(str(i.InstanceGroupId) ?? str(i.InstanceFleetId) ?? '') ?? 'UNKNOWN';
    const inst: ReportInstance = { instanceType: type, role, spot: i.Market === 'SPOT' };
    const dns = str(i.PrivateDnsName);
    const ip = str(i.PrivateIpAddress);
    if (dns) inst.privateDns = dns;
    if (ip) inst.privateIp = ip;
    shape.instances.push(inst);
  }
  const listed = shape.instances.filter((i) => i.role === 'CORE' || i.role === 'TASK');
  if (listed.length > 0) {
    // The instances that ran (spot replacements included) are the truth; the declared capacity is a target.
    for (const i of listed) {
      const role = i.role as 'CORE' | 'TASK';
      const g = shape.workers.find((w) => w.instanceType === i.instanceType && w.role === role && w.spot === i.spot);
      if (g) g.count++;
      else shape.workers.push({ instanceType: i.instanceType, role, count: 1, spot: i.spot });
    }
  } else if (declared.length > 0) {
    shape.workers = declared;
  } else if (shape.instances.length > 0 && roleById.size === 0) {
    // Instances without any group or fleet: the roles are unknown here (the driver's host tells the
    // master apart later, see basisHardware); count them all as workers for now.
    for (const i of shape.instances) {
      const g = shape.workers.find((w) => w.instanceType === i.instanceType && w.spot === i.spot);
      if (g) g.count++;
      else shape.workers.push({ instanceType: i.instanceType, role: 'CORE', count: 1, spot: i.spot });
    }
  }
  const core = shape.workers.filter((w) => w.role === 'CORE');
  const main = [...(core.length > 0 ? core : shape.workers)].sort((a, b) => b.count - a.count)[0];
  if (main) shape.coreInstanceType = main.instanceType;
  const coreNodes = shape.workers.reduce((n, w) => n + w.count, 0);
  if (coreNodes > 0) shape.coreNodes = coreNodes;
  return shape;
}

/** An executor as the basis needs it: the host it ran on and its cores. */
export type ExecutorHost = { host: string; cores: number };

/** The hardware the basis run's executors ran on. */
export type BasisHardware = {
  instanceType?: string;
  nodes?: number;
  /** How it was found: executor hosts matched to the report's instances, the report's core capacity, or nothing. */
  from: 'executor-hosts' | 'report' | 'none';
  /** Executor hosts on other instance types than `instanceType` (a mixed cluster). */
  otherHosts: { instanceType: string; hosts: number; cores: number }[];
  /** Executor cores per host of `instanceType` (the most seen), for sizing a type the catalog lacks. */
  maxCoresPerHost?: number;
  maxExecutorsPerHost?: number;
};

/** Keys a host name or address may be known by: the full name, its first label, an IP (also from ip-a-b-c-d names). */
function hostKeys(host: string): string[] {
  const h = host.trim().toLowerCase();
  const first = h.split('.')[0]!;
  const keys = new Set([h, first]);
  const m = /^ip-(\d+)-(\d+)-(\d+)-(\d+)$/.exec(first);
  if (m) keys.add(`${m[1]}.${m[2]}.${m[3]}.${m[4]}`);
  return [...keys];
}

/**
 * The hardware the executors ran on: the log's executor hosts matched to the report's instances
 * (private DNS name or IP); the report's core capacity when nothing matches.
 */
export function basisHardware(shape: ClusterShape, executors: readonly ExecutorHost[], driverHost?: string): BasisHardware {
  const byKey = new Map<string, ReportInstance>();
  for (const i of shape.instances) {
    for (const k of [...(i.privateDns ? hostKeys(i.privateDns) : []), ...(i.privateIp ? [i.privateIp] : [])]) byKey.set(k, i);
  }
  const perHost = new Map<string, { inst: ReportInstance; cores: number; executors: number }>();
  for (const e of executors) {
    if (e.host === 'driver' || e.host === '<driver>') continue;
    const inst = hostKeys(e.host).map((k) => byKey.get(k)).find((x) => x !== undefined);
    if (!inst) continue;
    const key = inst.privateDns ?? inst.privateIp ?? e.host;
    const h = perHost.get(key) ?? { inst, cores: 0, executors: 0 };
    h.cores += e.cores;
    h.executors++;
    perHost.set(key, h);
  }
  if (perHost.size > 0) {
    const byType = new Map<string, { hosts: number; cores: number; maxCores: number; maxExecutors: number }>();
    for (const h of perHost.values()) {
      const t = byType.get(h.inst.instanceType) ?? { hosts: 0, cores: 0, maxCores: 0, maxExecutors: 0 };
      t.hosts++;
      t.cores += h.cores;
      t.maxCores = Math.max(t.maxCores, h.cores);
      t.maxExecutors = Math.max(t.maxExecutors, h.executors);
      byType.set(h.inst.instanceType, t);
    }
    const ranked = [...byType.entries()].sort((a, b) => b[1].cores - a[1].cores || b[1].hosts - a[1].hosts);
    const [type, t] = ranked[0]!;
    return {
      instanceType: type,
      nodes: t.hosts,
      from: 'executor-hosts',
      otherHosts: ranked.slice(1).map(([instanceType, o]) => ({ instanceType, hosts: o.hosts, cores: o.cores })),
      maxCoresPerHost: t.maxCores,
      maxExecutorsPerHost: t.maxExecutors,
    };
  }
  let workers = shape.workers;
  if (shape.instances.length > 0 && shape.instances.every((i) => i.role === 'UNKNOWN') && driverHost) {
    // No roles in the report: the instance the driver ran on is the master (client mode on EMR).
    const keys = new Set(hostKeys(driverHost));
    const master = shape.instances.find((i) => [...(i.privateDns ? hostKeys(i.privateDns) : []), i.privateIp].some((k) => k !== undefined && keys.has(k)));
    if (master) workers = workers.map((w) => (w.instanceType === master.instanceType && w.spot === master.spot ? { ...w, count: w.count - 1 } : w)).filter((w) => w.count > 0);
  }
  const core = workers.filter((w) => w.role === 'CORE');
  const main = [...(core.length > 0 ? core : workers)].sort((a, b) => b.count - a.count)[0];
  if (!main) return { from: 'none', otherHosts: [] };
  return { instanceType: main.instanceType, nodes: workers.filter((w) => w.instanceType === main.instanceType).reduce((n, w) => n + w.count, 0), from: 'report', otherHosts: [] };
}
