// Non-negative least squares (Lawson and Hanson's active-set method) for small dense problems.

/** Solves min ||A x - b|| subject to x >= 0; `a` is row-major (rows x cols). */
export function nnls(a: readonly (readonly number[])[], b: readonly number[], maxIterations = 500): number[] {
  const rows = a.length;
  const cols = rows > 0 ? a[0]!.length : 0;
  const x = new Array<number>(cols).fill(0);
  const passive = new Array<boolean>(cols).fill(false);
  const tol = 1e-10;
  const gradient = (): number[] => {
    const r = b.map((bi, i) => bi - dot(a[i]!, x));
    const w = new Array<number>(cols).fill(0);
    for (let j = 0; j < cols; j++) for (let i = 0; i < rows; i++) w[j]! += a[i]![j]! * r[i]!;
    return w;
  };
  for (let iter = 0; iter < maxIterations; iter++) {
    const w = gradient();
    let best = -1;
    for (let j = 0; j < cols; j++) if (!passive[j] && w[j]! > tol && (best < 0 || w[j]! > w[best]!)) best = j;
    if (best < 0) break;
    passive[best] = true;
    for (;;) {
      const idx = passive.flatMap((p, j) => (p ? [j] : []));
      const z = leastSquares(a, b, idx);
      const full = new Array<number>(cols).fill(0);
      idx.forEach((j, k) => (full[j] = z[k]!));
      if (idx.every((j) => full[j]! > tol)) {
        for (let j = 0; j < cols; j++) x[j] = full[j]!;
        break;
      }
      let alpha = Infinity;
      for (const j of idx) if (full[j]! <= tol) alpha = Math.min(alpha, x[j]! / (x[j]! - full[j]!));
      for (let j = 0; j < cols; j++) x[j] = x[j]! + alpha * (full[j]! - x[j]!);
      for (const j of idx) if (x[j]! <= tol) {
        passive[j] = false;
        x[j] = 0;
      }
    }
  }
  return x;
}

function dot(u: readonly number[], v: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < u.length; i++) s += u[i]! * v[i]!;
  return s;
}

/** Unconstrained least squares on the columns `idx` through the normal equations (tiny systems). */
function leastSquares(a: readonly (readonly number[])[], b: readonly number[], idx: readonly number[]): number[] {
  const k = idx.length;
  const m: number[][] = Array.from({ length: k }, () => new Array<number>(k + 1).fill(0));
  for (let p = 0; p < k; p++) {
    for (let q = 0; q < k; q++) {
      let s = 0;
      for (let i = 0; i < a.length; i++) s += a[i]![idx[p]!]! * a[i]![idx[q]!]!;
      m[p]![q] = s;
    }
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i]![idx[p]!]! * b[i]!;
    m[p]![k] = s;
    m[p]![p]! += 1e-12 * (1 + m[p]![p]!);
  }
  for (let c = 0; c < k; c++) {
    let piv = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[piv]![c]!)) piv = r;
    [m[c], m[piv]] = [m[piv]!, m[c]!];
    const d = m[c]![c]!;
    if (Math.abs(d) < 1e-300) continue;
    for (let r = 0; r < k; r++) {
      if (r === c) continue;
      const f = m[r]![c]! / d;
      if (f !== 0) for (let q = c; q <= k; q++) m[r]![q]! -= f * m[c]![q]!;
    }
  }
  return m.map((row, p) => (Math.abs(row[p]!) < 1e-300 ? 0 : row[k]! / row[p]!));
}
