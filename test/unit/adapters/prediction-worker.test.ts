// The local prediction backend runs the engine in a worker thread: same answer as the engine run
// in-line, the daemon's event loop keeps turning while a large prediction runs, an abort ends it,
// and the engine's errors keep their codes across the thread boundary.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadCatalog } from '../../../src/adapters/prediction/catalog-file.js';
import { idleEngineWorkers } from '../../../src/adapters/prediction/engine-thread.js';
import { createLocalPredictionBackend } from '../../../src/adapters/prediction/local-backend.js';
import type { ApplicationModel } from '../../../src/domain/eventlog/model.js';
import type { ClusterReport, PredictionInput } from '../../../src/domain/ports.js';
import { predictFromModel } from '../../../src/domain/prediction/predict.js';
import { SyncError } from '../../../src/domain/errors.js';
import { buildModel, packedTasks } from '../prediction/model-builder.js';
import { eventually } from '../../support/async.js';

const catalog = loadCatalog();

/** `stages` chained stages of `perStage` 20 ms tasks on 4 executors x 4 cores. */
function model(stages: number, perStage: number): ApplicationModel {
  return buildModel({
    end: 5000 + stages * 100_000,
    executors: [0, 1, 2, 3].map(() => ({ cores: 4, added: 3000 })),
    jobs: [{ id: 0, submit: 5000, complete: 4000 + stages * 100_000, stages: Array.from({ length: stages }, (_, i) => i) }],
    stages: Array.from({ length: stages }, (_, i) => ({
      id: i,
      job: 0,
      parents: i ? [i - 1] : [],
      submit: 5000 + i * 100_000,
      tasks: packedTasks(perStage, 20, 16, 5000 + i * 100_000).map((t) => ({ ...t, exec: t.exec % 4, cpuMs: 10 })),
    })),
  });
}

const report: ClusterReport = {
  Cluster: { InstanceCollectionType: 'INSTANCE_GROUP' },
  Instances: [],
  InstanceGroups: [
    { InstanceGroupType: 'MASTER', InstanceType: 'm5.xlarge', RunningInstanceCount: 1 },
    { InstanceGroupType: 'CORE', InstanceType: 'm5.xlarge', RunningInstanceCount: 4 },
  ],
  Steps: [],
  BootstrapActions: [],
  Region: 'us-east-1',
};

const input = (projectId: string): PredictionInput => ({
  report,
  projectId,
  predictionId: `pred-${projectId}`,
  basisRunId: 'run-1',
  eventLogUrl: `memory://${projectId}/eventlog`,
  history: [],
  createdAt: new Date('2026-01-01T00:00:00Z'),
});

const backendFor = (m: ApplicationModel, cat = catalog) => createLocalPredictionBackend({ catalog: cat, loadModel: () => Promise.resolve(m) });

test('the worker answers what the engine answers in-line', async () => {
  const m = model(2, 200);
  const expected = predictFromModel(m, report, { catalog, history: [] });
  const prediction = await backendFor(m).predict(input('same'));
  assert.equal(prediction.solutions, expected.solutions);
  assert.equal(prediction.basis, { runtimeSeconds: expected.basis.runtimeSeconds, costUsd: expected.basis.costUsd });
  assert.is(prediction.candidates, expected.candidates.length);
  assert.ok(idleEngineWorkers() >= 1, 'the finished worker is kept for the next prediction');
});

test('while a 60k-task prediction runs the event loop keeps turning, and an abort ends it', async () => {
  const m = model(6, 10_000);
  const controller = new AbortController();
  let done = false;
  const running = backendFor(m)
    .predict(input('big'), { signal: controller.signal })
    .finally(() => {
      done = true;
    });
  running.catch(() => undefined);
  // A timer stands for BullMQ's lock renewal and /healthz: it must keep firing during the prediction.
  let ticks = 0;
  const timer = setInterval(() => (ticks += 1), 10);
  try {
    await eventually(() => ticks >= 20 || done, 60_000, '20 timer ticks');
  } finally {
    clearInterval(timer);
  }
  assert.ok(!done, `the prediction ended before the timer fired 20 times (${ticks} ticks): it held the event loop`);
  controller.abort();
  const e = await running.then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.instance(e, SyncError);
  assert.is((e as SyncError).code, 'aborted');
});

test("the engine's errors cross the thread with their code", async () => {
  const empty = { instances: [], get: () => undefined };
  const e = await backendFor(model(1, 50), empty)
    .predict(input('empty'))
    .then(
      () => undefined,
      (err: unknown) => err,
    );
  assert.instance(e, SyncError);
  assert.is((e as SyncError).code, 'invalid_config');
  assert.match((e as SyncError).message, /catalog is empty/);
});

test('an already aborted call starts nothing', async () => {
  const controller = new AbortController();
  controller.abort();
  const e = await backendFor(model(1, 50))
    .predict(input('pre'), { signal: controller.signal })
    .then(
      () => undefined,
      (err: unknown) => err,
    );
  assert.is((e as SyncError).code, 'aborted');
});

test.run();
