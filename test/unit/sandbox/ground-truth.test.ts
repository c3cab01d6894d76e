import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SyncError } from '../../../src/domain/errors.js';
import { createRng, planExecutors, runWorkload } from '../../../src/sandbox/ground-truth.js';
import type { SandboxCluster, SimulatedRun } from '../../../src/sandbox/ground-truth.js';
import { hiddenParameters, NEUTRAL_PARAMETERS, HIDDEN_RANGES } from '../../../src/sandbox/hidden-parameters.js';
import { readInstanceFacts } from '../../../src/sandbox/instance-facts.js';
import { instancePerformance, platformOf } from '../../../src/sandbox/instance-performance.js';
import { shippedWorkloads } from '../../../src/sandbox/shipped-workloads.js';
import type { Workload } from '../../../src/sandbox/workload.js';

const instances = readInstanceFacts();
const etl = shippedWorkloads()['etl-shuffle']!;
const START = Date.UTC(2022, 10, 15, 13, 51, 29);
// Most tests isolate one mechanism: neutral hidden parameters (the draws are tested below).
const run = (w: Workload, cluster: SandboxCluster, seed = 1) => runWorkload(w, cluster, { seed, startedAt: START, instances, hidden: NEUTRAL_PARAMETERS });

/** A one-stage workload whose tasks are `cpuFraction` CPU, with `memory` bytes of execution memory each. */
function synthetic(cpuFraction: number, memory = 0, tasks = 400): Workload {
  return {
    format: 'sync-sandbox-workload/1',
    name: 'synthetic',
    appName: 'synthetic',
    provenance: 'test',
    referenceCoremarkPerVcpu: 14780,
    observed: { master: 'yarn', executors: 4, executorCores: 4, totalCores: 16 },
    driverStartSeconds: 2,
    driverEndSeconds: 1,
    jobs: [{ id: 0, gapBeforeSeconds: 0, stages: [0] }],
    stages: [{ id: 0, name: 's', parents: [], tasks, taskSeconds: [10, 10, 10], cpuFraction, inputBytes: 0, outputBytes: 0, shuffleReadBytes: 0, shuffleWriteBytes: 0, remoteShuffleFraction: 0, taskMemoryBytes: memory }],
  };
}

test('the same seed gives the same run; another seed another', () => {
  const a = run(etl, { instanceType: 'm5.xlarge', nodes: 4 }, 11);
  const b = run(etl, { instanceType: 'm5.xlarge', nodes: 4 }, 11);
  const c = run(etl, { instanceType: 'm5.xlarge', nodes: 4 }, 12);
  assert.equal(a, b);
  assert.is.not(a.totals.applicationSeconds, c.totals.applicationSeconds);
  // ...but the noise is noise: runs with different seeds agree within 15%.
  assert.ok(Math.abs(a.totals.applicationSeconds / c.totals.applicationSeconds - 1) < 0.15);
});

test('more nodes run faster, with diminishing returns', () => {
  const secs = [2, 4, 8, 16].map((n) => run(etl, { instanceType: 'm5.xlarge', nodes: n }).totals.applicationSeconds);
  for (let i = 1; i < secs.length; i++) assert.ok(secs[i]! < secs[i - 1]!, `${secs.join(', ')}`);
  const first = secs[0]! / secs[1]!;
  const last = secs[2]! / secs[3]!;
  assert.ok(first > last, `speed-up 2->4 ${first} should beat 8->16 ${last}`);
  // Far from linear over 8x the nodes.
  assert.ok(secs[0]! / secs[3]! < 6, `2 -> 16 nodes speed-up ${secs[0]! / secs[3]!}`);
});

test('provisioning takes minutes and grows with the node count; cluster time covers the application', () => {
  const small = run(etl, { instanceType: 'm5.xlarge', nodes: 2 });
  const big = run(etl, { instanceType: 'm5.xlarge', nodes: 40 });
  assert.ok(small.totals.provisioningSeconds > 180 && small.totals.provisioningSeconds < 900, String(small.totals.provisioningSeconds));
  assert.ok(big.totals.provisioningSeconds > small.totals.provisioningSeconds);
  const t = small.timeline;
  assert.ok(t.createdAt < t.bootstrappingAt && t.bootstrappingAt < t.readyAt && t.readyAt <= t.stepStartedAt && t.stepStartedAt < t.appStartedAt);
  assert.ok(t.appStartedAt < t.appEndedAt && t.appEndedAt <= t.stepEndedAt && t.stepEndedAt <= t.terminatingAt && t.terminatingAt < t.endedAt);
  assert.is(small.totals.runtimeSeconds, (t.endedAt - t.createdAt) / 1000);
  assert.is(small.totals.clusterSeconds, (t.endedAt - t.readyAt) / 1000);
});

test('too little execution memory per task spills and slows the work down', () => {
  const w = synthetic(0.9, 1.5 * 1024 ** 3);
  const fixed = { executorInstances: 4, dynamicAllocation: false };
  const roomy = run(w, { instanceType: 'r5.xlarge', nodes: 4, ...fixed });
  const tight = run(w, { instanceType: 'r5.xlarge', nodes: 4, executorMemoryMb: 4096, ...fixed });
  assert.is(roomy.totals.diskSpillBytes, 0);
  assert.ok(tight.totals.diskSpillBytes > 0);
  assert.ok(tight.tasks.every((t) => t.memorySpillBytes > 0));
  assert.ok(tight.totals.gcSeconds > roomy.totals.gcSeconds);
  // Both have 4 executors of 4 cores: the difference is memory alone.
  assert.is(roomy.layout.executors, tight.layout.executors);
  assert.ok(tight.totals.applicationSeconds > roomy.totals.applicationSeconds * 1.05, `${tight.totals.applicationSeconds} vs ${roomy.totals.applicationSeconds}`);
});

test("a faster CPU speeds up the CPU part only, by the sandbox's own per-vCPU speed (not CoreMark)", () => {
  const ratio = instancePerformance('m5.xlarge', 4, 1).cpuSpeed / instancePerformance('c5.xlarge', 4, 1).cpuSpeed;
  const taskMean = (r: SimulatedRun) => r.tasks.reduce((n, t) => n + t.runMs, 0) / r.tasks.length;
  const cpuM5 = run(synthetic(1), { instanceType: 'm5.xlarge', nodes: 4 });
  const cpuC5 = run(synthetic(1), { instanceType: 'c5.xlarge', nodes: 4 });
  const observed = taskMean(cpuC5) / taskMean(cpuM5);
  assert.ok(Math.abs(observed - ratio) < 0.06, `c5/m5 task time ${observed}, CoreMark ratio ${ratio}`);
  const ioM5 = run(synthetic(0), { instanceType: 'm5.xlarge', nodes: 4 });
  const ioC5 = run(synthetic(0), { instanceType: 'c5.xlarge', nodes: 4 });
  assert.ok(Math.abs(taskMean(ioC5) / taskMean(ioM5) - 1) < 0.06, `I/O-only tasks should not care: ${taskMean(ioC5) / taskMean(ioM5)}`);
});

test('stragglers: a small share of tasks runs several times longer', () => {
  const r = run(etl, { instanceType: 'm5.2xlarge', nodes: 8 });
  const share = r.totals.stragglers / r.tasks.length;
  assert.ok(share > 0.005 && share < 0.03, String(share));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const stage1 = r.tasks.filter((t) => t.stageId === 1);
  const slow = stage1.filter((t) => t.straggler).map((t) => t.runMs);
  const normal = stage1.filter((t) => !t.straggler).map((t) => t.runMs);
  assert.ok(median(slow) > 1.8 * median(normal), `${median(slow)} vs ${median(normal)}`);
});

test('the timeline is a valid schedule: cores never oversubscribed, stages after their parents, tasks on live executors', () => {
  const r = run(etl, { instanceType: 'm5.xlarge', nodes: 3 });
  const stage = new Map(r.stages.map((s) => [s.id, s]));
  for (const t of r.tasks) {
    const s = stage.get(t.stageId)!;
    const e = r.executors[t.executor]!;
    assert.ok(t.launchedAt >= s.submittedAt && t.finishedAt <= s.completedAt);
    assert.ok(t.launchedAt >= e.addedAt && t.finishedAt <= e.removedAt);
    for (const p of s.parents) assert.ok(s.submittedAt >= stage.get(p)!.completedAt);
  }
  for (const [i, e] of r.executors.entries()) {
    const points = r.tasks.filter((t) => t.executor === i).flatMap((t) => [{ at: t.launchedAt, d: 1 }, { at: t.finishedAt, d: -1 }]);
    points.sort((a, b) => a.at - b.at || a.d - b.d);
    let busy = 0;
    for (const p of points) {
      busy += p.d;
      assert.ok(busy <= e.cores, `executor ${e.id} runs ${busy} tasks on ${e.cores} cores`);
    }
  }
  const perStage = new Map<number, number>();
  for (const t of r.tasks) perStage.set(t.stageId, (perStage.get(t.stageId) ?? 0) + 1);
  for (const s of etl.stages) assert.is(perStage.get(s.id), s.tasks);
});

test('YARN packs executors by memory with EMR defaults; an executor larger than a node cannot start', () => {
  // m5.xlarge: 16 GiB, YARN gets 12 GiB: one 4-core executor per node.
  const m5 = planExecutors({ instanceType: 'm5.xlarge', nodes: 5 }, instances);
  assert.is(m5.executorCores, 4);
  assert.is(m5.executors, 5);
  // 2 GiB executors: several per node, more cores than vCPUs allowed (YARN does not count vcores).
  const small = planExecutors({ instanceType: 'm5.xlarge', nodes: 2, executorCores: 4, executorMemoryMb: 2048 }, instances);
  assert.ok(small.executors >= 8, String(small.executors));
  const err = (() => {
    try {
      planExecutors({ instanceType: 'm5.xlarge', nodes: 2, executorMemoryMb: 64 * 1024 }, instances);
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.ok(err instanceof SyncError && err.code === 'invalid_request' && /above the max threshold/.test(err.message), String(err));
  assert.throws(() => planExecutors({ instanceType: 'x9.huge', nodes: 2 }, instances), /x9\.huge/);
  // Caps: maxExecutors with dynamic allocation, executor.instances without.
  assert.is(planExecutors({ instanceType: 'm5.xlarge', nodes: 6, maxExecutors: 3 }, instances).executors, 3);
  assert.is(planExecutors({ instanceType: 'm5.xlarge', nodes: 6, executorInstances: 2, dynamicAllocation: false }, instances).executors, 2);
  assert.is(planExecutors({ instanceType: 'm5.xlarge', nodes: 6, executorInstances: 2 }, instances).executors, 6);
});

test('oversubscribed cores slow the CPU part down', () => {
  const fits = run(synthetic(1), { instanceType: 'm5.xlarge', nodes: 2, executorCores: 4, executorMemoryMb: 4096 });
  const r = fits.tasks.reduce((n, t) => n + t.runMs, 0) / fits.tasks.length;
  // 2 executors x 4 cores per 4-vCPU node: every task shares a vCPU with another.
  assert.ok(fits.layout.executorsPerNode[1]! * 4 > 4);
  assert.ok(r > 14_000, `mean task ${r} ms for 10 s of reference CPU work`);
});

test('dynamic allocation releases executors idle for 60 s and asks for new ones when work returns', () => {
  const w = synthetic(0.9, 0, 64);
  w.stages.push({ ...w.stages[0]!, id: 1 });
  w.jobs.push({ id: 1, gapBeforeSeconds: 200, stages: [1] });
  const dynamic = run(w, { instanceType: 'm5.xlarge', nodes: 2 });
  const [first, second] = dynamic.jobs;
  const gone = dynamic.executors.filter((e) => e.removedAt <= second!.submittedAt);
  assert.is(gone.length, 2, 'both first executors leave during the 200 s pause');
  for (const e of gone) {
    const lastTask = Math.max(...dynamic.tasks.filter((t) => dynamic.executors[t.executor] === e).map((t) => t.finishedAt));
    assert.is(e.removedAt, lastTask + 60_000);
    assert.ok(lastTask <= first!.completedAt);
  }
  const fresh = dynamic.executors.filter((e) => e.addedAt > second!.submittedAt);
  assert.is(fresh.length, 2);
  assert.ok(dynamic.tasks.filter((t) => t.stageId === 1).every((t) => fresh.includes(dynamic.executors[t.executor]!)));
  const fixed = run(w, { instanceType: 'm5.xlarge', nodes: 2, dynamicAllocation: false });
  assert.is(fixed.executors.length, 2);
  assert.ok(fixed.executors.every((e) => e.removedAt >= fixed.jobs[1]!.completedAt));
  // Re-acquiring executors costs the second job their start-up.
  const wait = (r: SimulatedRun) => Math.min(...r.tasks.filter((t) => t.stageId === 1).map((t) => t.launchedAt)) - r.jobs[1]!.submittedAt;
  assert.ok(wait(dynamic) > wait(fixed) + 3000, `${wait(dynamic)} vs ${wait(fixed)}`);
});

test('createRng streams are independent and uniform-ish', () => {
  const a = createRng(5, 'x');
  const b = createRng(5, 'y');
  const xs = Array.from({ length: 2000 }, () => a.next());
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  assert.ok(Math.abs(xs.reduce((n, x) => n + x, 0) / xs.length - 0.5) < 0.03);
  assert.is.not(xs[0], b.next());
});


test('spark.sql.shuffle.partitions: a spilling shuffle stage cut into more partitions spills less; AQE coalesces small ones; each task keeps its fixed cost', () => {
  // One stage reading 40 GiB of shuffle in 40 tasks of 6 GiB execution memory each: r5.xlarge's default executors give a task ~3 GiB.
  const base = synthetic(0.9, 6 * 1024 ** 3, 40);
  const w: Workload = { ...base, stages: base.stages.map((s) => ({ ...s, shuffleReadBytes: 40 * 1024 ** 3, taskSeconds: [30, 30, 30] })) };
  const fixed = { executorInstances: 4, dynamicAllocation: false };
  const asRecorded = run(w, { instanceType: 'r5.xlarge', nodes: 4, ...fixed });
  const more = run(w, { instanceType: 'r5.xlarge', nodes: 4, shufflePartitions: 160, ...fixed });
  assert.is(asRecorded.tasks.length, 40);
  assert.is(more.tasks.length, 160);
  assert.ok(asRecorded.totals.diskSpillBytes > 0);
  assert.is(more.totals.diskSpillBytes, 0, 'a quarter of the data per task fits');
  assert.ok(more.totals.applicationSeconds < asRecorded.totals.applicationSeconds, `${more.totals.applicationSeconds} < ${asRecorded.totals.applicationSeconds}`);
  // AQE (on by default) coalesces partitions to 64 MiB: 100,000 asked gives 640; with AQE off all 100,000 would run.
  const aqe = run(w, { instanceType: 'r5.xlarge', nodes: 4, shufflePartitions: 100_000, ...fixed });
  assert.is(aqe.tasks.length, 640);
  // The hidden per-task fixed cost: with it, 4x the tasks do more than the same total work.
  const hidden = { ...NEUTRAL_PARAMETERS, taskFixedSeconds: 2 };
  const cpuOf = (r: SimulatedRun) => r.tasks.reduce((n, t) => n + t.runMs, 0);
  const small: Workload = { ...w, stages: w.stages.map((s) => ({ ...s, taskMemoryBytes: 0 })) };
  const a = runWorkload(small, { instanceType: 'r5.xlarge', nodes: 4, ...fixed }, { seed: 1, startedAt: START, instances, hidden });
  const b = runWorkload(small, { instanceType: 'r5.xlarge', nodes: 4, shufflePartitions: 160, ...fixed }, { seed: 1, startedAt: START, instances, hidden });
  assert.ok(cpuOf(b) > cpuOf(a) * 1.1, `${cpuOf(b)} vs ${cpuOf(a)}: 120 more tasks x 2 s fixed`);
});

test.run();
