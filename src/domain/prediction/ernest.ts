// The Ernest scaling model t(m) = a + b/m + c*m + d*log(m), fitted by non-negative least squares.
import { SyncError } from '../errors.js';
import { nnls } from './nnls.js';

/** A fitted scaling curve over machine count `m`. */
export type ErnestModel = {
  /** [a, b, c, d], all >= 0. */
  coefficients: [number, number, number, number];
  predict(m: number): number;
  /** Root mean square relative error on the points it was fitted on. */
  fitError: number;
  points: number;
};

function features(m: number): [number, number, number, number] {
  return [1, 1 / m, m, Math.log(m)];
}

/**
 * Fits the Ernest curve to (machines, time) points. Columns are scaled before NNLS and each row is
 * weighted by 1/t so that relative error is minimised. Needs points at two or more machine counts.
 */
export function fitErnest(points: readonly { m: number; t: number }[]): ErnestModel {
  const usable = points.filter((p) => p.m > 0 && p.t > 0 && Number.isFinite(p.m) && Number.isFinite(p.t));
  if (new Set(usable.map((p) => p.m)).size < 2) {
    throw new SyncError('invalid_request', 'a scaling curve needs runs at two or more different sizes');
  }
  const rows = usable.map((p) => features(p.m).map((f) => f / p.t));
  const scale = [0, 1, 2, 3].map((j) => Math.max(...rows.map((r) => Math.abs(r[j]!))) || 1);
  const a = rows.map((r) => r.map((v, j) => v / scale[j]!));
  const b = usable.map(() => 1);
  const x = nnls(a, b).map((v, j) => v / scale[j]!) as [number, number, number, number];
  const predict = (m: number) => {
    const f = features(m);
    return x[0] * f[0] + x[1] * f[1] + x[2] * f[2] + x[3] * f[3];
  };
  const fitError = Math.sqrt(usable.reduce((s, p) => s + ((predict(p.m) - p.t) / p.t) ** 2, 0) / usable.length);
  return { coefficients: x, predict, fitError, points: usable.length };
}
