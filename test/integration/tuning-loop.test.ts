// The continuous tuning loop end to end on the sandbox: real agent, real queues (embedded Redis),
// SQS completion events, the sandbox EMR replaying a workload from a real event log with its own
// ground truth. Three scenarios share one environment, each on its own project.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startTuningEnvironment, type TuningEnvironment } from '../../src/demo/environment.js';
import { demoProject } from '../../src/demo/run-demo.js';
import { shippedWorkloads } from '../../src/sandbox/shipped-workloads.js';
import { scaleWorkload } from '../../src/sandbox/workload.js';
import type { Run } from '../../src/domain/types.js';

type Ctx = { dir: string; env: TuningEnvironment };
const loop = suite<Ctx>('tuning loop');
const shipped = shippedWorkloads();
const base = shipped['etl-shuffle']!;
// For the regression scenario: a run applying a prediction does six times the work (a data spike), more than any recommended cluster absorbs.
const spiked = scaleWorkload(base, { taskWork: 6 });

loop.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'sync-loop-'));
  ctx.env = await startTuningEnvironment({
    dir: ctx.dir,
    timeScale: 1200,
    seed: 7,
    workloads: (cluster) => (cluster.tags['sync:project-id'] === 'spiky' && cluster.tags['sync:prediction-id'] ? spiked : base),
  });
});
loop.after(async (ctx) => {
  await ctx.env?.close();
  rmSync(ctx.dir, { recursive: true, force: true });
});

async function onboard(ctx: Ctx, projectId: string, extra: Record<string, unknown> = {}): Promise<string> {
  const codeDir = join(ctx.dir, 'code', projectId);
  mkdirSync(codeDir, { recursive: true });
  const code = join(codeDir, 'etl-shuffle.py');
  writeFileSync(code, '# v1\n');
  const res = await ctx.env.request('project.create', { ...demoProject(pathToFileURL(code).href), projectId, name: projectId, ...extra });
  assert.is(res.status, 'completed', JSON.stringify(res.error));
  return code;
}

async function iterate(ctx: Ctx, projectId: string, n: number): Promise<{ run: Run; decision: string; reason: string }> {
  const res = await ctx.env.request('project.iterate', { projectId }, { idempotencyKey: `${projectId}-iterate-${n}`, timeoutMs: 90_000 });
  assert.is(res.status, 'completed', `${projectId} iteration ${n}: ${JSON.stringify(res.error)}`);
  const out = res.result as { runId: string; decision: string; reason: string };
  const run = await ctx.env.waitForRun(projectId, out.runId, { timeoutMs: 90_000 });
  return { run, decision: out.decision, reason: out.reason };
}

async function measureLast(ctx: Ctx, projectId: string): Promise<Run[]> {
  const res = await ctx.env.request('prediction.create', { projectId }, { idempotencyKey: `${projectId}-measure`, timeoutMs: 60_000 });
  assert.is(res.status, 'completed', JSON.stringify(res.error));
  return (await ctx.env.project(projectId)).runs;
}

/**
 * Bound on the median |predicted - actual| / actual of the runs that applied a prediction. Measured:
 * `npm run bench -- prediction` (sandbox what-if, 50 seeds) gives a p90 of 33% at the applied
 * configurations (median 13%); one scenario has only one to three applied runs, so the bound is the
 * bench's p90 with a margin for that small sample. A larger error means the engine got worse at
 * configurations it has not seen, which cost going down alone would not show.
 */
const APPLIED_ERROR_BOUND = 0.45;

loop('the loop starts from a careful configuration, predicts the runs it applies within the measured bound, and never ends worse than it started', async (ctx) => {
  const SLA = 900;
  await onboard(ctx, 'steady', { policy: { maxRuntimeSeconds: SLA } });
  const decisions: string[] = [];
  for (let i = 1; i <= 3; i += 1) decisions.push((await iterate(ctx, 'steady', i)).decision);
  assert.is(decisions[0], 'kept', 'the first run uses the project configuration');
  assert.ok(decisions.includes('applied'), `a prediction was applied: ${decisions.join(', ')}`);
  const runs = await measureLast(ctx, 'steady');
  assert.is(runs.length, 3);
  assert.ok(runs.every((r) => r.status === 'recorded'), 'every run recorded');
  const [first, , last] = runs as [Run, Run, Run];
  // Predicted vs actual at every configuration the loop applied (as the demo's error column shows it).
  const applied = runs.filter((r) => r.predictionId);
  assert.ok(applied.length >= 1);
  const errors = applied.map((r) => {
    assert.ok(r.expected && r.observed, `run ${r.id} has expected and observed`);
    // The bench's definition (|estimate - actual| / actual), which the bound below comes from.
    return (r.observed!.runtimeSeconds - r.expected!.runtimeSeconds) / r.observed!.runtimeSeconds;
  });
  const abs = errors.map(Math.abs).sort((a, b) => a - b);
  const median = abs.length % 2 ? abs[abs.length >> 1]! : (abs[abs.length / 2 - 1]! + abs[abs.length / 2]!) / 2;
  assert.ok(median <= APPLIED_ERROR_BOUND, `median prediction error ${(median * 100).toFixed(1)}% over ${abs.length} applied runs (${errors.map((e) => (e * 100).toFixed(1) + '%').join(', ')})`);
  // Never worse than where it started: either the last run is cheaper than the first (as the engine
  // measures both), or a regression was caught and the loop went back to the first configuration.
  const cheaper = last.observed!.costUsd < first.observed!.costUsd;
  const backToStart = decisions.includes('rolled-back') && JSON.stringify(last.cluster) === JSON.stringify(first.cluster);
  assert.ok(cheaper || backToStart, `last run $${last.observed!.costUsd} on ${JSON.stringify(last.cluster)} vs first $${first.observed!.costUsd}; decisions ${decisions.join(', ')}`);
  if (cheaper && !backToStart) assert.ok(last.observed!.runtimeSeconds <= SLA, `last run ${last.observed!.runtimeSeconds} s within the ${SLA} s SLA`);
  // The project keeps predicted vs actual as its error distribution, which the guard rails read.
  const state = await ctx.env.project('steady');
  assert.is(state.accuracy?.length, applied.length, JSON.stringify(state.accuracy));
  for (const r of applied) {
    const s = state.accuracy!.find((x) => x.runId === r.id)!;
    assert.equal([s.predictedSeconds, s.actualSeconds, s.actual], [r.expected!.runtimeSeconds, r.observed!.runtimeSeconds, 'engine']);
  }
});

loop('a run that regresses after applying a prediction is rolled back to the last good configuration', async (ctx) => {
  await onboard(ctx, 'spiky');
  const one = await iterate(ctx, 'spiky', 1);
  const two = await iterate(ctx, 'spiky', 2);
  assert.is(two.decision, 'applied', two.reason);
  assert.ok(two.run.predictionId);
  const three = await iterate(ctx, 'spiky', 3);
  assert.is(three.decision, 'rolled-back', three.reason);
  assert.match(three.reason, /regressed/);
  assert.is(three.run.predictionId, undefined, 'back on the configuration of the first run (the project’s own)');
  assert.equal(three.run.cluster, one.run.cluster);
  const state = await ctx.env.project('spiky');
  assert.ok(state.runs.find((r) => r.id === two.run.id)!.regressed, 'the regressed run is marked');
  assert.match(state.status!.warnings.join('\n'), /regressed/);
});

loop('a changed application fingerprint blocks applying predictions until a run on the new code is recorded', async (ctx) => {
  const code = await onboard(ctx, 'evolving');
  await iterate(ctx, 'evolving', 1);
  writeFileSync(code, '# v2: a new version of the job\n');
  const held = await iterate(ctx, 'evolving', 2);
  assert.is(held.decision, 'held', held.reason);
  assert.match(held.reason, /application changed/);
  assert.is(held.run.predictionId, undefined);
  assert.match((await ctx.env.project('evolving')).status!.warnings.join('\n'), /application changed/);
  // A manual apply of the prediction learnt on the old code is refused too.
  const manual = await ctx.env.request('prediction.apply', { projectId: 'evolving' });
  assert.is(manual.status, 'failed');
  assert.is(manual.error?.code, 'invalid_request');
  assert.match(manual.error!.message, /application changed/);
  // Run 2 ran the new code: from it, predictions apply again and the warning clears.
  const three = await iterate(ctx, 'evolving', 3);
  assert.is(three.decision, 'applied', three.reason);
  assert.equal((await ctx.env.project('evolving')).status!.warnings, []);
});

loop.run();
