// The instance catalog: what each EC2 instance type offers and costs. Pure: the shipped rows are
// read by an adapter (src/adapters/prediction/catalog-file.ts) and passed in.
import { SyncError } from '../errors.js';
import type { InstanceOverride } from '../../config/types.js';

/** One instance type with its hourly prices (USD, per instance). */
export type InstanceSpec = {
  instanceType: string;
  /** e.g. `m5`, `c6g`, `r5d`. */
  family: string;
  /** e.g. `xlarge`, `4xlarge`. */
  size: string;
  vcpu: number;
  memoryGib: number;
  onDemandUsdPerHour: number;
  emrUsdPerHour: number;
  spotUsdPerHour?: number;
  /** CoreMark iterations/s for the whole instance, when known. */
  coremark?: number;
  arch: 'x86_64' | 'arm64';
};

/** An immutable lookup of instance types. */
export type Catalog = {
  readonly instances: readonly InstanceSpec[];
  get(instanceType: string): InstanceSpec | undefined;
};

/** A raw catalog row as stored in data/instances.json. */
export type CatalogRow = {
  instanceType: string;
  vcpu: number;
  memoryGib: number;
  onDemandUsdPerHour: number;
  emrUsdPerHour?: number;
  spotUsdPerHour?: number;
  coremark?: number;
  /** The family whose CoreMark per vCPU was borrowed when the type has none of its own. */
  coremarkFrom?: string;
};

/** Splits `m5d.4xlarge` into family `m5d` and size `4xlarge`; undefined when it is not of that shape. */
export function parseInstanceType(instanceType: string): { family: string; size: string } | undefined {
  const m = /^([a-z][a-z0-9-]*)\.([a-z0-9]+)$/.exec(instanceType);
  return m ? { family: m[1]!, size: m[2]! } : undefined;
}

/** Graviton families carry a `g` after the generation digit (m6g, c7gd, r6gd). */
function archOf(family: string): 'x86_64' | 'arm64' {
  return /^[a-z]+\d+g/.test(family) ? 'arm64' : 'x86_64';
}

/** Default EMR surcharge when neither the row nor the overrides give one (see data/PROVENANCE.md). */
export const DEFAULT_EMR_RULE = { fractionOfEc2: 0.25, capUsdPerHour: 0.27 } as const;

/**
 * Builds a catalog from shipped rows plus the user's overrides: `instances` rows replace or extend
 * shipped ones field by field, `emrPricing` sets the EMR surcharge per type. Rows that are not
 * usable (no vCPU, memory or price) are rejected with a message naming the row.
 */
export function buildCatalog(
  rows: readonly CatalogRow[],
  overrides: { instances?: readonly InstanceOverride[]; emrPricing?: Readonly<Record<string, number>> } = {},
): Catalog {
  const merged = new Map<string, Partial<CatalogRow>>();
  for (const r of rows) merged.set(r.instanceType, { ...r });
  for (const o of overrides.instances ?? []) {
    const prev = merged.get(o.instanceType) ?? {};
    const next: Partial<CatalogRow> = { ...prev, instanceType: o.instanceType };
    if (o.vcpu !== undefined) next.vcpu = o.vcpu;
    if (o.memoryGib !== undefined) next.memoryGib = o.memoryGib;
    if (o.onDemandUsdPerHour !== undefined) next.onDemandUsdPerHour = o.onDemandUsdPerHour;
    if (o.emrUsdPerHour !== undefined) next.emrUsdPerHour = o.emrUsdPerHour;
    if (o.spotUsdPerHour !== undefined) next.spotUsdPerHour = o.spotUsdPerHour;
    if (o.coremark !== undefined) next.coremark = o.coremark;
    merged.set(o.instanceType, next);
  }
  const specs: InstanceSpec[] = [];
  for (const [type, r] of merged) {
    const parsed = parseInstanceType(type);
    const bad = (field: string) => new SyncError('invalid_config', `instance catalog row '${type}': ${field} must be a positive number`);
    if (!parsed) throw new SyncError('invalid_config', `instance catalog row '${type}': not an instance type like m5.xlarge`);
    if (!(typeof r.vcpu === 'number' && r.vcpu > 0)) throw bad('vcpu');
    if (!(typeof r.memoryGib === 'number' && r.memoryGib > 0)) throw bad('memoryGib');
    if (!(typeof r.onDemandUsdPerHour === 'number' && r.onDemandUsdPerHour > 0)) throw bad('onDemandUsdPerHour');
    const emrOverride = overrides.emrPricing?.[type];
    const emr =
      emrOverride ??
      r.emrUsdPerHour ??
      Math.min(r.onDemandUsdPerHour * DEFAULT_EMR_RULE.fractionOfEc2, DEFAULT_EMR_RULE.capUsdPerHour);
    if (!(emr >= 0)) throw new SyncError('invalid_config', `EMR price for '${type}' must be a non-negative number`);
    const spec: InstanceSpec = {
      instanceType: type,
      family: parsed.family,
      size: parsed.size,
      vcpu: r.vcpu,
      memoryGib: r.memoryGib,
      onDemandUsdPerHour: r.onDemandUsdPerHour,
      emrUsdPerHour: emr,
      arch: archOf(parsed.family),
    };
    if (r.spotUsdPerHour !== undefined) spec.spotUsdPerHour = r.spotUsdPerHour;
    if (r.coremark !== undefined && r.coremark > 0) spec.coremark = r.coremark;
    specs.push(spec);
  }
  specs.sort((a, b) => (a.family === b.family ? a.vcpu - b.vcpu : a.family < b.family ? -1 : 1));
  const byType = new Map(specs.map((s) => [s.instanceType, s]));
  return { instances: specs, get: (t) => byType.get(t) };
}

/** Looks an instance type up or fails with a message naming it. */
export function requireInstance(catalog: Catalog, instanceType: string): InstanceSpec {
  const spec = catalog.get(instanceType);
  if (!spec) {
    throw new SyncError('invalid_request', `instance type '${instanceType}' is not in the instance catalog; add it under site.predictions.instances`);
  }
  return spec;
}

/** The catalog plus `extra` specs (replacing rows of the same type). */
export function extendCatalog(catalog: Catalog, extra: readonly InstanceSpec[]): Catalog {
  if (extra.length === 0) return catalog;
  const byType = new Map(catalog.instances.map((s) => [s.instanceType, s]));
  for (const s of extra) byType.set(s.instanceType, s);
  const instances = [...byType.values()].sort((a, b) => (a.family === b.family ? a.vcpu - b.vcpu : a.family < b.family ? -1 : 1));
  return { instances, get: (t) => byType.get(t) };
}

/**
 * Hourly EC2 price per vCPU and per GiB fitted (least squares, no intercept, non-negative) to the
 * catalog's on-demand prices of one architecture.
 */
export function fitPricePerResource(catalog: Catalog, arch: InstanceSpec['arch']): { perVcpu: number; perGib: number } {
  let svv = 0, svm = 0, smm = 0, svp = 0, smp = 0;
  for (const s of catalog.instances) {
    if (s.arch !== arch) continue;
    svv += s.vcpu * s.vcpu;
    svm += s.vcpu * s.memoryGib;
    smm += s.memoryGib * s.memoryGib;
    svp += s.vcpu * s.onDemandUsdPerHour;
    smp += s.memoryGib * s.onDemandUsdPerHour;
  }
  const det = svv * smm - svm * svm;
  if (!(svv > 0) || !(smm > 0)) return { perVcpu: 0.04, perGib: 0.005 };
  let perVcpu = det !== 0 ? (svp * smm - smp * svm) / det : 0;
  let perGib = det !== 0 ? (smp * svv - svp * svm) / det : 0;
  if (perVcpu < 0 || perGib < 0 || det === 0) {
    // One resource alone explains the prices better: fit on it.
    const v = svp / svv;
    const m = smp / smm;
    [perVcpu, perGib] = perVcpu < 0 ? [0, m] : [v, 0];
  }
  return { perVcpu, perGib };
}

/**
 * A spec for a type the catalog lacks, priced from its own vCPU and memory (as the cluster report or
 * the event log gives them) at the catalog's fitted prices per vCPU and per GiB, with the default
 * EMR rule. No CoreMark: its per-core speed is unknown.
 */
export function estimatedSpec(catalog: Catalog, instanceType: string, vcpu: number, memoryGib: number): InstanceSpec {
  const parsed = parseInstanceType(instanceType) ?? { family: instanceType, size: '' };
  const arch = archOf(parsed.family);
  const fit = fitPricePerResource(catalog, arch);
  const onDemand = Math.round((fit.perVcpu * vcpu + fit.perGib * memoryGib) * 10_000) / 10_000;
  return {
    instanceType,
    family: parsed.family,
    size: parsed.size,
    vcpu,
    memoryGib,
    onDemandUsdPerHour: onDemand,
    emrUsdPerHour: Math.round(Math.min(onDemand * DEFAULT_EMR_RULE.fractionOfEc2, DEFAULT_EMR_RULE.capUsdPerHour) * 10_000) / 10_000,
    arch,
  };
}
