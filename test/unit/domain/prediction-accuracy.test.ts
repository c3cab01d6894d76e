import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { accuracyOf, accuracySampleOf, ageWeight, describeAccuracy, withAccuracySample, ACCURACY_WINDOW, ERROR_HALF_LIFE_RUNS } from '../../../src/domain/prediction-accuracy.js';
import { chooseSolution, decideIteration } from '../../../src/domain/tuning-policy.js';
import type { Estimate, Prediction, Project, ProjectState, Run } from '../../../src/domain/types.js';

const FP = 'sha256:current';
const project = (extra: Partial<Project> = {}): Project => ({ id: 'p1', name: 'p1', platform: 'emr', tenantId: 't', createdAt: 'c', updatedAt: 'c', mode: 'auto', ...extra });
const run = (id: string, extra: Partial<Run> = {}): Run => ({ id, projectId: 'p1', status: 'recorded', location: `file:///r/${id}/`, createdAt: 'c', requestKey: id, clusterId: `j-${id}`, fingerprint: FP, ...extra });
const est = (runtimeSeconds: number, costUsd: number): Estimate => ({ runtimeSeconds, costUsd });
const sol = (e: Estimate) => ({ configuration: { Instances: {} }, estimate: e, source: 'simulator' as const, explanation: 'because' });
const prediction = (basis: Estimate, p: Estimate, b: Estimate, e: Estimate): Prediction => ({
  predictionId: 'pred-new',
  projectId: 'p1',
  basisRunId: 'x',
  createdAt: 'c',
  basis,
  solutions: { performance: sol(p), balanced: sol(b), economy: sol(e) },
});
/** A run that applied a prediction promising `predicted` s and was measured at `actual` s. */
const applied = (id: string, predicted: number, actual: number): Run => run(id, { predictionId: `p-${id}`, preference: 'economy', expected: est(predicted, 1), observed: est(actual, 1) });

test('a sample needs a prediction applied, an estimate and an actual; the engine measurement wins over the wall clock', () => {
  assert.is(accuracySampleOf(run('r1', { runtimeSeconds: 100 })), undefined);
  assert.is(accuracySampleOf(run('r1', { predictionId: 'p', expected: est(100, 1) })), undefined);
  assert.is(accuracySampleOf(run('r1', { status: 'failed', predictionId: 'p', expected: est(100, 1), runtimeSeconds: 50 })), undefined);
  const wall = accuracySampleOf(run('r1', { predictionId: 'p', expected: est(100, 1), runtimeSeconds: 130 }))!;
  assert.equal([wall.actual, wall.error], ['recorded', 0.3]);
  const engine = accuracySampleOf(run('r1', { predictionId: 'p', expected: est(100, 1), runtimeSeconds: 130, observed: est(90, 1) }))!;
  assert.equal([engine.actual, Math.round(engine.error * 100)], ['engine', -10]);
});

test('no sample: confidence unknown, no widening, no extra margin', () => {
  const a = accuracyOf({ runs: [run('r1')] });
  assert.equal([a.confidence, a.runtimeWidening, a.extraMargin], ['unknown', 1, 0]);
  assert.match(describeAccuracy(a), /confidence unknown/);
});

test('median, p90 and confidence over the last 20; overruns widen, underruns do not', () => {
  const good = accuracyOf({ runs: [applied('a', 100, 103), applied('b', 100, 95), applied('c', 100, 108)] });
  assert.is(good.confidence, 'high');
  assert.ok(Math.abs(good.medianAbsError! - 0.05) < 1e-9);
  assert.ok(Math.abs(good.runtimeWidening - 1.08) < 1e-9);
  const fast = accuracyOf({ runs: [applied('a', 100, 50), applied('b', 100, 60)] });
  assert.is(fast.runtimeWidening, 1, 'runs faster than estimated do not threaten the SLA');
  assert.is(fast.confidence, 'low');
  // 25 runs: the first 5 (40% overruns) fall out of the window of 20.
  const runs = [...Array.from({ length: 5 }, (_, i) => applied(`old${i}`, 100, 140)), ...Array.from({ length: 20 }, (_, i) => applied(`new${i}`, 100, 102))];
  const a = accuracyOf({ runs });
  assert.is(a.samples.length, ACCURACY_WINDOW);
  assert.ok(a.samples.every((s) => s.runId.startsWith('new')));
  assert.ok(Math.abs(a.p90AbsError! - 0.02) < 1e-9);
});

test('the persisted window survives runs leaving the document and keeps the last 20', () => {
  let window: ReturnType<typeof withAccuracySample>;
  for (let i = 0; i < 25; i++) window = withAccuracySample(window, applied(`r${i}`, 100, 130));
  assert.is(window!.length, ACCURACY_WINDOW);
  assert.is(window![0]!.runId, 'r5');
  const a = accuracyOf({ runs: [], accuracy: window! });
  assert.ok(Math.abs(a.runtimeWidening - 1.3) < 1e-9);
  assert.is(withAccuracySample(undefined, run('x')), undefined);
});

test('chooseSolution widens estimates before the SLA check', () => {
  const pred = prediction(est(1000, 10), est(600, 14), est(800, 8), est(1300, 6));
  assert.is(chooseSolution(pred, 'balanced', { maxRuntimeSeconds: 900 })!.preference, 'balanced');
  // 800 s x 1.2 = 960 s > 900 s: only performance (600 x 1.2 = 720 s) fits.
  assert.is(chooseSolution(pred, 'balanced', { maxRuntimeSeconds: 900 }, 1.2)!.preference, 'performance');
  assert.is(chooseSolution(pred, 'balanced', { maxRuntimeSeconds: 700 }, 1.2), undefined);
});

const state = (runs: Run[], proj = project()): ProjectState => ({ project: proj, runs, predictions: [] });

test('guard rail: a solution whose estimate, widened by the observed error, could break the SLA is not applied', () => {
  // Economy: 1300 s, $6 against an SLA of 1400 s. Accurate history: applied.
  const pred = prediction(est(1000, 10), est(600, 14), est(1100, 9.5), est(1300, 6));
  const proj = project({ policy: { maxRuntimeSeconds: 1400 } });
  const accurate = [applied('r1', 1000, 1010), applied('r2', 1000, 1020), run('r3', { predictionId: 'p-r3', preference: 'economy', expected: est(1000, 10), observed: est(1000, 10) })];
  const ok = decideIteration({ state: state(accurate, proj), latest: accurate[2], prediction: pred, preference: 'economy', currentFingerprint: FP });
  assert.is(ok.decision, 'applied', ok.reason);
  assert.equal(ok.next, { predictionId: 'pred-new', preference: 'economy' });
  // The same prediction for a project whose runs overran their estimates by 20%: 1300 x 1.2 > 1400 s.
  const missed = [applied('r1', 1000, 1200), applied('r2', 1000, 1250), run('r3', { predictionId: 'p-r3', preference: 'economy', expected: est(1000, 10), observed: est(1000, 10) })];
  const d = decideIteration({ state: state(missed, proj), latest: missed[2], prediction: pred, preference: 'economy', currentFingerprint: FP });
  assert.ok(!(d.decision === 'applied' && 'preference' in d.next && d.next.preference === 'economy'), d.reason);
  // Balanced (1100 s x 1.25 > 1400 s) cannot replace it either; performance (600 s) saves no cost: kept.
  assert.is(d.decision, 'kept', d.reason);
  assert.match(d.reason, /widened/);
});

test('guard rail: a project whose predictions miss needs a bigger saving (margin widened by its median error)', () => {
  // Economy saves 15% cost: over the default 10% threshold, under 10% + a 20% median error.
  const pred = prediction(est(1000, 10), est(600, 14), est(900, 9.5), est(1100, 8.5));
  const accurate = [applied('r1', 1000, 1000), run('r2')];
  assert.is(decideIteration({ state: state(accurate), latest: accurate[1], prediction: pred, preference: 'economy', currentFingerprint: FP }).decision, 'applied');
  const missed = [applied('r1', 1000, 800), applied('r2', 1000, 1200), run('r3')];
  const d = decideIteration({ state: state(missed), latest: missed[2], prediction: pred, preference: 'economy', currentFingerprint: FP });
  assert.is(d.decision, 'kept');
  assert.match(d.reason, /median prediction error 20%/);
});

test('misses rolled back age: full weight for the run after, then halved per ERROR_HALF_LIFE_RUNS runs recorded since; unknown age does not age', () => {
  assert.is(ERROR_HALF_LIFE_RUNS, 1);
  assert.equal([0, 1, 2, 3].map((a) => ageWeight(a, 1)), [1, 1, 0.5, 0.25]);
  assert.is(ageWeight(3, 2), 0.5);
  assert.is(ageWeight(undefined, 1), 1, 'a sample whose run left the document keeps its weight');
  // One miss of +54% (rolled back), then runs on the project's own configuration: no new sample.
  const miss = run('r2', { predictionId: 'p1', preference: 'economy', expected: est(363, 1), observed: est(559, 1), regressed: 'over the SLA' });
  const after = (n: number) => accuracyOf({ runs: [run('r1'), miss, ...Array.from({ length: n }, (_, i) => run(`b${i}`))] });
  const w = [0, 1, 2, 3].map((n) => after(n).runtimeWidening);
  assert.ok(Math.abs(w[0]! - 1.54) < 0.01 && Math.abs(w[1]! - 1.54) < 0.01, `full weight up to the run after: ${w}`);
  assert.ok(Math.abs(w[2]! - 1.27) < 0.01 && Math.abs(w[3]! - 1.135) < 0.01, `then halved per run: ${w}`);
  assert.ok(Math.abs(after(3).extraMargin - 0.135) < 0.01, 'the margin ages the same way');
  // The track record itself is not aged: the median error, p90 and confidence are what was measured.
  assert.ok(Math.abs(after(3).medianAbsError! - 0.54) < 0.01);
  assert.is(after(3).confidence, 'low');
  assert.equal(after(1).unaged, undefined);
  assert.ok(Math.abs(after(3).unaged!.runtimeWidening - 1.54) < 0.01);
  assert.match(describeAccuracy(after(3)), /misses rolled back count less, halved every 1 run recorded since: x1\.54 and \+54% at full weight/);
  // Failed runs are not recorded runs: they do not age a sample.
  assert.ok(Math.abs(accuracyOf({ runs: [miss, run('f1', { status: 'failed' }), run('f2', { status: 'failed' })] }).runtimeWidening - 1.54) < 0.01);
});

test('an error measured on a run that stayed in use does not age', () => {
  const kept = run('r1', { predictionId: 'p1', preference: 'economy', expected: est(100, 1), observed: est(150, 1) });
  const a = accuracyOf({ runs: [kept, run('b1'), run('b2'), run('b3'), run('b4')] });
  assert.ok(Math.abs(a.runtimeWidening - 1.5) < 1e-9, String(a.runtimeWidening));
  assert.ok(Math.abs(a.extraMargin - 0.5) < 1e-9);
  assert.equal(a.unaged, undefined);
});

test('every rollback after the first among the samples doubles the half-life: a project that keeps missing relaxes more slowly', () => {
  const miss = (id: string) => run(id, { predictionId: `p-${id}`, preference: 'economy', expected: est(100, 1), observed: est(150, 1), regressed: 'over the SLA' });
  const once = accuracyOf({ runs: [miss('m1'), run('b1'), run('b2'), run('b3')] });
  assert.is(once.halfLifeRuns, 1);
  assert.ok(Math.abs(once.runtimeWidening - 1.125) < 1e-9, '50% halved twice');
  const twice = accuracyOf({ runs: [miss('m1'), run('b1'), miss('m2'), run('b2'), run('b3')] });
  assert.is(twice.halfLifeRuns, 2);
  // m2 has 2 recorded runs after it (b2, b3): weight 0.5^(1/2); m1 has 4 (b1, m2, b2, b3): 0.5^(3/2).
  assert.ok(Math.abs(twice.runtimeWidening - (1 + 0.5 * 0.5 ** 0.5)) < 1e-9, String(twice.runtimeWidening));
});

test('a project held on its configuration by one miss is released as the miss ages, and the aged widening still keeps the SLA', () => {
  // Economy: 394 s, $0.18 against an SLA of 409 s, from a run of 314 s, $0.31. One miss of +54% (rolled back to the project's configuration).
  const pred = prediction(est(314, 0.31), est(200, 0.5), est(300, 0.3), est(394, 0.18));
  const proj = project({ policy: { maxRuntimeSeconds: 409 } });
  const miss = run('r2', { predictionId: 'p1', preference: 'economy', expected: est(363, 0.18), observed: est(559, 0.21), regressed: 'over the SLA' });
  const decide = (n: number) => {
    const runs = [run('r1'), miss, ...Array.from({ length: n }, (_, i) => run(`b${i}`))];
    return decideIteration({ state: state(runs, proj), latest: runs[runs.length - 1], prediction: pred, preference: 'economy', currentFingerprint: FP });
  };
  // 1 run after the miss: x1.54 (394 x 1.54 > 409); 2 runs: x1.27; 3 runs: x1.135 (447 s) still over; 4 runs: x1.07 (420 s) over; 5 runs: x1.03 (407 s) within.
  for (const n of [1, 2, 3, 4]) {
    const d = decide(n);
    assert.ok(!('preference' in d.next && d.next.preference === 'economy'), d.reason);
  }
  const released = decide(5);
  assert.is(released.decision, 'applied', released.reason);
  assert.equal(released.next, { predictionId: 'pred-new', preference: 'economy' });
  assert.match(released.reason, /misses rolled back count less/);
});

test.run();
