// The Pareto front of (runtime, cost) and the three preferences picked from it.
import type { Preference } from '../types.js';

/** Anything with a runtime and a cost. */
export type Point = { runtimeSeconds: number; costUsd: number };

/** The points no other point beats on both runtime and cost, sorted by runtime ascending. */
export function paretoFront<T extends Point>(points: readonly T[]): T[] {
  const sorted = [...points].sort((a, b) => a.runtimeSeconds - b.runtimeSeconds || a.costUsd - b.costUsd);
  const front: T[] = [];
  let bestCost = Infinity;
  for (const p of sorted) {
    if (p.costUsd < bestCost) {
      front.push(p);
      bestCost = p.costUsd;
    }
  }
  return front;
}

/** Ceilings that bound the two extreme preferences. */
export type PreferenceCeilings = {
  /** `performance` is the fastest configuration costing at most this (USD). */
  performanceMaxCostUsd?: number;
  /** `economy` is the cheapest configuration running at most this long (seconds). */
  economyMaxRuntimeSeconds?: number;
};

/**
 * The knee of a front sorted by runtime: the point farthest below the straight line joining the
 * fastest and the cheapest ends, both axes normalised to [0, 1].
 */
export function kneePoint<T extends Point>(front: readonly T[]): T | undefined {
  if (front.length <= 2) return front[Math.floor((front.length - 1) / 2)] ?? front[0];
  const first = front[0]!;
  const last = front[front.length - 1]!;
  const tSpan = last.runtimeSeconds - first.runtimeSeconds || 1;
  const cSpan = first.costUsd - last.costUsd || 1;
  let best = first;
  let bestDist = -Infinity;
  for (const p of front) {
    const x = (p.runtimeSeconds - first.runtimeSeconds) / tSpan;
    const y = (p.costUsd - last.costUsd) / cSpan;
    // The line goes from (0, 1) to (1, 0): distance below it is proportional to 1 - x - y.
    const d = 1 - x - y;
    if (d > bestDist) {
      bestDist = d;
      best = p;
    }
  }
  return best;
}

/**
 * Picks `performance` (fastest within the cost ceiling), `economy` (cheapest within the runtime
 * ceiling) and `balanced` (the knee of the front between them). Falls back to the cheapest or the
 * fastest point when a ceiling excludes everything.
 */
export function choosePreferences<T extends Point>(points: readonly T[], ceilings: PreferenceCeilings = {}): Record<Preference, T> | undefined {
  const front = paretoFront(points);
  if (front.length === 0) return undefined;
  const maxCost = ceilings.performanceMaxCostUsd ?? Infinity;
  const maxRuntime = ceilings.economyMaxRuntimeSeconds ?? Infinity;
  const withinCost = front.filter((p) => p.costUsd <= maxCost);
  const performance = withinCost[0] ?? front[front.length - 1]!;
  const withinTime = front.filter((p) => p.runtimeSeconds <= maxRuntime);
  const economy = withinTime[withinTime.length - 1] ?? front[0]!;
  const lo = Math.min(front.indexOf(performance), front.indexOf(economy));
  const hi = Math.max(front.indexOf(performance), front.indexOf(economy));
  const balanced = kneePoint(front.slice(lo, hi + 1)) ?? performance;
  return { performance, balanced, economy };
}

/** How a preference's pick compares with the current configuration. */
export type MarginChoice<T> = {
  /** The pick per preference, or undefined when nothing beats the current configuration by the margin. */
  chosen: Record<Preference, T | undefined>;
  /** What each preference would pick with no margin (for the explanation of a "keep"). */
  unconstrained: Record<Preference, T | undefined>;
};

/** Smallest relative change that counts as better than the current configuration (0.5%), whatever the margin. */
export const NOISE = 0.005;

/** Relative change of `p` against `current` on runtime and on cost (negative = better). */
export function relativeChange(p: Point, current: Point): { runtime: number; cost: number } {
  return {
    runtime: current.runtimeSeconds > 0 ? (p.runtimeSeconds - current.runtimeSeconds) / current.runtimeSeconds : 0,
    cost: current.costUsd > 0 ? (p.costUsd - current.costUsd) / current.costUsd : 0,
  };
}

/**
 * True when `p` beats `current` by at least `margin` on the preference's axis: runtime for
 * `performance`, cost for `economy`, the sum of the two relative changes for `balanced`. Never true
 * for a point the current configuration dominates (worse or equal on both) when margin > 0.
 */
export function beatsCurrent(pref: Preference, p: Point, current: Point, margin: number): boolean {
  const d = relativeChange(p, current);
  // Changes under NOISE are estimation noise, not gains: such a point is the current one again.
  if (d.runtime > -NOISE && d.cost > -NOISE) return false;
  const m = Math.max(margin, NOISE);
  if (pref === 'performance') return d.runtime <= -m;
  if (pref === 'economy') return d.cost <= -m;
  return d.runtime + d.cost <= -m;
}

/**
 * Picks per preference as `choosePreferences` does, but only among points that beat the current
 * configuration by `margin` on the preference's axis (see beatsCurrent): `performance` = fastest
 * such point within the cost ceiling, `economy` = cheapest within the runtime ceiling, `balanced` =
 * the knee of the front of such points within both ceilings.
 */
export function choosePreferencesOver<T extends Point>(points: readonly T[], current: Point, ceilings: PreferenceCeilings = {}, margin = 0.1): MarginChoice<T> {
  const maxCost = ceilings.performanceMaxCostUsd ?? Infinity;
  const maxRuntime = ceilings.economyMaxRuntimeSeconds ?? Infinity;
  const fastest = (ps: readonly T[]) => paretoFront(ps)[0];
  const cheapest = (ps: readonly T[]) => paretoFront(ps).at(-1);
  const knee = (ps: readonly T[]) => kneePoint(paretoFront(ps));
  const perf = points.filter((p) => p.costUsd <= maxCost);
  const econ = points.filter((p) => p.runtimeSeconds <= maxRuntime);
  const bal = points.filter((p) => p.costUsd <= maxCost && p.runtimeSeconds <= maxRuntime);
  return {
    unconstrained: { performance: fastest(perf), balanced: knee(bal), economy: cheapest(econ) },
    chosen: {
      performance: fastest(perf.filter((p) => beatsCurrent('performance', p, current, margin))),
      balanced: knee(bal.filter((p) => beatsCurrent('balanced', p, current, margin))),
      economy: cheapest(econ.filter((p) => beatsCurrent('economy', p, current, margin))),
    },
  };
}
