// Issue 13 in run.start: pinned Spark keys keep the user's value whatever the prediction carries, and a
// request naming its input (label or bytes) without a prediction runs the configuration learnt for it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lastValueFrom } from 'rxjs';
import type { Prediction, ProjectState, Run } from '../../../src/domain/types.js';
import { runStart } from '../../../src/handlers/run-start.js';
import { createFakeDeps, testContext, testPrediction, type FakeDeps } from '../../support/fakes.js';

const GiB = 1024 ** 3;
const userJobFlow = {
  Name: 'nightly',
  Instances: { InstanceGroups: [{ InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 }, { InstanceRole: 'CORE', InstanceType: 'm5.xlarge', InstanceCount: 2 }] },
  Configurations: [{ Classification: 'spark-defaults', Properties: { 'spark.executor.memory': '6g' } }],
  Steps: [{ Name: 'etl', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', 's3://code-bucket/etl.py'] } }],
};
const prediction = testPrediction(
  Object.fromEntries(
    (['performance', 'balanced', 'economy'] as const).map((p) => [
      p,
      {
        configuration: {
          Instances: { InstanceGroups: [{ InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 }, { InstanceRole: 'CORE', InstanceType: 'r5.2xlarge', InstanceCount: 3 }] },
          Configurations: [{ Classification: 'spark-defaults', Properties: { 'spark.executor.memory': '9216m', 'spark.executor.memoryOverhead': '2048m', 'spark.sql.shuffle.partitions': '96' } }],
        },
        estimate: { runtimeSeconds: 80, costUsd: 0.8 },
        source: 'simulator' as const,
        explanation: '',
      },
    ]),
  ) as unknown as Prediction['solutions'],
);

async function setUp(deps: FakeDeps, pinned: string[] | undefined, runs: Run[] = []): Promise<void> {
  const project = { id: 'p1', name: 'etl', platform: 'emr' as const, tenantId: 'acme', createdAt: 'c', updatedAt: 'c', jobFlow: structuredClone(userJobFlow), preference: 'economy' as const, ...(pinned ? { policy: { pinned } } : {}) };
  const state: ProjectState = { project, runs, predictions: [{ id: 'pred-1', url: 's3://runs-bucket/sync/p1/predictions/pred-1.json', basisRunId: 'r-0', createdAt: 'c' }] };
  await deps.state.put('p1', state, null);
  await deps.objects.put('s3://runs-bucket/sync/p1/predictions/pred-1.json', JSON.stringify(prediction));
}

const sparkDefaults = (deps: FakeDeps, clusterId: string) =>
  ((deps.platform.clusters.get(clusterId)?.request as { Configurations: { Classification: string; Properties: Record<string, string> }[] }).Configurations.find((c) => c.Classification === 'spark-defaults')!).Properties;

test('prediction.apply path: pinned keys keep the user value (or stay unset); the others are written', async () => {
  const free = createFakeDeps();
  await setUp(free, undefined);
  const a = await lastValueFrom(runStart({ projectId: 'p1', predictionId: 'pred-1' }, free, testContext('req-1')));
  assert.is(sparkDefaults(free, a.clusterId)['spark.executor.memory'], '9216m', 'without pins the prediction writes it');
  const deps = createFakeDeps();
  await setUp(deps, ['spark.executor.memory', 'spark.executor.memoryOverhead']);
  const r = await lastValueFrom(runStart({ projectId: 'p1', predictionId: 'pred-1' }, deps, testContext('req-1')));
  const props = sparkDefaults(deps, r.clusterId);
  assert.is(props['spark.executor.memory'], '6g');
  assert.not.ok('spark.executor.memoryOverhead' in props);
  assert.is(props['spark.sql.shuffle.partitions'], '96');
  assert.is(props['spark.eventLog.enabled'], 'true');
  assert.is(deps.state.read('p1')?.runs.find((x) => x.id === r.runId)?.executorMemoryMb, 6144, 'the memory the run really asked for');
});

test('a request with an input label or volume and no prediction runs the configuration learnt for it', async () => {
  const learnt: Run = { id: 'r-me', projectId: 'p1', status: 'recorded', location: 'file:///r/', createdAt: 'c', requestKey: 'k-me', clusterId: 'j-old', predictionId: 'pred-1', preference: 'economy', inputLabel: 'month-end', inputBytes: 40 * GiB };
  const deps = createFakeDeps();
  await setUp(deps, undefined, [learnt]);
  const r = await lastValueFrom(runStart({ projectId: 'p1', inputLabel: 'month-end' }, deps, testContext('req-2', 'me-2026-12')));
  const sent = deps.platform.clusters.get(r.clusterId)?.request as { Instances: { InstanceGroups: { InstanceRole: string; InstanceType: string }[] } };
  assert.is(sent.Instances.InstanceGroups.find((g) => g.InstanceRole === 'CORE')?.InstanceType, 'r5.2xlarge');
  const run = deps.state.read('p1')?.runs.find((x) => x.id === r.runId);
  assert.is(run?.predictionId, 'pred-1');
  assert.is(run?.inputLabel, 'month-end');
  // A volume in another band, with nothing learnt there, runs the project's own configuration.
  const other = await lastValueFrom(runStart({ projectId: 'p1', expectedInputBytes: 2 * GiB }, deps, testContext('req-3', 'daily')));
  const sentOther = deps.platform.clusters.get(other.clusterId)?.request as { Instances: { InstanceGroups: { InstanceRole: string; InstanceType: string }[] } };
  assert.is(sentOther.Instances.InstanceGroups.find((g) => g.InstanceRole === 'CORE')?.InstanceType, 'm5.xlarge');
  assert.is(deps.state.read('p1')?.runs.find((x) => x.id === other.runId)?.expectedInputBytes, 2 * GiB);
  // Same band as the month-end run's measured input.
  const sameBand = await lastValueFrom(runStart({ projectId: 'p1', expectedInputBytes: 45 * GiB }, deps, testContext('req-4', 'big')));
  assert.is(deps.state.read('p1')?.runs.find((x) => x.id === sameBand.runId)?.predictionId, 'pred-1');
});

test.run();
