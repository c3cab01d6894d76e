// The launch claim of run.start over in-memory fakes: a RunJobFlow that ended without an answer may
// still be carried out; the claim is taken right before the call; a lease is measured on the watching
// attempt's own clock; a duplicate cluster is terminated under its own signal, and a failure to do so is
// surfaced; the tag lookup is scoped by tenant.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lastValueFrom } from 'rxjs';
import { SyncError } from '../../../src/domain/errors.js';
import { deriveRunId } from '../../../src/domain/ids.js';
import type { JobFlow } from '../../../src/domain/types.js';
import { runStart } from '../../../src/handlers/run-start.js';
import { createFakeDeps, rejection, testContext, type FakeDeps } from '../../support/fakes.js';

const KEY = 'nightly-2022-11-15';
const jobFlow = { Name: 'nightly', ReleaseLabel: 'emr-6.9.0', Instances: { InstanceGroups: [{ InstanceRole: 'CORE', InstanceType: 'm5.xlarge', InstanceCount: 2 }] } };
const runId = deriveRunId('p1', KEY);
const tagsOf = (tenant: string): JobFlow => ({ Name: 'nightly', Tags: [{ Key: 'sync:tenant-id', Value: tenant }, { Key: 'sync:project-id', Value: 'p1' }, { Key: 'sync:run-id', Value: runId }] });

async function withProject(deps: FakeDeps): Promise<void> {
  await deps.state.put('p1', { project: { id: 'p1', name: 'nightly', platform: 'emr', tenantId: 'acme', createdAt: 'c', updatedAt: 'c', jobFlow }, runs: [], predictions: [] }, null);
}
const start = (deps: FakeDeps, ctx = testContext('req-1', KEY)) => lastValueFrom(runStart({ projectId: 'p1' }, deps, ctx));

/** EMR creates the cluster of an earlier, unanswered RunJobFlow when this attempt looks up for the `n`th time. */
function lateCluster(deps: FakeDeps, n: number): () => number {
  const find = deps.platform.findClusterByTag.bind(deps.platform);
  let lookups = 0;
  deps.platform.findClusterByTag = async (...args: Parameters<typeof find>) => {
    if (++lookups === n) await deps.platform.startCluster(tagsOf('acme'));
    return find(...args);
  };
  return () => lookups;
}

test('an aborted or timed-out RunJobFlow may still be carried out: the next attempt waits out the lease, finds the cluster EMR created late, and launches none', async () => {
  const deps = createFakeDeps();
  await withProject(deps);
  deps.platform.startError = new SyncError('aborted', 'EMR RunJobFlow: the operation was aborted (30 s call bound)');
  await rejection(start(deps));
  assert.is(deps.platform.clusters.size, 0);
  assert.is(deps.state.read('p1')?.runs[0]?.launch?.endedAt, undefined, 'not marked as over: EMR may still act on it');
  lateCluster(deps, 2);
  const r = await start(deps, testContext('req-1-retry', KEY));
  assert.is(deps.platform.clusters.size, 1, 'one cluster: the retry adopted the late one');
  assert.is(r.clusterId, 'j-FAKE0001');
});

test('a throttled RunJobFlow was refused: the next attempt looks up once and launches without waiting', async () => {
  const deps = createFakeDeps();
  await withProject(deps);
  deps.platform.startError = new SyncError('throttled', 'ThrottlingException: Rate exceeded');
  await rejection(start(deps));
  assert.ok(deps.state.read('p1')?.runs[0]?.launch?.endedAt, 'a refused call is over');
  const before = deps.clock.now().getTime();
  const r = await start(deps, testContext('req-1-retry', KEY));
  assert.is(r.clusterId, 'j-FAKE0001');
  assert.is(deps.clock.now().getTime(), before, 'no lease was waited out');
});

test('the claim is taken right before RunJobFlow: an attempt held up writing job-flow.json never launches after another attempt took the run over', async () => {
  const deps = createFakeDeps();
  await withProject(deps);
  const put = deps.objects.put.bind(deps.objects);
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let holdNext = true;
  deps.objects.put = async (url, body, options) => {
    if (holdNext && url.endsWith('job-flow.json')) {
      holdNext = false;
      await held;
    }
    return put(url, body, options);
  };
  const a = start(deps, testContext('req-1', KEY));
  for (let i = 0; i < 1000 && deps.state.read('p1')?.runs.length !== 1; i++) await new Promise((r) => setImmediate(r));
  assert.is(deps.state.read('p1')?.runs.length, 1, 'attempt A reserved the run and is held in its writes');
  // A minute passes (A's lock lapses); attempt B of the same request runs to the end.
  deps.clock.advance(60_000);
  const b = await start(deps, testContext('req-1', KEY));
  release();
  const ra = await a;
  assert.is(ra.clusterId, b.clusterId, 'both attempts answer the one cluster');
  assert.is(deps.platform.clusters.size, 1, 'A did not launch a second cluster');
});

test('a claim whose time comes from a host with a slow clock is still watched for a whole lease on this attempt\'s clock', async () => {
  const deps = createFakeDeps();
  await withProject(deps);
  // Another host claimed the launch just now, by its clock 10 minutes behind ours; its call is in flight.
  const skewed = new Date(deps.clock.now().getTime() - 10 * 60_000).toISOString();
  const now = deps.clock.now().toISOString();
  const location = `s3://runs-bucket/sync/p1/2022-11-15T13:51:29Z/${runId}/`;
  await deps.state.put('p1', { ...deps.state.read('p1')!, runs: [{ id: runId, projectId: 'p1', status: 'starting', location, createdAt: now, requestKey: KEY, launch: { token: 'other-host', at: skewed } }] }, (await deps.state.get('p1'))!.version);
  // Its call lands 5 s from now (on our clock).
  const t0 = deps.clock.now().getTime();
  let landed = false;
  const land = async () => {
    if (landed) return;
    landed = true;
    await deps.platform.startCluster(tagsOf('acme'));
  };
  const find = deps.platform.findClusterByTag.bind(deps.platform);
  deps.platform.findClusterByTag = async (...args: Parameters<typeof find>) => {
    if (deps.clock.now().getTime() - t0 >= 5_000) await land();
    return find(...args);
  };
  const r = await start(deps);
  deps.clock.advance(5_000);
  await land();
  assert.is(deps.platform.clusters.size, 1, 'no second launch while the other host\'s call could be in flight');
  assert.is(r.clusterId, 'j-FAKE0001');
});

test('the tag lookup is scoped by tenant: a cluster of another tenant with the same run id is never adopted', async () => {
  const deps = createFakeDeps();
  await withProject(deps);
  // Tenant "globex" shares the AWS account and has a project p1 with the same key, hence the same run id.
  await deps.platform.startCluster(tagsOf('globex'));
  const old = new Date(deps.clock.now().getTime() - 60_000).toISOString();
  const location = `s3://runs-bucket/sync/p1/2022-11-15T13:51:29Z/${runId}/`;
  await deps.state.put('p1', { ...deps.state.read('p1')!, runs: [{ id: runId, projectId: 'p1', status: 'starting', location, createdAt: deps.clock.now().toISOString(), requestKey: KEY, launch: { token: 'crashed', at: old, endedAt: old } }] }, (await deps.state.get('p1'))!.version);
  const r = await start(deps);
  assert.is.not(r.clusterId, 'j-FAKE0001', "globex's cluster was not adopted");
  assert.is(deps.platform.clusters.get(r.clusterId)?.info.tags['sync:tenant-id'], 'acme');
});

/** Another attempt wins the race: right after this attempt's cluster starts, the run already names another one. */
function loseTheRace(deps: FakeDeps): void {
  const startCluster = deps.platform.startCluster.bind(deps.platform);
  deps.platform.startCluster = async (request, options) => {
    const out = await startCluster(request, options);
    const other = await startCluster(request);
    const doc = (await deps.state.get('p1'))!;
    await deps.state.put('p1', { ...doc.value, runs: doc.value.runs.map((r) => ({ ...r, clusterId: other.clusterId, status: 'running' as const })) }, doc.version);
    return out;
  };
}

test('a duplicate cluster is terminated under its own signal, even when the request is being cancelled', async () => {
  const deps = createFakeDeps();
  await withProject(deps);
  loseTheRace(deps);
  const controller = new AbortController();
  const terminate = deps.platform.terminateCluster.bind(deps.platform);
  deps.platform.terminateCluster = async (id, options) => {
    controller.abort(); // a second SIGTERM arrives now
    return terminate(id, options);
  };
  const r = await lastValueFrom(runStart({ projectId: 'p1' }, deps, { requestId: 'req-1', idempotencyKey: KEY, signal: controller.signal })).catch((e: unknown) => e);
  assert.is(deps.platform.clusters.get('j-FAKE0001')?.info.state, 'TERMINATED', `the duplicate was terminated (answer: ${JSON.stringify(r)})`);
  assert.is(deps.platform.clusters.get('j-FAKE0002')?.info.state, 'STARTING', 'the kept cluster runs on');
});

test('a duplicate cluster that cannot be terminated is retried, then surfaced in the answer and on the run', async () => {
  const deps = createFakeDeps();
  await withProject(deps);
  loseTheRace(deps);
  let calls = 0;
  deps.platform.terminateCluster = async () => {
    calls += 1;
    throw new SyncError('unavailable', 'EMR TerminateJobFlows: 503');
  };
  const r = await start(deps);
  assert.is(r.clusterId, 'j-FAKE0002');
  assert.ok(calls > 1, `terminate was retried (${calls} calls)`);
  assert.match((r.warnings ?? []).join('\n'), /duplicate cluster j-FAKE0001 .* could not be terminated/);
  assert.equal(deps.state.read('p1')?.runs[0]?.duplicateClusters, [{ clusterId: 'j-FAKE0001', terminated: false, error: 'unavailable: EMR TerminateJobFlows: 503' }]);
});

test.run();
