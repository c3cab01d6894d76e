// Issue 13 part 1: Spark settings from the event log's evidence, priced by the simulator, written
// into spark-defaults without touching pinned keys. On the real logs in test/fixtures/eventlogs.
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadApplicationModel } from '../../../src/adapters/eventlog-source.js';
import { readCatalogRows, shippedCatalogPath } from '../../../src/adapters/prediction/catalog-file.js';
import type { ApplicationModel } from '../../../src/domain/eventlog/model.js';
import { buildCatalog } from '../../../src/domain/prediction/catalog.js';
import { runJobFlowFragment } from '../../../src/domain/prediction/fragment.js';
import { buildReplayPlan } from '../../../src/domain/prediction/plan.js';
import { predictFromModel } from '../../../src/domain/prediction/predict.js';
import { taskScaling } from '../../../src/domain/prediction/scaling.js';
import { adviseSettings } from '../../../src/domain/prediction/settings-advice.js';
import { spillLeft, withShufflePartitions } from '../../../src/domain/prediction/settings-effect.js';
import { observedCluster, simulatePlan, supplyParameters } from '../../../src/domain/prediction/simulator.js';
import { PREFERENCES } from '../../../src/domain/types.js';
import { buildApplicationModel } from '../../../src/domain/eventlog/build-model.js';
import { usableTaskMemoryBytes } from '../../../src/domain/prediction/scaling.js';
import { writeEventLog } from '../../../src/sandbox/eventlog-writer.js';
import { runWorkload } from '../../../src/sandbox/ground-truth.js';
import { NEUTRAL_PARAMETERS } from '../../../src/sandbox/hidden-parameters.js';
import { readInstanceFacts } from '../../../src/sandbox/instance-facts.js';
import { shippedWorkloads } from '../../../src/sandbox/shipped-workloads.js';
import { scaleWorkload } from '../../../src/sandbox/workload.js';

const LOGS = [
  'rapids-tools/aqeshuffle_eventlog.zstd',
  'rapids-tools/attempt_1_eventlog.zstd',
  'rapids-tools/eventlog_4nodes_8cores_dynamic_alloc.zstd',
  'rapids-tools/rp_sql_eventlog.zstd',
  'rapids-tools/db_sim_eventlog',
  'apache-spark/application_1538416563558_0014',
  'apache-spark/application_1506645932520_24630151',
  'apache-spark/app-20161115172038-0000',
  'dr-elephant/event_log_1',
];
const catalog = buildCatalog(readCatalogRows(shippedCatalogPath()));
const models = new Map<string, ApplicationModel>();
const model = (l: string) => models.get(l)!;

test.before(async () => {
  for (const l of LOGS) models.set(l, await loadApplicationModel(fileURLToPath(new URL(`../../fixtures/eventlogs/${l}`, import.meta.url))));
});

const MiB = 1024 * 1024;

test('a log that spilled: the recommended memory removes the spill in the simulator, with the evidence in words', () => {
  const m = model('rapids-tools/aqeshuffle_eventlog.zstd');
  const plan = buildReplayPlan(m);
  const observed = observedCluster(plan);
  // Local mode: the tasks shared the driver's default 1 GiB heap.
  const heapMb = m.settings.driverMemoryMb ?? 1024;
  const advice = adviseSettings(m, { executorCores: observed.cores, executorMemoryMb: heapMb, taskCpus: plan.taskCpus, slots: observed.cores });
  const memory = advice.settings.find((s) => s.key === 'spark.executor.memory');
  assert.ok(memory, 'spark.executor.memory is recommended');
  assert.match(memory.evidence, /stage \d+ spilled [\d.]+ MiB to disk .* per core holds the largest spilling task/);
  const slotsBefore = observed.cores / plan.taskCpus;
  const slotsAfter = advice.executorCores / plan.taskCpus;
  const before = { nodes: 1, memoryPerTaskMb: heapMb / slotsBefore };
  const after = { nodes: 1, memoryPerTaskMb: advice.executorMemoryMb / slotsAfter };
  // As observed, tasks spill; with the recommended heap per core none does.
  assert.ok(spillLeft(plan, taskScaling(before, before)).tasks > 0, 'the log spilled');
  const tuned = taskScaling(before, after);
  assert.is(spillLeft(plan, tuned).tasks, 0);
  // And the simulator charges less for the same cluster with the spill removed.
  const params = supplyParameters(plan);
  const cluster = { executors: 1, cores: observed.cores };
  const withSpill = simulatePlan(plan, { ...cluster, scaling: { ...tuned, spillReliefBytes: 0 } }, params).estimatedMs;
  const without = simulatePlan(plan, { ...cluster, scaling: tuned }, params).estimatedMs;
  assert.ok(without < withSpill, `${without} < ${withSpill}`);
  // Half the recommended heap per core does not remove it.
  const half = taskScaling(before, { nodes: 1, memoryPerTaskMb: after.memoryPerTaskMb / 4 });
  assert.ok(spillLeft(plan, half).tasks > 0);
});

test('executor peak memory is read from SparkListenerStageExecutorMetrics and lowers memory one step, not below the peak + margin', () => {
  const m = model('apache-spark/application_1538416563558_0014');
  const peaks = m.executors.filter((e) => e.peakMemory).map((e) => e.peakMemory!.jvmHeapBytes);
  assert.ok(peaks.length >= 2 && peaks.every((p) => p > 0), 'heap peaks read');
  const peak = Math.max(...peaks);
  const advice = adviseSettings(m, { executorCores: 1, executorMemoryMb: 4096, taskCpus: 1, slots: 2 });
  const memory = advice.settings.find((s) => s.key === 'spark.executor.memory');
  assert.ok(memory);
  assert.is(memory.value, '3072m'); // 4096 - 25%
  assert.match(memory.evidence, /heap peaked at \d+ MiB/);
  // Near the floor: one step would cross it, so it stops at the floor.
  const near = adviseSettings(m, { executorCores: 1, executorMemoryMb: 400, taskCpus: 1, slots: 2 });
  const mb = Number(near.settings.find((s) => s.key === 'spark.executor.memory')?.value.replace('m', '') ?? 400);
  assert.ok(mb * MiB >= peak * 1.25, `${mb} MiB >= peak ${peak} + 25%`);
  // A project floor raised after an OOM wins over the observed peak.
  const floored = adviseSettings(m, { executorCores: 1, executorMemoryMb: 4096, taskCpus: 1, slots: 2, memoryFloorMb: 3840 });
  assert.is(floored.settings.find((s) => s.key === 'spark.executor.memory')?.value, '3840m');
  // Without executor metrics, memory is not lowered, and the report says why.
  const old = adviseSettings(model('apache-spark/app-20161115172038-0000'), { executorCores: 1, executorMemoryMb: 4096, taskCpus: 1, slots: 2 });
  assert.not.ok(old.settings.some((s) => s.key === 'spark.executor.memory'));
  assert.match(old.unchanged.find((s) => s.key === 'spark.executor.memory')?.evidence ?? '', /no executor memory metrics/);
});

test('shuffle partitions: recommended from the shuffle size, and the simulator runs that many tasks doing the same work plus each task\'s fixed part', () => {
  const m = model('rapids-tools/db_sim_eventlog');
  const plan = buildReplayPlan(m);
  const observed = observedCluster(plan);
  const advice = adviseSettings(m, { executorCores: observed.cores, executorMemoryMb: 4096, taskCpus: plan.taskCpus, slots: observed.executors * observed.cores });
  const p = advice.settings.find((s) => s.key === 'spark.sql.shuffle.partitions');
  assert.ok(p && advice.shufflePartitions);
  assert.match(p.evidence, /read [\d.]+ GiB of shuffle in 200 partitions/);
  const { from, to } = advice.shufflePartitions;
  const changed = withShufflePartitions(plan, from, to);
  assert.is(changed.taskCount - plan.taskCount, plan.stages.filter((s) => s.durationMs.length === from && s.failed === 0 && s.shuffleReadBytes.some((b) => b > 0)).length * (to - from));
  const total = (st: { durationMs: Float64Array }) => st.durationMs.reduce((a, b) => a + b, 0);
  for (let i = 0; i < plan.stages.length; i++) {
    const a = plan.stages[i]!;
    const b = changed.stages[i]!;
    if (a === b) continue;
    assert.is(b.durationMs.length, to);
    // The same work, plus the fixed part of a task (the stage's shortest) for each added task.
    const fixed = Math.min(...a.durationMs);
    const expected = total(a) + (to - from) * fixed;
    assert.ok(Math.abs(expected - total(b)) / expected < 0.05, `same work within 5%, plus ${to - from} x ${fixed} ms fixed: ${total(b)} vs ${expected}`);
  }
});

test('pinned keys are never changed, in the advice or in any solution written for any log', () => {
  const pinned = ['spark.executor.memory', 'spark.executor.cores', 'spark.sql.shuffle.partitions', 'spark.dynamicAllocation.maxExecutors', 'spark.executor.memoryOverhead'];
  let recommendedUnpinned = 0;
  for (const l of LOGS) {
    const free = predictFromModel(model(l), undefined, { catalog });
    recommendedUnpinned += free.settings?.settings.filter((s) => pinned.includes(s.key)).length ?? 0;
    const out = predictFromModel(model(l), undefined, { catalog, pinned });
    for (const s of out.settings?.settings ?? []) assert.not.ok(pinned.includes(s.key), `${l}: advice ${s.key}`);
    for (const pref of PREFERENCES) {
      const conf = out.solutions[pref].configuration.Configurations as { Classification: string; Properties: Record<string, string> }[] | undefined;
      for (const c of conf ?? []) for (const k of Object.keys(c.Properties)) assert.not.ok(pinned.includes(k), `${l} ${pref}: wrote ${k}`);
    }
  }
  // The check has teeth: without the pins these logs get some of those keys recommended.
  assert.ok(recommendedUnpinned > 0);
  const fragment = runJobFlowFragment({
    instanceType: 'm5.xlarge',
    nodes: 2,
    masterInstanceType: 'm5.xlarge',
    collection: 'groups',
    spot: false,
    layout: { executorCores: 4, executorMemoryMb: 8000, executorsPerNode: 1, slotsPerNode: 4, memoryPerTaskMb: 2000 },
    sparkProperties: { 'spark.sql.shuffle.partitions': '64' },
    pinned: ['spark.executor.memory', 'spark.sql.shuffle.partitions'],
  });
  assert.equal(fragment.Configurations, [{ Classification: 'spark-defaults', Properties: { 'spark.executor.cores': '4' } }]);
});

test('a solution that writes settings carries each with its evidence, in the solution and its explanation', () => {
  let seen = 0;
  for (const l of LOGS) {
    const out = predictFromModel(model(l), undefined, { catalog });
    for (const pref of PREFERENCES) {
      const s = out.solutions[pref];
      if (!s.settings) continue;
      seen++;
      const props = (s.configuration.Configurations as { Properties: Record<string, string> }[])[0]!.Properties;
      for (const a of s.settings) {
        assert.ok(a.evidence.length > 20);
        assert.ok(s.explanation.includes(a.evidence));
        if (a.key !== 'spark.dynamicAllocation.maxExecutors') assert.is(props[a.key], a.value, `${l}: ${a.key} written`);
      }
    }
  }
  assert.ok(seen > 0, 'some log gets a tuned solution');
});

test('a shuffle stage that spilled (AQE on): more shuffle partitions rather than more memory; the simulator runs them without the spill; pinned, none is recommended', async () => {
  // The sandbox's etl-shuffle (a third of its tasks, each 3x longer and with 1.2x the execution memory), on 2 x c7g.2xlarge: its shuffle stage spills.
  const w = scaleWorkload(shippedWorkloads()['etl-shuffle']!, { tasks: 0.3, taskWork: 3 });
  const run = runWorkload(w, { instanceType: 'c7g.2xlarge', nodes: 2 }, { seed: 3, startedAt: Date.UTC(2026, 0, 1), instances: readInstanceFacts(), hidden: { ...NEUTRAL_PARAMETERS, memoryScale: 1.2 } });
  const m = await buildApplicationModel(writeEventLog(run, w, { appId: 'application_1_0001' }).split('\n').filter((l) => l.length > 0));
  const ctx = { executorCores: run.layout.executorCores, executorMemoryMb: run.layout.executorMemoryMb, taskCpus: 1, slots: run.layout.executors * run.layout.executorCores };
  const advice = adviseSettings(m, ctx);
  const partitions = advice.settings.find((x) => x.key === 'spark.sql.shuffle.partitions');
  assert.ok(partitions, JSON.stringify(advice.settings));
  assert.match(partitions.evidence, /stage \d+ spilled .* to disk reading .* of shuffle in \d+ partitions .*; \d+ partitions of ~.* fit in memory/);
  assert.not.ok(advice.settings.some((x) => x.key === 'spark.executor.memory'), 'memory is not raised for a spill more partitions remove');
  const plan = buildReplayPlan(m);
  const { from, to } = advice.shufflePartitions!;
  assert.ok(to > from);
  const relief = { memoryPerTaskBytes: Infinity, spillReliefBytes: usableTaskMemoryBytes(run.layout.executorMemoryMb / run.layout.executorCores) };
  assert.ok(spillLeft(plan, relief).tasks > 0, 'as run, tasks spill');
  assert.is(spillLeft(withShufflePartitions(plan, from, to), relief).tasks, 0);
  // Pinned: no partition count is recommended (and memory is then the remedy).
  const pinned = adviseSettings(m, { ...ctx, pinned: ['spark.sql.shuffle.partitions'] });
  assert.not.ok(pinned.settings.some((x) => x.key === 'spark.sql.shuffle.partitions'));
  assert.is(pinned.shufflePartitions, undefined);
});

test.run();
