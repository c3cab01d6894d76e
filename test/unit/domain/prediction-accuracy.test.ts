import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { accuracyOf, accuracySampleOf, describeAccuracy, withAccuracySample, ACCURACY_WINDOW } from '../../../src/domain/prediction-accuracy.js';
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

test.run();
