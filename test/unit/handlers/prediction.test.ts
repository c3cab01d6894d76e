// prediction.create and prediction.apply over in-memory ports, with the real local engine reading a
// real event log (test/fixtures/eventlogs, see its PROVENANCE.md) from the fake object store.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { lastValueFrom } from 'rxjs';
import { createLocalPredictionBackend } from '../../../src/adapters/prediction/local-backend.js';
import { loadCatalog } from '../../../src/adapters/prediction/catalog-file.js';
import type { SyncError } from '../../../src/domain/errors.js';
import type { Prediction, ProjectState, Run } from '../../../src/domain/types.js';
import { predictionApply } from '../../../src/handlers/prediction-apply.js';
import { predictionCreate } from '../../../src/handlers/prediction-create.js';
import { createFakeDeps, rejection, testContext, type FakeDeps } from '../../support/fakes.js';

const LOG = readFileSync('test/fixtures/eventlogs/apache-spark/application_1506645932520_24630151');
const RUN_URL = 's3://runs-bucket/sync/p1/2022-11-15T13:51:29Z/r-1/';
const userJobFlow = {
  Name: 'nightly',
  ReleaseLabel: 'emr-6.9.0',
  Applications: [{ Name: 'Spark' }],
  Instances: { InstanceGroups: [{ InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 }, { InstanceRole: 'CORE', InstanceType: 'm5.2xlarge', InstanceCount: 4 }], Ec2SubnetId: 'subnet-1' },
  Steps: [{ Name: 'etl', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', 's3://code-bucket/etl.py'] } }],
  BootstrapActions: [{ Name: 'deps', ScriptBootstrapAction: { Path: 's3://code-bucket/bootstrap.sh' } }],
  Tags: [{ Key: 'team', Value: 'data' }],
  JobFlowRole: 'EMR_EC2_DefaultRole',
  ServiceRole: 'EMR_DefaultRole',
};
const report = {
  Cluster: { Id: 'j-BASIS', ReleaseLabel: 'emr-6.9.0', InstanceCollectionType: 'INSTANCE_GROUP', Configurations: [] },
  Instances: [],
  InstanceGroups: [
    { InstanceGroupType: 'MASTER', InstanceType: 'm5.xlarge', RequestedInstanceCount: 1, RunningInstanceCount: 0 },
    { InstanceGroupType: 'CORE', InstanceType: 'm5.2xlarge', RequestedInstanceCount: 4, RunningInstanceCount: 0 },
  ],
  Steps: [],
  BootstrapActions: [],
  Region: 'us-east-1',
};

async function recordedProject(deps: FakeDeps, runs: Partial<Run>[] = [{}]): Promise<void> {
  const project = { id: 'p1', name: 'nightly etl', platform: 'emr' as const, tenantId: 'acme', createdAt: 'c', updatedAt: 'c', jobFlow: structuredClone(userJobFlow) };
  const all: Run[] = runs.map((extra, i) => ({
    id: `r-${i + 1}`,
    projectId: 'p1',
    status: 'recorded',
    location: RUN_URL.replace('r-1', `r-${i + 1}`),
    createdAt: '2022-11-15T13:51:29.000Z',
    requestKey: `k${i}`,
    clusterId: `j-${i}`,
    reportUrl: `${RUN_URL.replace('r-1', `r-${i + 1}`)}emr-cluster-report.json`,
    eventLogUrl: `${RUN_URL.replace('r-1', `r-${i + 1}`)}eventlog/`,
    ...extra,
  }));
  // A run recorded with a missing event log has no eventLogUrl (as run.record leaves it).
  for (const r of all) if (r.eventLog?.status === 'missing') delete r.eventLogUrl;
  const state: ProjectState = { project, runs: all, predictions: [] };
  await deps.state.put('p1', state, null);
  for (const r of all) {
    await deps.objects.put(`${r.location}eventlog/application_1506645932520_24630151`, LOG);
    await deps.objects.put(`${r.location}emr-cluster-report.json`, JSON.stringify(report));
  }
}

function withEngine(deps: FakeDeps): FakeDeps {
  deps.predictions = createLocalPredictionBackend({ objectStore: deps.objects, catalog: loadCatalog() });
  return deps;
}

const create = (deps: FakeDeps, data: { projectId: string; runId?: string } = { projectId: 'p1' }, ctx = testContext('req-p', 'predict-1')) =>
  lastValueFrom(predictionCreate(data, deps, ctx));

test('prediction.create predicts from the latest recorded run and saves the prediction beside the project', async () => {
  const deps = withEngine(createFakeDeps());
  await recordedProject(deps, [{}, {}]);
  const p = await create(deps);
  assert.is(p.projectId, 'p1');
  assert.is(p.basisRunId, 'r-2', 'the latest recorded run');
  for (const pref of ['performance', 'balanced', 'economy'] as const) {
    const s = p.solutions[pref];
    assert.ok(s.estimate.runtimeSeconds > 0 && s.estimate.costUsd > 0, pref);
    assert.ok((s.configuration as { Instances?: unknown }).Instances, `${pref} has Instances`);
    assert.type(s.explanation, 'string');
  }
  const stored = JSON.parse((await deps.objects.get(`s3://runs-bucket/sync/p1/predictions/${p.predictionId}.json`)).body.toString()) as Prediction;
  assert.equal(stored, p);
  const state = deps.state.read('p1')!;
  assert.equal(state.predictions.map((x) => x.id), [p.predictionId]);
  assert.is(state.predictions[0]!.basisRunId, 'r-2');
});

test('prediction.create replayed with the same key answers the same prediction and stores one', async () => {
  const deps = withEngine(createFakeDeps());
  await recordedProject(deps);
  const a = await create(deps);
  const b = await create(deps);
  assert.equal(b, a);
  assert.is(deps.state.read('p1')!.predictions.length, 1);
});

test('prediction.create names what is missing: no recorded run, a run without an event log', async () => {
  const deps = withEngine(createFakeDeps());
  await recordedProject(deps, [{ status: 'running' }]);
  const none = (await rejection(create(deps))) as SyncError;
  assert.is(none.code, 'not_found');
  assert.match(none.message, /no recorded run/);
  const named = (await rejection(create(deps, { projectId: 'p1', runId: 'r-1' }))) as SyncError;
  assert.is(named.code, 'invalid_request');
  assert.match(named.message, /r-1.*running/);
});

test('prediction.create and the event log: never from a missing log (named, with why); from an unfinished one with a warning', async () => {
  const deps = withEngine(createFakeDeps());
  const noLog = { eventLog: { status: 'missing' as const, reason: 'no event log was written under s3://x/eventlog/' } };
  await recordedProject(deps, [{}, noLog]);
  const named = (await rejection(create(deps, { projectId: 'p1', runId: 'r-2' }))) as SyncError;
  assert.is(named.code, 'invalid_request');
  assert.match(named.message, /run 'r-2' of project 'p1' has no event log \(no event log was written under s3:\/\/x\/eventlog\/\), so no prediction can be based on it/);
  // The latest run has no log: the prediction stands on the one before, and says so.
  const p = await create(deps);
  assert.is(p.basisRunId, 'r-1');
  assert.match(p.warnings?.[0] ?? '', /based on run 'r-1': the 1 newer recorded run\(s\) \('r-2' has no event log/);

  const alone = withEngine(createFakeDeps());
  await recordedProject(alone, [noLog]);
  const none = (await rejection(create(alone))) as SyncError;
  assert.is(none.code, 'not_found');
  assert.match(none.message, /its latest recorded run 'r-1' has no event log \(no event log was written/);

  const unfinished = withEngine(createFakeDeps());
  await recordedProject(unfinished, [{ eventLog: { status: 'unfinished', reason: 'the event log was never closed by Spark: app.inprogress' } }]);
  const q = await create(unfinished);
  assert.is(q.basisRunId, 'r-1');
  assert.ok(q.warnings?.some((w) => /run r-1 has an unfinished event log: the event log was never closed by Spark/.test(w)), JSON.stringify(q.warnings));
});

test('prediction.apply starts the next run from the solution, merged with everything the project request carries', async () => {
  const deps = withEngine(createFakeDeps());
  await recordedProject(deps);
  const p = await create(deps);
  const started = await lastValueFrom(predictionApply({ projectId: 'p1', preference: 'economy' }, deps, testContext('req-apply', 'apply-1')));
  const cluster = deps.platform.clusters.get(started.clusterId)!;
  const req = cluster.request as typeof userJobFlow & { Tags: { Key: string; Value: string }[]; Configurations?: unknown[] };
  const wanted = p.solutions.economy.configuration as { Instances: { InstanceGroups: { InstanceRole: string; InstanceType: string; InstanceCount: number }[] } };
  const core = (g: { InstanceGroups: { InstanceRole: string; InstanceType: string; InstanceCount: number }[] }) => g.InstanceGroups.find((x) => x.InstanceRole === 'CORE');
  assert.equal(
    { type: core(req.Instances)?.InstanceType, count: core(req.Instances)?.InstanceCount },
    { type: core(wanted.Instances)?.InstanceType, count: core(wanted.Instances)?.InstanceCount },
  );
  // Everything the user's request carries survives.
  assert.equal(req.Steps, userJobFlow.Steps);
  assert.equal(req.BootstrapActions, userJobFlow.BootstrapActions);
  assert.equal(req.Applications, userJobFlow.Applications);
  assert.is(req.ReleaseLabel, 'emr-6.9.0');
  assert.is(req.JobFlowRole, 'EMR_EC2_DefaultRole');
  assert.is((req.Instances as { Ec2SubnetId?: string }).Ec2SubnetId, 'subnet-1');
  assert.ok(req.Tags.some((t) => t.Key === 'team' && t.Value === 'data'));
  assert.ok(req.Tags.some((t) => t.Key === 'sync:prediction-id' && t.Value === p.predictionId));
  const run = deps.state.read('p1')!.runs.find((r) => r.id === started.runId)!;
  assert.is(run.predictionId, p.predictionId);
});

test('prediction.apply with no prediction yet says to create one', async () => {
  const deps = withEngine(createFakeDeps());
  await recordedProject(deps);
  const e = (await rejection(lastValueFrom(predictionApply({ projectId: 'p1' }, deps, testContext())))) as SyncError;
  assert.is(e.code, 'not_found');
  assert.match(e.message, /prediction\.create/);
});

test.run();
