// Learning across runs: the project's own scaling curve from earlier runs, in units of the
// reference instance type's nodes, so that runs and candidates on other types can be compared.
import type { Catalog, InstanceSpec } from './catalog.js';
import { DEFAULT_EMR_RULE, parseInstanceType } from './catalog.js';
import { fitScalingCurve } from './ernest.js';
import type { ErnestModel } from './ernest.js';
import { perCoreSpeed } from './scaling.js';

/**
 * One earlier run of the application. vcpu, memoryGib and usdPerHour (EC2 on-demand, per instance)
 * are optional: they describe and price an instance type the catalog does not have.
 */
export type HistoryRun = { instanceType: string; nodes: number; runtimeSeconds: number; vcpu?: number; memoryGib?: number; usdPerHour?: number };

/** vCPU of an EC2 size name (large = 2, xlarge = 4, Nxlarge = 4N), undefined for other names. */
export function vcpuOfSize(size: string): number | undefined {
  if (size === 'medium') return 1;
  if (size === 'large') return 2;
  if (size === 'xlarge') return 4;
  const m = /^(\d+)xlarge$/.exec(size);
  return m ? Number(m[1]) * 4 : undefined;
}

/** GiB per vCPU by family class (c: compute, m: general, r: memory, x: extra memory), an EC2 naming convention. */
const MEMORY_PER_VCPU: Record<string, number> = { c: 2, m: 4, r: 8, x: 16, z: 8, i: 8, d: 8, h: 4 };

/**
 * The catalog extended with the history's instance types that it lacks: described by the history's
 * own vcpu/memoryGib/usdPerHour columns, else by the EC2 size name and family class and priced at
 * the catalog's median price per vCPU of that class, each with a warning. A type that cannot be
 * described at all (no vCPU) is left out with a warning; nothing is refused while a run remains.
 */
export function historyCatalog(catalog: Catalog, runs: readonly HistoryRun[]): { catalog: Catalog; warnings: string[]; unusable: string[] } {
  const extra = new Map<string, InstanceSpec>();
  const warnings: string[] = [];
  const unusable: string[] = [];
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? undefined : s[s.length >> 1];
  };
  for (const type of [...new Set(runs.map((r) => r.instanceType))]) {
    if (catalog.get(type)) continue;
    const given = runs.filter((r) => r.instanceType === type);
    const pick = (f: (r: HistoryRun) => number | undefined) => given.map(f).find((v) => v !== undefined && v > 0);
    const parsed = parseInstanceType(type);
    const cls = parsed?.family[0] ?? '';
    const vcpu = pick((r) => r.vcpu) ?? (parsed ? vcpuOfSize(parsed.size) : undefined);
    if (!parsed || vcpu === undefined) {
      unusable.push(type);
      continue;
    }
    const assumed: string[] = [];
    let memoryGib = pick((r) => r.memoryGib);
    if (memoryGib === undefined) {
      memoryGib = vcpu * (MEMORY_PER_VCPU[cls] ?? 4);
      assumed.push(`${memoryGib} GiB`);
    }
    let usd = pick((r) => r.usdPerHour);
    if (usd === undefined) {
      const perVcpu = median(catalog.instances.filter((s) => s.family[0] === cls && s.arch === 'x86_64').map((s) => s.onDemandUsdPerHour / s.vcpu)) ?? median(catalog.instances.map((s) => s.onDemandUsdPerHour / s.vcpu));
      if (perVcpu === undefined) {
        unusable.push(type);
        continue;
      }
      usd = Math.round(vcpu * perVcpu * 10000) / 10000;
      assumed.push(`$${usd}/h (the catalog's median per vCPU of ${cls}-types)`);
    }
    if (pick((r) => r.vcpu) === undefined) assumed.unshift(`${vcpu} vCPU`);
    warnings.push(
      assumed.length > 0
        ? `instance type ${type} is not in the catalog: assumed ${assumed.join(', ')}; give vcpu, memoryGib and usdPerHour columns in the history to price it exactly`
        : `instance type ${type} is not in the catalog: priced from the history's own columns`,
    );
    extra.set(type, {
      instanceType: type,
      family: parsed.family,
      size: parsed.size,
      vcpu,
      memoryGib,
      onDemandUsdPerHour: usd,
      emrUsdPerHour: Math.min(usd * DEFAULT_EMR_RULE.fractionOfEc2, DEFAULT_EMR_RULE.capUsdPerHour),
      arch: /^[a-z]+\d+g/.test(parsed.family) ? 'arm64' : 'x86_64',
    });
  }
  if (unusable.length > 0) warnings.push(`runs on ${unusable.join(', ')} were left out: not in the catalog and their vCPU is unknown (add a vcpu column)`);
  if (extra.size === 0) return { catalog, warnings, unusable };
  const instances = [...catalog.instances, ...extra.values()];
  return { catalog: { instances, get: (t) => catalog.get(t) ?? extra.get(t) }, warnings, unusable };
}

/** A fitted curve plus how to map a cluster onto it. */
export type HistoryCurve = {
  referenceType: string;
  model: ErnestModel;
  /** Smallest and largest size fitted on, in reference nodes. */
  range: [number, number];
  /** The size of `nodes` x `instanceType` in reference nodes (vCPU x per-core speed). */
  equivalentNodes(instanceType: string, nodes: number): number | undefined;
  predictSeconds(instanceType: string, nodes: number): number | undefined;
};

function capacity(spec: InstanceSpec, ref: InstanceSpec): number {
  const s = perCoreSpeed(spec);
  const r = perCoreSpeed(ref);
  return (spec.vcpu * (s !== undefined && r !== undefined ? s / r : 1)) / ref.vcpu;
}

/**
 * Fits the Ernest curve to the runs whose instance type is in the catalog. Returns undefined with a
 * reason when there are fewer than two distinct sizes.
 */
export function fitHistory(catalog: Catalog, runs: readonly HistoryRun[]): { curve?: HistoryCurve; reason?: string } {
  const known = runs.filter((r) => catalog.get(r.instanceType) && r.nodes > 0 && r.runtimeSeconds > 0);
  if (known.length === 0) return { reason: 'no earlier run on a catalogued instance type' };
  const counts = new Map<string, number>();
  for (const r of known) counts.set(r.instanceType, (counts.get(r.instanceType) ?? 0) + 1);
  const referenceType = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  const ref = catalog.get(referenceType)!;
  const points = known.map((r) => ({ m: r.nodes * capacity(catalog.get(r.instanceType)!, ref), t: r.runtimeSeconds }));
  if (new Set(points.map((p) => Math.round(p.m * 1000))).size < 2) return { reason: 'earlier runs cover only one cluster size' };
  const model = fitScalingCurve(points);
  const ms = points.map((p) => p.m);
  const equivalentNodes = (instanceType: string, nodes: number) => {
    const spec = catalog.get(instanceType);
    return spec ? nodes * capacity(spec, ref) : undefined;
  };
  return {
    curve: {
      referenceType,
      model,
      range: [Math.min(...ms), Math.max(...ms)],
      equivalentNodes,
      predictSeconds: (instanceType, nodes) => {
        const m = equivalentNodes(instanceType, nodes);
        return m === undefined ? undefined : model.predict(m);
      },
    },
  };
}

/**
 * How much weight the curve gets against the simulator at size `m`: more with more distinct sizes
 * (distinct sizes) and a good fit, half outside the fitted range, none far outside it or when the fit is poor.
 */
export function historyWeight(curve: HistoryCurve, m: number): number {
  if (curve.model.fitError > 0.25) return 0;
  const [lo, hi] = curve.range;
  if (m < lo / 2 || m > hi * 2) return 0;
  const sizes = curve.model.sizes;
  const base = sizes / (sizes + 3);
  return m < lo || m > hi ? base / 2 : base;
}
