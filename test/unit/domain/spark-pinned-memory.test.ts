// Issue 13: pinned Spark keys survive a prediction's configuration at merge time (policy.pinned is
// validated), and the OOM-safe memory guard (steps down, floor from peaks, OOM rolls back and raises it).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { executorMemoryOf, keepPinnedSparkSettings } from '../../../src/domain/pinned-settings.js';
import { mergeJobFlow } from '../../../src/domain/job-flow.js';
import { isMemoryFailure, memoryGuard, memoryRunsOf, nextMemoryStep } from '../../../src/domain/tuning-policy.js';
import type { ProjectState, Run } from '../../../src/domain/types.js';
import type { MemoryRun } from '../../../src/domain/tuning-policy.js';
import { validateRequest } from '../../../src/queues/validate-request.js';
import { thrownSyncError as errorOf } from '../../support/async.js';

const base = {
  Name: 'etl',
  Configurations: [
    { Classification: 'spark-defaults', Properties: { 'spark.executor.memory': '6g', 'spark.sql.shuffle.partitions': '400', 'spark.eventLog.enabled': 'true' } },
    { Classification: 'spark-env', Properties: {} },
  ],
};
const overlay = {
  Instances: { InstanceGroups: [{ InstanceRole: 'CORE', InstanceType: 'r5.xlarge', InstanceCount: 3 }] },
  Configurations: [{ Classification: 'spark-defaults', Properties: { 'spark.executor.memory': '9g', 'spark.executor.memoryOverhead': '2048m', 'spark.sql.shuffle.partitions': '64', 'spark.executor.cores': '4' } }],
};

test('pinned keys keep the base value (or stay absent); other recommended keys are written', () => {
  const merged = mergeJobFlow(base, overlay);
  const defaults = (j: Record<string, unknown>) => (j.Configurations as { Classification: string; Properties: Record<string, string> }[]).find((c) => c.Classification === 'spark-defaults')!.Properties;
  // Without pins the prediction's values win (the check below has something to undo).
  assert.is(defaults(merged)['spark.executor.memory'], '9g');
  const kept = keepPinnedSparkSettings(base, merged, ['spark.executor.memory', 'spark.executor.memoryOverhead']);
  assert.is(defaults(kept)['spark.executor.memory'], '6g');
  assert.not.ok('spark.executor.memoryOverhead' in defaults(kept), 'a pinned key the user never set stays unset');
  assert.is(defaults(kept)['spark.sql.shuffle.partitions'], '64');
  assert.is(defaults(kept)['spark.executor.cores'], '4');
  assert.equal(kept.Instances, merged.Instances);
  assert.is(keepPinnedSparkSettings(base, merged, undefined), merged);
});

test('policy.pinned is accepted as a list of spark.* keys; anything else is named in the error', () => {
  const v = validateRequest({ name: 'project.create', data: { name: 'n', platform: 'emr', policy: { pinned: ['spark.executor.memory', 'spark.sql.shuffle.partitions'] } } });
  assert.equal((v.data as { policy: { pinned: string[] } }).policy.pinned, ['spark.executor.memory', 'spark.sql.shuffle.partitions']);
  assert.match(errorOf(() => validateRequest({ name: 'project.create', data: { name: 'n', platform: 'emr', policy: { pinned: ['executor.memory'] } } })).message, /policy\/pinned|policy\.pinned/);
  assert.match(errorOf(() => validateRequest({ name: 'project.update', data: { projectId: 'p', policy: { pinned: 'spark.executor.memory' } } })).message, /pinned/);
});

test('memory steps down at most 25% per run and never below the floor', () => {
  assert.is(nextMemoryStep(8192, 0), 6144);
  assert.is(nextMemoryStep(8192, 7000), 7168);
  assert.is(nextMemoryStep(8192, 9000), 8192);
  let m = 16384;
  const seen = [m];
  for (let i = 0; i < 20 && nextMemoryStep(m, 3000) < m; i++) seen.push((m = nextMemoryStep(m, 3000)));
  assert.equal(seen, [16384, 12288, 9216, 6912, 5376, 4096, 3072]);
});

test('the memory guard: floor from successful peaks, an OOM rolls back to the last good memory and raises the floor', () => {
  const runs: MemoryRun[] = [
    { runId: 'r1', executorMemoryMb: 8192, outcome: 'ok', peakHeapMb: 2000 },
    { runId: 'r2', executorMemoryMb: 6144, outcome: 'ok', peakHeapMb: 3000 },
    { runId: 'r3', executorMemoryMb: 4608, outcome: 'oom' },
  ];
  const g = memoryGuard(runs);
  assert.is(g.rollbackToMb, 6144);
  assert.is(g.lastGoodMb, 6144);
  // Halfway from the OOM (4608) to the last good (6144), and above the peak 3000 + 25%.
  assert.is(g.floorMb, 5376);
  assert.ok(g.reasons.some((r) => /r3 ran out of memory at 4608 MB: floor raised to 5376 MB/.test(r)));
  // After the rollback succeeds, the next step down stops at the raised floor, never at the OOM memory.
  const after = memoryGuard([...runs, { runId: 'r4', executorMemoryMb: 6144, outcome: 'ok', peakHeapMb: 3100 }]);
  assert.is(after.rollbackToMb, undefined);
  assert.is(nextMemoryStep(6144, after.floorMb), 5376);
  // Never below what a successful run used at its peak (+ margin), whatever the OOMs say.
  const peaky = memoryGuard([{ runId: 'a', executorMemoryMb: 16384, outcome: 'ok', peakHeapMb: 12000 }, { runId: 'b', executorMemoryMb: 4096, outcome: 'oom' }]);
  assert.ok(peaky.floorMb >= 12000 * 1.25, String(peaky.floorMb));
  // An OOM on the first run (no good memory yet) still raises the floor above it.
  const first = memoryGuard([{ runId: 'x', executorMemoryMb: 4096, outcome: 'oom' }]);
  assert.ok(first.floorMb > 4096 && first.rollbackToMb === first.floorMb);
});

test('memory failures are recognised from task and executor failure texts', () => {
  assert.ok(isMemoryFailure(['java.lang.OutOfMemoryError: Java heap space']));
  assert.ok(isMemoryFailure([undefined, 'Container killed by YARN for exceeding memory limits. 5.5 GB of 5.5 GB physical memory used. Consider boosting spark.yarn.executor.memoryOverhead']));
  assert.ok(isMemoryFailure(['Container marked as failed: container_1 on host: x. Exit status: 137. Diagnostics: Container killed on request. Exit code is 137']));
  assert.not.ok(isMemoryFailure(['FetchFailed(BlockManagerId(1, host, 7337))', 'Executor heartbeat timed out after 120000 ms', undefined]));
});

test('the project\'s runs as the memory guard reads them: memory from the request, OOM from the failure text', () => {
  assert.is(executorMemoryOf(base), 6144);
  assert.is(executorMemoryOf({ Name: 'x' }), undefined);
  const r = (id: string, extra: Partial<Run>): Run => ({ id, projectId: 'p', status: 'recorded', location: 'l', createdAt: 'c', requestKey: id, ...extra });
  const state = {
    runs: [
      r('a', { executorMemoryMb: 8192, peakHeapMb: 2500 }),
      r('b', { executorMemoryMb: 6144 }),
      r('c', { status: 'failed', executorMemoryMb: 4608, error: { code: 'run_failed', message: 'Job aborted: java.lang.OutOfMemoryError: Java heap space' } }),
      r('d', { status: 'failed', executorMemoryMb: 4608, error: { code: 'run_failed', message: 'S3 access denied' } }),
      r('e', {}),
    ],
  } as unknown as ProjectState;
  const runs = memoryRunsOf(state);
  assert.equal(runs.map((x) => `${x.runId}:${x.outcome}`), ['a:ok', 'b:ok', 'c:oom']);
  const g = memoryGuard(runs);
  assert.is(g.floorMb, 5376);
  assert.is(g.rollbackToMb, 6144);
});

test.run();
