import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { buildCatalog } from '../src/domain/prediction/catalog.js';
import type { CatalogRow } from '../src/domain/prediction/catalog.js';
import { fitRuntimeModel, HISTORY_PRIOR, pickEconomyOverObserved, ECONOMY_UNCERTAINTY_Z } from '../src/domain/prediction/history-model.js';
import { seeded } from './runtime-datasets.js';
const shared = '/work/shared/data';
const readCsv = (p: string) => { const l = readFileSync(p, 'utf8').trim().split(/\r?\n/); const h = l[0]!.split(','); return l.slice(1).map((x) => { const c = x.split(','); return Object.fromEntries(h.map((k, i) => [k, c[i] ?? ''])); }); };
type Config = { instanceType: string; nodes: number; seconds: number };
const jobs = new Map<string, { name: string; workload: string; configs: Config[] }>();
for (const r of readCsv(join(shared, 'runtime-datasets/scout/scout-multinode.csv'))) {
  if (r.completed !== 'true') continue;
  const j = jobs.get(r.workload_dir!) ?? { name: r.workload_dir!, workload: `${r.workload}_${r.framework}`, configs: [] };
  j.configs.push({ instanceType: r.instance_type!, nodes: Number(r.nodes), seconds: Number(r.elapsed_seconds) });
  jobs.set(j.name, j);
}
const rows: CatalogRow[] = readCsv(join(shared, 'ec2-instances-more-us-east-1.csv')).filter((r) => /^(c4|m4|r4)\./.test(r.instance_type!)).map((r) => ({ instanceType: r.instance_type!, vcpu: Number(r.vcpu), memoryGib: Number(r.memory_gib), onDemandUsdPerHour: Number(r.ec2_linux_ondemand_usd_per_hr_us_east_1), emrUsdPerHour: 0, coremark: Number(r.coremark_iterations_per_sec) }));
const cat = buildCatalog(rows);
const spec = (t: string) => { const s = cat.get(t)!; return { vcpu: s.vcpu, memoryGib: s.memoryGib, family: s.family, coremark: s.coremark! }; };
const price = (c: { instanceType: string; nodes: number }, s: number) => (cat.get(c.instanceType)!.onDemandUsdPerHour * c.nodes * Math.max(s, 60)) / 3600;
const prior = process.env.PRIOR ? { ...HISTORY_PRIOR, ...JSON.parse(process.env.PRIOR) } : HISTORY_PRIOR;
const z = Number(process.env.Z ?? ECONOMY_UNCERTAINTY_Z);
const groups = new Map<string, number[]>();
const add = (k: string, v: number) => { const g = groups.get(k) ?? []; g.push(v); groups.set(k, g); };
for (const k of [3, 5]) {
  for (const [ji, job] of [...jobs.values()].entries()) {
    for (let d = 0; d < 20; d++) {
      const rand = seeded(1_000_003 * (ji + 1) + 7919 * d + k);
      const pool = [...job.configs]; const obs: Config[] = [];
      while (obs.length < k) obs.push(pool.splice(Math.floor(rand() * pool.length), 1)[0]!);
      const model = fitRuntimeModel(obs.map((o) => ({ hardware: spec(o.instanceType), nodes: o.nodes, runtimeSeconds: o.seconds })), prior);
      const est = (c: Config) => model.predict(spec(c.instanceType), c.nodes);
      const p = pickEconomyOverObserved(pool, obs.map((o) => ({ config: o, runtimeSeconds: o.seconds })), est, price, z, 0)!;
      if (p.reused) continue;
      const c = p.config; const e = est(c);
      const err = (e.seconds - c.seconds) / c.seconds;
      const v = c.nodes * spec(c.instanceType).vcpu; const vs = obs.map((o) => o.nodes * spec(o.instanceType).vcpu);
      const pos = v < Math.min(...vs) ? 'below' : v > Math.max(...vs) ? 'above' : 'inside';
      const fam = obs.some((o) => o.instanceType.split('.')[0] === c.instanceType.split('.')[0]) ? 'famSeen' : 'famNew';
      const size = obs.some((o) => o.instanceType === c.instanceType) ? 'typeSeen' : 'typeNew';
      add(`k${k} ${pos}`, err); add(`k${k} ${fam}`, err); add(`k${k} ${size}`, err); add(`k${k} all`, err);
      add(`k${k} job ${job.name}`, err);
    }
  }
}
const med = (x: number[]) => { const s = [...x].sort((a, b) => a - b); return s[s.length >> 1]!; };
for (const [k, v] of [...groups].sort()) console.log(k.padEnd(45), String(v.length).padStart(4), 'median signed', (med(v) * 100).toFixed(1), 'median abs', (med(v.map(Math.abs)) * 100).toFixed(1));
