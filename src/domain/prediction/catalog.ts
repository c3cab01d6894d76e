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
