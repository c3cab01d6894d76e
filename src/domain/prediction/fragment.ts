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

/** The current cluster as the report shows it: master plus every core/task type and market. */
export type CurrentClusterInput = {
  masterInstanceType?: string;
  collection: 'groups' | 'fleets';
  workers: readonly { instanceType: string; role: 'CORE' | 'TASK'; count: number; spot: boolean }[];
};

/** The `Instances` part of a RunJobFlow request that reproduces the current cluster (for a "keep"). */
export function currentClusterFragment(input: CurrentClusterInput): JobFlow {
  const master = input.masterInstanceType;
  if (input.collection === 'fleets') {
    const fleets: Record<string, unknown>[] = master ? [{ Name: 'Primary', InstanceFleetType: 'MASTER', TargetOnDemandCapacity: 1, InstanceTypeSpecifications: [{ InstanceType: master }] }] : [];
    for (const role of ['CORE', 'TASK'] as const) {
      const ws = input.workers.filter((w) => w.role === role);
      if (ws.length === 0) continue;
      const od = ws.filter((w) => !w.spot).reduce((n, w) => n + w.count, 0);
      const sp = ws.filter((w) => w.spot).reduce((n, w) => n + w.count, 0);
      fleets.push({
        Name: role === 'CORE' ? 'Core' : 'Task',
        InstanceFleetType: role,
        ...(od > 0 ? { TargetOnDemandCapacity: od } : {}),
        ...(sp > 0 ? { TargetSpotCapacity: sp } : {}),
        InstanceTypeSpecifications: [...new Set(ws.map((w) => w.instanceType))].map((t) => ({ InstanceType: t, WeightedCapacity: 1 })),
      });
    }
    return { Instances: { InstanceFleets: fleets } };
  }
  const groups: Record<string, unknown>[] = master ? [{ Name: 'Primary', InstanceRole: 'MASTER', Market: 'ON_DEMAND', InstanceType: master, InstanceCount: 1 }] : [];
  for (const w of input.workers) {
    groups.push({ Name: w.role === 'CORE' ? 'Core' : 'Task', InstanceRole: w.role, Market: w.spot ? 'SPOT' : 'ON_DEMAND', InstanceType: w.instanceType, InstanceCount: w.count });
  }
  return { Instances: { InstanceGroups: groups } };
}
