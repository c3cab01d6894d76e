import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildApplicationModel } from '../../../src/domain/eventlog/build-model.js';
import { writeEventLog, writeEventLogHead } from '../../../src/sandbox/eventlog-writer.js';
import { runWorkload } from '../../../src/sandbox/ground-truth.js';
import { NEUTRAL_PARAMETERS } from '../../../src/sandbox/hidden-parameters.js';
import { readInstanceFacts } from '../../../src/sandbox/instance-facts.js';
import { shippedWorkloads } from '../../../src/sandbox/shipped-workloads.js';
import { extractWorkload } from '../../../src/sandbox/workload.js';

const instances = readInstanceFacts();
const workloads = shippedWorkloads();
const meta = { appId: 'application_1668520289000_0001', eventLogDir: 's3a://bucket/p/run/eventlog/' };
const lines = (text: string) => text.split('\n').filter((l) => l.length > 0);

for (const [name, cluster] of [
  ['etl-shuffle', { instanceType: 'c5.xlarge', nodes: 3 }],
  ['skewed-etl', { instanceType: 'r5.2xlarge', nodes: 2, executorCores: 2 }],
] as const) {
  test(`${name}: our reader reads back the jobs, stages, tasks, executors and duration the simulation produced`, async () => {
    const w = workloads[name]!;
    const run = runWorkload(w, cluster, { seed: 4, startedAt: Date.UTC(2022, 10, 15, 13, 51, 29), instances, hidden: NEUTRAL_PARAMETERS });
    const model = await buildApplicationModel(lines(writeEventLog(run, w, meta)));
    assert.is(model.appId, meta.appId);
    assert.is(model.sparkVersion, '3.3.0-amzn-0');
    assert.ok(model.complete);
    assert.equal(model.warnings, []);
    assert.is(model.startTime, run.timeline.appStartedAt);
    assert.is(model.durationMs, run.timeline.appEndedAt - run.timeline.appStartedAt);
    assert.is(model.jobs.length, run.jobs.length);
    assert.ok(model.jobs.every((j) => j.result === 'succeeded'));
    assert.is(model.stages.length, run.stages.length);
    assert.is(model.stages.reduce((n, s) => n + s.tasks.count, 0), run.tasks.length);
    assert.is(model.executors.length, run.executors.length);
    assert.is(model.settings.executorCores, run.layout.executorCores);
    assert.is(model.settings.executorMemoryMb, run.layout.executorMemoryMb);
    assert.is(model.sparkProperties['spark.eventLog.dir'], meta.eventLogDir);
    let runMs = 0, shuffle = 0, spill = 0;
    for (const s of model.stages) for (let i = 0; i < s.tasks.count; i++) {
      runMs += s.tasks.executorRunTimeMs[i]!;
      shuffle += s.tasks.shuffleReadBytes[i]!;
      spill += s.tasks.diskSpillBytes[i]!;
    }
    assert.is(runMs, run.tasks.reduce((n, t) => n + t.runMs, 0));
    assert.is(shuffle, run.tasks.reduce((n, t) => n + t.shuffleReadBytes, 0));
    assert.is(spill, run.totals.diskSpillBytes);
    // The log describes the same application: extracting it again gives the same stages and DAG.
    const again = extractWorkload(model);
    assert.equal(again.stages.map((s) => [s.id, s.tasks, s.parents]), w.stages.map((s) => [s.id, s.tasks, s.parents]));
  });
}

test('a task below the memory floor dies of OutOfMemoryError, is retried, and the fourth failure fails the job; the log says so', async () => {
  const w = workloads['etl-shuffle']!;
  // Far too little execution memory for stage 2's tasks: every attempt of its big tasks dies.
  const hidden = { ...NEUTRAL_PARAMETERS, memoryScale: 4, oomFloor: 0.5 };
  const run = runWorkload(w, { instanceType: 'c5.xlarge', nodes: 3 }, { seed: 4, startedAt: Date.UTC(2022, 10, 15, 13, 51, 29), instances, hidden });
  assert.match(run.failure ?? '', /failed 4 times.*OutOfMemoryError/);
  assert.ok(run.totals.failedTasks >= 4);
  const failed = run.tasks.filter((t) => t.failure === 'oom');
  assert.ok(failed.some((t) => t.attempt === 3), 'a fourth attempt was made');
  const model = await buildApplicationModel(lines(writeEventLog(run, w, meta)));
  assert.ok(model.complete);
  assert.ok(model.jobs.some((j) => j.result === 'failed'), JSON.stringify(model.jobs.map((j) => j.result)));
  let failures = 0;
  for (const s of model.stages) for (let i = 0; i < s.tasks.count; i++) if (s.tasks.status[i] !== 0) failures++;
  assert.is(failures, failed.length);
  // With room to spare (the same hidden parameters on memory-rich nodes) nothing fails.
  const roomy = runWorkload(w, { instanceType: 'r5.2xlarge', nodes: 3 }, { seed: 4, startedAt: Date.UTC(2022, 10, 15, 13, 51, 29), instances, hidden });
  assert.is(roomy.failure, undefined);
  assert.is(roomy.totals.failedTasks, 0);
});

test('spot interruptions: the node\'s executors are lost, their running attempts fail and run again elsewhere; the log says so', async () => {
  const w = workloads['etl-shuffle']!;
  const hidden = { ...NEUTRAL_PARAMETERS, spotInterruptionsPerNodeHour: 6 };
  const cluster = { instanceType: 'm5.2xlarge', nodes: 4, spotNodes: [false, true, true, true] };
  const run = runWorkload(w, cluster, { seed: 5, startedAt: Date.UTC(2022, 10, 15, 13, 51, 29), instances, hidden });
  assert.is(run.failure, undefined, 'the on-demand node finishes the work');
  assert.ok(run.totals.interruptedNodes >= 1, String(run.totals.interruptedNodes));
  const lost = run.tasks.filter((t) => t.failure === 'executor-lost');
  assert.ok(lost.length >= 1);
  for (const t of lost) {
    const e = run.executors[t.executor]!;
    assert.is(t.finishedAt, e.removedAt, 'a lost attempt ends when its executor does');
    assert.match(e.removedReason ?? '', /spot/);
    // ...and the same task index succeeded later.
    assert.ok(run.tasks.some((x) => x.stageId === t.stageId && x.index === t.index && x.failure === undefined && x.attempt > t.attempt));
  }
  // Every task index of every stage succeeded exactly once.
  const ok = new Set(run.tasks.filter((t) => !t.failure).map((t) => `${t.stageId}/${t.index}`));
  assert.is(ok.size, w.stages.reduce((n, s) => n + s.tasks, 0));
  const same = runWorkload(w, { ...cluster, spotNodes: [false, false, false, false] }, { seed: 5, startedAt: Date.UTC(2022, 10, 15, 13, 51, 29), instances, hidden });
  assert.ok(run.totals.applicationSeconds > same.totals.applicationSeconds, 'losing nodes costs time');
  const model = await buildApplicationModel(lines(writeEventLog(run, w, meta)));
  assert.ok(model.jobs.every((j) => j.result === 'succeeded'));
  assert.ok(model.executors.some((e) => /spot/.test(e.removedReason ?? '')));
  let failures = 0;
  for (const s of model.stages) for (let i = 0; i < s.tasks.count; i++) if (s.tasks.status[i] !== 0) failures++;
  assert.is(failures, lost.length);
});

test('lines are Spark events in time order; every task starts before it ends', () => {
  const w = workloads['skewed-etl']!;
  const run = runWorkload(w, { instanceType: 'm5.xlarge', nodes: 2 }, { seed: 9, startedAt: 1_668_520_289_000, instances });
  const events = lines(writeEventLog(run, w, meta)).map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.is(events[0]!.Event, 'SparkListenerLogStart');
  assert.is(events[events.length - 1]!.Event, 'SparkListenerApplicationEnd');
  const timeOf = (e: Record<string, unknown>): number | undefined => {
    const info = e['Task Info'] as Record<string, number> | undefined;
    if (e.Event === 'SparkListenerTaskStart') return info!['Launch Time'];
    if (e.Event === 'SparkListenerTaskEnd') return info!['Finish Time'];
    const stage = e['Stage Info'] as Record<string, number> | undefined;
    if (e.Event === 'SparkListenerStageSubmitted') return stage!['Submission Time'];
    if (e.Event === 'SparkListenerStageCompleted') return stage!['Completion Time'];
    return (e.Timestamp ?? e['Submission Time'] ?? e['Completion Time']) as number | undefined;
  };
  let last = -Infinity;
  const started = new Set<number>();
  for (const e of events.slice(5)) {
    const t = timeOf(e);
    if (t !== undefined) {
      assert.ok(t >= last, `${String(e.Event)} at ${t} after ${last}`);
      last = t;
    }
    const id = (e['Task Info'] as Record<string, number> | undefined)?.['Task ID'];
    if (e.Event === 'SparkListenerTaskStart') started.add(id!);
    if (e.Event === 'SparkListenerTaskEnd') assert.ok(started.has(id!), `task ${id} ended before it started`);
  }
  assert.is(started.size, run.tasks.length);
});

test('the head (what an .inprogress file holds at first) reads as an application still running', async () => {
  const w = workloads['skewed-etl']!;
  const run = runWorkload(w, { instanceType: 'm5.xlarge', nodes: 2 }, { seed: 9, startedAt: 1_668_520_289_000, instances });
  const head = lines(writeEventLogHead(run, w, meta));
  assert.ok(head.some((l) => l.includes('"SparkListenerApplicationStart"')));
  assert.not.ok(head.some((l) => l.includes('"SparkListenerJobStart"') || l.includes('"SparkListenerApplicationEnd"')));
  const model = await buildApplicationModel(head);
  assert.not.ok(model.complete);
  assert.is(model.appId, meta.appId);
});

test.run();
