// Scaling curves over machine count `m`, fitted by non-negative least squares on relative error:
// the Ernest model t(m) = a + b/m + c*m + d*log(m), and the power law t(m) = a + b*m^-p (p on a
// grid) for jobs whose runtime falls more slowly than 1/m, which Ernest's non-negative terms cannot
// follow. `fitScalingCurve` picks the form with the lower leave-one-size-out error.
import { SyncError } from '../errors.js';
import { nnls } from './nnls.js';

/** A fitted scaling curve. */
export type ErnestModel = {
  form: 'ernest' | 'power';
  /** Ernest: [a, b, c, d]; power: [a, b, p]; all >= 0. */
  coefficients: number[];
  predict(m: number): number;
  /** Root mean square relative error on the points it was fitted on. */
  fitError: number;
  /** Leave-one-size-out relative error (RMS), when there were three or more sizes. */
  crossValidationError?: number;
  points: number;
  /** Distinct sizes fitted on. */
  sizes: number;
};

type Point = { m: number; t: number };

function solve(points: readonly Point[], features: (m: number) => number[]): number[] {
  const rows = points.map((p) => features(p.m).map((f) => f / p.t));
  const cols = rows[0]!.length;
  const scale = Array.from({ length: cols }, (_, j) => Math.max(...rows.map((r) => Math.abs(r[j]!))) || 1);
  const a = rows.map((r) => r.map((v, j) => v / scale[j]!));
  return nnls(a, points.map(() => 1)).map((v, j) => v / scale[j]!);
}

const ernestFeatures = (m: number) => [1, 1 / m, m, Math.log(m)];
const powerFeatures = (p: number) => (m: number) => [1, m ** -p];
const POWERS = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.2, 1.5];

function rms(points: readonly Point[], predict: (m: number) => number): number {
  return Math.sqrt(points.reduce((s, p) => s + ((predict(p.m) - p.t) / p.t) ** 2, 0) / points.length);
}

function usable(points: readonly Point[]): Point[] {
  const ok = points.filter((p) => p.m > 0 && p.t > 0 && Number.isFinite(p.m) && Number.isFinite(p.t));
  if (new Set(ok.map((p) => p.m)).size < 2) throw new SyncError('invalid_request', 'a scaling curve needs runs at two or more different sizes');
  return ok;
}

function fitForm(points: readonly Point[], form: 'ernest' | number): { coefficients: number[]; predict: (m: number) => number } {
  if (form === 'ernest') {
    const x = solve(points, ernestFeatures);
    return { coefficients: x, predict: (m) => ernestFeatures(m).reduce((s, f, j) => s + f * x[j]!, 0) };
  }
  const x = solve(points, powerFeatures(form));
  return { coefficients: [x[0]!, x[1]!, form], predict: (m) => x[0]! + x[1]! * m ** -form };
}

/** Fits the Ernest curve alone (needs points at two or more sizes). */
export function fitErnest(points: readonly Point[]): ErnestModel {
  const ok = usable(points);
  const f = fitForm(ok, 'ernest');
  return { form: 'ernest', ...f, fitError: rms(ok, f.predict), points: ok.length, sizes: new Set(ok.map((p) => p.m)).size };
}

/** Leave-one-size-out error of a form; undefined with fewer than three sizes. */
function crossValidate(points: readonly Point[], form: 'ernest' | number): number | undefined {
  const sizes = [...new Set(points.map((p) => p.m))];
  if (sizes.length < 3) return undefined;
  let sum = 0;
  let n = 0;
  for (const m of sizes) {
    const train = points.filter((p) => p.m !== m);
    const f = fitForm(train, form);
    for (const p of points) if (p.m === m) {
      sum += ((f.predict(m) - p.t) / p.t) ** 2;
      n++;
    }
  }
  return Math.sqrt(sum / n);
}

/**
 * Fits the Ernest curve and the power-law curves and keeps the one with the lowest
 * leave-one-size-out error (Ernest when there are only two sizes).
 */
export function fitScalingCurve(points: readonly Point[]): ErnestModel {
  const ok = usable(points);
  const sizes = new Set(ok.map((p) => p.m)).size;
  const forms: ('ernest' | number)[] = ['ernest', ...POWERS];
  let best: { form: 'ernest' | number; cv: number | undefined } = { form: 'ernest', cv: crossValidate(ok, 'ernest') };
  if (best.cv !== undefined) {
    for (const form of forms.slice(1)) {
      const cv = crossValidate(ok, form)!;
      if (cv < best.cv!) best = { form, cv };
    }
  }
  const f = fitForm(ok, best.form);
  const model: ErnestModel = { form: best.form === 'ernest' ? 'ernest' : 'power', ...f, fitError: rms(ok, f.predict), points: ok.length, sizes };
  if (best.cv !== undefined) model.crossValidationError = best.cv;
  return model;
}
