// Candidate clusters: instance types x node counts (x executor sizing) around the basis run's size.
import type { Catalog, InstanceSpec } from './catalog.js';
import { executorLayout } from './executor-layout.js';
import type { ExecutorLayout, ExecutorSettings } from './executor-layout.js';

/** One cluster to evaluate. */
export type Candidate = {
  instanceType: string;
  nodes: number;
  layout: ExecutorLayout;
  /** True when the executor sizing is the user's own (false: the EMR-like default). */
  userSizing: boolean;
};

/** Node counts tried for every instance type (filtered to the slot range). */
export const NODE_GRID = [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128];

export type CandidateOptions = {
  /** Task slots of the basis run. */
  basisSlots: number;
  /** Range of total slots to explore, as factors of the basis (default 1/3 .. 3). */
  minFactor?: number;
  maxFactor?: number;
  /** The user's executor settings (tried as well as the default sizing). */
  settings?: ExecutorSettings;
  /** Limit to these instance types or families (e.g. ['m5', 'r5.2xlarge']); default all. */
  include?: readonly string[];
  /** Leave out arm64 (Graviton) types, e.g. when the application ships native x86 code. */
  x86Only?: boolean;
  /**
   * Smallest node searched, in vCPUs (default 4: the catalog's .large sizes are there to price
   * masters and task nodes, not to build clusters of dozens of 2-vCPU nodes). `keepTypes` are
   * searched whatever their size (the basis run's own type).
   */
  minVcpu?: number;
  keepTypes?: readonly string[];
};

function included(spec: InstanceSpec, include: readonly string[] | undefined): boolean {
  return !include || include.length === 0 || include.includes(spec.instanceType) || include.includes(spec.family);
}

/** Every candidate in the slot range, over the catalog; deduplicated by (type, nodes, sizing). */
export function generateCandidates(catalog: Catalog, options: CandidateOptions): Candidate[] {
  const lo = Math.max(1, options.basisSlots * (options.minFactor ?? 1 / 3));
  const hi = Math.max(lo, options.basisSlots * (options.maxFactor ?? 3));
  const out: Candidate[] = [];
  for (const spec of catalog.instances) {
    if (!included(spec, options.include) || (options.x86Only && spec.arch === 'arm64')) continue;
    if (spec.vcpu < (options.minVcpu ?? 4) && !options.keepTypes?.includes(spec.instanceType) && !options.include?.includes(spec.instanceType)) continue;
    const layouts: { layout: ExecutorLayout; user: boolean }[] = [{ layout: executorLayout(spec), user: false }];
    const s = options.settings;
    if (s && (s.executorCores !== undefined || s.executorMemoryMb !== undefined)) {
      const user = executorLayout(spec, s);
      const d = layouts[0]!.layout;
      if (user.executorsPerNode > 0 && (user.executorCores !== d.executorCores || user.executorMemoryMb !== d.executorMemoryMb)) layouts.push({ layout: user, user: true });
    }
    for (const { layout, user } of layouts) {
      if (layout.slotsPerNode <= 0) continue;
      for (const nodes of NODE_GRID) {
        const slots = nodes * layout.slotsPerNode;
        if (slots < lo || slots > hi) continue;
        out.push({ instanceType: spec.instanceType, nodes, layout, userSizing: user });
      }
    }
  }
  return out;
}
