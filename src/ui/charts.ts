// Charts drawn on the server as inline SVG: they need no script, no CDN and no library, and they print.
import { duration, esc, money } from './format.js';

/** One run on the project chart. */
export type ChartRun = {
  label: string;
  at: string;
  runtimeSeconds?: number;
  costUsd?: number;
  /** What the prediction the run applied promised. */
  predicted?: { runtimeSeconds: number; costUsd: number };
  /** Annotation: the run applied a prediction, was rolled back from, or failed. */
  mark?: 'applied' | 'rolled-back' | 'failed';
  /** Databricks: the recorded cost, VM and DBU apart (shown with the cost point). */
  costSplit?: { vmUsd: number; dbuUsd: number };
};

const W = 720;
const PANEL_H = 150;
const PAD = { left: 64, right: 16, top: 18, bottom: 26 };

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

type Panel = { title: string; value: (r: ChartRun) => number | undefined; predicted: (r: ChartRun) => number | undefined; fmt: (v: number) => string; cls: string; note?: (r: ChartRun) => string | undefined };

function panel(runs: readonly ChartRun[], xs: readonly number[], p: Panel, top: number): string {
  const values = runs.flatMap((r) => [p.value(r), p.predicted(r)]).filter((v): v is number => v !== undefined && Number.isFinite(v));
  const max = niceMax(Math.max(0, ...values) * 1.05);
  const y = (v: number) => top + PAD.top + (PANEL_H - PAD.top - PAD.bottom) * (1 - v / max);
  const parts: string[] = [];
  parts.push(`<text class="axis-title" x="${PAD.left}" y="${top + 12}">${esc(p.title)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    const yy = y(v).toFixed(1);
    parts.push(`<line class="grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${yy}" y2="${yy}"/>`);
    parts.push(`<text class="tick" x="${PAD.left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${esc(p.fmt(v))}</text>`);
  }
  const pts = runs.map((r, i) => ({ r, x: xs[i]!, v: p.value(r) })).filter((q): q is { r: ChartRun; x: number; v: number } => q.v !== undefined);
  if (pts.length > 1) parts.push(`<polyline class="line ${p.cls}" points="${pts.map((q) => `${q.x.toFixed(1)},${y(q.v).toFixed(1)}`).join(' ')}"/>`);
  for (const q of pts) {
    const note = p.note?.(q.r);
    parts.push(`<circle class="dot ${p.cls}" cx="${q.x.toFixed(1)}" cy="${y(q.v).toFixed(1)}" r="4"><title>${esc(`${q.r.label}: ${p.fmt(q.v)} (actual${note ? `; ${note}` : ''})`)}</title></circle>`);
  }
  runs.forEach((r, i) => {
    const pv = p.predicted(r);
    if (pv === undefined || !Number.isFinite(pv)) return;
    const x = xs[i]!;
    const yy = y(pv);
    parts.push(
      `<path class="predicted" d="M${x.toFixed(1)},${(yy - 5).toFixed(1)} l5,5 l-5,5 l-5,-5 z"><title>${esc(`${r.label}: ${p.fmt(pv)} predicted`)}</title></path>`,
    );
  });
  return parts.join('');
}

/** Runtime and cost per run over time, predicted vs actual, with applied predictions and rollbacks annotated. */
export function runChart(runs: readonly ChartRun[]): string {
  const h = PANEL_H * 2 + 30;
  if (runs.length === 0) return '<p class="empty">No recorded runs yet.</p>';
  const times = runs.map((r) => new Date(r.at).getTime());
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const span = W - PAD.left - PAD.right - 20;
  // Time on the x axis; runs at one instant (or a single run) fall back to even spacing.
  const xs = t1 > t0 ? times.map((t) => PAD.left + 10 + (span * (t - t0)) / (t1 - t0)) : runs.map((_, i) => PAD.left + 10 + (runs.length === 1 ? span / 2 : (span * i) / (runs.length - 1)));
  const marks = runs
    .map((r, i) => {
      if (!r.mark) return '';
      const x = xs[i]!.toFixed(1);
      const text = r.mark === 'applied' ? 'applied' : r.mark === 'rolled-back' ? 'rolled back' : 'failed';
      return `<line class="mark ${r.mark}" x1="${x}" x2="${x}" y1="${PAD.top}" y2="${PANEL_H * 2}"/><text class="mark-label ${r.mark}" x="${x}" y="${PANEL_H * 2 + 14}" text-anchor="middle">${esc(text)}</text>`;
    })
    .join('');
  const summary = `Runtime and cost of ${runs.length} run${runs.length === 1 ? '' : 's'}; ${runs.filter((r) => r.mark === 'applied').length} applied a prediction, ${runs.filter((r) => r.mark === 'rolled-back').length} rolled back.`;
  return [
    `<svg class="chart" viewBox="0 0 ${W} ${h}" role="img" aria-label="${esc(summary)}" xmlns="http://www.w3.org/2000/svg">`,
    marks,
    panel(runs, xs, { title: 'Runtime', value: (r) => r.runtimeSeconds, predicted: (r) => r.predicted?.runtimeSeconds, fmt: duration, cls: 'runtime' }, 0),
    panel(runs, xs, { title: 'Cost per run', value: (r) => r.costUsd, predicted: (r) => r.predicted?.costUsd, fmt: money, cls: 'cost', note: (r) => (r.costSplit ? costSplitText(r.costSplit) : undefined) }, PANEL_H),
    `</svg>`,
    `<p class="legend"><span class="key dot-key"></span> actual <span class="key diamond-key"></span> predicted <span class="key mark-key"></span> applied / rolled back</p>`,
  ].join('');
}

/** A Databricks cost's two parts, as the dashboard writes them: `VM $3.10 + DBU $1.10`. */
export function costSplitText(split: { vmUsd: number; dbuUsd: number }): string {
  return `VM ${money(split.vmUsd)} + DBU ${money(split.dbuUsd)}`;
}

/** One candidate configuration of a prediction. */
export type ScatterPoint = { label: string; runtimeSeconds: number; costUsd: number; role?: 'performance' | 'balanced' | 'economy' | 'current' };

/** The prediction's candidates as runtime vs cost, with the three picks and the current configuration highlighted. */
export function candidateScatter(points: readonly ScatterPoint[]): string {
  const usable = points.filter((p) => Number.isFinite(p.runtimeSeconds) && Number.isFinite(p.costUsd));
  if (usable.length === 0) return '<p class="empty">This prediction has no candidate list to plot.</p>';
  const H = 320;
  const maxX = niceMax(Math.max(...usable.map((p) => p.runtimeSeconds)) * 1.05);
  const maxY = niceMax(Math.max(...usable.map((p) => p.costUsd)) * 1.05);
  const x = (v: number) => PAD.left + ((W - PAD.left - PAD.right) * v) / maxX;
  const y = (v: number) => PAD.top + (H - PAD.top - PAD.bottom - 14) * (1 - v / maxY);
  const parts: string[] = [`<svg class="chart scatter" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(`${usable.length} candidate configurations, runtime against cost`)}" xmlns="http://www.w3.org/2000/svg">`];
  for (let i = 0; i <= 4; i++) {
    const yy = y((maxY * i) / 4).toFixed(1);
    const xx = x((maxX * i) / 4).toFixed(1);
    parts.push(`<line class="grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${yy}" y2="${yy}"/>`);
    parts.push(`<text class="tick" x="${PAD.left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${esc(money((maxY * i) / 4))}</text>`);
    parts.push(`<text class="tick" x="${xx}" y="${H - 18}" text-anchor="${i === 4 ? 'end' : i === 0 ? 'start' : 'middle'}">${esc(duration((maxX * i) / 4))}</text>`);
  }
  parts.push(`<text class="axis-title" x="${W - PAD.right}" y="${H - 2}" text-anchor="end">runtime</text><text class="axis-title" x="4" y="12">cost</text>`);
  const ordered = [...usable].sort((a, b) => (a.role ? 1 : 0) - (b.role ? 1 : 0));
  for (const p of ordered) {
    const cls = p.role ? `pick ${p.role}` : 'candidate';
    const r = p.role ? 7 : 3;
    const tip = `${p.role ? `${p.role}: ` : ''}${p.label}, ${duration(p.runtimeSeconds)}, ${money(p.costUsd)}`;
    parts.push(`<circle class="${cls}" cx="${x(p.runtimeSeconds).toFixed(1)}" cy="${y(p.costUsd).toFixed(1)}" r="${r}"><title>${esc(tip)}</title></circle>`);
    // The current configuration is labelled below its point, the picks above, so the two rarely overlap.
    if (p.role) parts.push(`<text class="pick-label" x="${(x(p.runtimeSeconds) + 9).toFixed(1)}" y="${(y(p.costUsd) + (p.role === 'current' ? 16 : -6)).toFixed(1)}">${esc(p.role)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}
