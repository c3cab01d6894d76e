import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { clusterShapeFromReport } from '../../../src/domain/prediction/cluster-shape.js';
import { executorLayout, yarnMemoryMb } from '../../../src/domain/prediction/executor-layout.js';
import { runJobFlowFragment } from '../../../src/domain/prediction/fragment.js';

test('YARN memory: 75% up to 32 GiB, RAM - 8 GiB above (EMR table values)', () => {
  assert.is(yarnMemoryMb({ memoryGib: 16 }), 12288); // m5.xlarge
  assert.is(yarnMemoryMb({ memoryGib: 64 }), 57344); // m5.4xlarge
  assert.is(yarnMemoryMb({ memoryGib: 384 }), 385024); // m5.24xlarge
});

test('executor layout: default 4-core executors; user settings limited by YARN memory', () => {
  const d = executorLayout({ vcpu: 16, memoryGib: 64 });
  assert.is(d.executorCores, 4);
  assert.is(d.executorsPerNode, 4);
  assert.is(d.slotsPerNode, 16);
  // 20 GB + 8 GB overhead containers: two fit in 56 GB of YARN memory.
  const u = executorLayout({ vcpu: 16, memoryGib: 64 }, { executorCores: 4, executorMemoryMb: 20480, executorMemoryOverheadMb: 8192 });
  assert.is(u.executorsPerNode, 2);
  assert.is(u.slotsPerNode, 8);
  assert.is(u.memoryPerTaskMb, 5120);
  // None fits on a 16 GiB node.
  assert.is(executorLayout({ vcpu: 4, memoryGib: 16 }, { executorCores: 4, executorMemoryMb: 20480 }).executorsPerNode, 0);
});

test('cluster shape from an instance-groups report and from a fleets report', () => {
  const groups = clusterShapeFromReport({
    Cluster: { InstanceCollectionType: 'INSTANCE_GROUP', Configurations: [{ Classification: 'spark-defaults', Properties: { 'spark.executor.cores': '2' } }] },
    Instances: [],
    InstanceGroups: [
      { Id: 'ig-1', InstanceGroupType: 'MASTER', InstanceType: 'm5.xlarge', RunningInstanceCount: 1 },
      { Id: 'ig-2', InstanceGroupType: 'CORE', InstanceType: 'r5.2xlarge', RunningInstanceCount: 4, Market: 'SPOT' },
      { Id: 'ig-3', InstanceGroupType: 'TASK', InstanceType: 'r5.2xlarge', RequestedInstanceCount: 2 },
    ],
    Steps: [],
    BootstrapActions: [],
    Region: 'us-east-1',
  });
  assert.equal(
    { c: groups.collection, t: groups.coreInstanceType, n: groups.coreNodes, m: groups.masterInstanceType, s: groups.spot, cores: groups.sparkDefaults['spark.executor.cores'] },
    { c: 'groups', t: 'r5.2xlarge', n: 6, m: 'm5.xlarge', s: true, cores: '2' },
  );
  const fleets = clusterShapeFromReport({
    Cluster: { InstanceCollectionType: 'INSTANCE_FLEET' },
    Instances: [],
    InstanceFleets: [
      { Id: 'if-1', InstanceFleetType: 'MASTER', TargetOnDemandCapacity: 1, InstanceTypeSpecifications: [{ InstanceType: 'm5.xlarge' }] },
      { Id: 'if-2', InstanceFleetType: 'CORE', ProvisionedOnDemandCapacity: 3, InstanceTypeSpecifications: [{ InstanceType: 'c5.2xlarge', WeightedCapacity: 1 }] },
    ],
    Steps: [],
    BootstrapActions: [],
    Region: 'us-east-1',
  });
  assert.equal({ c: fleets.collection, t: fleets.coreInstanceType, n: fleets.coreNodes }, { c: 'fleets', t: 'c5.2xlarge', n: 3 });
  // A terminated cluster: provisioned capacity 0, several types offered, instances say which ran.
  const ended = clusterShapeFromReport({
    Cluster: { InstanceCollectionType: 'INSTANCE_FLEET' },
    Instances: [
      { InstanceFleetId: 'if-2', InstanceType: 'r5.xlarge' },
      { InstanceFleetId: 'if-2', InstanceType: 'r5.xlarge' },
      { InstanceFleetId: 'if-1', InstanceType: 'm5.xlarge' },
    ],
    InstanceFleets: [
      { Id: 'if-1', InstanceFleetType: 'MASTER', TargetOnDemandCapacity: 1, InstanceTypeSpecifications: [{ InstanceType: 'm5.xlarge' }] },
      {
        Id: 'if-2',
        InstanceFleetType: 'CORE',
        ProvisionedOnDemandCapacity: 0,
        TargetOnDemandCapacity: 2,
        InstanceTypeSpecifications: [{ InstanceType: 'm5.xlarge', WeightedCapacity: 1 }, { InstanceType: 'r5.xlarge', WeightedCapacity: 1 }],
      },
    ],
    Steps: [],
    BootstrapActions: [],
    Region: 'us-east-1',
  });
  assert.equal({ t: ended.coreInstanceType, n: ended.coreNodes }, { t: 'r5.xlarge', n: 2 });
  assert.equal(clusterShapeFromReport(undefined).collection, 'groups');
});

test('fragments follow the user request: instance groups or fleets, with spark-defaults when sizing is pinned', () => {
  const g = runJobFlowFragment({ instanceType: 'r5.xlarge', nodes: 5, masterInstanceType: 'm5.xlarge', collection: 'groups', spot: false });
  assert.equal(g, {
    Instances: {
      InstanceGroups: [
        { Name: 'Primary', InstanceRole: 'MASTER', Market: 'ON_DEMAND', InstanceType: 'm5.xlarge', InstanceCount: 1 },
        { Name: 'Core', InstanceRole: 'CORE', Market: 'ON_DEMAND', InstanceType: 'r5.xlarge', InstanceCount: 5 },
      ],
    },
  });
  const f = runJobFlowFragment({
    instanceType: 'c5.2xlarge',
    nodes: 3,
    masterInstanceType: 'm5.xlarge',
    collection: 'fleets',
    spot: true,
    layout: { executorCores: 4, executorMemoryMb: 5000.7, executorsPerNode: 2, slotsPerNode: 8, memoryPerTaskMb: 1250 },
  });
  const fleets = (f.Instances as { InstanceFleets: Record<string, unknown>[] }).InstanceFleets;
  assert.is(fleets[1]!.TargetSpotCapacity, 3);
  assert.equal(fleets[1]!.InstanceTypeSpecifications, [{ InstanceType: 'c5.2xlarge', WeightedCapacity: 1 }]);
  assert.equal(f.Configurations, [{ Classification: 'spark-defaults', Properties: { 'spark.executor.cores': '4', 'spark.executor.memory': '5000m' } }]);
});

test.run();
