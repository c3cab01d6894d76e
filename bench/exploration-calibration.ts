// How far the engine's cost estimate can be from the truth at the solutions exploration could try:
// on sandbox seeds 51-110 (the settings bench reports seeds 1-50), the tuning loop with Spark settings
// runs 10 iterations, and every solution of every prediction that is not "keep" is run on the
// sandbox's independent ground truth beside the configuration in use. TRIAL_WIDENING in
// src/domain/tuning-policy.ts is the largest true/estimated cost this prints (rounded up).
//   node --import tsx bench/exploration-calibration.ts [first-last]
import { loadCatalog } from '../src/adapters/prediction/catalog-file.js';
import { mergeJobFlow } from '../src/domain/job-flow.js';
import { startConfiguration } from '../src/demo/start-configuration.js';
import { readInstanceFacts } from '../src/sandbox/instance-facts.js';
import { coreOf, jobFlowOf, runTuningLoop, sparkDefaultsOf, truthEvaluator } from './sandbox-loop.js';
import { SPACE_FAMILIES, SPACE_SIZES, workloadFor } from './sandbox-whatif.js';

type Row = { est: number; truth: number; sameShape: boolean };

const catalog = loadCatalog();
const instances = readInstanceFacts();
const types = SPACE_FAMILIES.flatMap((f) => SPACE_SIZES.map((s) => `${f}.${s}`)).filter((t) => catalog.get(t) && instances[t]);
const [first, last] = (process.argv[2] ?? '51-110').split('-').map(Number) as [number, number];
const rows: Row[] = [];
for (let seed = first; seed <= last; seed++) {
  const world = 1000 + seed;
  const workload = workloadFor(seed);
  const start = startConfiguration(workload);
  const base = jobFlowOf({ instanceType: start.instanceType, nodes: start.nodes }, `s3://code/${workload.name}.py`);
  const truth = truthEvaluator(workload, world, 77_000 + seed, catalog, instances, Date.UTC(2026, 0, 1));
  const its = await runTuningLoop({ seed, world, workloadAt: () => workload, base, catalog, include: types, instances, iterations: 10, preference: 'economy', tuneSettings: true });
  for (const i of its) {
    if (!i.prediction) continue;
    const now = truth(i.jobFlow).cost;
    const c = coreOf(i.jobFlow);
    for (const sol of Object.values(i.prediction.solutions)) {
      if (sol.keep) continue;
      const next = mergeJobFlow(base, sol.configuration);
      const n = coreOf(next);
      const sameShape = n.instanceType === c.instanceType && n.nodes === c.nodes;
      if (sameShape && JSON.stringify(sparkDefaultsOf(next)) === JSON.stringify(sparkDefaultsOf(i.jobFlow))) continue;
      rows.push({ est: sol.estimate.costUsd / i.prediction.basis.costUsd, truth: truth(next).cost / now, sameShape });
    }
  }
}
const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
};
const f = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'failed');
console.log(`seeds ${first}-${last}: ${rows.length} solutions (true cost / cost in use vs estimated cost / basis)`);
for (const [name, sel] of [
  ['new cluster shape', rows.filter((r) => !r.sameShape)],
  ['Spark settings at the same shape', rows.filter((r) => r.sameShape)],
] as const) {
  const within = sel.filter((r) => r.est <= 1.1);
  const finite = within.filter((r) => Number.isFinite(r.truth));
  const ratio = finite.map((r) => r.truth / r.est);
  console.log(
    `  ${name}: ${sel.length} solutions, ${within.length} estimated within +10%: true/estimated median ${f(q(ratio, 0.5))}, p90 ${f(q(ratio, 0.9))}, max ${f(Math.max(...ratio))}; ` +
      `failed ${within.length - finite.length}; worst true cost vs the run in use ${f(Math.max(...within.map((r) => r.truth)))}`,
  );
}
const band = rows.filter((r) => r.est >= 0.8 && r.est <= 1.1);
console.log(`  estimated 0.8-1.1 of the cost in use (where exploration would act): ${band.length}; truly over +10% ${band.filter((r) => r.truth > 1.1).length}, truly 5% cheaper or more ${band.filter((r) => r.truth < 0.95).length}`);
