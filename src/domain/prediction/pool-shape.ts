// Predictions for a pooled project: the cluster is the pool's and cannot change, so each preference
// gets the best of the engine's own candidates on exactly that shape (instance type and node count),
// i.e. executor settings within the pool's clusters, never a new cluster.
import type { Estimate, Preference, Solution } from '../types.js';
import { PREFERENCES } from '../types.js';
import type { CandidateEstimate, PredictionOutcome } from './predict.js';

/** The pool cluster's worker shape, as its report shows it. */
export type PoolShape = { instanceType: string; nodes: number };

const score: Record<Preference, (c: Estimate, basis: Estimate) => number> = {
  performance: (c) => c.runtimeSeconds,
  economy: (c) => c.costUsd,
  balanced: (c, b) => c.runtimeSeconds / Math.max(1e-9, b.runtimeSeconds) + c.costUsd / Math.max(1e-9, b.costUsd),
};

/**
 * Per preference: among the engine's candidates on `shape`, the best on the preference's axis
 * (runtime, cost, or both relative to the basis). A configuration that is only Spark settings
 * (spark-defaults, applied to the pooled run's steps as `--conf`), with the engine's estimate for it;
 * the current settings (`keep`) when no candidate on the shape beats the basis by `margin`.
 */
export function solutionsWithinShape(outcome: Pick<PredictionOutcome, 'basis' | 'candidates' | 'settings'>, shape: PoolShape, margin = 0.1): Record<Preference, Solution> {
  const basis: Estimate = { runtimeSeconds: outcome.basis.runtimeSeconds, costUsd: outcome.basis.costUsd };
  const onShape = outcome.candidates.filter((c) => c.instanceType === shape.instanceType && c.nodes === shape.nodes && !c.current && Number.isFinite(c.runtimeSeconds) && Number.isFinite(c.costUsd));
  const where = `the pool's clusters (${shape.nodes} x ${shape.instanceType}) are fixed`;
  const out = {} as Record<Preference, Solution>;
  for (const pref of PREFERENCES) {
    const best = [...onShape].sort((a, b) => score[pref](a, basis) - score[pref](b, basis))[0];
    const gain = best ? 1 - score[pref](best, basis) / Math.max(1e-9, score[pref](basis, basis)) : 0;
    if (!best || gain < margin) {
      out[pref] = {
        configuration: {},
        estimate: basis,
        source: 'simulator',
        keep: true,
        explanation: `Pooled project: ${where}; no executor setting on them beats the current run by ${Math.round(margin * 100)}% for ${pref}, so the current settings stay.`,
      };
      continue;
    }
    out[pref] = settingsSolution(best, outcome, where);
  }
  return out;
}

function settingsSolution(c: CandidateEstimate, outcome: Pick<PredictionOutcome, 'settings'>, where: string): Solution {
  const tuned = c.tunedSettings === true && outcome.settings !== undefined;
  const settings = tuned
    ? outcome.settings!.settings
    : [
        { key: 'spark.executor.cores', value: String(c.executorCores), evidence: `${c.executors} executors of ${c.executorCores} cores fit the pool's ${c.nodes} x ${c.instanceType}` },
        { key: 'spark.executor.memory', value: `${c.executorMemoryMb}m`, evidence: `the heap each ${c.executorCores}-core executor gets on ${c.instanceType}` },
      ];
  const properties = Object.fromEntries(settings.map((s) => [s.key, s.value]));
  return {
    configuration: { Configurations: [{ Classification: 'spark-defaults', Properties: properties }] },
    estimate: { runtimeSeconds: c.runtimeSeconds, costUsd: c.costUsd },
    source: c.source,
    explanation: `Pooled project: ${where}; ${c.executors} executors of ${c.executorCores} cores / ${c.executorMemoryMb} MB on them${tuned ? ' with the recommended Spark settings' : ''}.`,
    settings,
  };
}
