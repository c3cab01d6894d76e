// What-if accuracy on the sandbox (issue 14, 5a): over many seeds (a seed = a world of hidden
// parameters and instance speeds + a workload + the careful engineer's start configuration), run the
// real tuning loop in-process: each run goes through the sandbox's ground truth, the engine reads the
// Spark event log the sandbox writes and a cluster report in EMR's shapes, and the policy
// (decideIteration) chooses the next configuration. Prints the error of the estimate at the
// recommended configuration, how often an applied change was really cheaper, and the regret against
// the true cheapest configuration (brute force on the ground truth) after 1, 3 and 5 iterations.
import { loadCatalog } from '../src/adapters/prediction/catalog-file.js';
import { mergeJobFlow } from '../src/domain/job-flow.js';
import type { Catalog } from '../src/domain/prediction/catalog.js';
import { NODE_GRID } from '../src/domain/prediction/candidates.js';
import { clusterCostUsd } from '../src/domain/prediction/cost.js';
import { chooseSolution, decideIteration } from '../src/domain/tuning-policy.js';
import type { JobFlow, Preference } from '../src/domain/types.js';
import { startConfiguration } from '../src/demo/start-configuration.js';
import type { SimulatedRun } from '../src/sandbox/ground-truth.js';
import { HIDDEN_RANGES, hiddenParameters } from '../src/sandbox/hidden-parameters.js';
import type { HiddenParameters } from '../src/sandbox/hidden-parameters.js';
import { readInstanceFacts } from '../src/sandbox/instance-facts.js';
import { instancePerformance } from '../src/sandbox/instance-performance.js';
import { shippedWorkloads } from '../src/sandbox/shipped-workloads.js';
import { createRng } from '../src/sandbox/rng.js';
import { scaleWorkload } from '../src/sandbox/workload.js';
import type { Workload } from '../src/sandbox/workload.js';
import { bestShapeCostBySeed, coreOf, jobFlowOf, runCluster, runTuningLoop } from './sandbox-loop.js';

/** The candidate space searched by the engine (its `include` option) and brute-forced on the ground truth. */
export const SPACE_FAMILIES = ['m5', 'm6i', 'm6g', 'm7g', 'c5', 'c6i', 'c7g', 'r5', 'r6i', 'r7g'];
export const SPACE_SIZES = ['xlarge', '2xlarge', '4xlarge'];
const PREFERENCE: Preference = 'economy';
const ITERATIONS = 5;

type Config = { instanceType: string; nodes: number };
type Truth = { seconds: number; startup: number; cost: number; failed?: string };
type Iteration = {
  k: number;
  decision: string;
  recommended?: Config;
  estimate?: number;
  actual?: number;
  recommendedFailed?: boolean;
  applied: boolean;
  cheaper?: boolean;
  /** Signed log error of the estimate: ln(estimate / actual). */
  logError?: number;
  /** |truth with another noise seed - actual| / actual: what even a perfect model of this configuration would miss by. */
  noiseError?: number;
  basisType: string;
  /** The decision's reason, the configuration the run used and the one the next run uses (the tail diagnosis). */
  reason: string;
  current: Config;
  next: Config;
  /** What the run was promised (when it applied a prediction) and what the engine measured of it. */
  expected?: { runtimeSeconds: number; costUsd: number };
  observed?: { runtimeSeconds: number; costUsd: number };
};
type SeedResult = {
  seed: number;
  workload: string;
  hidden: HiddenParameters;
  start: Config;
  bestCost: number;
  best: Config;
  startCost: number;
  /** Baseline: the start's vCPU on the type cheapest per vCPU (a one-step rule of thumb, no model). */
  naiveCost: number;
  /** True cost of the configuration in use after k iterations (k = 0..ITERATIONS). */
  costAfter: number[];
  iterations: Iteration[];
  speedMismatch: number[];
  sla: number;
  /** The ground truth of every configuration evaluated (brute force and those the loop used), by key. */
  truths: Map<string, Truth>;
};

const key = (c: Config) => `${c.nodes} x ${c.instanceType}`;
const quantile = (xs: number[], q: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo] === s[hi] || pos === lo ? s[lo]! : s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
};
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : x === Infinity ? 'over SLA' : '-');

/** The workload of a seed: one of the shipped ones, resized (fewer, longer tasks keep the bench fast). */
export function workloadFor(seed: number): Workload {
  const rng = createRng(seed, 'bench-workload');
  const shipped = shippedWorkloads();
  if (seed % 3 === 0) return { ...scaleWorkload(shipped['skewed-etl']!, { taskWork: rng.uniform(0.5, 3) }), name: 'skewed-etl' };
  return { ...scaleWorkload(shipped['etl-shuffle']!, { tasks: rng.uniform(0.15, 0.35), taskWork: rng.uniform(1.5, 5) }), name: 'etl-shuffle' };
}




const configOf = (jobFlow: JobFlow): Config => coreOf(jobFlow);

/** Runs the whole what-if experiment and prints its figures. */
export async function runSandboxWhatIf(seeds: number, first = 1): Promise<SeedResult[]> {
  const catalog: Catalog = loadCatalog();
  const instances = readInstanceFacts();
  const types = SPACE_FAMILIES.flatMap((f) => SPACE_SIZES.map((s) => `${f}.${s}`)).filter((t) => catalog.get(t) && instances[t]);
  const started = performance.now();
  const results: SeedResult[] = [];
  for (let seed = first; seed < first + seeds; seed++) results.push(await oneSeed(seed, types, catalog, instances));
  const secs = (performance.now() - started) / 1000;
  report(results, types, secs);
  if (process.env.WHATIF_TAIL) tail(results);
  return results;
}

async function oneSeed(seed: number, types: string[], catalog: Catalog, instances: ReturnType<typeof readInstanceFacts>): Promise<SeedResult> {
  const world = 1000 + seed;
  const workload = workloadFor(seed);
  const start = startConfiguration(workload);
  const startConfig = { instanceType: start.instanceType, nodes: start.nodes };
  const codeUrl = `s3://code/${workload.name}.py`;
  const base = jobFlowOf(startConfig, codeUrl);
  const evalSeed = 77_000 + seed;
  const t0 = Date.UTC(2026, 0, 1);
  // The ground truth of a configuration, with one noise seed for all (so configurations compare like with like).
  const truthCache = new Map<string, Truth>();
  const truth = (c: Config): Truth => {
    const k = key(c);
    let t = truthCache.get(k);
    if (!t) {
      const r: { run?: SimulatedRun; failed?: string } = runCluster(jobFlowOf(c, codeUrl), workload, world, evalSeed, instances, t0);
      if (!r.run || r.failed) t = { seconds: Infinity, startup: 0, cost: Infinity, failed: r.failed ?? 'failed' };
      else {
        const startup = r.run.totals.provisioningSeconds;
        const seconds = r.run.totals.applicationSeconds;
        t = { seconds, startup, cost: clusterCostUsd(catalog, { instanceType: c.instanceType, nodes: c.nodes, masterInstanceType: 'm5.xlarge' }, seconds + startup) };
      }
      truthCache.set(k, t);
    }
    return t;
  };
  const startTruth = truth(startConfig);
  const sla = startTruth.seconds * 1.5;
  // Brute force: every type of the space x node counts from a quarter to four times the start's vCPU.
  let best = startConfig;
  for (const type of types) {
    const vcpu = instances[type]!.vcpu;
    for (const nodes of NODE_GRID) {
      if (nodes * vcpu < start.vcpu / 4 || nodes * vcpu > start.vcpu * 4) continue;
      const c = { instanceType: type, nodes };
      const t = truth(c);
      if (t.seconds <= sla && t.cost < truth(best).cost) best = c;
    }
  }

  bestShapeCostBySeed.set(seed, Math.min(...[...truthCache.values()].map((t) => t.cost)));
  const iterations: Iteration[] = [];
  // A configuration over the SLA (or failing) has no regret to speak of: Infinity, counted apart.
  const inUse = (c: Config) => (truth(c).seconds <= sla ? truth(c).cost : Infinity);
  const costAfter: number[] = [inUse(configOf(base))];
  const speedMismatch: number[] = [];
  const policy = { maxRuntimeSeconds: sla };
  await runTuningLoop({
    seed,
    world,
    workloadAt: () => workload,
    base,
    catalog,
    include: types,
    instances,
    iterations: ITERATIONS,
    preference: PREFERENCE,
    policy,
    // Cluster shape only: the settings bench (sandbox-settings.ts) measures Spark settings.
    tuneSettings: false,
    history: true,
    onIteration: ({ k, jobFlow, run, prediction, decision, next }) => {
      const current = configOf(jobFlow);
      const it: Iteration = { k, decision: decision.decision, applied: decision.decision === 'applied', basisType: current.instanceType, reason: decision.reason, current, next: configOf(next) };
      if (run.expected) it.expected = run.expected;
      if (run.observed) it.observed = run.observed;
      if (process.env.WHATIF_DEBUG) console.log(`seed ${seed} k ${k} on ${key(current)}: ${decision.decision}: ${decision.reason}`);
      const chosen = prediction ? chooseSolution(prediction, PREFERENCE, policy) : undefined;
      if (chosen) {
        const rec = configOf(mergeJobFlow(base, chosen.solution.configuration));
        it.recommended = rec;
        it.estimate = chosen.solution.estimate.runtimeSeconds;
        // The recommended configuration's actual runtime: the next run's noise seed, as if applied.
        const actual: { run?: SimulatedRun; failed?: string } = runCluster(jobFlowOf(rec, codeUrl), workload, world, seed * 100 + k + 1, instances, t0 + k * 86_400_000);
        if (!actual.run || actual.failed) it.recommendedFailed = true;
        else {
          it.actual = actual.run.totals.applicationSeconds;
          it.logError = Math.log(it.estimate / it.actual);
          const again = truth(rec).seconds;
          if (Number.isFinite(again)) it.noiseError = Math.abs(again - it.actual) / it.actual;
          // How far the engine's idea of the speed ratio (CoreMark per vCPU) is from the sandbox's.
          const e = (t: string) => catalog.get(t)!.coremark! / catalog.get(t)!.vcpu;
          const s = (t: string) => instancePerformance(t, instances[t]!.vcpu, world).cpuSpeed;
          speedMismatch.push(Math.log(e(rec.instanceType) / e(current.instanceType) / (s(rec.instanceType) / s(current.instanceType))));
        }
      }
      if (it.applied) it.cheaper = truth(configOf(next)).cost < truth(current).cost;
      iterations.push(it);
      costAfter.push(inUse(configOf(next)));
    },
  });
  const perVcpu = (t: string) => clusterCostUsd(catalog, { instanceType: t, nodes: 1 }, 3600) / instances[t]!.vcpu;
  const cheapest = [...types].sort((a, b) => perVcpu(a) - perVcpu(b) || instances[a]!.vcpu - instances[b]!.vcpu)[0]!;
  const naive = { instanceType: cheapest, nodes: Math.max(1, Math.round(start.vcpu / instances[cheapest]!.vcpu)) };
  return {
    seed,
    workload: workload.name,
    hidden: hiddenParameters(workload.name, world),
    start: startConfig,
    bestCost: truth(best).cost,
    best,
    startCost: startTruth.cost,
    naiveCost: inUse(naive),
    costAfter,
    iterations,
    speedMismatch,
    sla,
    truths: truthCache,
  };
}

function report(results: SeedResult[], types: string[], secs: number): void {
  const its = results.flatMap((r) => r.iterations);
  const withActual = its.filter((i) => i.actual !== undefined);
  const errs = withActual.map((i) => Math.abs(i.estimate! - i.actual!) / i.actual!);
  const appliedErrs = withActual.filter((i) => i.applied).map((i) => Math.abs(i.estimate! - i.actual!) / i.actual!);
  const applied = its.filter((i) => i.applied);
  const cheaper = applied.filter((i) => i.cheaper).length;
  const decisions = new Map<string, number>();
  for (const i of its) decisions.set(i.decision, (decisions.get(i.decision) ?? 0) + 1);
  console.log(
    `\nWhat-if on the sandbox: ${results.length} seeds (hidden parameters + instance speeds + workload + start), ${ITERATIONS} iterations each, preference ${PREFERENCE}, SLA 1.5 x the start's true runtime; ` +
      `space ${types.length} types (${SPACE_FAMILIES.join(', ')} x ${SPACE_SIZES.join('/')}) x node counts; ${secs.toFixed(0)} s`,
  );
  const slaBreaks = its.filter((i) => i.decision === 'rolled-back' && /runtime ceiling; back to/.test(i.reason)).length;
  console.log(`  decisions: ${[...decisions.entries()].map(([d, n]) => `${d} ${n}`).join(', ')}; runs measured over the SLA (rolled back): ${slaBreaks}`);
  console.log(
    `  runtime error at the recommended configuration (|estimate - actual| / actual, ${errs.length} predictions): median ${pct(quantile(errs, 0.5))}, p90 ${pct(quantile(errs, 0.9))}; ` +
      `at the applied ones (${appliedErrs.length}): median ${pct(quantile(appliedErrs, 0.5))}, p90 ${pct(quantile(appliedErrs, 0.9))}`,
  );
  const noise = withActual.filter((i) => i.noiseError !== undefined).map((i) => i.noiseError!);
  console.log(
    `  noise floor: the same configuration's true runtime with another noise seed misses the actual by a median ${pct(quantile(noise, 0.5))}, p90 ${pct(quantile(noise, 0.9))} (stragglers, per-run and per-node noise: no model can beat this)`,
  );
  const failedRec = its.filter((i) => i.recommendedFailed).length;
  if (failedRec > 0) {
    const failing = results.filter((r) => r.iterations.some((i) => i.recommendedFailed));
    const types = new Map<string, number>();
    for (const r of failing) for (const i of r.iterations) if (i.recommendedFailed && i.recommended) types.set(i.recommended.instanceType, (types.get(i.recommended.instanceType) ?? 0) + 1);
    const ms = (rs: SeedResult[], k: keyof HiddenParameters) => quantile(rs.map((r) => r.hidden[k]), 0.5).toFixed(2);
    console.log(
      `  recommended configurations that failed on the ground truth (OutOfMemoryError 4 times): ${failedRec}, in ${failing.length} seeds; ` +
        `on ${[...types.entries()].sort((a, b) => b[1] - a[1]).map(([t, n]) => `${t} ${n}`).join(', ')}; ` +
        `median memoryScale of those seeds ${ms(failing, 'memoryScale')} (all seeds ${ms(results, 'memoryScale')}), oomFloor ${ms(failing, 'oomFloor')} (${ms(results, 'oomFloor')})`,
    );
  }
  const signed = withActual.map((i) => i.logError!);
  console.log(`  bias: median ln(estimate/actual) ${quantile(signed, 0.5).toFixed(3)} (negative: the engine promises faster runs than happen)`);
  console.log(`  applied changes really cheaper than the configuration they replaced: ${cheaper} of ${applied.length} (${pct(applied.length ? cheaper / applied.length : NaN)})`);
  const regret = (k: number) => results.map((r) => r.costAfter[k]! / r.bestCost - 1);
  const keep = results.map((r) => r.startCost / r.bestCost - 1);
  const row = (name: string, xs: number[]) => {
    const finite = xs.filter(Number.isFinite);
    const failed = xs.length - finite.length;
    return `  ${name.padEnd(34)} median ${pct(quantile(xs, 0.5)).padStart(7)}  p90 ${pct(quantile(xs, 0.9)).padStart(7)}  within 10% ${pct(finite.filter((x) => x <= 0.1).length / xs.length).padStart(6)}  over the SLA or failing ${pct(failed / xs.length).padStart(6)}`;
  };
  console.log('  regret: true cost of the configuration in use / true cheapest within the SLA (brute force) - 1 (a configuration over the SLA counts as infinite regret)');
  console.log(row('keep the start configuration', keep));
  console.log(row('same vCPU, type cheapest per vCPU', results.map((r) => r.naiveCost / r.bestCost - 1)));
  for (const k of [1, 3, 5]) console.log(row(`sync-agent after ${k} iteration${k > 1 ? 's' : ''}`, regret(k)));
  // Where the error comes from: |error| in the top vs bottom third of each hidden parameter.
  console.log('  where the error comes from: median |error| at the recommended configuration, seeds in the low vs high third of each hidden parameter');
  const bySeed = results.map((r) => ({ r, e: r.iterations.filter((i) => i.actual !== undefined).map((i) => Math.abs(i.estimate! - i.actual!) / i.actual!) })).filter((x) => x.e.length > 0);
  const lines: { k: string; lo: number; hi: number }[] = [];
  for (const k of Object.keys(HIDDEN_RANGES) as (keyof HiddenParameters)[]) {
    const sorted = [...bySeed].sort((a, b) => a.r.hidden[k] - b.r.hidden[k]);
    const third = Math.max(1, Math.floor(sorted.length / 3));
    const lo = quantile(sorted.slice(0, third).flatMap((x) => x.e), 0.5);
    const hi = quantile(sorted.slice(-third).flatMap((x) => x.e), 0.5);
    lines.push({ k, lo, hi });
  }
  lines.sort((a, b) => Math.abs(b.hi - b.lo) - Math.abs(a.hi - a.lo));
  for (const l of lines.slice(0, 6)) console.log(`    ${l.k.padEnd(30)} low ${pct(l.lo).padStart(7)}  high ${pct(l.hi).padStart(7)}`);
  const placebo = lines.find((l) => l.k === 'spotInterruptionsPerNodeHour')!;
  console.log(
    `    (spotInterruptionsPerNodeHour plays no part here, no run uses spot nodes: its gap of ${pct(Math.abs(placebo.hi - placebo.lo))} is this split's noise; smaller gaps say nothing)`,
  );
  const mism = results.flatMap((r) => r.speedMismatch);
  const corr = correlation(mism, withActual.map((i) => i.logError!));
  console.log(
    `    instance speed: the engine's CoreMark ratio (recommended / basis type) vs the sandbox's speed ratio differ by a median ${pct(quantile(mism.map(Math.abs), 0.5))}; ` +
      `correlation with the signed error ${corr.toFixed(2)}`,
  );
  const byWorkload = new Map<string, number[]>();
  for (const r of results) for (const i of r.iterations) if (i.actual !== undefined) byWorkload.set(r.workload, [...(byWorkload.get(r.workload) ?? []), Math.abs(i.estimate! - i.actual!) / i.actual!]);
  console.log(`    by workload: ${[...byWorkload.entries()].map(([w, e]) => `${w} median ${pct(quantile(e, 0.5))} (${e.length})`).join(', ')}`);
}

/** The seeds in the tail (regret > 50% after 3 or 5 iterations, or over the SLA), iteration by iteration (WHATIF_TAIL=1). */
function tail(results: SeedResult[]): void {
  const regret = (r: SeedResult, k: number) => r.costAfter[k]! / r.bestCost - 1;
  const inTail = results.filter((r) => !(regret(r, 3) <= 0.5) || !(regret(r, 5) <= 0.5));
  console.log(`\n  tail: ${inTail.length} seeds with regret > 50% (or over the SLA) after 3 or 5 iterations`);
  const t = (r: SeedResult, c: Config) => {
    const x = r.truths.get(key(c));
    return x ? `${Number.isFinite(x.seconds) ? Math.round(x.seconds) : 'fail'} s $${x.cost.toFixed(3)}` : '?';
  };
  for (const r of inTail) {
    console.log(
      `  seed ${r.seed} (${r.workload}): start ${key(r.start)} [${t(r, r.start)}], best ${key(r.best)} [${t(r, r.best)}], SLA ${Math.round(r.sla)} s; ` +
        `regret after 1/3/5: ${[1, 3, 5].map((k) => pct(regret(r, k))).join(' / ')}`,
    );
    for (const i of r.iterations) {
      const promised = i.expected ? ` promised ${Math.round(i.expected.runtimeSeconds)} s $${i.expected.costUsd.toFixed(3)}` : '';
      const measured = i.observed ? ` measured ${Math.round(i.observed.runtimeSeconds)} s $${i.observed.costUsd.toFixed(3)}` : ' (no measure)';
      const rec = i.recommended ? ` | recommended ${key(i.recommended)} est ${Math.round(i.estimate!)} s, actual ${i.actual !== undefined ? `${Math.round(i.actual)} s` : 'failed'} [true ${t(r, i.recommended)}]` : '';
      console.log(`    k${i.k} on ${key(i.current)} [true ${t(r, i.current)}]${promised}${measured} -> ${i.decision} -> ${key(i.next)}${rec}`);
      console.log(`       ${i.reason.slice(0, 400)}`);
    }
  }
}

function correlation(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  if (n < 3) return NaN;
  const ma = a.slice(0, n).reduce((s, x) => s + x, 0) / n;
  const mb = b.slice(0, n).reduce((s, x) => s + x, 0) / n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}
