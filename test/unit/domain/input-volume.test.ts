// Issue 13 part 3: input volume. A month-end run twice the size is not a regression; the same input
// running long still is; the configuration learnt for a volume band or label is found again.
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadApplicationModel } from '../../../src/adapters/eventlog-source.js';
import { allStageStats } from '../../../src/domain/eventlog/stage-stats.js';
import { describeBand, inputElasticity, inputFactor, inputOf, runForVolume, volumeBand, volumeRuns } from '../../../src/domain/input-volume.js';
import { decideIteration } from '../../../src/domain/tuning-policy.js';
import type { Estimate, Prediction, Project, ProjectState, Run } from '../../../src/domain/types.js';
import { validateRequest } from '../../../src/queues/validate-request.js';
import { thrownSyncError as errorOf } from '../../support/async.js';

const GiB = 1024 ** 3;
const FP = 'sha256:current';
const project: Project = { id: 'p1', name: 'p1', platform: 'emr', tenantId: 't', createdAt: 'c', updatedAt: 'c', mode: 'auto' };
const run = (id: string, extra: Partial<Run> = {}): Run => ({ id, projectId: 'p1', status: 'recorded', location: `file:///r/${id}/`, createdAt: 'c', requestKey: id, clusterId: `j-${id}`, fingerprint: FP, ...extra });
const est = (runtimeSeconds: number, costUsd: number): Estimate => ({ runtimeSeconds, costUsd });
const sol = (e: Estimate) => ({ configuration: { Instances: {} }, estimate: e, source: 'simulator' as const, explanation: 'because' });
/** The prediction made from the latest run: its basis is that run as measured. */
const measured = (basis: Estimate): Prediction => ({ predictionId: 'pred-next', projectId: 'p1', basisRunId: 'r2', createdAt: 'c', basis, solutions: { performance: sol(basis), balanced: sol(basis), economy: sol(basis) } });

/** r1 (the basis of pred-a, 100 s / $1 on `basisBytes`) then r2 applying pred-a (promised 100 s / $1), which took `observed` on `runBytes`. */
function iterate(basisBytes: number | undefined, runBytes: number | undefined, observed: Estimate) {
  const r1 = run('r1', basisBytes !== undefined ? { inputBytes: basisBytes } : {});
  const r2 = run('r2', { predictionId: 'pred-a', preference: 'economy', expected: est(100, 1), baseline: est(100, 1), ...(runBytes !== undefined ? { inputBytes: runBytes } : {}) });
  const state: ProjectState = { project, runs: [r1, r2], predictions: [{ id: 'pred-a', url: 'u', basisRunId: 'r1', createdAt: 'c' }] };
  return decideIteration({ state, latest: r2, prediction: measured(observed), preference: 'economy', currentFingerprint: FP });
}

test('a month-end run twice the size is not a regression; without the input it was judged one (the old behaviour)', () => {
  const monthEnd = iterate(10 * GiB, 20 * GiB, est(190, 1.9));
  assert.is.not(monthEnd.decision, 'rolled-back', monthEnd.reason);
  const blind = iterate(undefined, undefined, est(190, 1.9));
  assert.is(blind.decision, 'rolled-back');
  // The same input running 90% longer is still a regression, and the reason says per unit of input when scaled.
  assert.is(iterate(10 * GiB, 10 * GiB, est(190, 1.9)).decision, 'rolled-back');
  const tooSlow = iterate(10 * GiB, 20 * GiB, est(400, 4));
  assert.is(tooSlow.decision, 'rolled-back');
  assert.match(tooSlow.reason, /per unit of input \(x2\.00 the input/);
  // A smaller input is no excuse: with no learnt elasticity, half the input expects the same time.
  assert.is(iterate(10 * GiB, 5 * GiB, est(190, 1.9)).decision, 'rolled-back');
});

test('elasticity: proportional, flat, and unknown with too few runs or too little spread', () => {
  const prop = inputElasticity([1, 2, 4, 8].map((g) => ({ inputBytes: g * GiB, runtimeSeconds: 100 * g })));
  assert.ok(prop !== undefined && Math.abs(prop - 1) < 1e-9);
  const flat = inputElasticity([1, 2, 4].map((g) => ({ inputBytes: g * GiB, runtimeSeconds: 300 })));
  assert.is(flat, 0);
  assert.is(inputElasticity([{ inputBytes: GiB, runtimeSeconds: 1 }, { inputBytes: 2 * GiB, runtimeSeconds: 2 }]), undefined);
  assert.is(inputElasticity([1, 1.1, 1.2].map((g) => ({ inputBytes: g * GiB, runtimeSeconds: 100 * g }))), undefined);
  // A learnt flat job does not get a bigger input as an excuse; a proportional one does.
  assert.is(inputFactor({ referenceBytes: GiB, runBytes: 2 * GiB, elasticity: 0 }), 1);
  assert.is(inputFactor({ referenceBytes: GiB, runBytes: 2 * GiB }), 2);
  assert.is(inputFactor({ referenceBytes: 2 * GiB, runBytes: GiB }), 1);
});

test('volume bands and the configuration learnt for a band or a label', () => {
  assert.is(volumeBand(8 * GiB), volumeBand(15.9 * GiB));
  assert.is.not(volumeBand(8 * GiB), volumeBand(16 * GiB));
  assert.is(describeBand(volumeBand(10 * GiB)), '8-16 GiB');
  const state: ProjectState = {
    project,
    runs: [
      run('daily1', { inputBytes: 10 * GiB, predictionId: 'p-small', preference: 'economy' }),
      run('me1', { inputBytes: 21 * GiB, inputLabel: 'month-end', predictionId: 'p-big', preference: 'balanced' }),
      run('daily2', { inputBytes: 11 * GiB, predictionId: 'p-small2', preference: 'economy' }),
      run('me2', { inputBytes: 22 * GiB, inputLabel: 'month-end', predictionId: 'p-bad', preference: 'economy', regressed: 'slow' }),
      run('other', { status: 'failed', inputBytes: 20 * GiB, predictionId: 'p-failed' }),
    ],
    predictions: [],
  };
  const runs = volumeRuns(state);
  assert.is(runForVolume(runs, { inputLabel: 'month-end' })?.run.predictionId, 'p-big', 'the regressed month-end run is not learnt from');
  assert.is(runForVolume(runs, { expectedInputBytes: 20 * GiB })?.run.predictionId, 'p-big');
  assert.is(runForVolume(runs, { expectedInputBytes: 12 * GiB })?.run.predictionId, 'p-small2');
  assert.match(runForVolume(runs, { expectedInputBytes: 12 * GiB })!.why, /input band 8-16 GiB/);
  assert.is(runForVolume(runs, { expectedInputBytes: 100 * GiB }), undefined);
});

test('every run\'s input from its log: the bytes its successful tasks read', async () => {
  const m = await loadApplicationModel(fileURLToPath(new URL('../../fixtures/eventlogs/rapids-tools/attempt_1_eventlog.zstd', import.meta.url)));
  const bytes = inputOf(m).bytes;
  assert.ok(bytes > 0);
  assert.ok(bytes <= allStageStats(m).reduce((s, st) => s + st.inputBytes, 0));
});

test('run.start accepts expectedInputBytes and inputLabel, and names a bad one', () => {
  const v = validateRequest({ name: 'run.start', data: { projectId: 'p1', expectedInputBytes: 20 * GiB, inputLabel: 'month-end' } });
  assert.equal(v.data, { projectId: 'p1', expectedInputBytes: 20 * GiB, inputLabel: 'month-end' });
  assert.match(errorOf(() => validateRequest({ name: 'run.start', data: { projectId: 'p1', inputLabel: 'month end!' } })).message, /inputLabel/);
  assert.match(errorOf(() => validateRequest({ name: 'run.start', data: { projectId: 'p1', expectedInputBytes: -1 } })).message, /expectedInputBytes/);
});

test.run();
