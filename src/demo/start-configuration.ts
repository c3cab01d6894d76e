// The configuration a careful engineer starts a new Spark job on, before any run: sized from the data
// the job reads and shuffles by a common rule of thumb, on a general-purpose type. Not the engine's
// model and not tuned to the sandbox: it is what the demo and the what-if bench start from.
import type { Workload } from '../sandbox/workload.js';

/** A starting cluster: core nodes of one type, EMR's default executor sizing. */
export type StartConfiguration = { instanceType: string; nodes: number; vcpu: number; dataGb: number; rule: string };

/** GB of data per vCPU the rule aims at (128 MB partitions, about 8 per core: 2-3 waves of tasks). */
export const GB_PER_VCPU = 1;

/**
 * One vCPU per GB the job reads (input) or shuffles, at least 8 vCPU, on m5.2xlarge nodes (8 vCPU,
 * 32 GiB: EMR's general-purpose default family, 4 GiB per vCPU leaves room for wide tasks), or
 * m5.4xlarge beyond 32 nodes; rounded up to whole nodes.
 */
export function startConfiguration(workload: Workload): StartConfiguration {
  const bytes = workload.stages.reduce((n, s) => n + s.inputBytes + s.shuffleReadBytes, 0);
  const dataGb = bytes / 1e9;
  const vcpu = Math.max(8, Math.ceil(dataGb / GB_PER_VCPU));
  const big = vcpu > 32 * 8;
  const perNode = big ? 16 : 8;
  const nodes = Math.max(1, Math.ceil(vcpu / perNode));
  return {
    instanceType: big ? 'm5.4xlarge' : 'm5.2xlarge',
    nodes,
    vcpu: nodes * perNode,
    dataGb,
    rule: `one vCPU per GB read or shuffled (${dataGb.toFixed(0)} GB), at least 8, on general-purpose m5 nodes`,
  };
}
