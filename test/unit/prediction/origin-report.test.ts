// Issue 14, "read real cluster reports" and "a type missing from the catalog is priced from the
// report": the origin project's EMR 6.2 cluster report (real, InstanceFleets inside Cluster) with an
// event log of the same run (RECONSTRUCTED from the real log's facts, see test/fixtures/origin/PROVENANCE.md).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadApplicationModel } from '../../../src/adapters/eventlog-source.js';
import { loadCatalog, readCatalogRows, shippedCatalogPath } from '../../../src/adapters/prediction/catalog-file.js';
import { createLocalPredictionBackend } from '../../../src/adapters/prediction/local-backend.js';
import type { ApplicationModel } from '../../../src/domain/eventlog/model.js';
import type { ClusterReport } from '../../../src/domain/ports.js';
import { buildCatalog } from '../../../src/domain/prediction/catalog.js';
import { basisHardware, clusterShapeFromReport } from '../../../src/domain/prediction/cluster-shape.js';
import { hourlyRate } from '../../../src/domain/prediction/cost.js';
import { buildReplayPlan } from '../../../src/domain/prediction/plan.js';
import { predictFromModel } from '../../../src/domain/prediction/predict.js';
import { simulatePlan } from '../../../src/domain/prediction/simulator.js';
import { PREFERENCES } from '../../../src/domain/types.js';

const fixture = (f: string) => fileURLToPath(new URL(`../../fixtures/origin/${f}`, import.meta.url));
const report = (): ClusterReport => JSON.parse(readFileSync(fixture('emr-cluster-report.json'), 'utf8')) as ClusterReport;
const catalog = loadCatalog();
let model: ApplicationModel;

test.before(async () => {
  model = await loadApplicationModel(fixture('application_1678162862227_0001.reconstructed'));
});

test('the origin report (InstanceFleets inside Cluster): c5a.8xlarge core, m4.large spot task, m4.xlarge master', () => {
  const shape = clusterShapeFromReport(report());
  assert.is(shape.collection, 'fleets');
  assert.is(shape.masterInstanceType, 'm4.xlarge');
  assert.is(shape.coreInstanceType, 'c5a.8xlarge');
  assert.equal(shape.workers, [
    { instanceType: 'c5a.8xlarge', role: 'CORE', count: 1, spot: false },
    { instanceType: 'm4.large', role: 'TASK', count: 1, spot: true },
  ]);
  assert.is(shape.spot, false, 'core nodes are on-demand; only the task node is spot');
  const hw = basisHardware(shape, model.executors, model.sparkProperties['spark.driver.host']);
  assert.equal({ t: hw.instanceType, n: hw.nodes, from: hw.from, cores: hw.maxCoresPerHost }, { t: 'c5a.8xlarge', n: 1, from: 'executor-hosts', cores: 32 });
});

test('predict on the origin log + report: basis hardware from the executor hosts, basis row within 5% of the replay, whole cluster priced', () => {
  const out = predictFromModel(model, report(), { catalog });
  assert.is(out.basis.instanceType, 'c5a.8xlarge');
  assert.is(out.basis.nodes, 1);
  assert.is(out.basis.hardwareFrom, 'executor-hosts');
  assert.equal({ e: out.basis.executors, c: out.basis.executorCores }, { e: 8, c: 4 });
  assert.match(out.basis.description!, /master m4\.xlarge, 1 x m4\.large spot task/);
  assert.not.ok(out.warnings.some((w) => /not in the catalog|assumed/i.test(w)), out.warnings.join('; '));
  const replaySeconds = simulatePlan(buildReplayPlan(model)).estimatedMs / 1000;
  const row = out.candidates.find((c) => c.current)!;
  assert.ok(row && row.instanceType === 'c5a.8xlarge' && row.nodes === 1 && row.executors === 8 && row.executorCores === 4, JSON.stringify(row));
  assert.ok(Math.abs(row.runtimeSeconds - replaySeconds) / replaySeconds < 0.05, `basis row ${row.runtimeSeconds} s vs replay ${replaySeconds} s`);
  // The current cost is the whole cluster: c5a.8xlarge on-demand + m4.large at spot + m4.xlarge master, start-up included.
  const seconds = out.basis.runtimeSeconds + out.basis.startupSeconds!;
  const perHour = hourlyRate(catalog, 'c5a.8xlarge') + hourlyRate(catalog, 'm4.large', { spot: true }) + hourlyRate(catalog, 'm4.xlarge');
  assert.ok(Math.abs(out.basis.costUsd - (perHour * seconds) / 3600) < 1e-3, `${out.basis.costUsd} vs ${(perHour * seconds) / 3600}`);
  for (const pref of PREFERENCES) {
    const e = out.solutions[pref].estimate;
    assert.not.ok(e.runtimeSeconds >= out.basis.runtimeSeconds && e.costUsd >= out.basis.costUsd && !out.solutions[pref].keep, `${pref} is dominated by the current cluster`);
  }
});

test('a keep solution carries the current cluster as the report shows it (master, core and spot task fleets)', () => {
  // A margin no candidate can meet: every preference keeps.
  const out = predictFromModel(model, report(), { catalog, margin: 0.99 });
  for (const pref of PREFERENCES) {
    const s = out.solutions[pref];
    assert.ok(s.keep, pref);
    assert.match(s.explanation, /^keep: nothing beats the current cluster by 99%/);
    const fleets = (s.configuration.Instances as { InstanceFleets: Record<string, unknown>[] }).InstanceFleets;
    assert.equal(
      fleets.map((f) => [f.InstanceFleetType, f.TargetOnDemandCapacity ?? 0, f.TargetSpotCapacity ?? 0, (f.InstanceTypeSpecifications as { InstanceType: string }[]).map((x) => x.InstanceType).join()]),
      [
        ['MASTER', 1, 0, 'm4.xlarge'],
        ['CORE', 1, 0, 'c5a.8xlarge'],
        ['TASK', 0, 1, 'm4.large'],
      ],
    );
  }
});

test('the project margin (policy.compellingSaving) reaches the local backend', async () => {
  const backend = createLocalPredictionBackend({ catalog });
  const input = { projectId: 'p', basisRunId: 'r', eventLogUrl: fixture('application_1678162862227_0001.reconstructed'), report: report(), history: [], predictionId: 'x', createdAt: new Date(0) };
  const strict = await backend.predict({ ...input, margin: 0.99 });
  assert.ok(PREFERENCES.every((p) => strict.solutions[p].keep), 'a 99% margin keeps every preference');
  const lax = await backend.predict(input);
  assert.ok(PREFERENCES.some((p) => !lax.solutions[p].keep), 'the default 10% margin lets some preference through on this run');
});

test('a core type missing from the catalog is priced from the report vCPU/memory, never replaced by another type', () => {
  const rows = readCatalogRows(shippedCatalogPath()).filter((r) => r.instanceType !== 'c5a.8xlarge');
  const without = buildCatalog(rows);
  const r = report();
  r.InstanceTypes = [{ InstanceType: 'c5a.8xlarge', VCpuInfo: { DefaultVCpus: 32 }, MemoryInfo: { SizeInMiB: 65536 } }];
  const out = predictFromModel(model, r, { catalog: without });
  assert.is(out.basis.instanceType, 'c5a.8xlarge');
  assert.is(out.basis.hardwareFrom, 'executor-hosts');
  const w = out.warnings.find((x) => /c5a\.8xlarge is not in the catalog/.test(x));
  assert.ok(w, out.warnings.join('; '));
  assert.match(w!, /priced from the cluster report's 32 vCPU \/ 64 GiB/);
  // The estimate is of the right order: within 2x of the real list price ($1.232/h EC2).
  const current = out.candidates.find((c) => c.current)!;
  const withReal = predictFromModel(model, report(), { catalog });
  assert.ok(current.costUsd > withReal.basis.costUsd / 2 && current.costUsd < withReal.basis.costUsd * 2, `${current.costUsd} vs ${withReal.basis.costUsd}`);
  // Without the report's figures, the log's executors on that host give them (8 x 4 cores; 8 x (4656 + overhead) MB).
  const fromLog = predictFromModel(model, report(), { catalog: without });
  assert.is(fromLog.basis.instanceType, 'c5a.8xlarge');
  assert.ok(fromLog.warnings.some((x) => /c5a\.8xlarge is not in the catalog: priced from the event log's \(executors per host\) 32 vCPU/.test(x)), fromLog.warnings.join('; '));
});

test('reports of every shape: groups inside Cluster, fleets with several types, instances without groups', () => {
  const base = { Steps: [], BootstrapActions: [], Region: 'us-east-1' };
  const inside = clusterShapeFromReport({
    ...base,
    Cluster: {
      InstanceCollectionType: 'INSTANCE_GROUP',
      InstanceGroups: [
        { Id: 'ig-1', InstanceGroupType: 'MASTER', InstanceType: 'm5.xlarge', RequestedInstanceCount: 1 },
        { Id: 'ig-2', InstanceGroupType: 'CORE', InstanceType: 'r4.2xlarge', RequestedInstanceCount: 3 },
        { Id: 'ig-3', InstanceGroupType: 'TASK', InstanceType: 'r4.2xlarge', RequestedInstanceCount: 2, Market: 'SPOT' },
      ],
    },
    Instances: [],
  });
  assert.equal({ m: inside.masterInstanceType, t: inside.coreInstanceType, n: inside.coreNodes, spot: inside.spot }, { m: 'm5.xlarge', t: 'r4.2xlarge', n: 5, spot: false });
  // A fleet that offered two types and ran both; the executors' hosts decide the basis.
  const mixed = clusterShapeFromReport({
    ...base,
    Cluster: { InstanceCollectionType: 'INSTANCE_FLEET' },
    InstanceFleets: [
      { Id: 'if-m', InstanceFleetType: 'MASTER', TargetOnDemandCapacity: 1, InstanceTypeSpecifications: [{ InstanceType: 'm5.xlarge' }] },
      { Id: 'if-c', InstanceFleetType: 'CORE', TargetOnDemandCapacity: 3, InstanceTypeSpecifications: [{ InstanceType: 'r5.2xlarge' }, { InstanceType: 'r4.2xlarge' }] },
    ],
    Instances: [
      { InstanceFleetId: 'if-m', InstanceType: 'm5.xlarge', PrivateDnsName: 'ip-10-0-0-1.ec2.internal', PrivateIpAddress: '10.0.0.1', Market: 'ON_DEMAND' },
      { InstanceFleetId: 'if-c', InstanceType: 'r5.2xlarge', PrivateDnsName: 'ip-10-0-0-2.ec2.internal', PrivateIpAddress: '10.0.0.2', Market: 'ON_DEMAND' },
      { InstanceFleetId: 'if-c', InstanceType: 'r4.2xlarge', PrivateDnsName: 'ip-10-0-0-3.ec2.internal', PrivateIpAddress: '10.0.0.3', Market: 'ON_DEMAND' },
      { InstanceFleetId: 'if-c', InstanceType: 'r4.2xlarge', PrivateDnsName: 'ip-10-0-0-4.ec2.internal', PrivateIpAddress: '10.0.0.4', Market: 'ON_DEMAND' },
    ],
  });
  assert.is(mixed.masterInstanceType, 'm5.xlarge');
  // Executors named by IP on one host, by short name on two others.
  const hw = basisHardware(mixed, [
    { host: '10.0.0.2', cores: 4 },
    { host: 'ip-10-0-0-3', cores: 4 },
    { host: 'ip-10-0-0-3', cores: 4 },
    { host: 'ip-10-0-0-4.ec2.internal', cores: 4 },
  ]);
  assert.equal({ t: hw.instanceType, n: hw.nodes, other: hw.otherHosts }, { t: 'r4.2xlarge', n: 2, other: [{ instanceType: 'r5.2xlarge', hosts: 1, cores: 4 }] });
  // Instances without any group or fleet: the driver's host is the master, not the first instance listed.
  const bare = clusterShapeFromReport({
    ...base,
    Cluster: {},
    Instances: [
      { InstanceType: 'c5a.8xlarge', PrivateDnsName: 'ip-10-0-1-9.ec2.internal' },
      { InstanceType: 'm4.xlarge', PrivateDnsName: 'ip-10-0-1-1.ec2.internal' },
      { InstanceType: 'c5a.8xlarge', PrivateDnsName: 'ip-10-0-1-8.ec2.internal' },
    ],
  });
  const noHosts = basisHardware(bare, [], 'ip-10-0-1-1.ec2.internal');
  assert.equal({ t: noHosts.instanceType, n: noHosts.nodes }, { t: 'c5a.8xlarge', n: 2 });
});

test.run();
