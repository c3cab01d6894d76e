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
import { ECONOMY_UNCERTAINTY_Z, fitRuntimeModel, HISTORY_PRIOR, pickEconomy } from '../src/domain/prediction/history-model.js';
import type { HistoryPrior } from '../src/domain/prediction/history-model.js';
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

function methods(catalog: Catalog): { today: Method; todayNoCap: Method; model: (z: number, prior?: HistoryPrior, label?: string) => Method; cheapestObserved: Method; perVcpu: Method; random: Method } {
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
  return {
    today: { name: 'sync-agent before (Ernest curve, 1.5x cap)', pick: todayPick(true) },
    todayNoCap: { name: '  same without the 1.5x cap', pick: todayPick(false) },
    model: (z, prior = HISTORY_PRIOR, label = '') => ({
      name: label ? `  after,${label} (z=${z})` : `sync-agent after (Bayesian, cost at z=${z})`,
      pick: (observed, job) => {
        const model = fitRuntimeModel(observed.map((o) => ({ hardware: spec(o.instanceType), nodes: o.nodes, runtimeSeconds: o.seconds })), prior);
        const est = (c: Config) => model.predict(spec(c.instanceType), c.nodes);
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

/** Scores each method over `draws` seeded draws of k observed runs per job. */
function score(jobs: Job[], list: Method[], k: number, draws: number, catalog: Catalog): Map<string, { hits: number; n: number; errs: number[]; below: number; above: number; families: Map<string, number> }> {
  const out = new Map<string, { hits: number; n: number; errs: number[]; below: number; above: number; families: Map<string, number> }>();
  for (const m of list) out.set(m.name, { hits: 0, n: 0, errs: [], below: 0, above: 0, families: new Map() });
  const cost = (c: Config) => clusterCostUsd(catalog, c, c.seconds);
  for (const [ji, job] of jobs.entries()) {
    const cheapest = Math.min(...job.configs.map(cost));
    for (let d = 0; d < draws; d++) {
      const rand = seeded(1_000_003 * (ji + 1) + 7919 * d + k);
      const pool = [...job.configs];
      const observed: Config[] = [];
      while (observed.length < k && pool.length > 0) observed.push(pool.splice(Math.floor(rand() * pool.length), 1)[0]!);
      for (const m of list) {
        const s = out.get(m.name)!;
        const pick = m.pick(observed, job, seeded(31 * d + ji));
        s.n++;
        if (!pick) continue;
        if (cost(pick.config) <= cheapest * 1.1) s.hits++;
        if (pick.predictedSeconds !== undefined) s.errs.push(Math.abs(pick.predictedSeconds - pick.config.seconds) / pick.config.seconds);
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

/** The selection half (rules were chosen looking at it) and the held-out half: alternate workloads in sorted order. */
export function splitJobs(jobs: Job[]): { selection: Job[]; heldOut: Job[] } {
  const workloads = [...new Set(jobs.map((j) => j.workload))].sort();
  const sel = new Set(workloads.filter((_, i) => i % 2 === 0));
  return { selection: jobs.filter((j) => sel.has(j.workload)), heldOut: jobs.filter((j) => !sel.has(j.workload)) };
}

/** The prior with every hardware effect but total vCPU pinned at zero (an ablation). */
const vcpuOnly: HistoryPrior = {
  ...HISTORY_PRIOR,
  memory: { mean: 0, sd: 1e-3 },
  nodeSize: { mean: 0, sd: 1e-3 },
  speed: { mean: 0, sd: 1e-3 },
  family: { mean: 0, sd: 1e-3 },
};

/** Prints the datasets section. */
export function runDatasets(sharedData: string, options: { draws?: number; zs?: number[]; selectionOnly?: boolean; variants?: { z: number; prior: HistoryPrior; label: string }[] } = {}): void {
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
  const list: Method[] = [
    { ...legacy.today, name: 'sync-agent before, no CoreMark (as issue 14)' },
    m.today,
    m.todayNoCap,
    ...(options.zs ?? [ECONOMY_UNCERTAINTY_Z]).map((z) => m.model(z)),
    // What each part buys: the same model without the uncertainty in the pick, and with total vCPU alone.
    m.model(0, HISTORY_PRIOR, ' without uncertainty'),
    m.model(ECONOMY_UNCERTAINTY_Z, vcpuOnly, ' total vCPU only'),
    ...(options.variants ?? []).map((v) => m.model(v.z, v.prior, v.label)),
    m.cheapestObserved,
    m.perVcpu,
    m.random,
  ];
  const { selection, heldOut } = splitJobs(jobs);
  console.log(`Scout (${jobs.length} jobs, ${draws} seeded draws per job and k; pick among the job's measured configurations; hit = cost within 10% of the cheapest)`);
  console.log(`  selection half (model rules chosen looking at these): ${[...new Set(selection.map((j) => j.workload))].join(', ')}`);
  console.log(`  held-out half: ${[...new Set(heldOut.map((j) => j.workload))].join(', ')}`);
  for (const k of [3, 5]) {
    const all = options.selectionOnly ? score(selection, list, k, draws, catalog) : score(jobs, list, k, draws, catalog);
    const a = score(selection, list, k, draws, catalog);
    const b = options.selectionOnly ? a : score(heldOut, list, k, draws, catalog);
    console.log(`\n  k = ${k}${' '.repeat(42)} all jobs: within10%  err@pick  below / above | selection     | held-out`);
    for (const meth of list) {
      const s = all.get(meth.name)!;
      const sa = a.get(meth.name)!;
      const sb = b.get(meth.name)!;
      console.log(
        `  ${meth.name.padEnd(56)} ${pct(s.hits / s.n).padStart(8)} ${pct(median(s.errs)).padStart(8)} ${pct(s.below / s.n).padStart(7)} /${pct(s.above / s.n).padStart(6)} | ${pct(sa.hits / sa.n).padStart(6)} ${pct(median(sa.errs)).padStart(6)} | ${pct(sb.hits / sb.n).padStart(6)} ${pct(median(sb.errs)).padStart(6)}`,
      );
    }
    const famLine = (name: string) => {
      const f = all.get(name)!.families;
      const total = [...f.values()].reduce((x, y) => x + y, 0);
      return [...f.entries()].sort().map(([k2, v]) => `${k2} ${pct(v / total)}`).join(', ');
    };
    const best = new Map<string, number>();
    for (const job of jobs) {
      const cheapest = [...job.configs].sort((x, y) => clusterCostUsd(catalog, x, x.seconds) - clusterCostUsd(catalog, y, y.seconds))[0]!;
      const fam = cheapest.instanceType.split('.')[0]!;
      best.set(fam, (best.get(fam) ?? 0) + 1);
    }
    console.log(`  families picked: before ${famLine(list[1]!.name)}; after ${famLine(list[3]!.name)} (the true cheapest is on ${[...best.entries()].sort().map(([f, n]) => `${f} for ${n} jobs`).join(', ')})`);
  }
  console.log('  (err@pick: median |estimate - measured| / measured at the picked configuration; below / above: share of picks whose total vCPU lies below the smallest / above the largest observed)');
}

if (process.argv[1]?.endsWith('runtime-datasets.ts')) {
  const zs = (process.env.ZS ?? String(ECONOMY_UNCERTAINTY_Z)).split(',').map(Number);
  // Development only: VARIANTS='{"z":2,"noiseSd":0.2}' rows; SELECTION_ONLY=1 prints the selection half alone.
  const variants = (process.env.VARIANTS ? (JSON.parse(process.env.VARIANTS) as Record<string, number>[]) : []).map((v) => {
    const { z = 1, ...rest } = v;
    const prior = { ...HISTORY_PRIOR } as Record<string, unknown>;
    for (const [key, val] of Object.entries(rest)) {
      const [a, b] = key.split('.');
      prior[a!] = b ? { ...(prior[a!] as object), [b]: val } : val;
    }
    return { z, prior: prior as HistoryPrior, label: ` ${JSON.stringify(rest)}` };
  });
  runDatasets(process.env.SHARED_DATA ?? join(process.cwd(), '..', 'shared', 'data'), {
    zs,
    variants,
    selectionOnly: process.env.SELECTION_ONLY === '1',
    ...(process.env.DRAWS ? { draws: Number(process.env.DRAWS) } : {}),
  });
}
