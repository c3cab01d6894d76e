// The model of every real log in test/fixtures/eventlogs against a slow reference reading of it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadApplicationModel } from '../../../src/adapters/eventlog-source.js';
import { buildApplicationModel } from '../../../src/domain/eventlog/build-model.js';
import type { ApplicationModel } from '../../../src/domain/eventlog/model.js';
import { reference, referenceEvents } from './reference.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/eventlogs/', import.meta.url));
const LOGS = [
  'apache-spark/app-20161115172038-0000',
  'apache-spark/application_1506645932520_24630151',
  'apache-spark/application_1538416563558_0014',
  'apache-spark/local-1422981780767',
  'dr-elephant/event_log_1',
  'rapids-tools/aqeshuffle_eventlog.zstd',
  'rapids-tools/attempt_1_eventlog.zstd',
  'rapids-tools/eventlog_4nodes_8cores_dynamic_alloc.zstd',
  'rapids-tools/rp_sql_eventlog.zstd',
  'rapids-tools/db_sim_eventlog',
];

const taskCount = (m: ApplicationModel): number => m.stages.reduce((n, s) => n + s.tasks.count, 0);
const sumOf = (m: ApplicationModel, col: 'executorRunTimeMs' | 'executorCpuTimeMs' | 'inputBytes' | 'shuffleWriteBytes' | 'shuffleReadBytes' | 'memorySpillBytes' | 'diskSpillBytes' | 'gcTimeMs'): number =>
  m.stages.reduce((n, s) => n + s.tasks[col].subarray(0, s.tasks.count).reduce((a, b) => a + b, 0), 0);
const close = (actual: number, expected: number, what: string): void => {
  assert.ok(Math.abs(actual - expected) <= 1e-6 * Math.max(1, Math.abs(expected)), `${what}: ${actual} != ${expected}`);
};

for (const log of LOGS) {
  test(`${log}: counts, duration and driver time match a slow reference reading`, async () => {
    const path = join(FIXTURES, log);
    const ref = reference(referenceEvents(path));
    const m = await loadApplicationModel(path);
    assert.is(m.jobs.length, ref.jobs, 'jobs');
    assert.is(m.stages.length, ref.stageAttempts, 'stage attempts');
    assert.is(taskCount(m), ref.tasks, 'tasks');
    assert.is(m.executors.length, ref.executors, 'executors');
    assert.is(m.durationMs, ref.durationMs, 'duration');
    assert.is(m.driverMs, ref.driverMs, 'driver time');
    assert.is(m.jobMs + m.driverMs, m.durationMs);
    assert.is(m.taskFailures.length, ref.failedTasks, 'failed tasks');
    close(sumOf(m, 'executorRunTimeMs'), ref.sums.runMs, 'run time');
    close(sumOf(m, 'executorCpuTimeMs'), ref.sums.cpuMs, 'cpu time');
    close(sumOf(m, 'inputBytes'), ref.sums.inputBytes, 'input bytes');
    close(sumOf(m, 'shuffleWriteBytes'), ref.sums.shuffleWriteBytes, 'shuffle write');
    close(sumOf(m, 'shuffleReadBytes'), ref.sums.shuffleReadBytes, 'shuffle read');
    close(sumOf(m, 'memorySpillBytes') + sumOf(m, 'diskSpillBytes'), ref.sums.spillBytes, 'spill');
    close(sumOf(m, 'gcTimeMs'), ref.sums.gcMs, 'gc');
    assert.ok(m.complete);
    // The DAG: every stage attempt that was submitted has the parents its StageSubmitted names.
    for (const e of referenceEvents(path).filter((x) => x.Event === 'SparkListenerStageSubmitted')) {
      const info = e['Stage Info'];
      const s = m.stages.find((x) => x.stageId === info['Stage ID'] && x.attemptId === info['Stage Attempt ID']);
      assert.ok(s, `stage ${info['Stage ID']}.${info['Stage Attempt ID']}`);
      assert.equal(s.parentIds, info['Parent IDs'] ?? [], `parents of stage ${info['Stage ID']}`);
    }
  });
}

test('the TaskEnd fast path gives the same tasks as parsing every line whole', async () => {
  for (const log of LOGS) {
    const lines = referenceEvents(join(FIXTURES, log)).map((e) => JSON.stringify(e));
    const fast = await buildApplicationModel(lines);
    const full = await buildApplicationModel(lines, { fullParse: true });
    assert.equal(fast.stages, full.stages, log);
    assert.equal(fast.taskFailures, full.taskFailures, log);
    assert.equal(fast.executors, full.executors, log);
  }
});

test('facts stated by the fixtures provenance', async () => {
  const dyn = await loadApplicationModel(join(FIXTURES, 'rapids-tools/eventlog_4nodes_8cores_dynamic_alloc.zstd'));
  assert.is(dyn.executors.length, 15);
  assert.is(dyn.maxConcurrentExecutors, 7);
  assert.is(dyn.executors.filter((e) => e.removedAt !== undefined).length, 14);
  assert.is(dyn.settings.dynamicAllocation, true);
  assert.is(dyn.settings.executorCores, 4);
  assert.is(dyn.settings.executorMemoryMb, 20 * 1024);
  assert.is(dyn.settings.executorMemoryOverheadMb, 8 * 1024);
  assert.is(dyn.sparkVersion, '3.2.1');
  assert.is(dyn.master, 'yarn');

  const rp = await loadApplicationModel(join(FIXTURES, 'rapids-tools/rp_sql_eventlog.zstd'));
  assert.equal(
    rp.resourceProfiles.map((p) => [p.id, p.executorCores]),
    [
      [0, 4],
      [1, 2],
    ],
  );
  assert.equal([...new Set(rp.executors.map((e) => `${e.resourceProfileId}:${e.cores}`))].sort(), ['0:4', '1:2']);

  const aqe = await loadApplicationModel(join(FIXTURES, 'rapids-tools/aqeshuffle_eventlog.zstd'));
  assert.ok(sumOf(aqe, 'memorySpillBytes') > 0 && sumOf(aqe, 'diskSpillBytes') > 0, 'spill recorded');
  assert.ok(aqe.stages.some((s) => s.skipped), 'AQE skipped stages');

  const lost = await loadApplicationModel(join(FIXTURES, 'apache-spark/application_1538416563558_0014'));
  assert.is(lost.taskFailures.filter((f) => f.reason.startsWith('ExecutorLostFailure')).length, 8);
  assert.ok(lost.executors.some((e) => e.removedAt !== undefined && e.removedReason));

  const old = await loadApplicationModel(join(FIXTURES, 'apache-spark/local-1422981780767'));
  assert.is(old.sparkVersion, undefined);
  assert.ok(old.warnings.some((w) => w.includes('LogStart')));
  assert.equal(
    old.jobs.map((j) => j.result),
    ['succeeded', 'failed', 'succeeded'],
  );
  assert.ok(old.stages.some((s) => s.failureReason?.includes('got a 3')));
  assert.is(old.executors[0]?.id, 'driver');

  const sql = await loadApplicationModel(join(FIXTURES, 'application_1506645932520_24630151'.replace(/^/, 'apache-spark/')));
  assert.is(sql.sparkProperties['spark.yarn.security.credentials.hive.enabled'], '*********', 'secret-looking keys are masked');
  assert.ok(sql.jobs.every((j) => j.sqlExecutionId !== undefined));
});

test.run();
