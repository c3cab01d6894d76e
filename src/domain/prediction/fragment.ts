// RunJobFlow fragments for a recommended cluster, in the shape the user's own request used
// (InstanceGroups or InstanceFleets), plus spark-defaults when executor sizing is set.
import type { JobFlow } from '../types.js';
import type { ExecutorLayout } from './executor-layout.js';

/** What a fragment describes. */
export type FragmentInput = {
  instanceType: string;
  nodes: number;
  masterInstanceType: string;
  collection: 'groups' | 'fleets';
  spot: boolean;
  /** Executor sizing to pin in spark-defaults (omit to leave EMR's defaults). */
  layout?: ExecutorLayout;
  /** Further spark-defaults properties (e.g. executor counts the user had pinned). */
  sparkProperties?: Record<string, string>;
};

/** The `Instances` (and `Configurations`) part of a RunJobFlow request for the cluster. */
export function runJobFlowFragment(input: FragmentInput): JobFlow {
  const market = input.spot ? 'SPOT' : 'ON_DEMAND';
  const instances =
    input.collection === 'fleets'
      ? {
          InstanceFleets: [
            { Name: 'Primary', InstanceFleetType: 'MASTER', TargetOnDemandCapacity: 1, InstanceTypeSpecifications: [{ InstanceType: input.masterInstanceType }] },
            {
              Name: 'Core',
              InstanceFleetType: 'CORE',
              ...(input.spot ? { TargetSpotCapacity: input.nodes } : { TargetOnDemandCapacity: input.nodes }),
              InstanceTypeSpecifications: [{ InstanceType: input.instanceType, WeightedCapacity: 1 }],
            },
          ],
        }
      : {
          InstanceGroups: [
            { Name: 'Primary', InstanceRole: 'MASTER', Market: 'ON_DEMAND', InstanceType: input.masterInstanceType, InstanceCount: 1 },
            { Name: 'Core', InstanceRole: 'CORE', Market: market, InstanceType: input.instanceType, InstanceCount: input.nodes },
          ],
        };
  const fragment: JobFlow = { Instances: instances };
  const props: Record<string, string> = { ...input.sparkProperties };
  if (input.layout) {
    props['spark.executor.cores'] = String(input.layout.executorCores);
    props['spark.executor.memory'] = `${Math.floor(input.layout.executorMemoryMb)}m`;
  }
  if (Object.keys(props).length > 0) fragment.Configurations = [{ Classification: 'spark-defaults', Properties: props }];
  return fragment;
}
