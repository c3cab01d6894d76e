// The workloads shipped with the sandbox (see src/sandbox/workloads/README.md for where they came from).
import etlShuffle from './workloads/etl-shuffle.json' with { type: 'json' };
import skewedEtl from './workloads/skewed-etl.json' with { type: 'json' };
import { parseWorkload } from './workload.js';
import type { Workload } from './workload.js';

/** The shipped workloads by name, the default (`etl-shuffle`, shuffle-heavy, scales with nodes) first. */
export function shippedWorkloads(): Record<string, Workload> {
  return {
    'etl-shuffle': parseWorkload(structuredClone(etlShuffle), 'workloads/etl-shuffle.json'),
    'skewed-etl': parseWorkload(structuredClone(skewedEtl), 'workloads/skewed-etl.json'),
  };
}
