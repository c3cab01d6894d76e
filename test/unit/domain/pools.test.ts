import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  chooseCluster,
  claimPlacement,
  clusterLoads,
  clusterSecondsUsed,
  parsePooledStepName,
  poolJobFlow,
  pooledStepName,
  pooledSteps,
  stepsOfRun,
  type Placement,
  type PoolState,
} from '../../../src/domain/pools.js';
import type { RunStep } from '../../../src/domain/types.js';

const at = '2026-12-01T00:00:00.000Z';
function pool(placements: Partial<Placement>[] = [], extra: Partial<PoolState> = {}): PoolState {
  return {
    pool: { id: 'shared', tenantId: 'acme', size: 3, jobFlow: { Name: 'etl', Instances: { InstanceCount: 3 }, Steps: [], Tags: [{ Key: 'team', Value: 'data' }, { Key: 'sync:run-id', Value: 'x' }] }, status: 'active', createdAt: at, updatedAt: at },
    clusters: [
      { id: 'j-A', slot: 0, status: 'active', createdAt: at },
      { id: 'j-B', slot: 1, status: 'active', createdAt: at },
      { id: 'j-C', slot: 2, status: 'active', createdAt: at },
    ],
    nextSlot: 3,
    placements: placements.map((p, i) => ({ runId: `r${i}`, projectId: 'p', clusterId: 'j-A', status: 'placed', token: 't', at, ...p })),
    ...extra,
  };
}

test('the least-loaded cluster: fewest running + pending, ties by fewest recent failures, then fewest placements, then slot', () => {
  const s = pool([{ clusterId: 'j-A' }, { clusterId: 'j-B' }, { clusterId: 'j-C', status: 'ended', failed: true }, { clusterId: 'j-B', status: 'ended' }]);
  assert.is(chooseCluster(s)?.id, 'j-C', 'C has no step running');
  const tie = pool([{ clusterId: 'j-A', status: 'ended', failed: true }, { clusterId: 'j-B', status: 'ended', failed: true }]);
  assert.is(chooseCluster(tie)?.id, 'j-C', 'no recent failure wins the tie');
  const worn = pool([{ clusterId: 'j-A', status: 'ended' }, { clusterId: 'j-A', status: 'ended' }, { clusterId: 'j-B', status: 'ended' }]);
  assert.is(chooseCluster(worn)?.id, 'j-C', 'then the fewest placements on record');
  assert.is(chooseCluster(pool())?.id, 'j-A', 'then the lowest slot');
  const draining = pool([], { clusters: [{ id: 'j-A', slot: 0, status: 'draining', createdAt: at }, { id: 'j-B', slot: 1, status: 'active', createdAt: at }] });
  assert.is(chooseCluster(draining)?.id, 'j-B', 'a draining cluster takes no step');
});

test("with the platform's counts: steps it has not seen yet (claimed, or placed after the count) are added", () => {
  const s = pool([{ runId: 'old', clusterId: 'j-A' }, { runId: 'new', clusterId: 'j-B' }, { runId: 'claim', clusterId: 'j-C', status: 'claimed' }]);
  const loads = clusterLoads(s, { counts: new Map([['j-A', 1], ['j-B', 0], ['j-C', 0]]), placedBefore: new Set(['old']) });
  assert.equal([...loads.entries()], [['j-A', 1], ['j-B', 1], ['j-C', 1]]);
  const later = clusterLoads(s, { counts: new Map([['j-A', 1], ['j-B', 0], ['j-C', 0]]), placedBefore: new Set(['old']), now: Date.parse(at) + 11 * 60_000 });
  assert.is(later.get('j-C'), 0, 'a claim left behind by a run.start that gave up stops counting');
});

test('a claim is written once per run; a pool being deleted takes none', () => {
  const s = pool();
  const once = claimPlacement(s, { runId: 'r9', projectId: 'p', token: 'k', at })!;
  assert.is(once.placements.at(-1)?.status, 'claimed');
  assert.is(claimPlacement(once, { runId: 'r9', projectId: 'p', token: 'other', at }), undefined);
  assert.throws(() => claimPlacement(pool([], { pool: { ...s.pool, status: 'deleting' } }), { runId: 'r1', projectId: 'p', token: 'k', at }), /being deleted/);
});

test('pooled steps carry the run, CONTINUE on failure and the run event-log dir as --conf right after spark-submit', () => {
  const steps = pooledSteps({
    projectId: 'p1',
    runId: 'r-1',
    sparkEventLogDir: 's3a://b/p1/r-1/eventlog/',
    steps: [{ Name: 'etl', ActionOnFailure: 'TERMINATE_CLUSTER', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', '--conf', 'spark.eventLog.dir=hdfs:///x', 's3://code/a.py'] } }],
  });
  assert.equal(steps[0], {
    Name: 'sync:p1/r-1/0 etl',
    ActionOnFailure: 'CONTINUE',
    HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', '--conf', 'spark.eventLog.enabled=true', '--conf', 'spark.eventLog.dir=s3a://b/p1/r-1/eventlog/', 's3://code/a.py'] },
  });
  assert.equal(parsePooledStepName(steps[0]!.Name as string), { projectId: 'p1', runId: 'r-1', index: 0 });
  assert.is(parsePooledStepName('etl'), undefined);
  assert.equal(stepsOfRun([{ name: pooledStepName('p1', 'r-1', 0, 'a') }, { name: pooledStepName('p1', 'r-10', 0, 'a') }], 'r-1').length, 1);
  assert.throws(() => pooledSteps({ projectId: 'p1', runId: 'r', sparkEventLogDir: 'x', steps: [] }), /needs steps/);
});

test('cost share: a step alone has the whole cluster; two at once split it', () => {
  const step = (id: string, from: number, to: number): RunStep => ({ id, name: id, state: 'COMPLETED', startedAt: new Date(from * 1000).toISOString(), endedAt: new Date(to * 1000).toISOString() });
  const mine = [step('a', 0, 100)];
  assert.is(clusterSecondsUsed(mine, [...mine, step('b', 200, 300)]), 100);
  assert.is(clusterSecondsUsed(mine, [...mine, step('b', 50, 150)]), 75, '50 s alone + 50 s shared by two');
  assert.is(clusterSecondsUsed([{ id: 'x', name: 'x', state: 'PENDING' }], mine), 0, 'a step that never ran costs nothing');
});

test("a pool cluster's request: long-lived, no steps, the user's tags plus the tenant, pool and slot", () => {
  const jf = poolJobFlow(pool(), 4);
  assert.equal(jf.Instances, { InstanceCount: 3, KeepJobFlowAliveWhenNoSteps: true });
  assert.is(jf.Steps, undefined);
  assert.equal(jf.Tags, [
    { Key: 'team', Value: 'data' },
    { Key: 'sync:tenant-id', Value: 'acme' },
    { Key: 'sync:pool-id', Value: 'shared' },
    { Key: 'sync:pool-slot', Value: '4' },
  ]);
});

test.run();
