// Cost of a cluster run: EC2 (on-demand or spot) plus the EMR surcharge, per instance, for the
// core nodes and the master node.
import type { Catalog } from './catalog.js';
import { requireInstance } from './catalog.js';

/** Pricing choices for a run. */
export type PricingOptions = {
  /** Price core nodes at spot rates. */
  spot?: boolean;
  /** Discount off on-demand used when an instance has no spot price (default 0.6, an assumption). */
  spotDiscount?: number;
};

export const DEFAULT_SPOT_DISCOUNT = 0.6;
/** EMR bills per second with a one-minute minimum. */
const MIN_BILLED_SECONDS = 60;

/** USD per hour for one instance of `instanceType` (EC2 + EMR). */
export function hourlyRate(catalog: Catalog, instanceType: string, options: PricingOptions = {}): number {
  const spec = requireInstance(catalog, instanceType);
  const ec2 = options.spot ? (spec.spotUsdPerHour ?? spec.onDemandUsdPerHour * (1 - (options.spotDiscount ?? DEFAULT_SPOT_DISCOUNT))) : spec.onDemandUsdPerHour;
  return ec2 + spec.emrUsdPerHour;
}

/** A cluster shape for pricing: core nodes of one type plus an optional master (always on-demand). */
export type PricedCluster = { instanceType: string; nodes: number; masterInstanceType?: string };

/** USD for running `cluster` for `runtimeSeconds` (core at spot if asked; master on-demand). */
export function clusterCostUsd(catalog: Catalog, cluster: PricedCluster, runtimeSeconds: number, options: PricingOptions = {}): number {
  const hours = Math.max(runtimeSeconds, MIN_BILLED_SECONDS) / 3600;
  const core = hourlyRate(catalog, cluster.instanceType, options) * cluster.nodes;
  const master = cluster.masterInstanceType ? hourlyRate(catalog, cluster.masterInstanceType, {}) : 0;
  return (core + master) * hours;
}
