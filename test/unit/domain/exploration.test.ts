// Issue 13 part 5: exploration with a risk budget: one trial per policy.exploreEvery runs, only within
// maxTrialCostIncrease (the estimate widened by TRIAL_WIDENING, or the project's error if larger) and
// the SLA; a trial that loses is rolled back, not tried again, and the project explores half as often.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MIN_TRIAL_SAMPLES, TRIAL_WIDENING, chooseTrial, decideIteration, trialSpacing } from '../../../src/domain/tuning-policy.js';
import type { Estimate, Prediction, Project, ProjectState, Run, Solution, TuningPolicy } from '../../../src/domain/types.js';

const FP = 'fp';
const project = (policy: TuningPolicy): Project => ({ id: 'p1', name: 'p1', platform: 'emr', tenantId: 't', createdAt: 'c', updatedAt: 'c', mode: 'auto', policy });
const run = (id: string, extra: Partial<Run> = {}): Run => ({ id, projectId: 'p1', status: 'recorded', location: 'l', createdAt: 'c', requestKey: id, clusterId: `j-${id}`, fingerprint: FP, ...extra });
const est = (runtimeSeconds: number, costUsd: number): Estimate => ({ runtimeSeconds, costUsd });
const sol = (e: Estimate, extra: Partial<Solution> = {}): Solution => ({ configuration: { Instances: {} }, estimate: e, source: 'simulator', explanation: 'x', ...extra });
// Basis 1000 s / $10. Widened x2.35 against an $11 ceiling (budget 10%): economy $4.50 -> $10.58 and
// balanced $4.60 -> $10.81 fit, performance $14 does not.
const pred = (id = 'pn'): Prediction => ({ predictionId: id, projectId: 'p1', basisRunId: 'x', createdAt: 'c', basis: est(1000, 10), solutions: { performance: sol(est(600, 14)), balanced: sol(est(800, 4.6)), economy: sol(est(1100, 4.5)) } });
// Three applied predictions measured exactly: the project's error is known (and zero), so trials may be chosen.
const measured = ['a1', 'a2', 'a3'].map((runId) => ({ runId, predictionId: 'p0', predictedSeconds: 1000, actualSeconds: 1000, error: 0, actual: 'engine' as const }));
const state = (policy: TuningPolicy, runs: Run[], accuracy = measured): ProjectState => ({ project: project(policy), runs, predictions: [], accuracy });
// A saving must be 60% to be compelling here, so the 55% of economy leaves room for a trial.
const strict = (p: TuningPolicy): TuningPolicy => ({ compellingSaving: 0.6, ...p });

test('no exploration without exploreEvery; with it, one trial per N runs, the cheapest within the budget', () => {
  const runs = [run('r1'), run('r2'), run('r3')];
  assert.is(chooseTrial(state({}, runs), pred(), {}), undefined);
  const t = chooseTrial(state({ exploreEvery: 3 }, runs), pred(), { exploreEvery: 3 });
  assert.is(t?.preference, 'economy');
  assert.match(t!.why, /exploration trial \(one per 3 runs, 3 since the last\)/);
  assert.match(t!.why, `widened x${TRIAL_WIDENING.toFixed(2)}`);
  // A recent trial uses the budget up.
  assert.is(chooseTrial(state({ exploreEvery: 3 }, [run('r1'), run('r2', { trial: true }), run('r3')]), pred(), { exploreEvery: 3 }), undefined);
  // Through decideIteration: not compelling, so without exploration it is kept; with it, a trial is applied.
  const kept = decideIteration({ state: state(strict({}), runs), latest: runs[2], prediction: pred(), preference: 'economy', currentFingerprint: FP });
  assert.is(kept.decision, 'kept');
  const tried = decideIteration({ state: state(strict({ exploreEvery: 3 }), runs), latest: runs[2], prediction: pred(), preference: 'economy', currentFingerprint: FP });
  assert.equal([tried.decision, tried.trial, tried.next], ['applied', true, { predictionId: 'pn', preference: 'economy' }]);
});

test('the budget: estimates widened at least TRIAL_WIDENING, or by the project error if larger, over maxTrialCostIncrease or the SLA are never tried', () => {
  const runs = [run('r1'), run('r2')];
  const policy = { exploreEvery: 2 };
  const withEconomy = (costUsd: number): Prediction => ({ ...pred(), solutions: { ...pred().solutions, balanced: sol(est(800, 12)), economy: sol(est(1100, costUsd)) } });
  // $4.70 x 2.35 = $11.05 > $11: nothing; $4.60 x 2.35 = $10.81: tried.
  assert.is(chooseTrial(state(policy, runs), withEconomy(4.7), policy), undefined);
  assert.is(chooseTrial(state(policy, runs), withEconomy(4.6), policy)?.preference, 'economy');
  // A 9.7 estimate (3% cheaper) is far from fitting: the engine's error at configurations not yet run can be 2.3x.
  assert.is(chooseTrial(state(policy, runs), withEconomy(9.7), policy), undefined);
  // Budget 2%: $10.81 does not fit $10.20.
  assert.is(chooseTrial(state(policy, runs), withEconomy(4.6), { ...policy, maxTrialCostIncrease: 0.02 }), undefined);
  // The project's own error, when larger, widens more: x2.4 puts $4.60 at $11.04.
  assert.is(chooseTrial(state(policy, runs), withEconomy(4.6), policy, 2.4), undefined);
  // The SLA, on the widened runtime: economy's 1100 s x 2.35 is over 2000 s, balanced's 800 s is not.
  assert.is(chooseTrial(state(policy, runs), pred(), { ...policy, maxRuntimeSeconds: 2000 })?.preference, 'balanced');
  assert.is(chooseTrial(state(policy, runs), pred(), { ...policy, maxRuntimeSeconds: 1800 }), undefined);
  // The same cluster shape with no Spark setting to change is the configuration in use: not a trial.
  const noop: Prediction = { ...pred(), solutions: { ...pred().solutions, balanced: sol(est(800, 12)), economy: sol(est(1100, 4.5), { sameCluster: true }) } };
  assert.is(chooseTrial(state(policy, runs), noop, policy), undefined);
  const settings: Prediction = { ...noop, solutions: { ...noop.solutions, economy: sol(est(1100, 4.5), { sameCluster: true, settings: [{ key: 'spark.sql.shuffle.partitions', value: '400', evidence: 'e' }] }) } };
  assert.is(chooseTrial(state(policy, runs), settings, policy)?.preference, 'economy');
});

test('no trial before the project has MIN_TRIAL_SAMPLES measured predictions: its error, which widens the estimate, is not known yet', () => {
  const runs = [run('r1'), run('r2'), run('r3')];
  assert.is(chooseTrial(state({ exploreEvery: 3 }, runs, []), pred(), { exploreEvery: 3 }), undefined);
  assert.is(chooseTrial(state({ exploreEvery: 3 }, runs, measured.slice(0, MIN_TRIAL_SAMPLES - 1)), pred(), { exploreEvery: 3 }), undefined);
  assert.is(chooseTrial(state({ exploreEvery: 3 }, runs, measured.slice(0, MIN_TRIAL_SAMPLES)), pred(), { exploreEvery: 3 })?.preference, 'economy');
});

test('a trial that loses is rolled back at once, never tried again, and the project explores half as often', () => {
  const policy = strict({ exploreEvery: 2 });
  const trialRun = run('r3', { trial: true, predictionId: 'pn', preference: 'economy', expected: est(1100, 4.5), baseline: est(1000, 10) });
  const runs = [run('r1'), run('r2'), trialRun];
  const lost = decideIteration({ state: state(policy, runs), latest: trialRun, prediction: { ...pred('p3'), basis: est(1080, 10.4) }, preference: 'economy', currentFingerprint: FP });
  assert.is(lost.decision, 'rolled-back');
  assert.equal(lost.next, { base: true });
  assert.match(lost.regressed!.why, /trial lost: the trial cost \$10\.40 against \$10\.00 before/);
  // Penalised: 4 runs between trials now, not 2, and the same prediction's economy solution is not offered again.
  const after = [...runs.slice(0, 2), { ...trialRun, regressed: lost.regressed!.why }, run('r4'), run('r5')];
  assert.is(trialSpacing(state(policy, after), 2), 4);
  assert.is(chooseTrial(state(policy, after), pred('p9'), policy), undefined, 'two runs after a lost trial is too soon');
  const later = [...after, run('r6'), run('r7')];
  assert.is(chooseTrial(state(policy, later), pred('p9'), policy)?.preference, 'economy', 'a new prediction may be tried four runs later');
  assert.is(chooseTrial(state(policy, later), pred('pn'), policy)?.preference, 'balanced', 'the lost solution is not offered again');
  // A trial that won (cheaper) is not rolled back.
  const won = decideIteration({ state: state(policy, runs), latest: trialRun, prediction: { ...pred('p3'), basis: est(1050, 9.6) }, preference: 'economy', currentFingerprint: FP });
  assert.is.not(won.decision, 'rolled-back');
});

test('the exploration summary: trials, what lost trials cost and what won trials save, in words', async () => {
  const { explorationSummary, describeExploration } = await import('../../../src/domain/tuning-policy.js');
  assert.match(describeExploration(explorationSummary(state({}, [run('r1')]))), /^off \(set policy\.exploreEvery/);
  const none = explorationSummary(state({ exploreEvery: 3 }, [run('r1')]));
  assert.equal([none.trials, none.spacing], [0, 3]);
  assert.match(describeExploration(none), /one trial per 3 runs, budget \+10% per trial; no trial yet/);
  const runs = [
    run('r1'),
    run('r2', { trial: true, predictionId: 'a', preference: 'economy', baseline: est(1000, 10), observed: est(1100, 10.4), regressed: 'trial lost' }),
    run('r3'),
    run('r4', { trial: true, predictionId: 'b', preference: 'economy', baseline: est(1000, 10), observed: est(900, 9.1) }),
    run('r5', { trial: true }),
  ];
  const x = explorationSummary(state({ exploreEvery: 3, maxTrialCostIncrease: 0.05 }, runs));
  assert.equal([x.trials, x.lost, x.won, x.spacing, x.budget], [3, 1, 1, 6, 0.05]);
  assert.ok(Math.abs(x.spentUsd - 0.4) < 1e-9 && Math.abs(x.boughtUsdPerRun - 0.9) < 1e-9);
  assert.is(
    describeExploration(x),
    'one trial per 6 runs (exploreEvery 3, doubled per lost trial), budget +5% per trial; 3 trials (1 not measured yet): 1 lost and rolled back, costing $0.40 above the runs they replaced; 1 won, saving $0.90 a run',
  );
});
test.run();
