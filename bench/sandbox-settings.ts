// Spark settings, memory, input volume and exploration on the sandbox (issue 13): over many seeds of
// the independent ground truth (src/sandbox/ground-truth.ts: YARN packing, spill and GC with memory
// per task, task count and per-task cost with shuffle partitions, OutOfMemoryError below a hidden
// floor), the tuning loop (bench/sandbox-loop.ts) runs 10 iterations from the same start in several
// arms and prints, each beside its baseline:
//   (a) the true cost in use after 10 iterations, cluster shape + Spark settings vs cluster shape only;
//   (b) OOMs caused by lowering memory, rolled back, and runs below a past successful run's peak;
//   (c) on a workload whose input varies 2x run to run: regressions flagged, and false ones, with and
//       without the guard comparing per unit of input;
//   (d) with exploration on (exploreEvery 3, maxTrialCostIncrease 10%): regret after 10 iterations vs
//       exploration off, and each trial's true cost increase over the configuration it replaced.
import { loadCatalog } from '../src/adapters/prediction/catalog-file.js';
import type { Catalog } from '../src/domain/prediction/catalog.js';
import { NODE_GRID } from '../src/domain/prediction/candidates.js';
import { DEFAULT_POLICY, TRIAL_WIDENING } from '../src/domain/tuning-policy.js';
import type { JobFlow, Preference, TuningPolicy } from '../src/domain/types.js';
import { startConfiguration } from '../src/demo/start-configuration.js';
import { readInstanceFacts } from '../src/sandbox/instance-facts.js';
import { createRng } from '../src/sandbox/rng.js';
import { scaleWorkload } from '../src/sandbox/workload.js';
import type { Workload } from '../src/sandbox/workload.js';
import { bestShapeCostBySeed, jobFlowOf, runTuningLoop, truthEvaluator } from './sandbox-loop.js';
import type { Instances, LoopIteration, Truth } from './sandbox-loop.js';
import { SPACE_FAMILIES, SPACE_SIZES, workloadFor } from './sandbox-whatif.js';

const ITERATIONS = 10;
const PREFERENCE: Preference = 'economy';
const EXPLORE_EVERY = 3;
const MiB = 1024 * 1024;

/** The workload with input: first stages that read nothing read their output's worth (the shipped etl-shuffle reads no file input). */
function withInput(w: Workload): Workload {
  const parents = new Set(w.stages.flatMap((s) => s.parents));
  return {
    ...w,
    stages: w.stages.map((s) =>
      s.parents.length === 0 && s.inputBytes === 0 && s.shuffleReadBytes === 0 && parents.size > 0 ? { ...s, inputBytes: Math.max(s.shuffleWriteBytes, s.tasks * 64 * MiB) } : s,
    ),
  };
}

type Seed = {
  shape: LoopIteration[];
  tuned: LoopIteration[];
  explore: LoopIteration[];
  inputRaw: LoopIteration[];
  inputNorm: LoopIteration[];
  truth: (j: JobFlow) => Truth;
  inputTruth: (j: JobFlow) => Truth;
  bestShapeCost: number;
};

async function oneSeed(seed: number, catalog: Catalog, types: string[], instances: Instances): Promise<Seed> {
  const world = 1000 + seed;
  const workload = workloadFor(seed);
  const start = startConfiguration(workload);
  const base = jobFlowOf({ instanceType: start.instanceType, nodes: start.nodes }, `s3://code/${workload.name}.py`);
  const t0 = Date.UTC(2026, 0, 1);
  const truth = truthEvaluator(workload, world, 77_000 + seed, catalog, instances, t0);
  const loop = (over: { tuneSettings: boolean; policy?: TuningPolicy; workloadAt?: (k: number) => Workload; recordInput?: boolean }) =>
    runTuningLoop({ seed, world, workloadAt: () => workload, base, catalog, include: types, instances, iterations: ITERATIONS, preference: PREFERENCE, ...over });
  const shape = await loop({ tuneSettings: false });
  const tuned = await loop({ tuneSettings: true });
  const explore = await loop({ tuneSettings: true, policy: { exploreEvery: EXPLORE_EVERY } });
  // Input 1x or 2x, drawn per run (the same draws for both arms).
  const withIn = withInput(workload);
  const rng = createRng(seed, 'bench-input');
  const factors = Array.from({ length: ITERATIONS + 1 }, () => (rng.next() < 0.5 ? 1 : 2));
  const sized = [1, 2].map((f) => (f === 1 ? withIn : scaleWorkload(withIn, { taskWork: f })));
  const workloadAt = (k: number) => sized[factors[k]! - 1]!;
  const inputRaw = await loop({ tuneSettings: true, workloadAt });
  const inputNorm = await loop({ tuneSettings: true, workloadAt, recordInput: true });
  const inputTruth = truthEvaluator(withIn, world, 77_000 + seed, catalog, instances, t0);
  // The cheapest cluster shape at the default settings (brute force over the space, a quarter to 4x the start's vCPU).
  let bestShapeCost = bestShapeCostBySeed.get(seed) ?? truth(base).cost;
  if (!bestShapeCostBySeed.has(seed)) for (const type of types) {
    const vcpu = instances[type]!.vcpu;
    for (const nodes of NODE_GRID) {
      if (nodes * vcpu < start.vcpu / 4 || nodes * vcpu > start.vcpu * 4) continue;
      bestShapeCost = Math.min(bestShapeCost, truth(jobFlowOf({ instanceType: type, nodes }, `s3://code/${workload.name}.py`)).cost);
    }
  }
  return { shape, tuned, explore, inputRaw, inputNorm, truth, inputTruth, bestShapeCost };
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo] === s[hi] ? s[lo]! : s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
};
const median = (xs: number[]) => quantile(xs, 0.5);
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : String(x));
const last = (its: LoopIteration[]) => its[its.length - 1]!.next;

/** Runs the settings experiments over `seeds` seeds and prints their figures. */
export async function runSandboxSettings(seeds: number, first = 1): Promise<void> {
  const catalog = loadCatalog();
  const instances = readInstanceFacts();
  const types = SPACE_FAMILIES.flatMap((f) => SPACE_SIZES.map((s) => `${f}.${s}`)).filter((t) => catalog.get(t) && instances[t]);
  const t0 = performance.now();
  const all: Seed[] = [];
  for (let seed = first; seed < first + seeds; seed++) all.push(await oneSeed(seed, catalog, types, instances));
  const secs = (performance.now() - t0) / 1000;
  console.log(`\nSpark settings on the sandbox: ${seeds} seeds (hidden parameters + workload + start), ${ITERATIONS} iterations per arm from the same start, preference ${PREFERENCE}; ${secs.toFixed(0)} s`);

  // (a) settings vs shape only.
  const cost = (s: Seed, its: LoopIteration[]) => s.truth(last(its)).cost;
  const shapeCost = all.map((s) => cost(s, s.shape));
  const tunedCost = all.map((s) => cost(s, s.tuned));
  const ratio = all.map((s, i) => tunedCost[i]! / shapeCost[i]!);
  const helped = ratio.filter((r) => r < 0.99).length;
  const hurt = ratio.filter((r) => r > 1.01).length;
  const applied = (its: LoopIteration[]) => its.filter((i) => i.decision.decision === 'applied' && i.nextHasSettings).length;
  console.log('  (a) true cost of the configuration in use after 10 iterations (ground truth, one noise seed per seed for all arms)');
  console.log(`      cluster shape + Spark settings: median $${median(tunedCost).toFixed(4)}   cluster shape only (baseline): median $${median(shapeCost).toFixed(4)}`);
  console.log(
    `      per seed, settings / shape only: median ${median(ratio).toFixed(3)}, p10 ${quantile(ratio, 0.1).toFixed(3)}, p90 ${quantile(ratio, 0.9).toFixed(3)}; ` +
      `settings helped (>1% cheaper) in ${helped} of ${seeds} seeds (${pct(helped / seeds)}), hurt in ${hurt}, same in ${seeds - helped - hurt}; ` +
      `failing at the end ${tunedCost.filter((c) => !Number.isFinite(c)).length} vs ${shapeCost.filter((c) => !Number.isFinite(c)).length}`,
  );
  const keys = new Map<string, number>();
  for (const s of all) for (const i of s.tuned) if (i.decision.decision === 'applied' && i.nextHasSettings) {
    const sol = i.prediction!.solutions[(i.decision.next as { preference: Preference }).preference];
    for (const st of sol.settings ?? []) keys.set(st.key, (keys.get(st.key) ?? 0) + 1);
  }
  console.log(`      applied solutions that wrote Spark settings: ${all.reduce((n, s) => n + applied(s.tuned), 0)} (${[...keys.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')})`);

  // (b) memory: OOMs caused by lowering memory, rolled back, and the floor.
  let oomRuns = 0, oomAfterLowering = 0, rolledBack = 0, backToGood = 0, belowPeak = 0, memoryLowered = 0, failedOther = 0, failedShape = 0;
  for (const s of all) {
    failedShape += s.shape.filter((i) => i.run.status === 'failed').length;
    for (const arm of [s.tuned, s.explore]) {
      let lastGoodMb: number | undefined;
      let peak = 0;
      for (const [n, i] of arm.entries()) {
        const mb = i.run.executorMemoryMb;
        const prev = n > 0 ? arm[n - 1]!.run.executorMemoryMb : undefined;
        if (mb !== undefined && prev !== undefined && mb < prev) memoryLowered++;
        if (mb !== undefined && peak > 0 && mb < peak) belowPeak++;
        if (i.oom) {
          oomRuns++;
          if (mb !== undefined && lastGoodMb !== undefined && mb < lastGoodMb) oomAfterLowering++;
          if (i.decision.decision === 'rolled-back') rolledBack++;
          const nextMb = arm[n + 1]?.run.executorMemoryMb;
          if (nextMb === undefined || lastGoodMb === undefined || nextMb >= lastGoodMb) backToGood++;
        } else if (i.run.status === 'failed') failedOther++;
        if (i.run.status === 'recorded') {
          if (mb !== undefined) lastGoodMb = mb;
          peak = Math.max(peak, i.run.peakHeapMb ?? 0);
        }
      }
    }
  }
  console.log(`  (b) executor memory (arms with settings: ${seeds * 2} loops, ${seeds * 2 * ITERATIONS} runs): lowered on ${memoryLowered} runs`);
  console.log(
    `      OOMs ${oomRuns}, of which on memory lowered below the last good run's ${oomAfterLowering}; rolled back ${rolledBack} of ${oomRuns}, next run back at or above the last good memory ${backToGood} of ${oomRuns}; ` +
      `runs below a past successful run's heap peak ${belowPeak}; other failed runs ${failedOther} (cluster shape only: ${failedShape} failed runs)`,
  );

  // (c) input varying 2x: regressions flagged and false ones, with and without input normalisation.
  const tol = DEFAULT_POLICY.regressionTolerance;
  const regressions = (s: Seed, its: LoopIteration[]) => {
    let flagged = 0, falsely = 0;
    const byRun = new Map(its.map((i) => [i.run.id, i.jobFlow]));
    for (const i of its) {
      if (!i.decision.regressed || i.run.status !== 'recorded') continue;
      flagged++;
      const basisRun = i.state.predictions.find((p) => p.id === i.run.predictionId)?.basisRunId;
      const before = basisRun ? byRun.get(basisRun) : undefined;
      if (!before) continue;
      // At the same input (1x, one noise seed), was the applied configuration really worse than the one it replaced?
      const now = s.inputTruth(i.jobFlow);
      const was = s.inputTruth(before);
      if (!(now.cost > was.cost * (1 + tol) || now.seconds > was.seconds * (1 + tol))) falsely++;
    }
    return { flagged, falsely };
  };
  const sum = (f: (s: Seed) => { flagged: number; falsely: number }) => all.map(f).reduce((a, b) => ({ flagged: a.flagged + b.flagged, falsely: a.falsely + b.falsely }), { flagged: 0, falsely: 0 });
  const raw = sum((s) => regressions(s, s.inputRaw));
  const norm = sum((s) => regressions(s, s.inputNorm));
  const normCost = all.map((s) => s.inputTruth(last(s.inputNorm)).cost);
  const rawCost = all.map((s) => s.inputTruth(last(s.inputRaw)).cost);
  console.log(`  (c) input 1x or 2x at random run to run (${seeds} loops each): regressions judged on recorded runs, and false ones (at the same input the configuration was not worse by the ${pct(tol)} tolerance)`);
  console.log(`      per unit of input (run.inputBytes recorded): ${norm.flagged} flagged, ${norm.falsely} false   without input normalisation (baseline): ${raw.flagged} flagged, ${raw.falsely} false`);
  console.log(`      true cost at 1x input after 10 iterations: median $${median(normCost).toFixed(4)} normalised vs $${median(rawCost).toFixed(4)} without`);

  // (d) exploration.
  const regret = (s: Seed, its: LoopIteration[]) => s.truth(last(its)).cost / s.bestShapeCost - 1;
  const on = all.map((s) => regret(s, s.explore));
  const off = all.map((s) => regret(s, s.tuned));
  const increases: number[] = [];
  const observed: number[] = [];
  let trials = 0, lost = 0;
  for (const s of all) {
    for (const [n, i] of s.explore.entries()) {
      if (!i.run.trial) continue;
      trials++;
      if (i.decision.regressed) lost++;
      const before = n > 0 ? s.explore[n - 1]!.jobFlow : undefined;
      if (before) increases.push(s.truth(i.jobFlow).cost / s.truth(before).cost - 1);
      if (i.run.observed && i.run.baseline) observed.push(i.run.observed.costUsd / i.run.baseline.costUsd - 1);
    }
  }
  const budget = DEFAULT_POLICY.maxTrialCostIncrease;
  const over = increases.filter((x) => x > budget).length;
  console.log(`  (d) exploration (exploreEvery ${EXPLORE_EVERY}, maxTrialCostIncrease ${pct(budget)}) vs off, both with settings; regret = true cost in use / cheapest cluster shape at default settings (brute force) - 1`);
  console.log(`      regret after 10 iterations: exploration on median ${pct(median(on))}, p90 ${pct(quantile(on, 0.9))}   off (baseline) median ${pct(median(off))}, p90 ${pct(quantile(off, 0.9))}`);
  if (increases.length === 0) {
    console.log(`      trials ${trials}: no solution's estimate, widened by the project's error (at least x${TRIAL_WIDENING}), fit the ${pct(budget)} budget in any seed; worst trial cost increase: none`);
  } else {
    console.log(
      `      trials ${trials} (lost and rolled back ${lost}); true cost increase over the configuration replaced: median ${pct(median(increases))}, worst ${pct(Math.max(...increases))}, over the ${pct(budget)} budget ${over} of ${increases.length}; ` +
        `observed run cost vs the run before: worst ${pct(Math.max(...observed))}`,
    );
  }
}
