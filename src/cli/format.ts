import { eventLogOf, eventLogWarning } from '../domain/eventlog-status.js';
import type { ProjectState, Run, RunFailure } from '../domain/types.js';

/** Renders rows as a plain-text table with a header and right-aligned numbers. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => /^[-+$]?[\d.,]+\s?[%s]?$|^-$/.test(r[i] ?? '')));
  const line = (cells: readonly string[]) => cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const secs = (s: number | undefined) => (s === undefined ? '-' : `${Math.round(s)} s`);
const usd = (c: number | undefined) => (c === undefined ? '-' : `$${c.toFixed(2)}`);
const hw = (r: Run) => (r.cluster?.instanceType ? `${r.cluster.nodes ?? '?'} x ${r.cluster.instanceType}` : '-');

/**
 * One row per run: configuration, runtime, cost, its event log, the prediction it applied, and
 * predicted vs actual; then, for each run whose event log is missing or unfinished, why.
 */
export function runsTable(state: ProjectState): string {
  const rows = state.runs.map((r) => {
    const actual = r.observed;
    const err = r.expected && actual ? `${(((actual.runtimeSeconds - r.expected.runtimeSeconds) / r.expected.runtimeSeconds) * 100).toFixed(0)}%` : '-';
    return [
      r.id,
      r.createdAt.replace(/\.\d+Z$/, 'Z'),
      r.status + (r.regressed ? ' (regressed)' : ''),
      hw(r),
      secs(actual?.runtimeSeconds ?? r.runtimeSeconds),
      usd(actual?.costUsd ?? r.costUsd),
      eventLogOf(r)?.status ?? '-',
      r.predictionId ? `${r.predictionId} (${r.preference ?? '?'})` : '-',
      r.expected ? `${secs(r.expected.runtimeSeconds)} / ${usd(r.expected.costUsd)}` : '-',
      err,
    ];
  });
  const header = ['run', 'created', 'status', 'cluster', 'runtime', 'cost', 'event log', 'prediction applied', 'predicted', 'runtime err'];
  // Databricks runs: the recorded bill (VM + DBU, submission to end), and VM and DBU apart, beside the cost.
  // 'cost' is the engine's measure once a prediction read the run (what predictions are compared with), so
  // the bill gets its own column: VM + DBU always add up to 'billed'.
  const databricks = state.runs.some((r) => r.costBreakdown !== undefined);
  if (databricks) {
    header.splice(6, 0, 'billed', 'VM cost', 'DBU cost');
    state.runs.forEach((r, i) => rows[i]!.splice(6, 0, usd(r.costBreakdown ? r.costUsd : undefined), usd(r.costBreakdown?.vmUsd), usd(r.costBreakdown?.dbuUsd)));
  }
  const out = table(header, rows);
  const measured = databricks && state.runs.some((r) => r.observed !== undefined && r.costBreakdown !== undefined);
  const legend = measured ? ["runtime, cost: the Spark application's, as the engine measures it (what 'predicted' estimates); billed: VM cost + DBU cost, submission to end"] : [];
  const notes = state.runs.map(eventLogWarning).filter((w): w is string => w !== undefined);
  const failures = state.runs.flatMap((r) => (r.failure ? [failureLine(r.id, r.failure)] : []));
  const below = [...legend, ...notes.map((w) => `WARNING: ${w}`), ...failures];
  return below.length === 0 ? out : [out, '', ...below].join('\n');
}

/** One line saying which step of a run failed, why, and where its log is. */
export function failureLine(runId: string, f: RunFailure): string {
  const why = [f.reason, f.message].filter((x) => x !== undefined).join(': ');
  return `FAILED: run ${runId} step ${f.stepName} (${f.stepId})${why ? `: ${why}` : ''}${f.logFile ? `; log ${f.logFile}` : ''}`;
}
