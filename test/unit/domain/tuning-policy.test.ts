import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decideIteration, regressionOf, chooseSolution, savingOf, type IterationInput } from '../../../src/domain/tuning-policy.js';
import type { Estimate, Prediction, Project, ProjectState, Run } from '../../../src/domain/types.js';

const FP = 'sha256:current';
const project = (extra: Partial<Project> = {}): Project => ({ id: 'p1', name: 'p1', platform: 'emr', tenantId: 't', createdAt: 'c', updatedAt: 'c', mode: 'auto', ...extra });
const run = (id: string, extra: Partial<Run> = {}): Run => ({ id, projectId: 'p1', status: 'recorded', location: `file:///r/${id}/`, createdAt: 'c', requestKey: id, clusterId: `j-${id}`, fingerprint: FP, ...extra });
const est = (runtimeSeconds: number, costUsd: number): Estimate => ({ runtimeSeconds, costUsd });
const sol = (e: Estimate) => ({ configuration: { Instances: {} }, estimate: e, source: 'simulator' as const, explanation: 'because' });
const prediction = (basis: Estimate, p: Estimate, b: Estimate, e: Estimate, id = 'pred-new'): Prediction => ({
  predictionId: id,
  projectId: 'p1',
  basisRunId: 'x',
  createdAt: 'c',
  basis,
  solutions: { performance: sol(p), balanced: sol(b), economy: sol(e) },
});
const input = (runs: Run[], pred: Prediction | undefined, extra: Partial<IterationInput> = {}, proj = project()): IterationInput => {
  const state: ProjectState = { project: proj, runs, predictions: [] };
  return { state, latest: runs[runs.length - 1], prediction: pred, preference: 'economy', currentFingerprint: FP, ...extra };
};
// Basis 1000 s / $10; performance 600 s / $14; balanced 800 s / $8; economy 1300 s / $6.
const good = prediction(est(1000, 10), est(600, 14), est(800, 8), est(1300, 6));

test('first iteration: the project configuration', () => {
  const d = decideIteration(input([], undefined));
  assert.is(d.decision, 'kept');
  assert.equal(d.next, { base: true });
});

test('auto mode applies a compelling prediction (economy saves 40% cost)', () => {
  const d = decideIteration(input([run('r1')], good));
  assert.is(d.decision, 'applied');
  assert.equal(d.next, { predictionId: 'pred-new', preference: 'economy' });
  assert.is(d.compelling, true);
  assert.ok(Math.abs(d.saving! - 0.4) < 1e-9);
});

test('recommend mode marks it compelling but keeps the configuration; track only records', () => {
  const rec = decideIteration(input([run('r1', { predictionId: 'old', preference: 'balanced' })], good, {}, project({ mode: 'recommend' })));
  assert.is(rec.decision, 'kept');
  assert.is(rec.compelling, true);
  assert.equal(rec.next, { predictionId: 'old', preference: 'balanced' }, 'the configuration in use is kept');
  const track = decideIteration(input([run('r1')], good, {}, project({ mode: 'track' })));
  assert.is(track.decision, 'kept');
  assert.match(track.reason, /track/);
});

test('a saving under the threshold is not applied', () => {
  const small = prediction(est(1000, 10), est(900, 10.5), est(980, 9.6), est(1100, 9.5));
  const d = decideIteration(input([run('r1')], small));
  assert.is(d.decision, 'kept');
  assert.is(d.compelling, false);
});

test('never on top of a failure: a failed run that applied a prediction rolls back to the last good run', () => {
  const runs = [run('r1'), run('r2', { predictionId: 'p-a', preference: 'economy' }), run('r3', { status: 'failed', predictionId: 'p-b', preference: 'economy', error: { code: 'STEP_FAILURE', message: 'OOM' } })];
  const d = decideIteration(input(runs, undefined));
  assert.is(d.decision, 'rolled-back');
  assert.equal(d.next, { predictionId: 'p-a', preference: 'economy' });
  assert.equal(d.regressed?.runId, 'r3');
  assert.match(d.reason, /OOM/);
  assert.ok(d.warning);
});

test('a failed run on the project configuration holds: no prediction applied', () => {
  const d = decideIteration(input([run('r1'), run('r2', { status: 'failed' })], good));
  assert.is(d.decision, 'held');
  assert.equal(d.next, { base: true });
});

test('a run that regressed beyond the tolerance (runtime or cost) is rolled back, skipping earlier regressions', () => {
  const runs = [run('r1'), run('r2', { predictionId: 'p-a', preference: 'economy', regressed: 'earlier' }), run('r3', { predictionId: 'p-b', preference: 'balanced', expected: est(1300, 6), baseline: est(1000, 10) })];
  const slow = prediction(est(1700, 7), est(600, 14), est(800, 8), est(1300, 6));
  // Economy accepts a slower run (up to x1.5 the run before, plus the tolerance) when it is cheaper: 1700 s for $7 against 1000 s for $10 is what it asked for.
  const economyRuns = runs.map((r) => (r.id === 'r3' ? { ...r, preference: 'economy' as const } : r));
  assert.is.not(decideIteration(input(economyRuns, slow)).decision, 'rolled-back');
  const d = decideIteration(input(runs, slow));
  assert.is(d.decision, 'rolled-back');
  assert.equal(d.next, { base: true }, 'r2 was a regression; r1 ran on the project configuration');
  assert.match(d.reason, /1700 s against 1300 s estimated and 1000 s before/);
  const pricey = prediction(est(1300, 13), est(600, 14), est(800, 8), est(1300, 6));
  assert.is(decideIteration(input(runs, pricey)).decision, 'rolled-back', '$13 is over both $6 estimated and $10 before');
  const missedButBetter = prediction(est(1300, 9), est(600, 14), est(800, 8), est(1300, 6));
  assert.is.not(decideIteration(input(runs, missedButBetter)).decision, 'rolled-back', '$9 misses the $6 estimate but is still cheaper than the $10 before');
  const within = prediction(est(1500, 7), est(600, 14), est(800, 8), est(1300, 6));
  assert.is.not(decideIteration(input(runs, within)).decision, 'rolled-back', '1500 s is within 25% of 1300 s');
});

test('the SLA: a solution over the ceiling is replaced by the cheapest within it, and a run over it is a regression', () => {
  const d = decideIteration(input([run('r1')], good, {}, project({ policy: { maxRuntimeSeconds: 900 } })));
  assert.is(d.decision, 'applied');
  assert.equal(d.next, { predictionId: 'pred-new', preference: 'balanced' }, 'economy (1300 s) is over 900 s; balanced is the cheapest within');
  const none = decideIteration(input([run('r1')], good, {}, project({ policy: { maxRuntimeSeconds: 500 } })));
  assert.is(none.decision, 'kept');
  assert.match(none.reason, /500 s runtime ceiling/);
  assert.match(regressionOf(est(800, 8), est(950, 8), { maxRuntimeSeconds: 900 })!, /runtime ceiling/);
  assert.is(regressionOf(est(115, 0.85), est(145, 0.86), {}, est(150, 1.56)), undefined, 'faster and cheaper than before, though slower than estimated');
});

test('a solution chosen for the SLA in place of the preference\'s is judged on the preference\'s axis: an economy project does not pay more for a faster run', () => {
  // SLA 700 s: only performance (600 s, $14) fits. The run before took 650 s for $10: performance saves runtime but adds 40% cost.
  const within = prediction(est(650, 10), est(600, 14), est(800, 8), est(1300, 6));
  const proj = project({ policy: { maxRuntimeSeconds: 700 } });
  const d = decideIteration(input([run('r1')], within, {}, proj));
  assert.is(d.decision, 'kept', d.reason);
  assert.ok(Math.abs(d.saving! + 0.4) < 1e-9);
  assert.match(d.reason, /performance solution of prediction pred-new adds 40% cost/);
  // The run before broke the SLA (1000 s > 700 s): the faster, dearer solution that fits it is applied.
  const over = decideIteration(input([run('r1')], good, {}, proj));
  assert.is(over.decision, 'applied', over.reason);
  assert.equal(over.next, { predictionId: 'pred-new', preference: 'performance' });
  assert.match(over.reason, /saves 40% runtime/);
});

test('economy trades runtime for cost: slower than before within x1.5 (plus the tolerance) and the SLA is not a regression; beyond it, or over the SLA, it is', () => {
  // Promised 635 s / $0.41 from 644 s / $1.14 before; ran 818 s (+27% on both) for $0.45.
  assert.match(regressionOf(est(635, 0.41), est(818, 0.45), {}, est(644, 1.14))!, /it ran 818 s against 635 s estimated and 644 s before/, 'balanced or performance: a regression');
  assert.is(regressionOf(est(635, 0.41), est(818, 0.45), {}, est(644, 1.14), undefined, 'economy'), undefined, 'economy: cheaper, and slower by less than it accepts');
  assert.match(regressionOf(est(635, 0.41), est(818, 0.45), { maxRuntimeSeconds: 800 }, est(644, 1.14), undefined, 'economy')!, /over the 800 s runtime ceiling/);
  // 1300 s is over 644 s x 1.5 x 1.25 = 1208 s and over 635 s x 1.25.
  assert.match(regressionOf(est(635, 0.41), est(1300, 0.45), {}, est(644, 1.14), undefined, 'economy')!, /it ran 1300 s .* 644 s before \(economy accepts up to x1\.5 the runtime before\)/);
  // The cost clause is the same for every preference.
  assert.match(regressionOf(est(635, 0.41), est(700, 1.6), {}, est(644, 1.14), undefined, 'economy')!, /it cost \$1\.60 against \$0\.41 estimated and \$1\.14 before/);
});

test('a code change holds the configuration and warns until a run on the new code is recorded', () => {
  const d = decideIteration(input([run('r1', { fingerprint: 'sha256:old' })], good));
  assert.is(d.decision, 'held');
  assert.match(d.warning!, /application changed/);
  const after = decideIteration(input([run('r1', { fingerprint: 'sha256:old' }), run('r2')], good));
  assert.is(after.decision, 'applied');
  assert.is(after.warning, undefined);
});

test('an unknown fingerprint (code unreadable now or when a run started) neither trips the code-change guard nor clears it', () => {
  // Unreadable now, no hold standing: not a change.
  const unknownNow = decideIteration(input([run('r1')], good, { currentFingerprint: undefined }));
  assert.is(unknownNow.decision, 'applied', unknownNow.reason);
  assert.is(unknownNow.warning, undefined);
  // A hold standing from an earlier iteration stays while the code cannot be read.
  const held = decideIteration(input([run('r1', { fingerprint: 'sha256:old' })], good));
  const standing: ProjectState = { project: project(), runs: [run('r1', { fingerprint: 'sha256:old' })], predictions: [], status: { warnings: [held.warning!], iterations: [] } };
  const stays = decideIteration({ ...input(standing.runs, good, { currentFingerprint: undefined }), state: standing });
  assert.is(stays.decision, 'held');
  assert.is(stays.warning, held.warning);
  // A run whose fingerprint is unknown does not count as "a run on the new code": the hold stays.
  const { fingerprint: _known, ...r2 } = run('r2', { fingerprintWarning: 'the application fingerprint is unknown' });
  const notCleared = decideIteration(input([run('r1', { fingerprint: 'sha256:old' }), r2], good));
  assert.is(notCleared.decision, 'held');
  assert.match(notCleared.reason, /since run r1/);
});

test('savingOf and chooseSolution', () => {
  assert.ok(Math.abs(savingOf('performance', good.solutions.performance, good.basis) - 0.4) < 1e-9);
  assert.ok(Math.abs(savingOf('balanced', good.solutions.balanced, good.basis) - 0.2) < 1e-9);
  assert.is(chooseSolution(good, 'performance', {})?.preference, 'performance');
});

test.run();
