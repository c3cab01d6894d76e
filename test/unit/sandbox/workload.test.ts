import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadApplicationModel } from '../../../src/adapters/eventlog-source.js';
import type { ApplicationModel } from '../../../src/domain/eventlog/model.js';
import { SyncError } from '../../../src/domain/errors.js';
import { shippedWorkloads } from '../../../src/sandbox/shipped-workloads.js';
import { extractWorkload, parseWorkload, quantileAt, quantileMean, scaleWorkload } from '../../../src/sandbox/workload.js';

const DB_SIM = 'test/fixtures/eventlogs/rapids-tools/db_sim_eventlog';
const EMR_LOG = 'test/fixtures/eventlogs/rapids-tools/attempt_1_eventlog.zstd';
let dbSim: ApplicationModel;
let emrLog: ApplicationModel;

test.before(async () => {
  dbSim = await loadApplicationModel(DB_SIM);
  emrLog = await loadApplicationModel(EMR_LOG);
});

function successfulTasks(m: ApplicationModel, stageId: number): number[] {
  const out: number[] = [];
  for (const s of m.stages) {
    if (s.stageId !== stageId || s.skipped) continue;
    for (let i = 0; i < s.tasks.count; i++) if (s.tasks.status[i] === 0) out.push(s.tasks.executorRunTimeMs[i]! / 1000);
  }
  return out;
}

test('every successful task of the log is in the workload, per stage, with its run-time distribution', () => {
  const w = extractWorkload(dbSim, { name: 'x' });
  let logTasks = 0;
  for (const s of dbSim.stages) for (let i = 0; i < s.tasks.count; i++) if (s.tasks.status[i] === 0) logTasks++;
  assert.is(w.stages.reduce((n, s) => n + s.tasks, 0), logTasks);
  for (const s of w.stages) {
    const runs = successfulTasks(dbSim, s.id);
    assert.is(s.tasks, runs.length, `stage ${s.id}`);
    assert.is(s.taskSeconds[0], Math.round(Math.min(...runs) * 1000) / 1000);
    assert.is(s.taskSeconds[s.taskSeconds.length - 1], Math.round(Math.max(...runs) * 1000) / 1000);
    const mean = runs.reduce((a, b) => a + b, 0) / runs.length;
    // The quantile table keeps the stage's total work to within a few percent.
    assert.ok(Math.abs(quantileMean(s.taskSeconds) - mean) / mean < 0.05, `stage ${s.id}: ${quantileMean(s.taskSeconds)} vs ${mean}`);
  }
});

test('CPU share, bytes and memory come from the task metrics', () => {
  const w = extractWorkload(dbSim);
  let shuffleRead = 0, shuffleWrite = 0;
  for (const s of dbSim.stages) for (let i = 0; i < s.tasks.count; i++) if (s.tasks.status[i] === 0) {
    shuffleRead += s.tasks.shuffleReadBytes[i]!;
    shuffleWrite += s.tasks.shuffleWriteBytes[i]!;
  }
  assert.is(w.stages.reduce((n, s) => n + s.shuffleReadBytes, 0), shuffleRead);
  assert.is(w.stages.reduce((n, s) => n + s.shuffleWriteBytes, 0), shuffleWrite);
  for (const s of w.stages) {
    assert.ok(s.cpuFraction > 0 && s.cpuFraction <= 1, `stage ${s.id} cpu ${s.cpuFraction}`);
    assert.ok(s.remoteShuffleFraction >= 0 && s.remoteShuffleFraction <= 1);
  }
  // Stage 2 of db_sim is the one whose tasks report 768 MiB of peak execution memory.
  const heavy = w.stages.find((s) => s.taskMemoryBytes > 0)!;
  assert.ok(heavy.taskMemoryBytes >= 700 * 1024 * 1024, String(heavy.taskMemoryBytes));
});

test('jobs keep their order, DAG and driver-only gaps; the observed hardware is recorded', () => {
  const w = extractWorkload(emrLog);
  const jobs = [...emrLog.jobs].sort((a, b) => a.submissionTime! - b.submissionTime!);
  assert.is(w.driverStartSeconds, (jobs[0]!.submissionTime! - emrLog.startTime) / 1000);
  assert.ok(w.jobs.length >= 1 && w.jobs.length <= jobs.length);
  for (let i = 1; i < w.jobs.length; i++) assert.ok(w.jobs[i]!.gapBeforeSeconds >= 0);
  const ids = new Set(w.stages.map((s) => s.id));
  for (const s of w.stages) for (const p of s.parents) assert.ok(ids.has(p), `stage ${s.id} parent ${p}`);
  assert.is(w.observed.executorCores, 3);
  assert.is(w.observed.executors, 10);
  assert.is(w.appName, 'ProcessLargeDataset');
  // Plain JSON: survives a round trip unchanged.
  assert.equal(JSON.parse(JSON.stringify(w)), w);
});

test('scaleWorkload multiplies task work and bytes, or the number of tasks', () => {
  const w = extractWorkload(dbSim);
  const x3 = scaleWorkload(w, { taskWork: 3 });
  for (const [i, s] of x3.stages.entries()) {
    const o = w.stages[i]!;
    assert.ok(Math.abs(quantileAt(s.taskSeconds, 0.5) - 3 * quantileAt(o.taskSeconds, 0.5)) < 0.01);
    assert.is(s.shuffleReadBytes, 3 * o.shuffleReadBytes);
    assert.is(s.tasks, o.tasks);
  }
  const more = scaleWorkload(w, { tasks: 2 });
  assert.is(more.stages[0]!.tasks, 2 * w.stages[0]!.tasks);
  assert.equal(more.stages[0]!.taskSeconds, w.stages[0]!.taskSeconds);
  assert.throws(() => scaleWorkload(w, { taskWork: 0 }), (e: unknown) => e instanceof SyncError && e.code === 'invalid_request');
});

test('parseWorkload refuses documents that are not workloads, naming the problem', () => {
  const w = extractWorkload(dbSim);
  assert.throws(() => parseWorkload({ format: 'other' }, 'a.json'), (e: unknown) => e instanceof SyncError && /a\.json/.test(e.message));
  const broken = structuredClone(w);
  broken.jobs[0]!.stages.push(99);
  assert.throws(() => parseWorkload(broken), (e: unknown) => e instanceof SyncError && /unknown stage 99/.test(e.message));
});

test('the shipped workloads parse, say where they came from, and are large enough for cluster size to matter', () => {
  const shipped = shippedWorkloads();
  assert.equal(Object.keys(shipped), ['etl-shuffle', 'skewed-etl']);
  for (const w of Object.values(shipped)) {
    assert.match(w.provenance, /spark-rapids-tools/);
    const coreSeconds = w.stages.reduce((n, s) => n + s.tasks * quantileMean(s.taskSeconds), 0);
    assert.ok(coreSeconds > 1000, `${w.name}: ${coreSeconds} core-seconds`);
  }
  // etl-shuffle is db_sim's work x6.
  const base = extractWorkload(dbSim);
  const total = (x: typeof base) => x.stages.reduce((n, s) => n + s.tasks * quantileMean(s.taskSeconds), 0);
  assert.ok(Math.abs(total(shipped['etl-shuffle']!) / total(base) - 6) < 0.01);
});

test.run();
