import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lastValueFrom } from 'rxjs';
import type { SyncError } from '../../../src/domain/errors.js';
import { decideIteration } from '../../../src/domain/tuning-policy.js';
import { runCancel } from '../../../src/handlers/run-cancel.js';
import { runRecord } from '../../../src/handlers/run-record.js';
import { runStart } from '../../../src/handlers/run-start.js';
import { createFakeDeps, rejection, testContext, type FakeDeps } from '../../support/fakes.js';

const project = { id: 'p1', name: 'etl', platform: 'emr' as const, tenantId: 'acme', createdAt: 'c', updatedAt: 'c', jobFlow: { Name: 'etl' } };

async function started(deps: FakeDeps): Promise<{ runId: string; clusterId: string }> {
  await deps.state.put('p1', { project, runs: [], predictions: [] }, null);
  return lastValueFrom(runStart({ projectId: 'p1' }, deps, testContext('start-1', 'k1')));
}

test('cancel a running run: cancelled with who and why, cluster terminated; the same cancel again answers the same', async () => {
  const deps = createFakeDeps();
  const r = await started(deps);
  deps.platform.advance(r.clusterId, 'RUNNING');
  const first = await lastValueFrom(runCancel({ projectId: 'p1', runId: r.runId, by: 'airflow', reason: 'task killed' }, deps, testContext('c-1')));
  assert.is(first.status, 'cancelled');
  assert.equal(first.cancelled, { at: deps.clock.now().toISOString(), by: 'airflow', reason: 'task killed', terminate: true });
  assert.is(deps.platform.clusters.get(r.clusterId)!.info.state, 'TERMINATED');
  const run = deps.state.read('p1')!.runs[0]!;
  assert.is(run.status, 'cancelled');
  deps.clock.set('2030-01-01T00:00:00Z');
  const again = await lastValueFrom(runCancel({ projectId: 'p1', runId: r.runId, by: 'someone else' }, deps, testContext('c-2')));
  assert.equal(again, first, 'idempotent: the first cancel stands');
  // The cluster's end is then handed to run.record: the run stays cancelled, never recorded for predictions.
  const rec = await lastValueFrom(runRecord({ projectId: 'p1', clusterId: r.clusterId }, deps, testContext('rec-1')));
  assert.is(rec.status, 'cancelled');
  assert.is(deps.state.read('p1')!.runs[0]!.status, 'cancelled');
});

test('a cancelled run applying a prediction is never judged a regression nor a basis', () => {
  const run = { id: 'r1', projectId: 'p1', status: 'cancelled' as const, location: 'l', createdAt: 'c', requestKey: 'k', predictionId: 'pr-1', expected: { runtimeSeconds: 100, costUsd: 1 } };
  const d = decideIteration({ state: { project, runs: [run], predictions: [] }, latest: run, preference: 'balanced', prediction: undefined, currentFingerprint: undefined });
  assert.is.not(d.decision, 'rolled-back');
  assert.is(d.regressed, undefined);
});

test('cancel of a recorded run changes nothing', async () => {
  const deps = createFakeDeps();
  const r = await started(deps);
  await deps.state.put('p1', { ...deps.state.read('p1')!, runs: deps.state.read('p1')!.runs.map((x) => ({ ...x, status: 'recorded' as const })) }, (await deps.state.get('p1'))!.version);
  const out = await lastValueFrom(runCancel({ projectId: 'p1', runId: r.runId }, deps, testContext('c-1')));
  assert.is(out.status, 'recorded');
  assert.is(deps.platform.clusters.get(r.clusterId)!.info.state, 'STARTING', 'left alone');
});

test('a cancel before run.start launches: run.start ends without launching', async () => {
  const deps = createFakeDeps();
  await deps.state.put('p1', { project, runs: [], predictions: [] }, null);
  // run.start is slow to reach RunJobFlow: cancel lands while it waits at the platform.
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let reserved!: () => void;
  const atLaunch = new Promise<void>((resolve) => (reserved = resolve));
  const startCluster = deps.platform.startCluster.bind(deps.platform);
  deps.platform.startCluster = async (request, options) => {
    reserved();
    await gate;
    return startCluster(request, options);
  };
  const starting = lastValueFrom(runStart({ projectId: 'p1' }, deps, testContext('start-1', 'k1')));
  await atLaunch;
  const runId = deps.state.read('p1')!.runs[0]!.id;
  const c = await lastValueFrom(runCancel({ projectId: 'p1', runId, by: 'cli' }, deps, testContext('c-1')));
  assert.is(c.status, 'cancelled');
  release();
  const e = (await rejection(starting)) as SyncError;
  assert.is(e.code, 'aborted');
  assert.is(e.retryable, false);
  // The cancel raced the launch: what was launched is terminated, and the run stays cancelled.
  const clusters = [...deps.platform.clusters.values()];
  assert.is(clusters.length, 1);
  assert.is(clusters[0]!.info.state, 'TERMINATED');
  const run = deps.state.read('p1')!.runs[0]!;
  assert.is(run.status, 'cancelled');
  // A retry of the same run.start launches nothing more.
  const retry = (await rejection(lastValueFrom(runStart({ projectId: 'p1' }, deps, testContext('start-2', 'k1'))))) as SyncError;
  assert.is(retry.code, 'aborted');
  assert.is(deps.platform.clusters.size, 1);
});

test('a cancel of a reserved run that never claimed its launch: run.start never launches', async () => {
  const deps = createFakeDeps();
  await deps.state.put('p1', { project, runs: [], predictions: [] }, null);
  let cancelled = false;
  // Cancel lands between the reservation and the launch claim (during the job-flow write).
  const put = deps.objects.put.bind(deps.objects);
  deps.objects.put = async (url, body, options) => {
    if (!cancelled && url.endsWith('job-flow.json')) {
      cancelled = true;
      const runId = deps.state.read('p1')!.runs[0]!.id;
      await lastValueFrom(runCancel({ projectId: 'p1', runId }, deps, testContext('c-1')));
    }
    return put(url, body, options);
  };
  const e = (await rejection(lastValueFrom(runStart({ projectId: 'p1' }, deps, testContext('start-1', 'k1'))))) as SyncError;
  assert.is(e.code, 'aborted');
  assert.is(deps.platform.clusters.size, 0, 'no cluster was ever launched');
});

test.run();
