// The tuning loop's judgement, pure: given the project's runs, the prediction made from the latest
// one and the current code fingerprint, what the next run should be, and why.
import type { Estimate, Prediction, Preference, Project, ProjectMode, ProjectState, Run, Solution, TuningPolicy } from './types.js';
import { PREFERENCES } from './types.js';
import { accuracyOf, describeAccuracy } from './prediction-accuracy.js';
import type { ProjectAccuracy } from './prediction-accuracy.js';
import { inputElasticity, inputFactor, scaleEstimate } from './input-volume.js';
import type { InputComparison } from './input-volume.js';
import { eventLogOf } from './eventlog-status.js';
import { structureChanges } from './plan-fingerprint.js';

/** Defaults of the guard rails. */
export const DEFAULT_POLICY: Required<Omit<TuningPolicy, 'maxRuntimeSeconds' | 'pinned' | 'exploreEvery' | 'declaredInput'>> = { compellingSaving: 0.1, regressionTolerance: 0.25, maxTrialCostIncrease: 0.1 };

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
  /** True when the next run is an exploration trial (mark the run: Run.trial). */
  trial?: boolean;
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
 * How much longer than the run it replaced an economy solution may be estimated to run: economy is the
 * cheapest configuration finishing within this factor of the basis runtime (or the SLA when one is set).
 */
export const ECONOMY_RUNTIME_FACTOR = 1.5;

/**
 * Why a run that applied a prediction is a regression, or undefined: it broke the SLA, or its runtime
 * (or cost) exceeds by more than the tolerance both what the prediction estimated and what the run it
 * replaced did (`baseline`). Missing an estimate alone is a prediction error, not a regression: a run
 * that is still faster and cheaper than before is kept. An economy run trades runtime for cost: slower
 * than before is a regression only beyond ECONOMY_RUNTIME_FACTOR times the run before (plus the tolerance).
 */
export function regressionOf(expected: Estimate, observed: Estimate, policy: TuningPolicy, baseline?: Estimate, input?: InputComparison, preference?: Preference): string | undefined {
  const tol = policy.regressionTolerance ?? DEFAULT_POLICY.regressionTolerance;
  // Like with like: the estimate and the run before are scaled to this run's input (see input-volume.ts).
  const factor = input ? inputFactor(input) : 1;
  if (factor !== 1) {
    const why = regressionOf(scaleEstimate(expected, factor), observed, policy, baseline ? scaleEstimate(baseline, factor) : undefined, undefined, preference);
    return why === undefined ? undefined : `${why}, per unit of input (x${(input!.runBytes / input!.referenceBytes).toFixed(2)} the input of the run it was based on)`;
  }
  if (policy.maxRuntimeSeconds !== undefined && observed.runtimeSeconds > policy.maxRuntimeSeconds) {
    return `it ran ${Math.round(observed.runtimeSeconds)} s, over the ${Math.round(policy.maxRuntimeSeconds)} s runtime ceiling`;
  }
  const worse = (actual: number, promised: number, before: number | undefined) => actual > promised * (1 + tol) && (before === undefined || actual > before * (1 + tol));
  // Economy trades runtime for cost: slower than before is a regression only beyond what economy accepts.
  const slowerAccepted = preference === 'economy' ? ECONOMY_RUNTIME_FACTOR : 1;
  if (worse(observed.runtimeSeconds, expected.runtimeSeconds, baseline ? baseline.runtimeSeconds * slowerAccepted : undefined)) {
    const accepted = slowerAccepted !== 1 && baseline ? ` (economy accepts up to x${slowerAccepted} the runtime before)` : '';
    return `it ran ${Math.round(observed.runtimeSeconds)} s against ${Math.round(expected.runtimeSeconds)} s estimated${baseline ? ` and ${Math.round(baseline.runtimeSeconds)} s before${accepted}` : ''} (over the ${pct(tol)} tolerance)`;
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

/** Whether a run measured `observed` broke the policy's runtime ceiling. */
function overSla(policy: TuningPolicy, observed: Estimate): boolean {
  return policy.maxRuntimeSeconds !== undefined && observed.runtimeSeconds > policy.maxRuntimeSeconds;
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

/**
 * Words for a plan change between the run `run`'s applied prediction was based on and `run` itself
 * (plan-fingerprint.ts); undefined when the plan is the same or either structure is unknown.
 */
export function planChangeSinceBasis(state: ProjectState, run: Run): string | undefined {
  if (run.predictionId === undefined || !run.structure) return undefined;
  const basisRunId = state.predictions.find((p) => p.id === run.predictionId)?.basisRunId;
  const basis = state.runs.find((r) => r.id === basisRunId);
  if (!basis?.structure || basis.structure.fingerprint === run.structure.fingerprint) return undefined;
  const changes = structureChanges(basis.structure, run.structure);
  return `the application's plan changed since run ${basis.id} (${changes.length > 0 ? changes.join('; ') : 'its structure changed'}): run ${run.id} starts a new learning group and is not judged against prediction ${run.predictionId}, learnt on the old plan`;
}

/** Decides the next run of a project (see the guard rails in DESIGN/README: never on top of a failure, roll back regressions, keep the SLA, respect code changes). */
export function decideIteration(input: IterationInput): IterationDecision {
  // The regression guard compares like with like: a run whose plan changed is the first of a new group.
  const planChanged = input.latest && input.latest.status !== 'failed' ? planChangeSinceBasis(input.state, input.latest) : undefined;
  const decision = decideWithinGroup(input, planChanged !== undefined);
  return planChanged ? { ...decision, reason: `${planChanged}; ${decision.reason}` } : decision;
}

function decideWithinGroup(input: IterationInput, planChanged: boolean): IterationDecision {
  const { state, latest, prediction, preference } = input;
  const project = state.project;
  const policy = project.policy ?? {};
  const mode = modeOf(project);
  if (!latest) {
    const guess = prediction?.coldStart;
    if (guess && mode === 'auto') {
      return { decision: 'applied', next: { predictionId: prediction.predictionId, preference }, reason: `the project's first run, from the cold-start guess of prediction ${prediction.predictionId}: ${guess.explanation}` };
    }
    const offered = guess ? ` (mode ${mode}: the cold-start guess of prediction ${prediction.predictionId} is not applied; send prediction.apply to use it)` : '';
    return { decision: 'kept', next: { base: true }, reason: `the project's first run, on its own configuration${offered}` };
  }

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

  if (latest.trial && latest.predictionId !== undefined && prediction && !planChanged) {
    const lost = trialLost(latest, prediction.basis);
    if (lost) {
      const good = lastGoodRun(state, latest);
      return {
        decision: 'rolled-back',
        next: configurationOf(good),
        reason: `run ${latest.id} was an exploration trial and lost: ${lost}; back to the configuration of ${good ? `run ${good.id}` : 'the project'}, and this trial is not tried again`,
        regressed: { runId: latest.id, why: `trial lost: ${lost}` },
      };
    }
  }
  if (latest.predictionId !== undefined && latest.expected && prediction && !planChanged) {
    const why = regressionOf(latest.expected, prediction.basis, policy, latest.baseline, inputComparisonFor(state, latest), latest.preference);
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
  // A solution chosen in place of the preference's (for the SLA) is judged on the preference's axis: an
  // economy project does not pay more for a faster run, unless the run it replaces broke the SLA.
  const axis = chosen.preference !== preference && !overSla(policy, prediction.basis) ? preference : chosen.preference;
  const saving = savingOf(axis, chosen.solution, prediction.basis);
  const threshold = (policy.compellingSaving ?? DEFAULT_POLICY.compellingSaving) + accuracy.extraMargin;
  const compelling = saving >= threshold;
  const dimension = axis === 'performance' ? 'runtime' : 'cost';
  const what = `${chosen.preference} solution of prediction ${prediction.predictionId} ${saving >= 0 ? `saves ${pct(saving)} ${dimension}` : `adds ${pct(-saving)} ${dimension}`}${swapped}`;
  if (mode === 'track') return { decision: 'kept', next: configurationOf(latest), reason: `mode track: the ${what}; recorded, not applied`, compelling, saving };
  if (!compelling && mode === 'auto') {
    const trial = chooseTrial(state, prediction, policy, accuracy.runtimeWidening);
    if (trial) return { decision: 'applied', next: { predictionId: prediction.predictionId, preference: trial.preference }, reason: trial.why, compelling, saving, trial: true };
  }
  if (!compelling) {
    const aged = accuracy.unaged ? `, misses rolled back counting less (halved every ${accuracy.halfLifeRuns} run${accuracy.halfLifeRuns === 1 ? '' : 's'} recorded since)` : '';
    const why = accuracy.extraMargin > 0 ? ` (${pct(policy.compellingSaving ?? DEFAULT_POLICY.compellingSaving)} plus this project's median prediction error ${pct(accuracy.extraMargin)}${aged})` : '';
    return { decision: 'kept', next: configurationOf(latest), reason: `the ${what}, under the ${pct(threshold)} needed to change the configuration${why}`, compelling, saving };
  }
  if (mode === 'recommend') {
    return { decision: 'kept', next: configurationOf(latest), reason: `recommended: the ${what}; mode recommend does not apply it (send prediction.apply, or set mode auto)`, compelling, saving };
  }
  return { decision: 'applied', next: { predictionId: prediction.predictionId, preference: chosen.preference }, reason: `the ${what}${widened}. ${chosen.solution.explanation}`, compelling, saving };
}

/** The largest fraction executor memory is lowered by in one run. */
export const MEMORY_STEP = 0.25;
const MEMORY_ROUND_MB = 256;

/** The next executor memory on the way down: one step below `currentMb`, never below `floorMb` (rounded up to 256 MB); `currentMb` when no step is left. */
export function nextMemoryStep(currentMb: number, floorMb: number, step = MEMORY_STEP): number {
  const next = Math.ceil(Math.max(floorMb, currentMb * (1 - step)) / MEMORY_ROUND_MB) * MEMORY_ROUND_MB;
  return next < currentMb ? next : currentMb;
}

/** Failure texts that mean a task or executor ran out of memory (JVM OOM, YARN's container kill, exit 137). */
export const MEMORY_FAILURE = /OutOfMemoryError|exceeding memory limits|running beyond (?:physical|virtual) memory|GC overhead limit exceeded|exit (?:code|status):? ?137|Container killed.*memory|memoryOverhead/i;

/** Whether any of the texts (task failure reasons, executor removal reasons, the step's error) says memory ran out. */
export function isMemoryFailure(texts: readonly (string | undefined)[]): boolean {
  return texts.some((t) => t !== undefined && MEMORY_FAILURE.test(t));
}

/** One run's executor memory and how it ended, for the memory floor. */
export type MemoryRun = {
  runId: string;
  executorMemoryMb: number;
  /** 'ok': finished without a memory failure; 'oom': an OOM or an executor lost to memory. */
  outcome: 'ok' | 'oom';
  /** Peak JVM heap any executor reached, MB (when the log had executor metrics). */
  peakHeapMb?: number;
};

/** The project's memory guard after its runs: the floor, the last good memory, and a rollback when the latest run ran out of memory. */
export type MemoryGuard = {
  floorMb: number;
  lastGoodMb?: number;
  /** Set when the latest run ran out of memory: go back to this memory. */
  rollbackToMb?: number;
  reasons: string[];
};

/**
 * The memory guard, pure: the floor is the highest of (a) every successful run's peak heap plus
 * `margin`, and (b) after each OOM at M MB, halfway from M to the last good memory above it (so
 * neither M nor anything below is tried again). The latest run's OOM rolls back to the last good memory.
 */
export function memoryGuard(runs: readonly MemoryRun[], margin = 0.25): MemoryGuard {
  const reasons: string[] = [];
  let floor = 0;
  let lastGood: number | undefined;
  for (const r of runs) {
    if (r.outcome === 'ok') {
      lastGood = r.executorMemoryMb;
      if (r.peakHeapMb !== undefined && r.peakHeapMb * (1 + margin) > floor) {
        floor = Math.ceil((r.peakHeapMb * (1 + margin)) / MEMORY_ROUND_MB) * MEMORY_ROUND_MB;
        reasons.push(`run ${r.runId} peaked at ${Math.round(r.peakHeapMb)} MB heap: floor ${floor} MB (peak + ${Math.round(margin * 100)}%)`);
      }
      continue;
    }
    const good = lastGood !== undefined && lastGood > r.executorMemoryMb ? lastGood : r.executorMemoryMb * (1 + MEMORY_STEP);
    const raised = Math.ceil((r.executorMemoryMb + good) / 2 / MEMORY_ROUND_MB) * MEMORY_ROUND_MB;
    const above = Math.max(raised, r.executorMemoryMb + MEMORY_ROUND_MB);
    if (above > floor) {
      floor = above;
      reasons.push(`run ${r.runId} ran out of memory at ${Math.round(r.executorMemoryMb)} MB: floor raised to ${floor} MB`);
    }
  }
  const guard: MemoryGuard = { floorMb: floor, reasons };
  if (lastGood !== undefined) guard.lastGoodMb = lastGood;
  const latest = runs[runs.length - 1];
  if (latest?.outcome === 'oom') guard.rollbackToMb = Math.max(lastGood ?? floor, floor);
  return guard;
}

/**
 * The input of `run` against the run its applied prediction was based on, with the elasticity learnt
 * from the project's good runs of that same configuration; undefined when either input is unknown.
 */
export function inputComparisonFor(state: ProjectState, run: Run): InputComparison | undefined {
  const basisRunId = state.predictions.find((p) => p.id === run.predictionId)?.basisRunId;
  const reference = state.runs.find((r) => r.id === basisRunId);
  const runBytes = run.inputBytes ?? run.expectedInputBytes;
  if (reference?.inputBytes === undefined || runBytes === undefined) return undefined;
  const same = state.runs.filter(
    (r) => r.status === 'recorded' && r.regressed === undefined && r.predictionId === run.predictionId && r.inputBytes !== undefined && (r.observed ?? r.runtimeSeconds) !== undefined,
  );
  const elasticity = inputElasticity(same.map((r) => ({ inputBytes: r.inputBytes!, runtimeSeconds: r.observed?.runtimeSeconds ?? r.runtimeSeconds! })));
  return { referenceBytes: reference.inputBytes, runBytes, ...(elasticity !== undefined ? { elasticity } : {}) };
}

/** The project's runs as the memory guard reads them: recorded runs with a known memory are 'ok', failed runs that ran out of memory 'oom'. */
export function memoryRunsOf(state: ProjectState): MemoryRun[] {
  const out: MemoryRun[] = [];
  for (const r of state.runs) {
    if (r.executorMemoryMb === undefined) continue;
    if (r.status === 'recorded') out.push({ runId: r.id, executorMemoryMb: r.executorMemoryMb, outcome: 'ok', ...(r.peakHeapMb !== undefined ? { peakHeapMb: r.peakHeapMb } : {}) });
    else if (r.status === 'failed' && isMemoryFailure([r.error?.message, r.stateChangeReason])) out.push({ runId: r.id, executorMemoryMb: r.executorMemoryMb, outcome: 'oom' });
  }
  return out;
}

/** Applied predictions with a measured outcome a project needs before it explores (its error widens every trial's estimate). */
export const MIN_TRIAL_SAMPLES = 3;

/**
 * The least a trial's cost estimate is widened by: the largest true/estimated cost the engine showed at
 * the solutions exploration could try, on the sandbox's independent ground truth (seeds 51-110: 724
 * solutions estimated within 10% of the run in use, max 2.32; `node --import tsx bench/exploration-calibration.ts`).
 * Every such solution there changed the cluster shape; Spark settings alone were never a solution apart
 * from a shape, so they get no smaller widening. A project's own observed error widens further when larger.
 */
export const TRIAL_WIDENING = 2.35;

/** A trial configuration the exploration budget allows, with why. */
export type Trial = { preference: Preference; solution: Solution; why: string };

/** Configurations (prediction + preference) that were tried and lost: never tried again. */
export function penalisedTrials(state: ProjectState): Set<string> {
  return new Set(state.runs.filter((r) => r.trial && r.regressed !== undefined && r.predictionId !== undefined).map((r) => `${r.predictionId}/${r.preference}`));
}

/** Runs between trials: policy.exploreEvery, doubled for every trial this project lost (a losing project explores less). */
export function trialSpacing(state: ProjectState, every: number): number {
  const lost = state.runs.filter((r) => r.trial && r.regressed !== undefined).length;
  return every * 2 ** Math.min(lost, 6);
}

/** How much a trial's cost estimate is widened for the exploration budget: the project's observed error, at least TRIAL_WIDENING. */
export function trialWidening(projectWidening: number): number {
  return Math.max(1, projectWidening, TRIAL_WIDENING);
}

/**
 * The exploration trial for the next run, or undefined: only with policy.exploreEvery set, at most one
 * trial per that many runs (doubled per lost trial), a solution other than the one in use whose estimate
 * widened (trialWidening) costs at most maxTrialCostIncrease more than the current run and stays within
 * the SLA, and that did not lose before. The cheapest such estimate is tried.
 */
export function chooseTrial(state: ProjectState, prediction: Prediction, policy: TuningPolicy, runtimeWidening = 1): Trial | undefined {
  const every = policy.exploreEvery;
  if (every === undefined || every < 2) return undefined;
  const lastTrial = state.runs.map((r) => r.trial === true).lastIndexOf(true);
  const since = lastTrial < 0 ? state.runs.length : state.runs.length - 1 - lastTrial;
  const spacing = trialSpacing(state, every);
  if (since < spacing) return undefined;
  // The budget is kept on estimates widened by the project's observed error: with fewer than
  // MIN_TRIAL_SAMPLES runs that measured it, that error is not known yet, so nothing is tried.
  if (accuracyOf(state).samples.length < MIN_TRIAL_SAMPLES) return undefined;
  const budget = policy.maxTrialCostIncrease ?? DEFAULT_POLICY.maxTrialCostIncrease;
  const ceiling = prediction.basis.costUsd * (1 + budget);
  const penalised = penalisedTrials(state);
  const widen = trialWidening(runtimeWidening);
  const options = PREFERENCES.map((p) => ({ preference: p, solution: prediction.solutions[p] }))
    .filter((o) => !o.solution.keep && !penalised.has(`${prediction.predictionId}/${o.preference}`))
    // The same cluster shape without a Spark setting to change is the configuration in use: nothing to learn.
    .filter((o) => !o.solution.sameCluster || (o.solution.settings?.length ?? 0) > 0)
    .filter((o) => o.solution.estimate.costUsd * widen <= ceiling)
    .filter((o) => policy.maxRuntimeSeconds === undefined || o.solution.estimate.runtimeSeconds * widen <= policy.maxRuntimeSeconds)
    .sort((a, b) => a.solution.estimate.costUsd - b.solution.estimate.costUsd);
  const best = options[0];
  if (!best) return undefined;
  return {
    ...best,
    why:
      `exploration trial (one per ${spacing} runs, ${since} since the last): the ${best.preference} solution of prediction ${prediction.predictionId} ` +
      `is estimated at $${(best.solution.estimate.costUsd * widen).toFixed(2)} widened x${widen.toFixed(2)} (the engine's error at configurations not yet run, or this project's if larger), within ${pct(budget)} of the current $${prediction.basis.costUsd.toFixed(2)}${policy.maxRuntimeSeconds !== undefined ? ` and the ${policy.maxRuntimeSeconds} s SLA` : ''}`,
  };
}

/** Why a trial run lost (it cost more than the run it replaced), or undefined: a lost trial is rolled back at once and never tried again. */
export function trialLost(run: Run, observed: Estimate): string | undefined {
  if (!run.trial || !run.baseline) return undefined;
  return observed.costUsd > run.baseline.costUsd ? `the trial cost $${observed.costUsd.toFixed(2)} against $${run.baseline.costUsd.toFixed(2)} before` : undefined;
}

/** What exploration cost and bought on a project: its trials, the extra cost of those that lost, the saving per run of those that won. */
export type ExplorationSummary = {
  every?: number;
  budget: number;
  /** Runs between trials now (exploreEvery doubled per lost trial). */
  spacing?: number;
  trials: number;
  lost: number;
  won: number;
  /** Sum over lost trials of what each cost above the run it replaced (the engine's measure, USD). */
  spentUsd: number;
  /** Sum over won trials of what each saved against the run it replaced (USD per run). */
  boughtUsdPerRun: number;
};

export function explorationSummary(state: ProjectState): ExplorationSummary {
  const policy = state.project.policy ?? {};
  const trials = state.runs.filter((r) => r.trial);
  let spentUsd = 0, boughtUsdPerRun = 0, lost = 0, won = 0;
  for (const r of trials) {
    if (!r.observed || !r.baseline) continue;
    const delta = r.observed.costUsd - r.baseline.costUsd;
    if (r.regressed !== undefined || delta > 0) {
      lost++;
      spentUsd += Math.max(0, delta);
    } else {
      won++;
      boughtUsdPerRun += -delta;
    }
  }
  const out: ExplorationSummary = { budget: policy.maxTrialCostIncrease ?? DEFAULT_POLICY.maxTrialCostIncrease, trials: trials.length, lost, won, spentUsd, boughtUsdPerRun };
  if (policy.exploreEvery !== undefined && policy.exploreEvery >= 2) {
    out.every = policy.exploreEvery;
    out.spacing = trialSpacing(state, policy.exploreEvery);
  }
  return out;
}

/** The exploration summary in words (projects show, the dashboard). */
export function describeExploration(x: ExplorationSummary): string {
  if (x.every === undefined && x.trials === 0) return 'off (set policy.exploreEvery in mode auto to try one configuration every N runs within policy.maxTrialCostIncrease)';
  const head = x.every === undefined ? 'off now' : `one trial per ${x.spacing} runs${x.spacing !== x.every ? ` (exploreEvery ${x.every}, doubled per lost trial)` : ''}, budget +${pct(x.budget)} per trial`;
  if (x.trials === 0) return `${head}; no trial yet (a trial's estimate is widened at least x${TRIAL_WIDENING} and must stay within the budget)`;
  const measured = x.lost + x.won;
  return (
    `${head}; ${x.trials} trial${x.trials === 1 ? '' : 's'}${measured < x.trials ? ` (${x.trials - measured} not measured yet)` : ''}: ` +
    `${x.lost} lost and rolled back, costing $${x.spentUsd.toFixed(2)} above the runs they replaced; ${x.won} won, saving $${x.boughtUsdPerRun.toFixed(2)} a run`
  );
}
