import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadCatalog } from '../../../src/adapters/prediction/catalog-file.js';
import type { ClusterReport } from '../../../src/domain/ports.js';
import { clusterCostUsd } from '../../../src/domain/prediction/cost.js';
import { predictFromHistory, predictFromModel } from '../../../src/domain/prediction/predict.js';
import { PREFERENCES } from '../../../src/domain/types.js';
import { buildModel, packedTasks } from './model-builder.js';

const catalog = loadCatalog();

// 4 executors x 4 cores on 4 m5.xlarge core nodes; 160 tasks of 2 s (half CPU) in two stages.
function model() {
  const slots = 16;
  const s0 = packedTasks(96, 2000, slots, 5000).map((t) => ({ ...t, exec: t.exec % 4, cpuMs: 1000 }));
  const s1 = packedTasks(64, 2000, slots, 17_000).map((t) => ({ ...t, exec: t.exec % 4, cpuMs: 1000 }));
  return buildModel({
    end: 30_000,
    executors: [0, 1, 2, 3].map(() => ({ cores: 4, added: 3000 })),
    jobs: [{ id: 0, submit: 5000, complete: 25_000, stages: [0, 1] }],
    stages: [
      { id: 0, job: 0, submit: 5000, tasks: s0 },
      { id: 1, job: 0, parents: [0], submit: 17_000, tasks: s1 },
    ],
  });
}

function report(collection: 'groups' | 'fleets'): ClusterReport {
  return collection === 'groups'
    ? {
        Cluster: { InstanceCollectionType: 'INSTANCE_GROUP' },
        Instances: [],
        InstanceGroups: [
          { InstanceGroupType: 'MASTER', InstanceType: 'm5.xlarge', RunningInstanceCount: 1 },
          { InstanceGroupType: 'CORE', InstanceType: 'm5.xlarge', RunningInstanceCount: 4 },
        ],
        Steps: [],
        BootstrapActions: [],
        Region: 'us-east-1',
      }
    : {
        Cluster: { InstanceCollectionType: 'INSTANCE_FLEET' },
        Instances: [],
        InstanceFleets: [
          { InstanceFleetType: 'MASTER', TargetOnDemandCapacity: 1, InstanceTypeSpecifications: [{ InstanceType: 'm5.xlarge' }] },
          { InstanceFleetType: 'CORE', TargetOnDemandCapacity: 4, InstanceTypeSpecifications: [{ InstanceType: 'm5.xlarge' }] },
        ],
        Steps: [],
        BootstrapActions: [],
        Region: 'us-east-1',
      };
}

test('a prediction evaluates hundreds of candidates and orders the three preferences sensibly', () => {
  const out = predictFromModel(model(), report('groups'), { catalog });
  assert.ok(out.candidates.length >= 200, `${out.candidates.length} candidates`);
  assert.is(out.basis.instanceType, 'm5.xlarge');
  assert.is(out.basis.nodes, 4);
  assert.is(out.basis.runtimeSeconds, 30);
  // Basis cost: 5 m5.xlarge (4 core + master) at $0.24/h for 30 s, billed as 60 s.
  assert.ok(Math.abs(out.basis.costUsd - (5 * 0.24) / 60) < 1e-4);
  const { performance, balanced, economy } = out.solutions;
  assert.ok(performance.estimate.runtimeSeconds <= balanced.estimate.runtimeSeconds);
  assert.ok(balanced.estimate.runtimeSeconds <= economy.estimate.runtimeSeconds);
  assert.ok(economy.estimate.costUsd <= balanced.estimate.costUsd);
  assert.ok(balanced.estimate.costUsd <= performance.estimate.costUsd);
  // Default ceilings: performance within 2x the basis cost, economy within 1.5x its runtime.
  assert.ok(performance.estimate.costUsd <= out.basis.costUsd * 2 + 1e-9);
  assert.ok(economy.estimate.runtimeSeconds <= out.basis.runtimeSeconds * 1.5 + 1e-9);
  for (const p of PREFERENCES) {
    const s = out.solutions[p];
    assert.is(s.source, 'simulator');
    assert.ok(s.explanation.length > 20);
    const groups = (s.configuration.Instances as { InstanceGroups: { InstanceRole: string; InstanceType: string; InstanceCount: number }[] }).InstanceGroups;
    assert.is(groups[0]!.InstanceRole, 'MASTER');
    const core = groups[1]!;
    // The estimate's cost is the catalog price of exactly the cluster in the fragment.
    const cost = clusterCostUsd(catalog, { instanceType: core.InstanceType, nodes: core.InstanceCount, masterInstanceType: 'm5.xlarge' }, s.estimate.runtimeSeconds);
    assert.ok(Math.abs(cost - s.estimate.costUsd) / cost < 0.01, `${p}: ${cost} vs ${s.estimate.costUsd}`);
  }
  // The basis cluster itself is estimated at the observed runtime (the replay is anchored on it).
  const same = out.candidates.find((c) => c.instanceType === 'm5.xlarge' && c.nodes === 4)!;
  assert.is(same.executors, 4);
  assert.ok(Math.abs(same.runtimeSeconds - 30) < 1e-6, String(same.runtimeSeconds));
  // Doubling the basis cluster (same type) must not be slower than the basis.
  const doubled = out.candidates.find((c) => c.instanceType === 'm5.xlarge' && c.nodes === 8)!;
  assert.ok(doubled.runtimeSeconds < out.basis.runtimeSeconds);
});

test('fleets in the report give fleet fragments; spot prices core nodes lower', () => {
  const onDemand = predictFromModel(model(), report('fleets'), { catalog });
  const spot = predictFromModel(model(), report('fleets'), { catalog, spot: true });
  assert.ok('InstanceFleets' in (onDemand.solutions.balanced.configuration.Instances as object));
  const core = (spot.solutions.economy.configuration.Instances as { InstanceFleets: Record<string, unknown>[] }).InstanceFleets[1]!;
  assert.ok(typeof core.TargetSpotCapacity === 'number');
  assert.ok(spot.basis.costUsd < onDemand.basis.costUsd);
});

test('history of earlier runs is blended in and reported as the source', () => {
  const history = [
    { instanceType: 'm5.xlarge', nodes: 2, runtimeSeconds: 50 },
    { instanceType: 'm5.xlarge', nodes: 4, runtimeSeconds: 30 },
    { instanceType: 'm5.xlarge', nodes: 8, runtimeSeconds: 20 },
  ];
  const out = predictFromModel(model(), report('groups'), { catalog, history });
  assert.is(out.source, 'blend');
  const eight = out.candidates.find((c) => c.instanceType === 'm5.xlarge' && c.nodes === 8)!;
  assert.is(eight.source, 'blend');
  assert.ok(eight.historySeconds !== undefined && Math.abs(eight.historySeconds - 20) < 2);
  // The blend lies between the simulator's and the curve's estimates.
  const lo = Math.min(eight.historySeconds!, eight.simulatedSeconds!);
  const hi = Math.max(eight.historySeconds!, eight.simulatedSeconds!);
  assert.ok(eight.runtimeSeconds >= lo - 1e-9 && eight.runtimeSeconds <= hi + 1e-9);
});

test('with an event log, earlier runs on types the catalog lacks (c4) still feed the scaling curve, with a warning', () => {
  const history = [2, 4, 8].map((n) => ({ instanceType: 'c3.xlarge', nodes: n, runtimeSeconds: 20 + 80 / n, vcpu: 4, memoryGib: 7.5, usdPerHour: 0.199 }));
  const out = predictFromModel(model(), report('groups'), { catalog, history });
  assert.is(out.source, 'blend', out.warnings.join('; '));
  assert.ok(out.warnings.some((w) => w.includes('c3.xlarge')));
});

test('predicting from history alone: every candidate comes from the history model', () => {
  const runs = [4, 8, 16, 32].map((n) => ({ instanceType: 'm5.xlarge', nodes: n, runtimeSeconds: 100 + 3200 / n }));
  const out = predictFromHistory(runs, { catalog });
  assert.ok(out.candidates.length > 50);
  assert.ok(out.candidates.every((c) => c.source === 'history'));
  const c16 = out.candidates.find((c) => c.instanceType === 'm5.xlarge' && c.nodes === 16)!;
  // A log-linear model with priors, not an exact curve: within 5% at an observed size.
  assert.ok(Math.abs(c16.runtimeSeconds - 300) / 300 < 0.05, `${c16.runtimeSeconds}`);
  assert.is(out.basis.nodes, 32);
  // One size: still an answer (the prior's scaling), said so in a warning.
  assert.ok(predictFromHistory([runs[0]!], { catalog }).warnings.some((w) => /one cluster size/.test(w)));
});

test('executor counts the user pinned are lifted to the recommended cluster in spark-defaults', () => {
  const m = model();
  const pinned = { ...m, settings: { ...m.settings, executorInstances: 4, executorCores: 4 } };
  const out = predictFromModel(pinned, report('groups'), { catalog });
  for (const pref of PREFERENCES) {
    const s = out.solutions[pref];
    const props = (s.configuration.Configurations as { Properties: Record<string, string> }[])[0]!.Properties;
    const core = (s.configuration.Instances as { InstanceGroups: { InstanceType: string; InstanceCount: number }[] }).InstanceGroups[1]!;
    const cand = out.candidates.find((c) => c.instanceType === core.InstanceType && c.nodes === core.InstanceCount && c.runtimeSeconds.toFixed(1) === s.estimate.runtimeSeconds.toFixed(1))!;
    assert.ok(cand, pref);
    assert.is(props['spark.executor.instances'], String(cand.executors));
    assert.is(props['spark.executor.cores'], String(cand.executorCores));
  }
});

test('the observed cluster start-up (creation -> ready) is billed on every candidate', () => {
  const r = report('groups');
  r.Cluster = { ...r.Cluster, Status: { Timeline: { CreationDateTime: '2024-01-01T00:00:00.000Z', ReadyDateTime: '2024-01-01T00:05:00.000Z' } } };
  const out = predictFromModel(model(), r, { catalog });
  assert.is(out.basis.startupSeconds, 300);
  // 5 m5.xlarge at $0.24/h for 30 s + 300 s.
  assert.ok(Math.abs(out.basis.costUsd - (5 * 0.24 * 330) / 3600) < 1e-4, String(out.basis.costUsd));
  const c = out.candidates.find((x) => x.instanceType === 'm5.xlarge' && x.nodes === 8)!;
  assert.ok(Math.abs(c.costUsd - (9 * 0.24 * (c.runtimeSeconds + 300)) / 3600) < 1e-9);
  assert.match(out.solutions.balanced.explanation, /300 s of cluster start-up/);
});

test('no cluster report: assumes the fallback type and says so', () => {
  const out = predictFromModel(model(), undefined, { catalog });
  assert.ok(out.warnings.some((w) => /no cluster report/.test(w)));
  assert.is(out.basis.instanceType, 'm5.xlarge');
});

test.run();
