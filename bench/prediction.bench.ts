// Prediction engine figures:
// 1. replay error at the observed configuration, |simulated - observed| / observed, over every real
//    log in ../shared/eventlogs (or test/fixtures/eventlogs), beside the Sparklens-style baseline;
// 2. a full prediction (>= 200 candidates) on a 13,000+ task model made by repeating a real log's jobs;
// 3. what-if accuracy on the sandbox's independent ground truth over 50 seeds (bench/sandbox-whatif.ts;
//    WHATIF_SEEDS=n to change the count).
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadApplicationModel } from '../src/adapters/eventlog-source.js';
import { loadCatalog } from '../src/adapters/prediction/catalog-file.js';
import type { ApplicationModel, StageAttempt } from '../src/domain/eventlog/model.js';
import { readFileSync } from 'node:fs';
import { fitErnest, fitScalingCurve } from '../src/domain/prediction/ernest.js';
import { buildReplayPlan } from '../src/domain/prediction/plan.js';
import { runDatasets } from './runtime-datasets.js';
import { predictFromModel } from '../src/domain/prediction/predict.js';
import { observedCluster, simulateBaselinePlan, simulatePlan, supplyParameters } from '../src/domain/prediction/simulator.js';
import { runSandboxWhatIf } from './sandbox-whatif.js';
import { REAL_LOGS as LOGS } from '../test/support/real-logs.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function logsDir(): string | undefined {
  for (const d of [join(root, '..', 'shared', 'eventlogs'), join(root, 'test', 'fixtures', 'eventlogs')]) if (existsSync(d)) return d;
  return undefined;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** A copy of `model` whose jobs (with their stages and tasks) run `times` times back to back. */
export function repeatModel(model: ApplicationModel, times: number): ApplicationModel {
  const span = model.endTime - model.startTime;
  const stageIdSpan = Math.max(0, ...model.stages.map((s) => s.stageId)) + 1;
  const jobIdSpan = Math.max(0, ...model.jobs.map((j) => j.id)) + 1;
  const shiftTasks = (t: StageAttempt['tasks'], dt: number): StageAttempt['tasks'] => ({
    ...t,
    launchTime: t.launchTime.map((x) => x + dt),
    finishTime: t.finishTime.map((x) => x + dt),
  });
  const stages: StageAttempt[] = [];
  const jobs: ApplicationModel['jobs'] = [];
  for (let r = 0; r < times; r++) {
    const dt = r * span;
    const sh = (x: number | undefined) => (x === undefined ? undefined : x + dt);
    for (const s of model.stages) {
      const copy: StageAttempt = { ...s, stageId: s.stageId + r * stageIdSpan, parentIds: s.parentIds.map((p) => p + r * stageIdSpan), jobIds: s.jobIds.map((j) => j + r * jobIdSpan), tasks: shiftTasks(s.tasks, dt) };
      const sub = sh(s.submissionTime);
      const comp = sh(s.completionTime);
      if (sub === undefined) delete copy.submissionTime;
      else copy.submissionTime = sub;
      if (comp === undefined) delete copy.completionTime;
      else copy.completionTime = comp;
      stages.push(copy);
    }
    for (const j of model.jobs) {
      const copy = { ...j, id: j.id + r * jobIdSpan, stageIds: j.stageIds.map((s) => s + r * stageIdSpan) };
      if (j.submissionTime !== undefined) copy.submissionTime = j.submissionTime + dt;
      if (j.completionTime !== undefined) copy.completionTime = j.completionTime + dt;
      jobs.push(copy);
    }
  }
  return {
    ...model,
    endTime: model.startTime + span * times,
    durationMs: span * times,
    driverMs: model.driverMs * times,
    jobMs: model.jobMs * times,
    stages,
    jobs,
  };
}

/** Prints the replay table, the timing of a full prediction and the public-dataset figures. */
export async function run(): Promise<void> {
  await runReplay();
  console.log('\n--- datasets: learning across runs on public runtime-vs-configuration data (issue 14, 5b)');
  runDatasets(join(root, '..', 'shared', 'data'));
}

async function runReplay(): Promise<void> {
  const dir = logsDir();
  if (!dir) {
    console.log('no event logs found (../shared/eventlogs or test/fixtures/eventlogs); skipped');
    return;
  }
  console.log('Replay at the observed configuration: estimate = driver time + simulated job time');
  console.log(`${'log'.padEnd(56)} ${'observed'.padStart(9)} ${'engine'.padStart(9)} ${'err'.padStart(7)} ${'baseline'.padStart(9)} ${'err'.padStart(7)}  executors x cores`);
  const errs: number[] = [];
  const baseErrs: number[] = [];
  let db: ApplicationModel | undefined;
  for (const name of LOGS) {
    const path = join(dir, name);
    if (!existsSync(path)) {
      console.log(`${name.padEnd(56)} missing`);
      continue;
    }
    const model = await loadApplicationModel(path);
    if (name.includes('db_sim')) db = model;
    const plan = buildReplayPlan(model);
    const sim = simulatePlan(plan);
    const base = simulateBaselinePlan(plan);
    const obs = model.durationMs;
    const e = Math.abs(sim.estimatedMs - obs) / obs;
    const b = Math.abs(base.estimatedMs - obs) / obs;
    errs.push(e);
    baseErrs.push(b);
    const c = observedCluster(plan);
    console.log(
      `${name.padEnd(56)} ${(obs / 1000).toFixed(1).padStart(8)}s ${(sim.estimatedMs / 1000).toFixed(1).padStart(8)}s ${pct(e).padStart(7)} ${(base.estimatedMs / 1000).toFixed(1).padStart(8)}s ${pct(b).padStart(7)}  ${c.executors} x ${c.cores}`,
    );
  }
  console.log(`engine:   median ${pct(median(errs))}, max ${pct(Math.max(...errs))} over ${errs.length} logs (targets: median <= 5%, max <= 20%)`);
  console.log(`baseline: median ${pct(median(baseErrs))}, max ${pct(Math.max(...baseErrs))} (Sparklens-style: fixed task times, FIFO stages, no start-up costs)`);

  console.log('\nScaling curve on the bell data (fit on 4, 12, 24, 40, 60 nodes; error of the mean runtime at the other 10 sizes)');
  for (const job of ['grep.spark.csv', 'sgd.spark.csv', 'pagerank.spark.csv']) {
    const rows = readFileSync(join(root, 'test', 'fixtures', 'bell', job), 'utf8').trim().split(/\r?\n/).slice(1).map((l) => l.split(',').map(Number));
    const train = [4, 12, 24, 40, 60];
    const points = rows.filter((r) => train.includes(r[0]!)).map((r) => ({ m: r[0]!, t: r[1]! / 1000 }));
    const sizes = [...new Set(rows.map((r) => r[0]!))].filter((m) => !train.includes(m));
    const errorsOf = (predict: (m: number) => number) =>
      sizes.map((m) => {
        const ts = rows.filter((r) => r[0] === m).map((r) => r[1]! / 1000);
        const mean = ts.reduce((a, b) => a + b, 0) / ts.length;
        return Math.abs(predict(m) - mean) / mean;
      });
    const curve = fitScalingCurve(points);
    const e = errorsOf(curve.predict);
    const ernest = errorsOf(fitErnest(points).predict);
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(`  ${job.padEnd(20)} chosen ${curve.form.padEnd(6)} mean ${pct(avg(e))}, max ${pct(Math.max(...e))}   (Ernest alone: mean ${pct(avg(ernest))}, max ${pct(Math.max(...ernest))})`);
  }

  if (db) fullPrediction(db);
  await runSandboxWhatIf(Number(process.env.WHATIF_SEEDS ?? 50));
}

function fullPrediction(db: ApplicationModel): void {
  const times = Math.ceil(13_000 / buildReplayPlan(db).taskCount);
  const big = repeatModel(db, times);
  const catalog = loadCatalog();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const result = predictFromModel(big, undefined, { catalog });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const tasks = buildReplayPlan(big).taskCount;
  console.log(`\nFull prediction on db_sim x ${times} (${tasks} tasks): ${result.candidates.length} candidates in ${ms.toFixed(0)} ms wall, ${cpuMs.toFixed(0)} ms CPU, cold (target: >= 200 candidates in < 2000 ms)`);
  const t1 = performance.now();
  predictFromModel(big, undefined, { catalog });
  console.log(`  again, warm: ${(performance.now() - t1).toFixed(0)} ms wall`);
  for (const [pref, s] of Object.entries(result.solutions)) console.log(`  ${pref.padEnd(11)} ${s.estimate.runtimeSeconds.toFixed(0).padStart(5)} s  $${s.estimate.costUsd.toFixed(3)}  ${s.explanation}`);
  const p = supplyParameters(buildReplayPlan(big));
  console.log(`  parameters derived from the log: task overhead ${p.taskOverheadMs.toFixed(0)} ms, start-up latency ${p.startupLatencyMs.toFixed(0)} ms`);
}
