// Learning across runs, measured on public runtime-vs-configuration datasets (issue 14, 5b): for each
// job, draw k observed runs (seeded), let each method pick the economy configuration among the job's
// measured configurations, and score the pick against the truth: within 10% of the cheapest measured
// cost, and the runtime error at the pick. Baselines in the same run: the cheapest observed run,
// runtime ~ 1/vCPU, random. Cost of a run = runtime x nodes x on-demand EC2 price (as the dataset's
// PROVENANCE.md says); prices from ../shared/data/ec2-instances*-us-east-1.csv.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCatalog } from '../src/domain/prediction/catalog.js';
import type { Catalog, CatalogRow } from '../src/domain/prediction/catalog.js';
import { clusterCostUsd } from '../src/domain/prediction/cost.js';
import { fitHistory } from '../src/domain/prediction/history.js';
import { ECONOMY_REUSE_MARGIN, ECONOMY_UNCERTAINTY_Z, fitRuntimeModel, HISTORY_PRIOR, pickEconomy, pickEconomyOverObserved } from '../src/domain/prediction/history-model.js';
import type { HistoryPrior, RuntimeEstimate } from '../src/domain/prediction/history-model.js';
import { choosePreferences } from '../src/domain/prediction/pareto.js';

type Config = { instanceType: string; nodes: number; seconds: number };
type Job = { name: string; workload: string; configs: Config[] };
type Pick = { config: Config; predictedSeconds?: number };
type Method = { name: string; pick(observed: Config[], job: Job, rand: () => number): Pick | undefined };

/** Deterministic PRNG (mulberry32). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function readCsv(path: string): Record<string, string>[] {
  const lines = readFileSync(path, 'utf8').trim().split(/\r?\n/);
  const header = lines[0]!.split(',');
  return lines.slice(1).map((l) => {
    const cells = l.split(',');
    return Object.fromEntries(header.map((h, i) => [h, cells[i] ?? '']));
  });
}

/** Catalog rows for the given types from the shared EC2 price files (EMR surcharge 0: the dataset's cost is EC2 only). */
function priceRows(dataDir: string, types: Set<string>, withCoremark: boolean): CatalogRow[] {
  const rows: CatalogRow[] = [];
  for (const f of ['ec2-instances-us-east-1.csv', 'ec2-instances-more-us-east-1.csv']) {
    const path = join(dataDir, f);
    if (!existsSync(path)) continue;
    for (const r of readCsv(path)) {
      if (!types.has(r.instance_type!)) continue;
      const row: CatalogRow = { instanceType: r.instance_type!, vcpu: Number(r.vcpu), memoryGib: Number(r.memory_gib), onDemandUsdPerHour: Number(r.ec2_linux_ondemand_usd_per_hr_us_east_1), emrUsdPerHour: 0 };
      if (withCoremark && Number(r.coremark_iterations_per_sec) > 0) row.coremark = Number(r.coremark_iterations_per_sec);
      rows.push(row);
    }
  }
  return rows;
}

function loadScout(path: string): Job[] {
  const jobs = new Map<string, Job>();
  for (const r of readCsv(path)) {
    if (r.completed !== 'true') continue;
    const name = r.workload_dir!;
    const job = jobs.get(name) ?? { name, workload: `${r.workload}_${r.framework}`, configs: [] };
    job.configs.push({ instanceType: r.instance_type!, nodes: Number(r.nodes), seconds: Number(r.elapsed_seconds) });
    jobs.set(name, job);
  }
  return [...jobs.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

const median = (xs: number[]) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '   -  ');

function methods(catalog: Catalog): { today: Method; todayNoCap: Method; model: (z: number, margin: number, prior?: HistoryPrior, label?: string) => Method; modelNoReuse: (z: number, label: string, prior?: HistoryPrior) => Method; cheapestObserved: Method; perVcpu: Method; random: Method } {
  const cost = (c: { instanceType: string; nodes: number }, seconds: number) => clusterCostUsd(catalog, c, seconds);
  const spec = (t: string) => catalog.get(t)!;
  // Today's predictFromHistory: Ernest/power curve over reference-node equivalents, candidates
  // within 2x of the fitted range, economy = cheapest within 1.5 x the latest run's runtime.
  const todayPick = (cap: boolean) => (observed: Config[], job: Job): Pick | undefined => {
    const fit = fitHistory(catalog, observed.map((o) => ({ instanceType: o.instanceType, nodes: o.nodes, runtimeSeconds: o.seconds })));
    if (!fit.curve) return undefined;
    const curve = fit.curve;
    const [lo, hi] = curve.range;
    const est = job.configs.flatMap((c) => {
      const m = curve.equivalentNodes(c.instanceType, c.nodes);
      if (m === undefined || m < lo / 2 || m > hi * 2) return [];
      const t = curve.model.predict(m);
      return t > 0 ? [{ config: c, runtimeSeconds: t, costUsd: cost(c, t) }] : [];
    });
    const latest = observed[observed.length - 1]!;
    const chosen = choosePreferences(est, cap ? { economyMaxRuntimeSeconds: latest.seconds * 1.5 } : {});
    return chosen ? { config: chosen.economy.config, predictedSeconds: chosen.economy.runtimeSeconds } : undefined;
  };
  // One fit per draw and prior, shared by every z and margin of the grid (the draw's array is the key); estimates memoised per configuration.
  const fits = new WeakMap<Config[], Map<HistoryPrior, (c: Config) => RuntimeEstimate>>();
  const fitted = (observed: Config[], prior: HistoryPrior) => {
    const byPrior = fits.get(observed) ?? new Map<HistoryPrior, (c: Config) => RuntimeEstimate>();
    fits.set(observed, byPrior);
    let est = byPrior.get(prior);
    if (!est) {
      const model = fitRuntimeModel(observed.map((o) => ({ hardware: spec(o.instanceType), nodes: o.nodes, runtimeSeconds: o.seconds })), prior);
      const memo = new Map<Config, RuntimeEstimate>();
      est = (c: Config) => {
        let e = memo.get(c);
        if (!e) memo.set(c, (e = model.predict(spec(c.instanceType), c.nodes)));
        return e;
      };
      byPrior.set(prior, est);
    }
    return est;
  };
  return {
    today: { name: 'sync-agent before (Ernest curve, 1.5x cap)', pick: todayPick(true) },
    todayNoCap: { name: '  same without the 1.5x cap', pick: todayPick(false) },
    model: (z, margin, prior = HISTORY_PRIOR, label = '') => ({
      name: label || `sync-agent after (Bayesian, z=${z}, margin ${margin})`,
      pick: (observed, job) => {
        const est = fitted(observed, prior);
        const unobserved = job.configs.filter((c) => !observed.includes(c));
        const chosen = pickEconomyOverObserved(unobserved, observed.map((o) => ({ config: o, runtimeSeconds: o.seconds })), est, cost, z, margin);
        return chosen ? { config: chosen.config, predictedSeconds: chosen.reused ? chosen.config.seconds : est(chosen.config).seconds } : undefined;
      },
    }),
    modelNoReuse: (z, label, prior = HISTORY_PRIOR) => ({
      name: label,
      pick: (observed, job) => {
        const est = fitted(observed, prior);
        const chosen = pickEconomy(job.configs, est, cost, z);
        return chosen ? { config: chosen, predictedSeconds: est(chosen).seconds } : undefined;
      },
    }),
    cheapestObserved: {
      name: 'cheapest run already observed',
      pick: (observed) => {
        const best = [...observed].sort((a, b) => cost(a, a.seconds) - cost(b, b.seconds))[0]!;
        return { config: best, predictedSeconds: best.seconds };
      },
    },
    perVcpu: {
      name: 'runtime ~ 1/vCPU',
      pick: (observed, job) => {
        // t = k / total vCPU with k the median of the observed t x vCPU; ties (same cost) go to the size nearest the observed median.
        const vcpu = (c: Config) => c.nodes * spec(c.instanceType).vcpu;
        const k = median(observed.map((o) => o.seconds * vcpu(o)));
        const mid = median(observed.map(vcpu));
        let best: Config | undefined;
        let bestKey: [number, number] = [Infinity, Infinity];
        for (const c of job.configs) {
          const key: [number, number] = [Math.round(cost(c, k / vcpu(c)) * 1e9), Math.abs(Math.log(vcpu(c) / mid))];
          if (key[0] < bestKey[0] || (key[0] === bestKey[0] && key[1] < bestKey[1])) {
            best = c;
            bestKey = key;
          }
        }
        return best ? { config: best, predictedSeconds: k / vcpu(best) } : undefined;
      },
    },
    random: { name: 'random configuration', pick: (_o, job, rand) => ({ config: job.configs[Math.floor(rand() * job.configs.length)]! }) },
  };
}


type Stats = { hits: number; n: number; errs: number[]; errsNew: number[]; reused: number; below: number; above: number; families: Map<string, number> };
const emptyStats = (): Stats => ({ hits: 0, n: 0, errs: [], errsNew: [], reused: 0, below: 0, above: 0, families: new Map() });
function merge(list: Stats[]): Stats {
  const out = emptyStats();
  for (const s of list) {
    out.hits += s.hits;
    out.n += s.n;
    out.errs.push(...s.errs);
    out.errsNew.push(...s.errsNew);
    out.reused += s.reused;
    out.below += s.below;
    out.above += s.above;
    for (const [f, v] of s.families) out.families.set(f, (out.families.get(f) ?? 0) + v);
  }
  return out;
}

/**
 * Scores each method over `draws` seeded draws of k observed runs per job; one Stats per method and
 * job (index as in `jobs`), so that any subset of jobs can be aggregated from the same run. A pick of
 * an observed configuration is a re-use: its estimate is the observed runtime, which in these
 * datasets (one measurement per configuration) is the truth, so it enters err@pick as 0; errsNew
 * holds the errors at configurations not yet run alone.
 */
function scoreByJob(jobs: Job[], list: Method[], k: number, draws: number, catalog: Catalog): Map<string, Stats[]> {
  const out = new Map<string, Stats[]>();
  for (const m of list) out.set(m.name, jobs.map(emptyStats));
  const cost = (c: Config) => clusterCostUsd(catalog, c, c.seconds);
  for (const [ji, job] of jobs.entries()) {
    const cheapest = Math.min(...job.configs.map(cost));
    for (let d = 0; d < draws; d++) {
      const rand = seeded(1_000_003 * (ji + 1) + 7919 * d + k);
      const pool = [...job.configs];
      const observed: Config[] = [];
      while (observed.length < k && pool.length > 0) observed.push(pool.splice(Math.floor(rand() * pool.length), 1)[0]!);
      for (const m of list) {
        const s = out.get(m.name)![ji]!;
        const pick = m.pick(observed, job, seeded(31 * d + ji));
        s.n++;
        if (!pick) continue;
        if (cost(pick.config) <= cheapest * 1.1) s.hits++;
        const reused = observed.includes(pick.config);
        if (reused) s.reused++;
        if (pick.predictedSeconds !== undefined) {
          const e = Math.abs(pick.predictedSeconds - pick.config.seconds) / pick.config.seconds;
          s.errs.push(e);
          if (!reused) s.errsNew.push(e);
        }
        const sizes = observed.map((o) => o.nodes * catalog.get(o.instanceType)!.vcpu);
        const v = pick.config.nodes * catalog.get(pick.config.instanceType)!.vcpu;
        const fam = pick.config.instanceType.split('.')[0]!;
        s.families.set(fam, (s.families.get(fam) ?? 0) + 1);
        if (v < Math.min(...sizes)) s.below++;
        if (v > Math.max(...sizes)) s.above++;
      }
    }
  }
  return out;
}

/** Half A (rules and constants are chosen on it) and half B: the workloads in a seeded shuffle; both input sizes of a workload stay in one half. */
export function splitJobs(jobs: Job[], seed = SPLIT_SEED): { a: Job[]; b: Job[]; aWorkloads: string[]; bWorkloads: string[] } {
  const workloads = [...new Set(jobs.map((j) => j.workload))].sort();
  const rand = seeded(seed);
  for (let i = workloads.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [workloads[i], workloads[j]] = [workloads[j]!, workloads[i]!];
  }
  const aWorkloads = workloads.slice(0, Math.ceil(workloads.length / 2)).sort();
  const bWorkloads = workloads.slice(Math.ceil(workloads.length / 2)).sort();
  return { a: jobs.filter((j) => aWorkloads.includes(j.workload)), b: jobs.filter((j) => bWorkloads.includes(j.workload)), aWorkloads, bWorkloads };
}
const SPLIT_SEED = 14;

/** The prior with every hardware effect but total vCPU pinned at zero (an ablation). */
const vcpuOnly: HistoryPrior = {
  ...HISTORY_PRIOR,
  memory: { mean: 0, sd: 1e-3 },
  nodeSize: { mean: 0, sd: 1e-3 },
  speed: { mean: 0, sd: 1e-3 },
  family: { mean: 0, sd: 1e-3 },
};

const GRID_Z = [0, 0.25, 0.5, 1, 1.5, 2];
const GRID_MARGIN = [0, 0.1, 0.2];
/**
 * Prior variants in the grid: the prior mean slope, the curvature's mean (0: a power law; > 0: convex
 * in log-log, a speed-up fading with size, as Amdahl's t = s + p/n is, and more so with an overhead
 * growing with the node count) and width (how fast the uncertainty grows outside the observed sizes),
 * and the width of an unobserved family's effect.
 */
const GRID_SLOPE = [-0.5, -0.75];
// The curvature mean {0.1, 0.2} and z = 0.25 were added (with the bound at new configurations
// lowered from 20% to the issue's 15%) after measuring, on half A only, that the estimate at new
// picks was 15-18% low at the median (signed, in log), mostly at sizes below those observed: a power law through the
// runs is optimistic there, and the pick goes where the estimate is cheapest. Before that bound and
// z = 0.25, a curvature mean in {0.1, 0.2} chosen on A did worse on B and in leave-one-workload-out;
// with them half A chooses 0.2, and B and leave-one-workload-out confirm it (the swap does not: on B
// alone the rule keeps 0, whose error at new configurations on A is 19.7% at k = 3).
// Widening every spread by the runs' own leave-one-out errors was tried too: half A did not choose it
// and leave-one-workload-out was no better with it, so it is not in the model. So were, on half A
// only: a larger noise sd (0.2, 0.3: fewer hits, new-configuration error no lower) and reporting the
// pick's upper estimate instead of its median (the bias goes, the spread stays: 15-16% at k = 3).
const GRID_CURVATURE_MEAN = [0, 0.1, 0.2];
const GRID_CURVATURE_SD = [0.1, 0.3];
const GRID_FAMILY_SD = [0.15, 0.3];
const ERROR_BOUND = 0.15;
/**
 * The bound on the median error at picks of configurations not yet run: without it the choice flips
 * between grid points less than a point apart in gain whose errors there differ twofold (20% vs 36%),
 * since a re-used configuration's error is 0 here and hides the model's (set after seeing that on
 * half A only). 15%, the issue's goal (was 20%). Where no grid point meets it, it is dropped
 * (otherwise the most cautious point, which almost never moves, would be chosen).
 */
const NEW_ERROR_BOUND = 0.15;
type GridPoint = { reuse: boolean; z: number; margin: number; slope: number; curvatureMean: number; curvatureSd: number; familySd: number; prior: HistoryPrior; name: string };
const priors = GRID_SLOPE.flatMap((slope) =>
  GRID_CURVATURE_MEAN.flatMap((curvatureMean) =>
    GRID_CURVATURE_SD.flatMap((curvatureSd) =>
      GRID_FAMILY_SD.map((familySd) => ({
        slope,
        curvatureMean,
        curvatureSd,
        familySd,
        prior: { ...HISTORY_PRIOR, slope: { mean: slope, sd: HISTORY_PRIOR.slope.sd }, curvature: { mean: curvatureMean, sd: curvatureSd }, family: { mean: HISTORY_PRIOR.family.mean, sd: familySd } },
      })),
    ),
  ),
);
const gridLabel = (g: Omit<GridPoint, 'name' | 'prior'>) => `${g.reuse ? 're-use' : 'no re-use'}, z=${g.z} margin ${g.margin} slope ${g.slope} curvature ${g.curvatureMean} sd ${g.curvatureSd} family sd ${g.familySd}`;
/**
 * The economy rule: re-use (the observed configurations at their known cost, a new one only when it
 * beats the cheapest of them at its upper estimate by the margin; pickEconomyOverObserved), fixed by
 * principle (never worse than what the user has), not chosen on the data. The other rule (every
 * configuration, observed or not, at the model's upper estimate; pickEconomy) was in the grid once:
 * chosen on some halves, it lost 6 points to the baseline on the one-type view at k = 5 over the
 * other seeded splits, so it is only an ablation row now.
 */
const GRID_REUSE = [true];
const grid: GridPoint[] = GRID_REUSE.flatMap((reuse) =>
  GRID_Z.flatMap((z) => (reuse ? GRID_MARGIN : [0]).flatMap((margin) => priors.map((p) => ({ reuse, z, margin, ...p, name: `grid ${gridLabel({ reuse, z, margin, ...p })}` })))),
);
const shippedPoint = { reuse: true, z: ECONOMY_UNCERTAINTY_Z, margin: ECONOMY_REUSE_MARGIN, slope: HISTORY_PRIOR.slope.mean, curvatureMean: HISTORY_PRIOR.curvature.mean, curvatureSd: HISTORY_PRIOR.curvature.sd, familySd: HISTORY_PRIOR.family.sd };
const isShipped = (g: GridPoint) => gridLabel(g) === gridLabel(shippedPoint);

/** A view of the data: its jobs and every method's per-job results by k. */
type View = { name: string; jobs: Job[]; byK: Map<number, Map<string, Stats[]>> };
const inWorkloads = (v: View, ws: ReadonlySet<string>) => v.jobs.flatMap((j, i) => (ws.has(j.workload) ? [i] : []));
const at = (v: View, k: number, name: string, idx: number[]) => merge(idx.map((i) => v.byK.get(k)!.get(name)![i]!));

/**
 * The selection rule, applied to a set of workloads: the grid point with the largest mean gain in
 * within-10% share over the cheapest-observed baseline, over both views (several types; one type at a
 * time) and k = 3 and 5, among those whose median err@pick is at most 15% and whose median error at
 * configurations not yet run is at most 15% in each; ties go to the
 * later grid point (the more cautious z and margin).
 */
function choose(views: View[], ws: ReadonlySet<string>, baseline: string): GridPoint {
  // When no point meets the bound at configurations not yet run, the bound is dropped (the 15% one stays).
  for (const newBound of [NEW_ERROR_BOUND, Infinity]) {
    let best: GridPoint | undefined;
    let bestGain = -Infinity;
    for (const g of grid) {
      let gain = 0;
      let ok = true;
      for (const v of views) {
        const idx = inWorkloads(v, ws);
        for (const k of [3, 5]) {
          const s = at(v, k, g.name, idx);
          const b = at(v, k, baseline, idx);
          gain += (s.hits / s.n - b.hits / b.n) / (2 * views.length);
          if (!(median(s.errs) <= ERROR_BOUND) || median(s.errsNew) > newBound) ok = false;
        }
      }
      if (ok && gain >= bestGain - 1e-12) {
        best = g;
        bestGain = gain;
      }
    }
    if (best) return best;
  }
  return grid[grid.length - 1]!;
}

/** Prints the datasets section. */
export function runDatasets(sharedData: string, options: { draws?: number } = {}): void {
  const path = join(sharedData, 'runtime-datasets', 'scout', 'scout-multinode.csv');
  if (!existsSync(path)) {
    console.log(`datasets: ${path} not found; skipped`);
    return;
  }
  const jobs = loadScout(path);
  const types = new Set(jobs.flatMap((j) => j.configs.map((c) => c.instanceType)));
  const catalog = buildCatalog(priceRows(sharedData, types, true));
  const catalogNoCm = buildCatalog(priceRows(sharedData, types, false));
  const missing = [...types].filter((t) => !catalog.get(t));
  if (missing.length > 0) {
    console.log(`datasets: no price for ${missing.join(', ')}; skipped`);
    return;
  }
  const draws = options.draws ?? 40;
  const m = methods(catalog);
  const legacy = methods(catalogNoCm);
  const shipped = m.model(ECONOMY_UNCERTAINTY_Z, ECONOMY_REUSE_MARGIN, HISTORY_PRIOR, `sync-agent after (Bayesian, re-use, z=${ECONOMY_UNCERTAINTY_Z}, margin ${ECONOMY_REUSE_MARGIN})`);
  const list: Method[] = [
    { ...legacy.today, name: 'sync-agent before, no CoreMark (as issue 14)' },
    m.today,
    m.todayNoCap,
    shipped,
    // What each part buys: the other economy rule, no uncertainty, total vCPU alone.
    m.modelNoReuse(ECONOMY_UNCERTAINTY_Z, `  after without the re-use rule (z=${ECONOMY_UNCERTAINTY_Z})`),
    m.model(0, 0, HISTORY_PRIOR, '  after without uncertainty (z=0)'),
    m.model(ECONOMY_UNCERTAINTY_Z, ECONOMY_REUSE_MARGIN, vcpuOnly, '  after with total vCPU only'),
    m.cheapestObserved,
    m.perVcpu,
    m.random,
  ];
  const gridMethods = grid.map((g) => (g.reuse ? m.model(g.z, g.margin, g.prior, g.name) : m.modelNoReuse(g.z, g.name, g.prior)));
  const { aWorkloads, bWorkloads } = splitJobs(jobs);
  const [wa, wb] = [new Set(aWorkloads), new Set(bWorkloads)];
  const workloads = [...new Set(jobs.map((j) => j.workload))].sort();
  const wall = new Set(workloads);
  // The second view: each job restricted to one instance type (node counts only), as in a dataset of one type.
  const perType: Job[] = jobs.flatMap((j) => [...new Set(j.configs.map((c) => c.instanceType))].sort().map((t) => ({ name: `${j.name}/${t}`, workload: j.workload, configs: j.configs.filter((c) => c.instanceType === t) })));
  const oneTypeDraws = Math.max(10, draws >> 1);
  console.log(`Scout (${jobs.length} jobs, ${draws} seeded draws of k observed runs per job; pick among the job's measured configurations; hit = cost within 10% of the cheapest measured)`);
  console.log(`  protocol: workloads split by a seeded shuffle (seed ${SPLIT_SEED}); both input sizes of a workload stay in one half.`);
  console.log(`    half A (rule and constants chosen on it alone): ${aWorkloads.join(', ')}`);
  console.log(`    half B (held out): ${bWorkloads.join(', ')}`);
  console.log(`    two views of each half: the jobs on all their types, and each job on one type at a time (${perType.length} jobs, node counts only, ${oneTypeDraws} draws), as the held-out datasets have both kinds`);
  console.log(`    rule: with economy re-using the cheapest observed run unless a new configuration beats its known cost at the upper estimate, over z in {${GRID_Z.join(', ')}} x margin in {${GRID_MARGIN.join(', ')}} x prior slope {${GRID_SLOPE.join(', ')}} x curvature mean {${GRID_CURVATURE_MEAN.join(', ')}} x curvature sd {${GRID_CURVATURE_SD.join(', ')}} x family sd {${GRID_FAMILY_SD.join(', ')}} (${grid.length} points),`);
  console.log(`    the largest mean gain in hits over the cheapest-observed baseline over both views at k = 3 and 5 with median err@pick <= ${ERROR_BOUND * 100}% and at new configurations <= ${NEW_ERROR_BOUND * 100}% (dropped where none meets it) in each (ties: the more cautious);`);
  console.log('    then the same rule with A and B swapped, leave-one-workload-out, and 10 more seeded splits.');
  const multi: View = { name: 'several types', jobs, byK: new Map() };
  const single: View = { name: 'one type', jobs: perType, byK: new Map() };
  const oneTypeList = list.filter((x) => x !== list[0] && x !== list[2]);
  for (const k of [3, 5]) {
    multi.byK.set(k, scoreByJob(jobs, [...list, ...gridMethods], k, draws, catalog));
    single.byK.set(k, scoreByJob(perType, [...oneTypeList, ...gridMethods], k, oneTypeDraws, catalog));
  }
  for (const v of [multi, single]) {
    const rows = v === multi ? list : oneTypeList;
    for (const k of [3, 5]) {
      const all = inWorkloads(v, wall);
      const [ia, ib] = [inWorkloads(v, wa), inWorkloads(v, wb)];
      console.log(`
  ${v.name}, k = ${k}${' '.repeat(Math.max(1, 43 - v.name.length))}all jobs: within10%  err@pick  (new only)  re-used  below / above | half A        | half B (held out)`);
      for (const meth of rows) {
        const s = at(v, k, meth.name, all);
        const sa = at(v, k, meth.name, ia);
        const sb = at(v, k, meth.name, ib);
        console.log(
          `  ${meth.name.padEnd(60)} ${pct(s.hits / s.n).padStart(8)} ${pct(median(s.errs)).padStart(8)} ${pct(median(s.errsNew)).padStart(10)} ${pct(s.reused / s.n).padStart(8)} ${pct(s.below / s.n).padStart(7)} /${pct(s.above / s.n).padStart(6)} | ${pct(sa.hits / sa.n).padStart(6)} ${pct(median(sa.errs)).padStart(6)} | ${pct(sb.hits / sb.n).padStart(6)} ${pct(median(sb.errs)).padStart(6)}`,
        );
      }
      if (v === multi) {
        const famLine = (name: string) => {
          const f = at(v, k, name, all).families;
          const total = [...f.values()].reduce((x, y) => x + y, 0);
          return [...f.entries()].sort().map(([k2, n]) => `${k2} ${pct(n / total)}`).join(', ');
        };
        const best = new Map<string, number>();
        for (const job of jobs) {
          const cheapest = [...job.configs].sort((x, y) => clusterCostUsd(catalog, x, x.seconds) - clusterCostUsd(catalog, y, y.seconds))[0]!;
          const fam = cheapest.instanceType.split('.')[0]!;
          best.set(fam, (best.get(fam) ?? 0) + 1);
        }
        console.log(`  families picked: before ${famLine(list[1]!.name)}; after ${famLine(shipped.name)} (the true cheapest is on ${[...best.entries()].sort().map(([f, n]) => `${f} for ${n} jobs`).join(', ')})`);
      }
    }
  }
  console.log('  (err@pick: median |estimate - measured| / measured at the pick; a re-used configuration counts 0, since its one measurement is both the estimate and the truth here; "new only": picks of configurations not yet run; below / above: picks whose total vCPU lies below the smallest / above the largest observed)');

  // The protocol: choose on one set of workloads, report on the other.
  const base = m.cheapestObserved.name;
  const views = [multi, single];
  const figures = (g: GridPoint, ws: ReadonlySet<string>) =>
    views
      .map((v) => {
        const idx = inWorkloads(v, ws);
        return `${v.name}: ${[3, 5]
          .map((k) => {
            const s = at(v, k, g.name, idx);
            const bs = at(v, k, base, idx);
            return `k=${k} ${pct(s.hits / s.n)} vs ${pct(bs.hits / bs.n)}, err ${pct(median(s.errs))} (new ${pct(median(s.errsNew))})`;
          })
          .join('; ')}`;
      })
      .join(' | ');
  const onA = choose(views, wa, base);
  const onB = choose(views, wb, base);
  console.log(`
  selection: on half A the rule chooses ${gridLabel(onA)}`);
  console.log(`    (shipped: ${gridLabel(shippedPoint)}${isShipped(onA) ? ', the same' : ', DIFFERENT'})`);
  console.log('  within 10% vs the cheapest-observed baseline, err@pick (new configurations only):');
  console.log(`    half A (selection):  ${figures(onA, wa)}`);
  console.log(`    half B (held out):   ${figures(onA, wb)}`);
  console.log(`    swap: on half B the rule chooses ${gridLabel(onB)}; on half A: ${figures(onB, wa)}`);
  // Leave one workload out: choose on the other workloads, score the one left out; pooled over all folds.
  const choices = new Map<string, number>();
  const pooled = views.map(() => new Map<number, { s: Stats[]; b: Stats[] }>([[3, { s: [], b: [] }], [5, { s: [], b: [] }]]));
  for (const w of workloads) {
    const g = choose(views, new Set(workloads.filter((x) => x !== w)), base);
    choices.set(gridLabel(g), (choices.get(gridLabel(g)) ?? 0) + 1);
    views.forEach((v, vi) => {
      const idx = inWorkloads(v, new Set([w]));
      for (const k of [3, 5]) {
        pooled[vi]!.get(k)!.s.push(at(v, k, g.name, idx));
        pooled[vi]!.get(k)!.b.push(at(v, k, base, idx));
      }
    });
  }
  const lowo = views
    .map((v, vi) => `${v.name}: ${[3, 5].map((k) => {
      const s = merge(pooled[vi]!.get(k)!.s);
      const bs = merge(pooled[vi]!.get(k)!.b);
      return `k=${k} ${pct(s.hits / s.n)} vs ${pct(bs.hits / bs.n)}, err ${pct(median(s.errs))} (new ${pct(median(s.errsNew))})`;
    }).join('; ')}`)
    .join(' | ');
  console.log(`    leave-one-workload-out (${workloads.length} folds): ${lowo}`);
  console.log(`      choices per fold: ${[...choices.entries()].map(([g, n]) => `${g} (${n})`).join('; ')}`);
  // The same protocol over other seeded splits (both directions each): how often the rule chosen on one half beats the baseline on the other.
  const splits = 10;
  const tally = views.map(() => new Map<number, { wins: number; folds: number; gain: number; held: Stats[] }>([[3, { wins: 0, folds: 0, gain: 0, held: [] }], [5, { wins: 0, folds: 0, gain: 0, held: [] }]]));
  for (let seed = 1; seed <= splits; seed++) {
    const sp = splitJobs(jobs, seed);
    const [x, y] = [new Set(sp.aWorkloads), new Set(sp.bWorkloads)];
    for (const [sel, held] of [[x, y], [y, x]] as const) {
      const g = choose(views, sel, base);
      views.forEach((v, vi) => {
        const idx = inWorkloads(v, held);
        for (const k of [3, 5]) {
          const s = at(v, k, g.name, idx);
          const bs = at(v, k, base, idx);
          const t = tally[vi]!.get(k)!;
          t.folds++;
          t.gain += s.hits / s.n - bs.hits / bs.n;
          t.held.push(s);
          if (s.hits / s.n > bs.hits / bs.n) t.wins++;
        }
      });
    }
  }
  console.log(
    `    ${splits} more seeded splits, both directions; the held-out half beats the baseline in: ${views.map((v, vi) => `${v.name}: ${[3, 5].map((k) => `k=${k} ${tally[vi]!.get(k)!.wins} of ${tally[vi]!.get(k)!.folds} (mean gain ${((100 * tally[vi]!.get(k)!.gain) / tally[vi]!.get(k)!.folds).toFixed(1)} points; err ${pct(median(merge(tally[vi]!.get(k)!.held).errs))}, new ${pct(median(merge(tally[vi]!.get(k)!.held).errsNew))} over the held-out halves)`).join(', ')}`).join(' | ')}`,
  );
  // The shipped rule per workload: where it is worse than re-using the cheapest run, it shows here.
  for (const v of views) {
    const perWorkload = [3, 5].map((k) => {
      const rows = workloads.map((w) => {
        const idx = inWorkloads(v, new Set([w]));
        const s = at(v, k, shipped.name, idx);
        const bs = at(v, k, base, idx);
        return { w, d: s.hits / s.n - bs.hits / bs.n };
      });
      const worse = rows.filter((r) => r.d < -1e-9);
      return `k=${k} better on ${rows.filter((r) => r.d > 1e-9).length}, equal on ${rows.filter((r) => Math.abs(r.d) <= 1e-9).length}, worse on ${worse.length}${worse.length ? ` (${worse.map((r) => `${r.w} ${(100 * r.d).toFixed(1)}`).join(', ')} points)` : ''}`;
    });
    console.log(`    shipped rule vs the baseline per workload, ${v.name}: ${perWorkload.join('; ')}`);
  }
}

if (process.argv[1]?.endsWith('runtime-datasets.ts')) {
  runDatasets(process.env.SHARED_DATA ?? join(process.cwd(), '..', 'shared', 'data'), process.env.DRAWS ? { draws: Number(process.env.DRAWS) } : {});
}
