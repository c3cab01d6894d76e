// The tuning loop's judgement, pure: given the project's runs, the prediction made from the latest
// one and the current code fingerprint, what the next run should be, and why.
import type { Estimate, Prediction, Preference, Project, ProjectMode, ProjectState, Run, Solution, TuningPolicy } from './types.js';
import { PREFERENCES } from './types.js';
import { accuracyOf, describeAccuracy } from './prediction-accuracy.js';
import type { ProjectAccuracy } from './prediction-accuracy.js';
import { eventLogOf } from './eventlog-status.js';

/** Defaults of the guard rails. */
export const DEFAULT_POLICY: Required<Omit<TuningPolicy, 'maxRuntimeSeconds'>> = { compellingSaving: 0.1, regressionTolerance: 0.25 };

/** Which configuration the next run uses: the project's own request, or a prediction's solution. */
export type NextConfiguration = { predictionId: string; preference: Preference } | { base: true };

export type IterationDecision = {
  decision: 'applied' | 'kept' | 'rolled-back' | 'held';
  next: NextConfiguration;
  reason: string;
  /** The latest run, when it is judged a regression of the prediction it applied. */
  regressed?: { runId: string; why: string };
  compelling?: boolean;
  saving?: number;
  /** The project's standing warning after this iteration (undefined: clear it). */
  warning?: string;
};

/** The project's mode: explicit, else 'auto' for autoApply projects, else 'recommend'. */
export function modeOf(project: Pick<Project, 'mode' | 'autoApply'>): ProjectMode {
  return project.mode ?? (project.autoApply ? 'auto' : 'recommend');
}

const pct = (x: number) => `${(x * 100).toFixed(0)}%`;

/** The configuration a run used, as a NextConfiguration (to keep it, or go back to it). */
export function configurationOf(run: Run | undefined): NextConfiguration {
  return run?.predictionId !== undefined && run.preference !== undefined ? { predictionId: run.predictionId, preference: run.preference } : { base: true };
}

/** The last run before `before` that was recorded and not judged a regression. */
export function lastGoodRun(state: ProjectState, before: Run): Run | undefined {
  const i = state.runs.findIndex((r) => r.id === before.id);
  return state.runs.slice(0, i < 0 ? state.runs.length : i).reverse().find((r) => r.status === 'recorded' && r.regressed === undefined);
}

/**
 * Why a run that applied a prediction is a regression, or undefined: it broke the SLA, or its runtime
 * (or cost) exceeds by more than the tolerance both what the prediction estimated and what the run it
 * replaced did (`baseline`). Missing an estimate alone is a prediction error, not a regression: a run
 * that is still faster and cheaper than before is kept.
 */
export function regressionOf(expected: Estimate, observed: Estimate, policy: TuningPolicy, baseline?: Estimate): string | undefined {
  const tol = policy.regressionTolerance ?? DEFAULT_POLICY.regressionTolerance;
  if (policy.maxRuntimeSeconds !== undefined && observed.runtimeSeconds > policy.maxRuntimeSeconds) {
    return `it ran ${Math.round(observed.runtimeSeconds)} s, over the ${Math.round(policy.maxRuntimeSeconds)} s runtime ceiling`;
  }
  const worse = (actual: number, promised: number, before: number | undefined) => actual > promised * (1 + tol) && (before === undefined || actual > before * (1 + tol));
  if (worse(observed.runtimeSeconds, expected.runtimeSeconds, baseline?.runtimeSeconds)) {
    return `it ran ${Math.round(observed.runtimeSeconds)} s against ${Math.round(expected.runtimeSeconds)} s estimated${baseline ? ` and ${Math.round(baseline.runtimeSeconds)} s before` : ''} (over the ${pct(tol)} tolerance)`;
  }
  if (worse(observed.costUsd, expected.costUsd, baseline?.costUsd)) {
    return `it cost $${observed.costUsd.toFixed(2)} against $${expected.costUsd.toFixed(2)} estimated${baseline ? ` and $${baseline.costUsd.toFixed(2)} before` : ''} (over the ${pct(tol)} tolerance)`;
  }
  return undefined;
}

/** The saving a solution promises over the basis: runtime for 'performance', cost otherwise. */
export function savingOf(preference: Preference, solution: Solution, basis: Estimate): number {
  if (preference === 'performance') return basis.runtimeSeconds > 0 ? (basis.runtimeSeconds - solution.estimate.runtimeSeconds) / basis.runtimeSeconds : 0;
  return basis.costUsd > 0 ? (basis.costUsd - solution.estimate.costUsd) / basis.costUsd : 0;
}

/**
 * The preference's solution, or under an SLA the cheapest solution within it; undefined when none fits.
 * Each estimate is multiplied by `runtimeWidening` (the project's observed overrun, >= 1) before it is
 * checked against the SLA.
 */
export function chooseSolution(prediction: Prediction, preference: Preference, policy: TuningPolicy, runtimeWidening = 1): { preference: Preference; solution: Solution } | undefined {
  const wanted = prediction.solutions[preference];
  const sla = policy.maxRuntimeSeconds;
  const widen = Math.max(1, runtimeWidening);
  if (sla === undefined || wanted.estimate.runtimeSeconds * widen <= sla) return { preference, solution: wanted };
  const within = PREFERENCES.map((p) => ({ preference: p, solution: prediction.solutions[p] }))
    .filter((x) => x.solution.estimate.runtimeSeconds * widen <= sla)
    .sort((a, b) => a.solution.estimate.costUsd - b.solution.estimate.costUsd);
  return within[0];
}

export type IterationInput = {
  state: ProjectState;
  /** The project's latest run (recorded or failed); undefined for the first iteration. */
  latest: Run | undefined;
  /** The prediction made from `latest`, when it could be made. */
  prediction: Prediction | undefined;
  preference: Preference;
  /** The application's fingerprint now; undefined when it is unknown (its code could not be read). */
  currentFingerprint: string | undefined;
};

/** How the code-change warning starts (so a standing hold can be recognised). */
export const CODE_CHANGE_WARNING = 'the application changed since run';

/**
 * The run the code-change guard compares against: the latest run up to `latest` whose fingerprint is
 * known. A run whose fingerprint is unknown neither trips the guard nor clears it.
 */
export function fingerprintReference(state: ProjectState, latest: Run): Run | undefined {
  const i = state.runs.findIndex((r) => r.id === latest.id);
  const upTo = i < 0 ? [...state.runs, latest] : state.runs.slice(0, i + 1);
  return upTo.reverse().find((r) => r.fingerprint !== undefined);
}

/** Decides the next run of a project (see the guard rails in DESIGN/README: never on top of a failure, roll back regressions, keep the SLA, respect code changes). */
export function decideIteration(input: IterationInput): IterationDecision {
  const { state, latest, prediction, preference } = input;
  const project = state.project;
  const policy = project.policy ?? {};
  const mode = modeOf(project);
  if (!latest) return { decision: 'kept', next: { base: true }, reason: "the project's first run, on its own configuration" };

  if (latest.status === 'failed') {
    const why = latest.error?.message ?? latest.clusterState ?? 'failed';
    if (latest.predictionId !== undefined) {
      const good = lastGoodRun(state, latest);
      return {
        decision: 'rolled-back',
        next: configurationOf(good),
        reason: `run ${latest.id} applied prediction ${latest.predictionId} and failed (${why}); back to the configuration of ${good ? `run ${good.id}` : 'the project'}`,
        regressed: { runId: latest.id, why: `failed: ${why}` },
        warning: `run ${latest.id} failed with prediction ${latest.predictionId} applied; rolled back`,
      };
    }
    return { decision: 'held', next: configurationOf(latest), reason: `run ${latest.id} failed (${why}); no prediction is applied on top of a failed run` };
  }

  if (latest.predictionId !== undefined && latest.expected && prediction) {
    const why = regressionOf(latest.expected, prediction.basis, policy, latest.baseline);
    if (why) {
      const good = lastGoodRun(state, latest);
      return {
        decision: 'rolled-back',
        next: configurationOf(good),
        reason: `run ${latest.id} applied prediction ${latest.predictionId} and regressed: ${why}; back to the configuration of ${good ? `run ${good.id}` : 'the project'}`,
        regressed: { runId: latest.id, why },
        warning: `run ${latest.id} regressed with prediction ${latest.predictionId} applied (${why}); rolled back`,
      };
    }
  }

  const reference = fingerprintReference(state, latest);
  if (reference?.fingerprint !== undefined && input.currentFingerprint !== undefined && reference.fingerprint !== input.currentFingerprint) {
    const warning = `${CODE_CHANGE_WARNING} ${reference.id} (its steps or the code they reference); predictions based on earlier runs are not applied until a run on the new code is recorded`;
    return { decision: 'held', next: configurationOf(latest), reason: warning, warning };
  }
  // The code cannot be read now: a hold already standing stays (it is not cleared by not knowing).
  const standing = input.currentFingerprint === undefined ? state.status?.warnings.find((w) => w.startsWith(CODE_CHANGE_WARNING)) : undefined;
  if (standing !== undefined) {
    return { decision: 'held', next: configurationOf(latest), reason: `${standing} (the code could not be read now, so the hold stays)`, warning: standing };
  }
  if (!prediction) {
    const log = eventLogOf(latest);
    const why = log?.status === 'missing' ? `has no event log (${log.reason ?? 'none was found when it was recorded'})` : 'gave no prediction';
    return { decision: 'kept', next: configurationOf(latest), reason: `run ${latest.id} ${why}, so there is nothing to predict from; configuration kept` };
  }

  // The project's track record: a project whose predictions missed needs a wider SLA margin and a bigger saving.
  const accuracy: ProjectAccuracy = accuracyOf(state);
  const widened = accuracy.runtimeWidening > 1 ? ` (estimates widened x${accuracy.runtimeWidening.toFixed(2)} by this project's observed error: ${describeAccuracy(accuracy)})` : '';
  const chosen = chooseSolution(prediction, preference, policy, accuracy.runtimeWidening);
  if (!chosen) {
    return {
      decision: 'kept',
      next: configurationOf(latest),
      reason: `no recommended configuration of prediction ${prediction.predictionId} is estimated within the ${policy.maxRuntimeSeconds} s runtime ceiling${widened}; configuration kept`,
    };
  }
  const swapped =
    chosen.preference !== preference && accuracy.runtimeWidening > 1
      ? ` (the ${preference} solution, ${Math.round(prediction.solutions[preference].estimate.runtimeSeconds)} s${widened}, could exceed the ${policy.maxRuntimeSeconds} s runtime ceiling)`
      : '';
  const saving = savingOf(chosen.preference, chosen.solution, prediction.basis);
  const threshold = (policy.compellingSaving ?? DEFAULT_POLICY.compellingSaving) + accuracy.extraMargin;
  const compelling = saving >= threshold;
  const dimension = chosen.preference === 'performance' ? 'runtime' : 'cost';
  const what = `${chosen.preference} solution of prediction ${prediction.predictionId} ${saving >= 0 ? `saves ${pct(saving)} ${dimension}` : `adds ${pct(-saving)} ${dimension}`}${swapped}`;
  if (mode === 'track') return { decision: 'kept', next: configurationOf(latest), reason: `mode track: the ${what}; recorded, not applied`, compelling, saving };
  if (!compelling) {
    const why = accuracy.extraMargin > 0 ? ` (${pct(policy.compellingSaving ?? DEFAULT_POLICY.compellingSaving)} plus this project's median prediction error ${pct(accuracy.extraMargin)})` : '';
    return { decision: 'kept', next: configurationOf(latest), reason: `the ${what}, under the ${pct(threshold)} needed to change the configuration${why}`, compelling, saving };
  }
  if (mode === 'recommend') {
    return { decision: 'kept', next: configurationOf(latest), reason: `recommended: the ${what}; mode recommend does not apply it (send prediction.apply, or set mode auto)`, compelling, saving };
  }
  return { decision: 'applied', next: { predictionId: prediction.predictionId, preference: chosen.preference }, reason: `the ${what}${widened}. ${chosen.solution.explanation}`, compelling, saving };
}
