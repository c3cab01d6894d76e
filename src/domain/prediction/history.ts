// Learning across runs: the project's own scaling curve from earlier runs, in units of the
// reference instance type's nodes, so that runs and candidates on other types can be compared.
import type { Catalog, InstanceSpec } from './catalog.js';
import { fitScalingCurve } from './ernest.js';
import type { ErnestModel } from './ernest.js';
import { perCoreSpeed } from './scaling.js';

/** One earlier run of the application. */
export type HistoryRun = { instanceType: string; nodes: number; runtimeSeconds: number };

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
