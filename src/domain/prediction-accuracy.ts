// Accuracy tracked in production, pure: every run that applied a prediction is compared with the
// estimate it was promised; the project's last errors give its confidence, the margin a prediction
// must clear to be applied, and how far an estimate is widened before it is checked against the SLA.
import type { AccuracySample, ProjectState, Run } from './types.js';

export type { AccuracySample };

/** The project's error distribution and what it implies. */
export type ProjectAccuracy = {
  samples: AccuracySample[];
  /** Median and 90th percentile of |error| over the samples; undefined without samples. */
  medianAbsError?: number;
  p90AbsError?: number;
  /** Median signed error (> 0: runs take longer than estimated). */
  bias?: number;
  confidence: 'unknown' | 'high' | 'medium' | 'low';
  /** Multiply a runtime estimate by this before checking it against the SLA (>= 1). */
  runtimeWidening: number;
  /** Added to the policy's compelling saving: a prediction must promise this much more to be applied. */
  extraMargin: number;
  /** Runs over which an error's weight in the widening and the margin halves now (ERROR_HALF_LIFE_RUNS, doubled per rollback after the first). */
  halfLifeRuns: number;
  /** The widening and margin before aging, when aging lowered either. */
  unaged?: { runtimeWidening: number; extraMargin: number };
};

/** How many recent samples the distribution keeps. */
export const ACCURACY_WINDOW = 20;

/**
 * Misses that were rolled back age: in the widening and the margin, the error of a run judged a
 * regression counts in full for the run after it, then half as much for every ERROR_HALF_LIFE_RUNS runs
 * the project records after that. After a rollback the project runs on its own configuration without a
 * prediction applied, so no new sample comes: without aging, one large miss (often run-to-run noise)
 * held it there for good. Every rollback among the window's samples after the first doubles the
 * half-life: a project that keeps missing relaxes more slowly. Errors of runs that stayed in use do not
 * age (aging them too made the 10-iteration settings loop of the bench 6% dearer).
 */
export const ERROR_HALF_LIFE_RUNS = 1;

/** The weight of a sample `age` runs old (runs recorded after its own) with this half-life: 1 up to one run, then halving. */
export function ageWeight(age: number | undefined, halfLifeRuns: number): number {
  if (age === undefined || !Number.isFinite(halfLifeRuns) || halfLifeRuns <= 0) return 1;
  return 0.5 ** (Math.max(0, age - 1) / halfLifeRuns);
}

/** The predicted vs actual pair of a run that applied a prediction, once it has an actual. */
export function accuracySampleOf(run: Run): AccuracySample | undefined {
  if (run.predictionId === undefined || !run.expected || !(run.expected.runtimeSeconds > 0)) return undefined;
  if (run.status !== 'recorded') return undefined;
  const engine = run.observed?.runtimeSeconds;
  const actualSeconds = engine ?? run.runtimeSeconds;
  if (actualSeconds === undefined || !(actualSeconds > 0)) return undefined;
  const predictedSeconds = run.expected.runtimeSeconds;
  return { runId: run.id, predictionId: run.predictionId, predictedSeconds, actualSeconds, error: (actualSeconds - predictedSeconds) / predictedSeconds, actual: engine !== undefined ? 'engine' : 'recorded' };
}

/** The value at quantile q (0..1) of sorted values, nearest rank. */
function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/**
 * The project's accuracy over its last ACCURACY_WINDOW runs that applied a prediction (the persisted
 * window `state.accuracy` merged with the runs still in the document, a run's own record winning).
 */
export function accuracyOf(state: Pick<ProjectState, 'runs' | 'accuracy'>, window = ACCURACY_WINDOW): ProjectAccuracy {
  const byRun = new Map<string, AccuracySample>();
  for (const s of state.accuracy ?? []) byRun.set(s.runId, s);
  for (const r of state.runs) {
    const s = accuracySampleOf(r);
    if (s) byRun.set(r.id, s);
  }
  const samples = [...byRun.values()].slice(-window);
  if (samples.length === 0) return { samples, confidence: 'unknown', runtimeWidening: 1, extraMargin: 0, halfLifeRuns: ERROR_HALF_LIFE_RUNS };
  const abs = samples.map((s) => Math.abs(s.error)).sort((a, b) => a - b);
  const signed = samples.map((s) => s.error).sort((a, b) => a - b);
  const medianAbsError = quantile(abs, 0.5);
  const p90AbsError = quantile(abs, 0.9);
  const confidence = p90AbsError <= 0.15 ? 'high' : p90AbsError <= 0.35 ? 'medium' : 'low';
  // Aging (ERROR_HALF_LIFE_RUNS): a sample's age is the runs recorded after its own (unknown, so no aging, when its run left the document).
  const recordedAfter = new Map<string, number>();
  for (let i = state.runs.length - 1, n = 0; i >= 0; i--) {
    const r = state.runs[i]!;
    recordedAfter.set(r.id, n);
    if (r.status === 'recorded') n++;
  }
  const rolledBack = new Set(state.runs.filter((r) => r.regressed !== undefined).map((r) => r.id));
  const misses = samples.filter((s) => rolledBack.has(s.runId)).length;
  const halfLifeRuns = ERROR_HALF_LIFE_RUNS * 2 ** Math.min(6, Math.max(0, misses - 1));
  // Only misses that were rolled back age: the project went back to a configuration it knows, so no new
  // sample comes. An error measured on a run that stayed in use keeps its full weight.
  const aged = samples.map((s) => (rolledBack.has(s.runId) ? s.error * ageWeight(recordedAfter.get(s.runId), halfLifeRuns) : s.error));
  // Only running longer than estimated threatens an SLA: widen by the 90th percentile of the overruns.
  const p90Overrun = (errors: number[]) => quantile(errors.map((e) => Math.max(0, e)).sort((a, b) => a - b), 0.9);
  const median = (errors: number[]) => quantile(errors.map(Math.abs).sort((a, b) => a - b), 0.5);
  const out: ProjectAccuracy = {
    samples,
    medianAbsError,
    p90AbsError,
    bias: quantile(signed, 0.5),
    confidence,
    runtimeWidening: 1 + p90Overrun(aged),
    extraMargin: median(aged),
    halfLifeRuns,
  };
  const unaged = { runtimeWidening: 1 + p90Overrun(samples.map((s) => s.error)), extraMargin: medianAbsError };
  if (unaged.runtimeWidening - out.runtimeWidening > 0.005 || unaged.extraMargin - out.extraMargin > 0.005) out.unaged = unaged;
  return out;
}

/** The persisted window after `run` got its actual (unchanged when the run has no sample). */
export function withAccuracySample(window: readonly AccuracySample[] | undefined, run: Run): AccuracySample[] | undefined {
  const s = accuracySampleOf(run);
  if (!s) return window ? [...window] : undefined;
  return [...(window ?? []).filter((x) => x.runId !== s.runId), s].slice(-ACCURACY_WINDOW);
}

/** One line for people: "n runs, median error 8%, p90 21%, runs take longer (+5%); confidence medium". */
export function describeAccuracy(a: ProjectAccuracy): string {
  if (a.samples.length === 0) return 'no run has applied a prediction yet; confidence unknown';
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  const bias = a.bias ?? 0;
  return (
    `${a.samples.length} run${a.samples.length === 1 ? '' : 's'} with a prediction applied: median runtime error ${pct(a.medianAbsError!)}, p90 ${pct(a.p90AbsError!)}` +
    `${Math.abs(bias) >= 0.02 ? `, runs take ${bias > 0 ? 'longer' : 'less'} than estimated (${bias > 0 ? '+' : ''}${pct(bias)})` : ''}; confidence ${a.confidence}` +
    `${a.runtimeWidening > 1 ? `; estimates widened x${a.runtimeWidening.toFixed(2)} against the SLA` : ''}${a.extraMargin > 0 ? `, saving needed +${pct(a.extraMargin)}` : ''}` +
    `${a.unaged ? ` (misses rolled back count less, halved every ${a.halfLifeRuns} run${a.halfLifeRuns === 1 ? '' : 's'} recorded since: x${a.unaged.runtimeWidening.toFixed(2)} and +${pct(a.unaged.extraMargin)} at full weight)` : ''}`
  );
}
