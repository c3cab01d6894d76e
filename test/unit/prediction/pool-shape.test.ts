import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { solutionsWithinShape } from '../../../src/domain/prediction/pool-shape.js';
import type { CandidateEstimate } from '../../../src/domain/prediction/predict.js';

const shape = { instanceType: 'm5.2xlarge', nodes: 2 };
const cand = (c: Partial<CandidateEstimate>): CandidateEstimate => ({
  instanceType: 'm5.2xlarge',
  nodes: 2,
  executors: 4,
  executorCores: 4,
  executorMemoryMb: 12_000,
  userSizing: false,
  runtimeSeconds: 1000,
  costUsd: 1,
  source: 'simulator',
  ...c,
});
const basis = { runtimeSeconds: 1000, costUsd: 1, instanceType: 'm5.2xlarge', nodes: 2 };

test('only candidates on the pool shape are chosen, as Spark settings without Instances', () => {
  const candidates = [
    cand({ instanceType: 'r5.4xlarge', nodes: 8, runtimeSeconds: 100, costUsd: 0.1 }), // better, but another cluster
    cand({ executorCores: 2, executorMemoryMb: 6000, executors: 8, runtimeSeconds: 700, costUsd: 0.7 }),
    cand({ current: true, runtimeSeconds: 1000, costUsd: 1 }),
  ];
  const out = solutionsWithinShape({ basis, candidates }, shape);
  for (const s of Object.values(out)) {
    assert.is(s.keep, undefined);
    assert.is(s.configuration.Instances, undefined);
    assert.equal(s.configuration.Configurations, [{ Classification: 'spark-defaults', Properties: { 'spark.executor.cores': '2', 'spark.executor.memory': '6000m' } }]);
    assert.equal(s.estimate, { runtimeSeconds: 700, costUsd: 0.7 });
  }
});

test('nothing on the shape beats the basis by the margin: the current settings stay', () => {
  const out = solutionsWithinShape({ basis, candidates: [cand({ runtimeSeconds: 950, costUsd: 0.95 }), cand({ nodes: 4, runtimeSeconds: 300 })] }, shape, 0.1);
  assert.ok(Object.values(out).every((s) => s.keep === true && JSON.stringify(s.configuration) === '{}'));
  assert.match(out.performance.explanation, /2 x m5\.2xlarge/);
});

test('a tuned candidate carries the engine\'s recommended settings', () => {
  const settings = { settings: [{ key: 'spark.sql.shuffle.partitions', value: '400', evidence: 'e' }], unchanged: [], executorCores: 4, executorMemoryMb: 12_000, executorMemoryOverheadMb: 1200 };
  const out = solutionsWithinShape({ basis, candidates: [cand({ tunedSettings: true, runtimeSeconds: 600, costUsd: 0.6 })], settings }, shape);
  assert.equal(out.economy.settings, settings.settings);
  assert.equal(out.economy.configuration.Configurations, [{ Classification: 'spark-defaults', Properties: { 'spark.sql.shuffle.partitions': '400' } }]);
});

test.run();
