import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lastValueFrom } from 'rxjs';
import { SyncError } from '../../../src/domain/errors.js';
import { deriveRunId } from '../../../src/domain/ids.js';
import type { ProjectState } from '../../../src/domain/types.js';
import { decideRunStart, runStart } from '../../../src/handlers/run-start.js';
import { createFakeDeps, rejection, testContext, testPrediction, type FakeDeps } from '../../support/fakes.js';

const userJobFlow = {
  Name: 'nightly',
  ReleaseLabel: 'emr-6.9.0',
  Instances: { InstanceGroups: [{ InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 }, { InstanceRole: 'CORE', InstanceType: 'm5.xlarge', InstanceCount: 2 }], Ec2SubnetId: 'subnet-1' },
  Steps: [{ Name: 'etl', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', 's3://code-bucket/etl.py'] } }],
  Tags: [{ Key: 'team', Value: 'data' }],
};

async function withProject(deps: FakeDeps, extra: Partial<ProjectState['project']> = {}): Promise<void> {
  const project = { id: 'p1', name: 'nightly etl', platform: 'emr' as const, tenantId: 'acme', createdAt: 'c', updatedAt: 'c', jobFlow: structuredClone(userJobFlow), ...extra };
  await deps.state.put('p1', { project, runs: [], predictions: [] }, null);
}

const start = (deps: FakeDeps, ctx = testContext('req-1', 'nightly-2022-11-15'), data: Parameters<typeof runStart>[0] = { projectId: 'p1' }) => lastValueFrom(runStart(data, deps, ctx));

test('starts one cluster, writes job-flow.json and eventlog/, and records the run', async () => {
  const deps = createFakeDeps();
  await withProject(deps);
  const result = await start(deps);
  const runId = deriveRunId('p1', 'nightly-2022-11-15');
  const location = `s3://runs-bucket/sync/p1/2022-11-15T13:51:29Z/${runId}/`;
  assert.equal(result, { runId, clusterId: 'j-FAKE0001', location });
  assert.is(deps.platform.clusters.size, 1);
  const cluster = deps.platform.clusters.get('j-FAKE0001');
  assert.equal(cluster?.info.tags, { team: 'data', 'sync:tenant-id': 'acme', 'sync:project-id': 'p1', 'sync:run-id': runId });
  assert.ok(deps.objects.objects.has(`${location}eventlog/`));
  const sent = JSON.parse(deps.objects.objects.get(`${location}job-flow.json`)?.body.toString() ?? 'null') as Record<string, unknown>;
  assert.equal(sent, cluster?.request, 'job-flow.json is exactly what was sent');
  assert.equal(sent.Steps, userJobFlow.Steps);
  assert.equal(sent.Configurations, [{ Classification: 'spark-defaults', Properties: { 'spark.eventLog.enabled': 'true', 'spark.eventLog.dir': `s3a://runs-bucket/sync/p1/2022-11-15T13:51:29Z/${runId}/eventlog/` } }]);
  const run = deps.state.read('p1')?.runs[0];
  assert.is(run?.status, 'running');
  assert.is(run?.clusterId, 'j-FAKE0001');
  assert.is(run?.requestKey, 'nightly-2022-11-15');
  assert.is(deps.state.read('p1')?.requests?.['nightly-2022-11-15']?.runId, runId);
});

test('the same idempotency key twice starts one cluster and answers the same', async () => {
  const deps = createFakeDeps();
  await withProject(deps);
  const a = await start(deps, testContext('req-1', 'k'));
  deps.clock.advance(30_000);
  const b = await start(deps, testContext('req-2', 'k'));
  assert.equal(b, a);
  assert.is(deps.platform.clusters.size, 1);
  assert.is(deps.state.read('p1')?.runs.length, 1);
  const c = await start(deps, testContext('req-3'));
  assert.is.not(c.runId, a.runId, 'a request without the key is another run');
  assert.is(deps.platform.clusters.size, 2);
  assert.is(deps.state.read('p1')?.runs[1]?.requestKey, 'job:req-3');
});

test('a lost RunJobFlow answer: the retry finds the cluster by its run tag; still one cluster', async () => {
  const deps = createFakeDeps();
  await withProject(deps);
  deps.platform.crashAfterStart = new SyncError('unavailable', 'socket hang up');
  const e = await rejection(start(deps));
  assert.is((e as SyncError).code, 'unavailable');
  assert.is(deps.platform.clusters.size, 1);
  assert.is(deps.state.read('p1')?.runs[0]?.status, 'starting');
  deps.clock.advance(10 * 60_000);
  const r = await start(deps);
  assert.is(r.clusterId, 'j-FAKE0001');
  assert.is(deps.platform.clusters.size, 1);
  assert.is(deps.state.read('p1')?.runs[0]?.clusterId, 'j-FAKE0001');
  assert.is(deps.state.read('p1')?.runs[0]?.status, 'running');
});

test('a crash between startCluster and the state write: the retry adopts the tagged cluster', async () => {
  const deps = createFakeDeps();
  await withProject(deps);
  deps.state.beforePut = (_id, s) => {
    if (s.runs.some((r) => r.clusterId !== undefined)) throw new SyncError('unavailable', 'process died');
  };
  await rejection(start(deps));
  assert.is(deps.platform.clusters.size, 1);
  delete deps.state.beforePut;
  const r = await start(deps);
  assert.is(r.clusterId, 'j-FAKE0001');
  assert.is(deps.platform.clusters.size, 1);
});

test('a non-retryable start failure marks the run failed; the same key answers the same error without a cluster', async () => {
  const deps = createFakeDeps();
  await withProject(deps);
  deps.platform.startError = new SyncError('invalid_request', 'ValidationException: bad instance type');
  const e = await rejection(start(deps));
  assert.is((e as SyncError).code, 'invalid_request');
  const run = deps.state.read('p1')?.runs[0];
  assert.is(run?.status, 'failed');
  assert.equal(run?.error, { code: 'invalid_request', message: 'ValidationException: bad instance type' });
  const again = await rejection(start(deps));
  assert.is((again as SyncError).code, 'invalid_request');
  assert.is((again as SyncError).retryable, false);
  assert.is(deps.platform.clusters.size, 0);
});

test('a retryable start failure leaves the run starting; the retry starts exactly one cluster', async () => {
  const deps = createFakeDeps();
  await withProject(deps);
  deps.platform.startError = new SyncError('throttled', 'ThrottlingException');
  assert.is(((await rejection(start(deps))) as SyncError).retryable, true);
  assert.is(deps.state.read('p1')?.runs[0]?.status, 'starting');
  await start(deps);
  assert.is(deps.platform.clusters.size, 1);
  assert.is(deps.state.read('p1')?.runs.length, 1);
});

test('the first attempt of a request launches without looking clusters up (no scan per request)', async () => {
  const deps = createFakeDeps();
  await withProject(deps);
  deps.platform.findClusterByTag = async () => {
    throw new Error('a first attempt must not scan clusters');
  };
  const r = await start(deps);
  assert.is(r.clusterId, 'j-FAKE0001');
  const run = deps.state.read('p1')?.runs[0];
  assert.ok(run?.launch?.token, 'the launch claim is recorded with the run');
});

test('a young claim of another live attempt: this attempt waits and adopts that cluster instead of starting one', async () => {
  const deps = createFakeDeps();
  await withProject(deps);
  const runId = deriveRunId('p1', 'nightly-2022-11-15');
  const now = deps.clock.now().toISOString();
  const doc = deps.state.read('p1')!;
  await deps.state.put('p1', {
    ...doc,
    runs: [{ id: runId, projectId: 'p1', status: 'starting', location: 's3://runs-bucket/sync/p1/2022-11-15T13:51:29Z/' + runId + '/', createdAt: now, requestKey: 'nightly-2022-11-15', launch: { token: 'other-attempt', at: now } }],
  }, (await deps.state.get('p1'))!.version);
  // The other attempt's RunJobFlow lands while this attempt watches its claim (at its second lookup).
  const find = deps.platform.findClusterByTag;
  let lookups = 0;
  deps.platform.findClusterByTag = async (query, options) => {
    if (++lookups === 2) await deps.platform.startCluster({ Name: 'nightly', Tags: [{ Key: 'sync:tenant-id', Value: 'acme' }, { Key: 'sync:run-id', Value: runId }] });
    return find(query, options);
  };
  const r = await start(deps);
  assert.is(lookups, 2, 'it looked again while the claim was young, instead of launching');
  assert.is(r.clusterId, 'j-FAKE0001');
  assert.is(deps.platform.clusters.size, 1);
});

test('a claim abandoned by a crashed attempt (past the lease, no cluster): the retry takes it over and starts exactly one cluster', async () => {
  const deps = createFakeDeps();
  await withProject(deps);
  const runId = deriveRunId('p1', 'nightly-2022-11-15');
  const old = new Date(deps.clock.now().getTime() - 60_000).toISOString();
  const doc = deps.state.read('p1')!;
  await deps.state.put('p1', {
    ...doc,
    runs: [{ id: runId, projectId: 'p1', status: 'starting', location: 's3://runs-bucket/sync/p1/2022-11-15T13:51:29Z/' + runId + '/', createdAt: old, requestKey: 'nightly-2022-11-15', launch: { token: 'dead-attempt', at: old } }],
  }, (await deps.state.get('p1'))!.version);
  const r = await start(deps);
  assert.is(r.clusterId, 'j-FAKE0001');
  assert.is(deps.platform.clusters.size, 1);
  assert.is.not(deps.state.read('p1')?.runs[0]?.launch?.token, 'dead-attempt');
});

test('a malformed jobFlow fails before anything is reserved or written', async () => {
  const deps = createFakeDeps();
  await withProject(deps);
  const e = await rejection(start(deps, testContext(), { projectId: 'p1', jobFlow: { Tags: 'team=data' } }));
  assert.is((e as SyncError).code, 'invalid_request');
  assert.match((e as SyncError).message, /jobFlow\.Tags/);
  assert.equal(deps.state.read('p1')?.runs, []);
  assert.is(deps.objects.objects.size, 0);
  assert.is(deps.platform.clusters.size, 0);
});

test('missing project, missing location', async () => {
  const deps = createFakeDeps();
  assert.is(((await rejection(start(deps))) as SyncError).code, 'not_found');
  const bare = createFakeDeps();
  delete (bare.config.site as { projectLocation?: string }).projectLocation;
  await withProject(bare);
  const e = (await rejection(start(bare))) as SyncError;
  assert.is(e.code, 'invalid_config');
  assert.match(e.message, /`site\.projectLocation`, `tenant\.projectLocation`/);
  bare.config.tenant.projectLocation = 'file:///var/tmp/runs';
  const r = await start(bare);
  assert.ok(r.location.startsWith('file:///var/tmp/runs/p1/2022-11-15T13:51:29Z/'));
});

test('the project location wins over the site location', async () => {
  const deps = createFakeDeps();
  await withProject(deps, { location: 's3://project-bucket/runs' });
  const r = await start(deps);
  assert.ok(r.location.startsWith('s3://project-bucket/runs/p1/'), r.location);
});

test('with a predictionId the solution for the preference is merged and tagged', async () => {
  const deps = createFakeDeps();
  await withProject(deps, { preference: 'economy' });
  const prediction = testPrediction({
    performance: { configuration: { Instances: { InstanceGroups: [{ InstanceRole: 'CORE', InstanceType: 'c5.4xlarge', InstanceCount: 8 }] } }, estimate: { runtimeSeconds: 50, costUsd: 2 }, source: 'simulator', explanation: '' },
    balanced: { configuration: { Instances: { InstanceGroups: [{ InstanceRole: 'CORE', InstanceType: 'm5.2xlarge', InstanceCount: 4 }] } }, estimate: { runtimeSeconds: 70, costUsd: 1 }, source: 'simulator', explanation: '' },
    economy: {
      configuration: { Instances: { InstanceGroups: [{ InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 }, { InstanceRole: 'CORE', InstanceType: 'r5.xlarge', InstanceCount: 3 }] } },
      estimate: { runtimeSeconds: 90, costUsd: 0.5 },
      source: 'simulator',
      explanation: '',
    },
  });
  await deps.objects.put('s3://runs-bucket/sync/p1/predictions/pred-1.json', JSON.stringify(prediction));
  const r = await start(deps, testContext('req-9'), { projectId: 'p1', predictionId: 'pred-1' });
  const sent = deps.platform.clusters.get(r.clusterId)?.request as { Instances: { InstanceGroups: unknown[]; Ec2SubnetId: string }; Tags: { Key: string; Value: string }[]; Steps: unknown };
  assert.equal(sent.Instances.InstanceGroups, [
    { InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 },
    { InstanceRole: 'CORE', InstanceType: 'r5.xlarge', InstanceCount: 3 },
  ]);
  assert.is(sent.Instances.Ec2SubnetId, 'subnet-1');
  assert.equal(sent.Steps, userJobFlow.Steps);
  assert.ok(sent.Tags.some((t) => t.Key === 'sync:prediction-id' && t.Value === 'pred-1'));
  assert.is(deps.state.read('p1')?.runs[0]?.predictionId, 'pred-1');
  const missing = (await rejection(start(deps, testContext('req-10'), { projectId: 'p1', predictionId: 'nope' }))) as SyncError;
  assert.is(missing.code, 'not_found');
});

test('decideRunStart: existing, resume, failed, new', () => {
  const base = { id: 'r', projectId: 'p', location: 'l', createdAt: 'c', requestKey: 'k' };
  const s = (runs: ProjectState['runs']): ProjectState => ({ project: { id: 'p', name: 'n', platform: 'emr', tenantId: 't', createdAt: 'c', updatedAt: 'c' }, runs, predictions: [] });
  assert.is(decideRunStart(s([]), 'k').kind, 'new');
  assert.is(decideRunStart(s([{ ...base, status: 'starting' }]), 'k').kind, 'resume');
  assert.is(decideRunStart(s([{ ...base, status: 'failed' }]), 'k').kind, 'failed');
  assert.is(decideRunStart(s([{ ...base, status: 'recorded', clusterId: 'j-1' }]), 'k').kind, 'existing');
  assert.is(decideRunStart(s([{ ...base, status: 'recorded', clusterId: 'j-1' }]), 'other').kind, 'new');
});

test.run();
