import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fitErnest, fitScalingCurve } from '../../../src/domain/prediction/ernest.js';
import { nnls } from '../../../src/domain/prediction/nnls.js';

test('nnls: recovers a non-negative solution and clamps a negative one to zero', () => {
  // A x = b with x = [1, 2] exactly.
  const a = [
    [1, 0],
    [0, 1],
    [1, 1],
  ];
  const x = nnls(a, [1, 2, 3]);
  assert.ok(Math.abs(x[0]! - 1) < 1e-9 && Math.abs(x[1]! - 2) < 1e-9);
  // Unconstrained optimum would be x = [-1, ...]: the constrained answer has x0 = 0.
  const y = nnls([[1, 0], [0, 1]], [-1, 2]);
  assert.equal(y.map((v) => Math.round(v * 1e9) / 1e9), [0, 2]);
});

test('ernest: recovers the coefficients of a noiseless curve', () => {
  const f = (m: number) => 10 + 200 / m + 0.5 * m + 3 * Math.log(m);
  const model = fitErnest([2, 4, 8, 16, 32, 64].map((m) => ({ m, t: f(m) })));
  for (const m of [3, 12, 50]) assert.ok(Math.abs(model.predict(m) - f(m)) / f(m) < 1e-3, `m=${m}`);
  assert.ok(model.coefficients.every((c) => c >= 0));
});

function bell(name: string): Map<number, number[]> {
  const text = readFileSync(new URL(`../../fixtures/bell/${name}`, import.meta.url), 'utf8');
  const out = new Map<number, number[]>();
  for (const line of text.trim().split(/\r?\n/).slice(1)) {
    const [n, t] = line.split(',').map(Number);
    out.set(n!, [...(out.get(n!) ?? []), t! / 1000]);
  }
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

// pagerank's repeats spread by up to 36% (coefficient of variation) at some sizes and its runtime
// drops 4x from 4 to 8 nodes, so its bounds are wider; grep and sgd repeat within 2%.
const BOUNDS: Record<string, { mean: number; worst: number }> = {
  'grep.spark.csv': { mean: 0.05, worst: 0.1 },
  'sgd.spark.csv': { mean: 0.1, worst: 0.25 },
  'pagerank.spark.csv': { mean: 0.2, worst: 0.4 },
};

for (const job of Object.keys(BOUNDS)) {
  test(`scaling curve on bell ${job}: fit on 4/12/24/40/60 nodes (all repeats), predict the other node counts`, () => {
    const data = bell(job);
    const train = [4, 12, 24, 40, 60];
    const points = train.flatMap((m) => data.get(m)!.map((t) => ({ m, t })));
    const model = fitScalingCurve(points);
    const errors: number[] = [];
    for (const [m, ts] of data) {
      if (train.includes(m)) continue;
      errors.push(Math.abs(model.predict(m) - mean(ts)) / mean(ts));
    }
    const worst = Math.max(...errors);
    const avg = mean(errors);
    console.log(`  ${job}: ${model.form} [${model.coefficients.map((c) => c.toPrecision(3)).join(', ')}], mean error ${(avg * 100).toFixed(1)}%, worst ${(worst * 100).toFixed(1)}%`);
    // Interpolation between measured sizes should be close to the observed mean runtime.
    assert.ok(avg < BOUNDS[job]!.mean, `mean relative error ${avg.toFixed(3)}`);
    assert.ok(worst < BOUNDS[job]!.worst, `worst relative error ${worst.toFixed(3)}`);
  });
}

test('the power law is chosen when runtime falls more slowly than 1/m', () => {
  const f = (m: number) => 50 + 1000 * m ** -0.5;
  const model = fitScalingCurve([2, 4, 8, 16, 32].map((m) => ({ m, t: f(m) })));
  assert.is(model.form, 'power');
  assert.ok(Math.abs(model.predict(64) - f(64)) / f(64) < 0.01);
});

test('ernest needs two sizes', () => {
  assert.throws(() => fitErnest([{ m: 4, t: 10 }, { m: 4, t: 11 }]), /two or more/);
});

test.run();
