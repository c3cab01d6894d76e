// A short S3 outage while the code fingerprint is read: unreadable is unknown, not "the application
// changed". Handlers over the in-memory fakes, with the object store failing HEAD on the code bucket.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lastValueFrom } from 'rxjs';
import { SyncError } from '../../../src/domain/errors.js';
import { predictionApply } from '../../../src/handlers/prediction-apply.js';
import { runStart } from '../../../src/handlers/run-start.js';
import { createFakeDeps, testContext, testPrediction, type FakeDeps } from '../../support/fakes.js';

const jobFlow = {
  Name: 'nightly',
  Instances: { InstanceGroups: [{ InstanceRole: 'CORE', InstanceType: 'm5.xlarge', InstanceCount: 2 }] },
  Steps: [{ Name: 'etl', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', 's3://code-bucket/etl.py'] } }],
};

function s3Outage(deps: FakeDeps): () => void {
  const head = deps.objects.head;
  deps.objects.head = async (url, options) => {
    if (url.startsWith('s3://code-bucket/')) throw new SyncError('unavailable', 'S3 HeadObject: 503 Slow Down (connection reset)');
    return head(url, options);
  };
  return () => void (deps.objects.head = head);
}

async function projectWithRecordedRunAndPrediction(deps: FakeDeps): Promise<string> {
  await deps.objects.put('s3://code-bucket/etl.py', 'print("v1")');
  await deps.state.put('p1', { project: { id: 'p1', name: 'nightly', platform: 'emr', tenantId: 'acme', createdAt: 'c', updatedAt: 'c', jobFlow }, runs: [], predictions: [] }, null);
  const first = await lastValueFrom(runStart({ projectId: 'p1' }, deps, testContext('req-1', 'run-1')));
  const cur = (await deps.state.get('p1'))!;
  const basis = cur.value.runs[0]!;
  assert.match(basis.fingerprint ?? '', /^sha256:/, 'the first run has a known fingerprint');
  const url = 's3://runs-bucket/sync/p1/predictions/pred-1.json';
  const sol = { configuration: { Instances: { InstanceGroups: [{ InstanceRole: 'CORE', InstanceType: 'r5.xlarge', InstanceCount: 3 }] } }, estimate: { runtimeSeconds: 90, costUsd: 0.5 }, source: 'simulator' as const, explanation: '' };
  const prediction = testPrediction({ performance: sol, balanced: sol, economy: sol }, { basisRunId: first.runId });
  await deps.objects.put(url, JSON.stringify(prediction));
  await deps.state.put('p1', { ...cur.value, runs: [{ ...basis, status: 'recorded' }], predictions: [{ id: 'pred-1', url, basisRunId: first.runId, createdAt: 'c' }] }, cur.version);
  return first.runId;
}

test('prediction.apply during an S3 outage of the code bucket applies the prediction; the run records its fingerprint as unknown, with a warning', async () => {
  const deps = createFakeDeps();
  const basisRunId = await projectWithRecordedRunAndPrediction(deps);
  const restore = s3Outage(deps);
  const outcome = await lastValueFrom(predictionApply({ projectId: 'p1', predictionId: 'pred-1' }, deps, testContext('req-2', 'apply-1'))).catch((e: unknown) => e);
  restore();
  if (outcome instanceof Error) assert.unreachable(`prediction.apply was refused during the outage: ${outcome.message}`);
  const started = outcome as { runId: string };
  assert.is.not(started.runId, basisRunId);
  const run = deps.state.read('p1')?.runs.find((r) => r.id === started.runId);
  assert.is(run?.predictionId, 'pred-1');
  assert.is(run?.fingerprint, undefined, 'unknown, not a fingerprint of "unreadable"');
  assert.match(run?.fingerprintWarning ?? '', /fingerprint is unknown: could not read s3:\/\/code-bucket\/etl\.py \(unavailable: S3 HeadObject: 503/);
});

test('after the outage, a real code change still trips the guard', async () => {
  const deps = createFakeDeps();
  await projectWithRecordedRunAndPrediction(deps);
  await deps.objects.put('s3://code-bucket/etl.py', 'print("v2")');
  const e = await lastValueFrom(predictionApply({ projectId: 'p1', predictionId: 'pred-1' }, deps, testContext('req-3', 'apply-2'))).catch((x: unknown) => x);
  assert.instance(e, SyncError);
  assert.is((e as SyncError).code, 'invalid_request');
  assert.match((e as SyncError).message, /application changed/);
});

test.run();
