// Input volume: what a run read, volume bands, how runtime grows with input, and comparisons per unit
// of input (a month-end run twice the size is not a regression). Pure.
import type { ApplicationModel } from './eventlog/model.js';
import type { Estimate, ProjectState } from './types.js';

/** What the application read from its sources (successful task attempts only). */
export type InputVolume = { bytes: number };

/** Bytes read by the application's successful tasks (Input Metrics "Bytes Read"). */
export function inputOf(model: ApplicationModel): InputVolume {
  let bytes = 0;
  for (const s of model.stages) {
    const t = s.tasks;
    for (let k = 0; k < t.count; k++) if (t.status[k] === 0) bytes += t.inputBytes[k] ?? 0;
  }
  return { bytes };
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** The doubling band of a volume: band k holds [2^k, 2^(k+1)) bytes. */
export function volumeBand(bytes: number): number {
  return Math.floor(Math.log2(Math.max(1, bytes)));
}

/** A band in words ("8-16 GiB"). */
export function describeBand(band: number): string {
  const unit = Math.min(UNITS.length - 1, Math.max(0, Math.floor(band / 10)));
  const lo = 2 ** (band - unit * 10);
  return `${lo}-${lo * 2} ${UNITS[unit]}`;
}

/**
 * How runtime grows with input: the slope of log(runtime) on log(input) over runs of one configuration
 * (1 = proportional, 0 = flat), clamped to [0, 1.5]; undefined with fewer than 3 runs or inputs within 30%.
 */
export function inputElasticity(points: readonly { inputBytes: number; runtimeSeconds: number }[]): number | undefined {
  const ok = points.filter((p) => p.inputBytes > 0 && p.runtimeSeconds > 0);
  if (ok.length < 3) return undefined;
  const xs = ok.map((p) => Math.log(p.inputBytes));
  const ys = ok.map((p) => Math.log(p.runtimeSeconds));
  if (Math.max(...xs) - Math.min(...xs) < Math.log(1.3)) return undefined;
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return Math.min(1.5, Math.max(0, num / den));
}

/** How much of an estimate scales with input between a reference run and the run judged. */
export type InputComparison = { referenceBytes: number; runBytes: number; elasticity?: number };

/**
 * The factor an estimate made for `referenceBytes` is multiplied by for a run that read `runBytes`:
 * (run / reference)^elasticity. Unknown elasticity: proportional when the input grew (a bigger run may
 * take longer), 1 when it shrank (a smaller input is no excuse to expect less).
 */
export function inputFactor(c: InputComparison): number {
  if (!(c.referenceBytes > 0) || !(c.runBytes > 0)) return 1;
  const ratio = c.runBytes / c.referenceBytes;
  if (c.elasticity !== undefined) return ratio ** c.elasticity;
  return ratio > 1 ? ratio : 1;
}

/** `e` scaled to the judged run's input (runtime and cost alike). */
export function scaleEstimate(e: Estimate, factor: number): Estimate {
  return { runtimeSeconds: e.runtimeSeconds * factor, costUsd: e.costUsd * factor };
}

/** A run as the volume logic needs it. */
export type VolumeRun = { id: string; inputBytes?: number; inputLabel?: string; good: boolean; predictionId?: string; preference?: string; costUsd?: number };

/**
 * The configuration learnt for a volume: the latest good run in the same band as `expectedInputBytes`
 * (or with the same label), preferring one that applied a prediction; undefined when none ran there.
 */
export function runForVolume(runs: readonly VolumeRun[], want: { expectedInputBytes?: number; inputLabel?: string }): { run: VolumeRun; why: string } | undefined {
  const good = runs.filter((r) => r.good);
  let match: VolumeRun[] = [];
  let why = '';
  if (want.inputLabel !== undefined) {
    match = good.filter((r) => r.inputLabel === want.inputLabel);
    why = `label '${want.inputLabel}'`;
  }
  if (match.length === 0 && want.expectedInputBytes !== undefined) {
    const band = volumeBand(want.expectedInputBytes);
    match = good.filter((r) => r.inputBytes !== undefined && volumeBand(r.inputBytes) === band);
    why = `input band ${describeBand(band)}`;
  }
  if (match.length === 0) return undefined;
  const applied = match.filter((r) => r.predictionId !== undefined);
  const run = (applied.length > 0 ? applied : match)[(applied.length > 0 ? applied : match).length - 1]!;
  return { run, why: `the configuration of run ${run.id}, the latest good run with ${why}` };
}

/** The project's runs for runForVolume: recorded ones, good unless judged a regression; input measured, else as the request said. */
export function volumeRuns(state: ProjectState): VolumeRun[] {
  return state.runs
    .filter((r) => r.status === 'recorded')
    .map((r) => {
      const v: VolumeRun = { id: r.id, good: r.regressed === undefined };
      const bytes = r.inputBytes ?? r.expectedInputBytes;
      if (bytes !== undefined) v.inputBytes = bytes;
      if (r.inputLabel !== undefined) v.inputLabel = r.inputLabel;
      if (r.predictionId !== undefined) v.predictionId = r.predictionId;
      if (r.preference !== undefined) v.preference = r.preference;
      return v;
    });
}
