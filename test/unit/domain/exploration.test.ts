// Issue 13 part 5: exploration with a risk budget: one trial per policy.exploreEvery runs, only within
// maxTrialCostIncrease (widened by the project's error) and the SLA; a trial that loses is rolled back and not tried again.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MIN_TRIAL_SAMPLES, chooseTrial, decideIteration } from '../../../src/domain/tuning-policy.js';
import type { Estimate, Prediction, Project, ProjectState, Run, TuningPolicy } from '../../../src/domain/types.js';

const FP = 'fp';
const project = (policy: TuningPolicy): Project => ({ id: 'p1', name: 'p1', platform: 'emr', tenantId: 't', createdAt: 'c', updatedAt: 'c', mode: 'auto', policy });
const run = (id: string, extra: Partial<Run> = {}): Run => ({ id, projectId: 'p1', status: 'recorded', location: 'l', createdAt: 'c', requestKey: id, clusterId: `j-${id}`, fingerprint: FP, ...extra });
const est = (runtimeSeconds: number, costUsd: number): Estimate => ({ runtimeSeconds, costUsd });
const sol = (e: Estimate) => ({ configuration: { Instances: {} }, estimate: e, source: 'simulator' as const, explanation: 'x' });
// Basis 1000 s / $10. Nothing saves 10%: economy $9.7 (3% cheaper), balanced $10.8 (+8%), performance $14 (+40%).
const pred = (id = 'pn'): Prediction => ({ predictionId: id, projectId: 'p1', basisRunId: 'x', createdAt: 'c', basis: est(1000, 10), solutions: { performance: sol(est(600, 14)), balanced: sol(est(800, 10.8)), economy: sol(est(1100, 9.7)) } });
// Three applied predictions measured exactly: the project's error is known (and zero), so trials may be chosen.
const measured = ['a1', 'a2', 'a3'].map((runId) => ({ runId, predictionId: 'p0', predictedSeconds: 1000, actualSeconds: 1000, error: 0, actual: 'engine' as const }));
const state = (policy: TuningPolicy, runs: Run[], accuracy = measured): ProjectState => ({ project: project(policy), runs, predictions: [], accuracy });

test('no exploration without exploreEvery; with it, one trial per N runs, the cheapest within the budget', () => {
  const runs = [run('r1'), run('r2'), run('r3')];
  assert.is(chooseTrial(state({}, runs), pred(), {}), undefined);
  const t = chooseTrial(state({ exploreEvery: 3 }, runs), pred(), { exploreEvery: 3 });
  assert.is(t?.preference, 'economy');
  assert.match(t!.why, /exploration trial \(one per 3 runs, 3 since the last\)/);
  // A recent trial uses the budget up.
  assert.is(chooseTrial(state({ exploreEvery: 3 }, [run('r1'), run('r2', { trial: true }), run('r3')]), pred(), { exploreEvery: 3 }), undefined);
  // Through decideIteration: not compelling, so without exploration it is kept; with it, a trial is applied.
  const kept = decideIteration({ state: state({}, runs), latest: runs[2], prediction: pred(), preference: 'economy', currentFingerprint: FP });
  assert.is(kept.decision, 'kept');
  const tried = decideIteration({ state: state({ exploreEvery: 3 }, runs), latest: runs[2], prediction: pred(), preference: 'economy', currentFingerprint: FP });
  assert.equal([tried.decision, tried.trial, tried.next], ['applied', true, { predictionId: 'pn', preference: 'economy' }]);
});

test('the budget: widened estimates over maxTrialCostIncrease or over the SLA are never tried', () => {
  const runs = [run('r1'), run('r2')];
  const p: Prediction = { ...pred(), solutions: { performance: sol(est(600, 14)), balanced: sol(est(800, 10.8)), economy: sol(est(1300, 10.5)) } };
  // Budget 10%: economy $10.5 and balanced $10.8 fit, performance $14 does not; the cheapest is tried.
  assert.is(chooseTrial(state({ exploreEvery: 2 }, runs), p, { exploreEvery: 2 })?.preference, 'economy');
  // Budget 2%: none fits.
  assert.is(chooseTrial(state({ exploreEvery: 2 }, runs), p, { exploreEvery: 2, maxTrialCostIncrease: 0.02 }), undefined);
  // The SLA leaves only balanced (800 s); widened by the project's error x1.2 it costs $12.96 > $11: none.
  assert.is(chooseTrial(state({ exploreEvery: 2 }, runs), p, { exploreEvery: 2, maxRuntimeSeconds: 1000 })?.preference, 'balanced');
  assert.is(chooseTrial(state({ exploreEvery: 2 }, runs), p, { exploreEvery: 2, maxRuntimeSeconds: 1000 }, 1.2), undefined);
});

test('no trial before the project has MIN_TRIAL_SAMPLES measured predictions: its error, which widens the estimate, is not known yet', () => {
  const runs = [run('r1'), run('r2'), run('r3')];
  assert.is(chooseTrial(state({ exploreEvery: 3 }, runs, []), pred(), { exploreEvery: 3 }), undefined);
  assert.is(chooseTrial(state({ exploreEvery: 3 }, runs, measured.slice(0, MIN_TRIAL_SAMPLES - 1)), pred(), { exploreEvery: 3 }), undefined);
  assert.is(chooseTrial(state({ exploreEvery: 3 }, runs, measured.slice(0, MIN_TRIAL_SAMPLES)), pred(), { exploreEvery: 3 })?.preference, 'economy');
});

test('a trial that loses is rolled back at once and never tried again', () => {
  const policy = { exploreEvery: 2 };
  const trialRun = run('r3', { trial: true, predictionId: 'pn', preference: 'economy', expected: est(1100, 9.7), baseline: est(1000, 10) });
  const runs = [run('r1'), run('r2'), trialRun];
  const lost = decideIteration({ state: state(policy, runs), latest: trialRun, prediction: { ...pred('p3'), basis: est(1080, 10.4) }, preference: 'economy', currentFingerprint: FP });
  assert.is(lost.decision, 'rolled-back');
  assert.equal(lost.next, { base: true });
  assert.match(lost.regressed!.why, /trial lost: the trial cost \$10\.40 against \$10\.00 before/);
  // Penalised: the same prediction's economy solution is not offered again.
  const after = [...runs.slice(0, 2), { ...trialRun, regressed: lost.regressed!.why }, run('r4'), run('r5')];
  const again = chooseTrial(state(policy, after), pred('pn'), policy);
  assert.is.not(again?.preference, 'economy');
  // A trial that won (cheaper) is not rolled back.
  const won = decideIteration({ state: state(policy, runs), latest: trialRun, prediction: { ...pred('p3'), basis: est(1050, 9.6) }, preference: 'economy', currentFingerprint: FP });
  assert.is.not(won.decision, 'rolled-back');
});

test.run();
