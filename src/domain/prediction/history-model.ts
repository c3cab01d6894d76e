// Learning across runs with honest uncertainty: a Bayesian log-linear model of a job's runtime over
// the cluster's hardware, fitted to the project's earlier runs. log t = theta . x(type, nodes) + noise,
// where x holds the total vCPU (and its square, for curvature), memory per vCPU, vCPU per node (scale
// up vs out), per-core speed when known, and one effect per instance family. Every coefficient has a
// prior (a general expectation about Spark jobs; the slope's mean, the curvature's mean and width and
// the family's width were chosen on half A of the Scout workloads, see HISTORY_PRIOR), so a few runs move the estimate where
// they say something and leave the prior's width where they do not: a configuration far outside the
// sizes and families observed gets a wide interval, and the economy pick, taken on an upper quantile
// of cost against the known cost of the cheapest observed run, does not bet on it blindly.
import { SyncError } from '../errors.js';

/** What the model needs to know of an instance type. */
export type HardwareOf = { vcpu: number; memoryGib: number; family: string; coremark?: number };

/** One earlier run: its hardware, node count and runtime. */
export type ObservedRun = { hardware: HardwareOf; nodes: number; runtimeSeconds: number };

/** A runtime estimate with its spread (log-normal). */
export type RuntimeEstimate = {
  /** Median runtime, seconds. */
  seconds: number;
  /** Standard deviation of log runtime (0.1 is about +-10%). */
  logSd: number;
  /** Standard deviation of the model's log estimate alone (without run-to-run noise). */
  modelLogSd: number;
  /**
   * Runtime z model standard deviations above the median: the risk of being wrong about this
   * configuration (run-to-run noise hits every candidate alike, so it does not enter the pick).
   */
  upperSeconds(z: number): number;
};

/** A fitted model. */
export type RuntimeModel = {
  predict(hardware: HardwareOf, nodes: number): RuntimeEstimate;
  /** Posterior mean of the coefficients, by name (for explanations and tests). */
  coefficients: Record<string, number>;
  runs: number;
};

type Normal = { mean: number; sd: number };
/** The prior of the model's coefficients. */
export type HistoryPrior = {
  slope: Normal;
  curvature: Normal;
  memory: Normal;
  nodeSize: Normal;
  speed: Normal;
  family: Normal;
  noiseSd: number;
  referenceSpeed: number;
};

/** Prior means and standard deviations (see MODEL.md, "Learning across runs"). */
export const HISTORY_PRIOR: Readonly<HistoryPrior> = {
  /**
   * Runtime ~ (total vCPU)^slope at the runs' mean size: between no speed-up (0) and linear (-1).
   * The mean -0.5 was chosen among {-0.5, -0.75} on half A of the Scout workloads
   * (bench/runtime-datasets.ts), together with the curvature below.
   */
  slope: { mean: -0.5, sd: 0.35 },
  /**
   * Curvature in log total vCPU: > 0 is a speed-up that fades with size (convex in log-log, as
   * Amdahl's t = s + p/n is, and more so when overhead grows with the node count, as Ernest's
   * t = a + b/n + c log n + d n allows), so that a cluster smaller than those run is estimated
   * slower than a power law through them says. With a mean of 0 the economy pick, which goes where
   * the estimate is cheapest, mostly to sizes below those observed, took the power law's optimism
   * there: the estimate at configurations not yet run was 15-18% low at the median on half A (a selection
   * effect on a misspecified shape). Mean 0.2 and sd 0.1 (was 0 and 0.3) were chosen among mean
   * {0, 0.1, 0.2} x sd {0.1, 0.3} on half A of the Scout workloads, under the bound of 15% on the
   * median error at picks of configurations not yet run; half B and leave-one-workload-out confirm
   * it (bench/runtime-datasets.ts; the figures are in MODEL.md).
   */
  curvature: { mean: 0.2, sd: 0.1 },
  /** Memory per vCPU: unknown sign (spill and GC vs nothing), a modest effect. */
  memory: { mean: 0, sd: 0.25 },
  /** vCPU per node at the same total: fewer, bigger nodes vs more, smaller ones. */
  nodeSize: { mean: 0, sd: 0.15 },
  /** Per-core speed (CoreMark per vCPU): between CPU-bound (-1) and not at all (0). */
  speed: { mean: -0.5, sd: 0.3 },
  /**
   * One effect per family beyond the above (generation, disk, network, what is not modelled); an
   * unobserved family keeps this spread. sd 0.15 was chosen among {0.15, 0.3} on half A (with the
   * curvature above).
   */
  family: { mean: 0, sd: 0.15 },
  /** Run-to-run noise and model misfit, log scale. */
  noiseSd: 0.12,
  /** Reference CoreMark per vCPU for the speed feature (any constant: it is absorbed by the intercept). */
  referenceSpeed: 15_000,
};

const FIXED = ['intercept', 'logVcpu', 'logVcpu2', 'memPerVcpu', 'vcpuPerNode', 'speed'] as const;

/** Fits the model to earlier runs; fails when there is no usable run. */
export function fitRuntimeModel(runs: readonly ObservedRun[], prior: Readonly<HistoryPrior> = HISTORY_PRIOR): RuntimeModel {
  const ok = runs.filter((r) => r.nodes > 0 && r.runtimeSeconds > 0 && r.hardware.vcpu > 0 && r.hardware.memoryGib > 0 && Number.isFinite(r.runtimeSeconds));
  if (ok.length === 0) throw new SyncError('invalid_request', 'no usable earlier run (each needs nodes, runtime, vCPU and memory > 0)');
  // Centre the continuous features on the observed runs so that the intercept means "the typical observed run".
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const c = {
    v: mean(ok.map((r) => Math.log(r.nodes * r.hardware.vcpu))),
    m: mean(ok.map((r) => Math.log(r.hardware.memoryGib / r.hardware.vcpu))),
    n: mean(ok.map((r) => Math.log(r.hardware.vcpu))),
  };
  const families = [...new Set(ok.map((r) => r.hardware.family))].sort();
  const features = (h: HardwareOf, nodes: number): { fixed: number[]; family: string } => {
    const v = Math.log(nodes * h.vcpu) - c.v;
    const speed = h.coremark !== undefined && h.coremark > 0 ? Math.log(h.coremark / h.vcpu / prior.referenceSpeed) : 0;
    return { fixed: [1, v, v * v, Math.log(h.memoryGib / h.vcpu) - c.m, Math.log(h.vcpu) - c.n, speed], family: h.family };
  };
  const d = FIXED.length + families.length;
  const ys = ok.map((r) => Math.log(r.runtimeSeconds));
  const m0 = [mean(ys), prior.slope.mean, prior.curvature.mean, prior.memory.mean, prior.nodeSize.mean, prior.speed.mean, ...families.map(() => prior.family.mean)];
  const sd0 = [3, prior.slope.sd, prior.curvature.sd, prior.memory.sd, prior.nodeSize.sd, prior.speed.sd, ...families.map(() => prior.family.sd)];
  const row = (h: HardwareOf, nodes: number) => {
    const f = features(h, nodes);
    const x = new Array<number>(d).fill(0);
    f.fixed.forEach((v, j) => (x[j] = v));
    const k = families.indexOf(f.family);
    if (k >= 0) x[FIXED.length + k] = 1;
    return x;
  };
  const s2 = prior.noiseSd ** 2;
  // Posterior precision A = S0^-1 + X'X / s2, and b = S0^-1 m0 + X'y / s2.
  const a = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? 1 / sd0[i]! ** 2 : 0)));
  const b = m0.map((m, i) => m / sd0[i]! ** 2);
  ok.forEach((r, i) => {
    const x = row(r.hardware, r.nodes);
    for (let p = 0; p < d; p++) {
      b[p]! += (x[p]! * ys[i]!) / s2;
      for (let q = 0; q < d; q++) a[p]![q]! += (x[p]! * x[q]!) / s2;
    }
  });
  const cov = invertSpd(a);
  const theta = cov.map((r) => r.reduce((s, v, j) => s + v * b[j]!, 0));
  const familySd = prior.family.sd;
  const predict = (h: HardwareOf, nodes: number): RuntimeEstimate => {
    const x = row(h, nodes);
    let mu = x.reduce((s, v, j) => s + v * theta[j]!, 0);
    let varMu = 0;
    for (let p = 0; p < d; p++) for (let q = 0; q < d; q++) varMu += x[p]! * cov[p]![q]! * x[q]!;
    // A family never observed keeps its prior: mean 0, its full variance.
    if (!families.includes(h.family)) {
      mu += prior.family.mean;
      varMu += familySd ** 2;
    }
    const logSd = Math.sqrt(Math.max(0, varMu) + s2);
    const seconds = Math.exp(mu);
    const modelLogSd = Math.sqrt(Math.max(0, varMu));
    return { seconds, logSd, modelLogSd, upperSeconds: (z) => Math.exp(mu + z * modelLogSd) };
  };
  const coefficients: Record<string, number> = {};
  FIXED.forEach((n, j) => (coefficients[n] = theta[j]!));
  families.forEach((f, k) => (coefficients[`family:${f}`] = theta[FIXED.length + k]!));
  return { predict, coefficients, runs: ok.length };
}

/** Inverse of a small symmetric positive-definite matrix (Cholesky). */
export function invertSpd(a: readonly (readonly number[])[]): number[][] {
  const n = a.length;
  const l = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i]![j]!;
      for (let k = 0; k < j; k++) s -= l[i]![k]! * l[j]![k]!;
      if (i === j) {
        if (!(s > 0)) throw new SyncError('internal', 'matrix is not positive definite');
        l[i]![i] = Math.sqrt(s);
      } else l[i]![j] = s / l[j]![j]!;
    }
  }
  // inv(L), then inv(A) = inv(L)' inv(L).
  const li = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    li[i]![i] = 1 / l[i]![i]!;
    for (let j = 0; j < i; j++) {
      let s = 0;
      for (let k = j; k < i; k++) s -= l[i]![k]! * li[k]![j]!;
      li[i]![j] = s / l[i]![i]!;
    }
  }
  const out = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
    let s = 0;
    for (let k = i; k < n; k++) s += li[k]![i]! * li[k]![j]!;
    out[i]![j] = s;
    out[j]![i] = s;
  }
  return out;
}

/**
 * How many model standard deviations the economy pick adds to each runtime before comparing costs
 * with the cheapest run already observed. 0.25 (was 0.5) was chosen among {0, 0.25, 0.5, 1, 1.5, 2}
 * on half A of the Scout workloads only, with HISTORY_PRIOR's slope, curvature and family width
 * (bench/runtime-datasets.ts prints the protocol, the choice it makes on half A and the figures on
 * half B, the swap, leave-one-workload-out and other seeded splits).
 */
export const ECONOMY_UNCERTAINTY_Z = 0.25;

/**
 * By how much (a fraction of its known cost) a configuration not yet run must beat the cheapest run
 * already observed, at its upper estimate, to be recommended instead of re-using that run's
 * configuration. Chosen with ECONOMY_UNCERTAINTY_Z on half A.
 */
export const ECONOMY_REUSE_MARGIN = 0;

/** True when a configuration whose cost at its upper estimate is `upperCostUsd` beats the cheapest observed run (known cost) by the margin. */
export function beatsObserved(upperCostUsd: number, cheapestObservedUsd: number, margin = ECONOMY_REUSE_MARGIN): boolean {
  return upperCostUsd < cheapestObservedUsd * (1 - margin);
}

/**
 * The economy pick against what is known. The cheapest run already observed has a known cost; a
 * configuration not yet run is recommended only when its cost at `z` model standard deviations
 * above its median runtime (the posterior spread, which grows away from the observed sizes,
 * families and memory shapes) still beats that known cost by `margin`; otherwise the cheapest
 * observed configuration is re-used, which is never worse than what the user already has.
 * `unobserved` must not contain the observed configurations. Runs above `maxRuntimeSeconds` (the
 * user's ceiling; upper estimate for unobserved ones) are left out.
 */
export function pickEconomyOverObserved<T>(
  unobserved: readonly T[],
  observed: readonly { config: T; runtimeSeconds: number }[],
  estimate: (c: T) => RuntimeEstimate,
  costUsd: (c: T, seconds: number) => number,
  z = ECONOMY_UNCERTAINTY_Z,
  margin = ECONOMY_REUSE_MARGIN,
  maxRuntimeSeconds = Infinity,
): { config: T; reused: boolean } | undefined {
  let known: { config: T; costUsd: number } | undefined;
  for (const o of observed) {
    if (o.runtimeSeconds > maxRuntimeSeconds) continue;
    const c = costUsd(o.config, o.runtimeSeconds);
    if (!known || c < known.costUsd) known = { config: o.config, costUsd: c };
  }
  const fresh = pickEconomy(unobserved, estimate, costUsd, z, maxRuntimeSeconds);
  if (fresh !== undefined && (!known || beatsObserved(costUsd(fresh, estimate(fresh).upperSeconds(z)), known.costUsd, margin))) return { config: fresh, reused: false };
  return known ? { config: known.config, reused: true } : undefined;
}

/**
 * The economy pick under uncertainty: the candidate whose cost at `z` model standard deviations
 * above its median runtime is lowest (z = 0: the median; larger z: stay nearer to what has been
 * observed). Candidates whose upper runtime exceeds `maxRuntimeSeconds` (the user's ceiling) are
 * left out.
 */
export function pickEconomy<T>(
  candidates: readonly T[],
  estimate: (c: T) => RuntimeEstimate,
  costUsd: (c: T, seconds: number) => number,
  z: number,
  maxRuntimeSeconds = Infinity,
): T | undefined {
  let best: T | undefined;
  let bestCost = Infinity;
  for (const c of candidates) {
    const upper = estimate(c).upperSeconds(z);
    if (upper > maxRuntimeSeconds) continue;
    const cost = costUsd(c, upper);
    if (cost < bestCost) {
      bestCost = cost;
      best = c;
    }
  }
  return best;
}
