// Spark settings on the sandbox (issue 13): over many seeds of the independent ground truth
// (src/sandbox/ground-truth.ts: YARN packing, spill and GC with memory per task, OutOfMemoryError
// below a hidden floor), the tuning loop runs 10 iterations twice, once recommending cluster shape
// only and once cluster shape + Spark settings. Prints the true cost in use after 10 iterations
// against the brute-force cheapest cluster shape (default settings), OOMs caused and rolled back.
import { loadCatalog } from '../src/adapters/prediction/catalog-file.js';
import { buildApplicationModel } from '../src/domain/eventlog/build-model.js';
import { mergeJobFlow } from '../src/domain/job-flow.js';
import type { Catalog } from '../src/domain/prediction/catalog.js';
import { clusterCostUsd } from '../src/domain/prediction/cost.js';
import { predictFromModel } from '../src/domain/prediction/predict.js';
import { decideIteration, isMemoryFailure } from '../src/domain/tuning-policy.js';
import type { JobFlow, Prediction, Preference, ProjectState, Run } from '../src/domain/types.js';
import { startConfiguration } from '../src/demo/start-configuration.js';
import { writeEventLog } from '../src/sandbox/eventlog-writer.js';
import { readInstanceFacts } from '../src/sandbox/instance-facts.js';
import type { ClusterRecord } from '../src/sandbox/emr-cluster.js';
import type { SimulatedRun } from '../src/sandbox/ground-truth.js';
import { SPACE_FAMILIES, SPACE_SIZES, jobFlowOf, reportOf, runCluster, workloadFor } from './sandbox-whatif.js';

const ITERATIONS = 10;
const PREFERENCE: Preference = 'economy';

type Arm = { costAfter: number; oomRuns: number; rolledBackAfterOom: number; settingsApplied: number; failedRuns: number };

const coreOf = (jobFlow: JobFlow) => {
  const groups = ((jobFlow.Instances as Record<string, unknown>).InstanceGroups ?? []) as { InstanceRole: string; InstanceType: string; InstanceCount: number }[];
  const core = groups.find((g) => g.InstanceRole === 'CORE')!;
  return { instanceType: core.InstanceType, nodes: core.InstanceCount };
};

async function arm(seed: number, tune: boolean, catalog: Catalog, types: string[], instances: ReturnType<typeof readInstanceFacts>): Promise<Arm> {
  const world = 1000 + seed;
  const workload = workloadFor(seed);
  const start = startConfiguration(workload);
  const codeUrl = `s3://code/${workload.name}.py`;
  const base = jobFlowOf({ instanceType: start.instanceType, nodes: start.nodes }, codeUrl);
  const t0 = Date.UTC(2026, 0, 1);
  // True cost of a whole request (cluster + settings), one evaluation noise seed for all.
  const cache = new Map<string, number>();
  const trueCost = (jobFlow: JobFlow): number => {
    const k = JSON.stringify([jobFlow.Instances, jobFlow.Configurations ?? null]);
    let c = cache.get(k);
    if (c === undefined) {
      const r: { run?: SimulatedRun; failed?: string } = runCluster(jobFlow, workload, world, 77_000 + seed, instances, t0);
      const core = coreOf(jobFlow);
      c = !r.run || r.failed ? Infinity : clusterCostUsd(catalog, { ...core, masterInstanceType: 'm5.xlarge' }, r.run.totals.applicationSeconds + r.run.totals.provisioningSeconds);
      cache.set(k, c);
    }
    return c;
  };
  const state: ProjectState = { project: { id: 's', name: 's', platform: 'emr', mode: 'auto', preference: PREFERENCE, jobFlow: base } as ProjectState['project'], runs: [], predictions: [] };
  const predictions = new Map<string, Prediction>();
  let jobFlow = base;
  let using: { predictionId: string; preference: Preference } | undefined;
  const out: Arm = { costAfter: Infinity, oomRuns: 0, rolledBackAfterOom: 0, settingsApplied: 0, failedRuns: 0 };
  let at = t0;
  for (let k = 1; k <= ITERATIONS; k++) {
    const r: { record: ClusterRecord; run?: SimulatedRun; failed?: string } = runCluster(jobFlow, workload, world, seed * 100 + k, instances, at);
    if (process.env.SETTINGS_DEBUG && r.failed) console.log(`seed ${seed} k ${k}: ${r.failed.slice(0, 200)}`);
    at += 86_400_000;
    const run: Run = { id: `r${k}`, projectId: 's', status: r.failed ? 'failed' : 'recorded', location: '', createdAt: new Date(at).toISOString(), requestKey: `r${k}`, cluster: coreOf(jobFlow) };
    if (using) {
      const pred = predictions.get(using.predictionId)!;
      run.predictionId = using.predictionId;
      run.preference = using.preference;
      run.expected = pred.solutions[using.preference].estimate;
      run.baseline = pred.basis;
    }
    const oom = r.failed !== undefined && isMemoryFailure([r.failed]);
    if (r.failed) {
      out.failedRuns++;
      if (oom) out.oomRuns++;
      run.error = { code: 'run_failed', message: r.failed };
    } else if (r.run) run.runtimeSeconds = r.run.totals.clusterSeconds;
    state.runs.push(run);
    let prediction: Prediction | undefined;
    if (r.run && !r.failed) {
      const log = writeEventLog(r.run, workload, { appId: `application_${at}_0001`, appName: workload.appName });
      const model = await buildApplicationModel(log.split('\n').filter((l) => l.length > 0));
      const o = predictFromModel(model, reportOf(r.record), { catalog, include: types, tuneSettings: tune });
      if (process.env.SETTINGS_DEBUG && tune) console.log(`seed ${seed} k ${k}: ${JSON.stringify(o.settings?.settings.map((x) => `${x.key}=${x.value}: ${x.evidence}`))} picks ${PREFERENCE}: ${o.solutions[PREFERENCE].explanation.slice(0, 200)}`);
      prediction = { predictionId: `p${k}`, projectId: 's', basisRunId: run.id, createdAt: new Date(at).toISOString(), solutions: o.solutions, basis: { runtimeSeconds: o.basis.runtimeSeconds, costUsd: o.basis.costUsd } };
      predictions.set(prediction.predictionId, prediction);
      state.predictions.push({ id: prediction.predictionId, url: '', basisRunId: run.id, createdAt: prediction.createdAt });
      run.observed = prediction.basis;
    }
    const decision = decideIteration({ state, latest: run, prediction, preference: PREFERENCE, currentFingerprint: 'same' });
    if (decision.regressed) run.regressed = decision.regressed.why;
    if (oom && decision.decision === 'rolled-back') out.rolledBackAfterOom++;
    const next = decision.next;
    if ('base' in next) {
      jobFlow = base;
      using = undefined;
    } else {
      const sol = predictions.get(next.predictionId)!.solutions[next.preference];
      jobFlow = mergeJobFlow(base, sol.configuration);
      using = { predictionId: next.predictionId, preference: next.preference };
      if (decision.decision === 'applied' && sol.settings && sol.settings.length > 0) out.settingsApplied++;
    }
  }
  out.costAfter = trueCost(jobFlow);
  return out;
}

const median = (xs: number[]) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)]!;
};

/** Runs the settings experiment over `seeds` seeds and prints its figures. */
export async function runSandboxSettings(seeds: number): Promise<void> {
  const catalog = loadCatalog();
  const instances = readInstanceFacts();
  const types = SPACE_FAMILIES.flatMap((f) => SPACE_SIZES.map((s) => `${f}.${s}`)).filter((t) => catalog.get(t) && instances[t]);
  const t0 = performance.now();
  const shape: Arm[] = [];
  const tuned: Arm[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    shape.push(await arm(seed, false, catalog, types, instances));
    tuned.push(await arm(seed, true, catalog, types, instances));
  }
  const ratio = tuned.map((t, i) => t.costAfter / shape[i]!.costAfter);
  const sum = (xs: Arm[], f: (a: Arm) => number) => xs.reduce((s, a) => s + f(a), 0);
  const better = ratio.filter((r) => r < 0.99).length;
  const worse = ratio.filter((r) => r > 1.01).length;
  console.log(
    `\nSpark settings on the sandbox: ${seeds} seeds, ${ITERATIONS} iterations each, preference ${PREFERENCE} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n` +
      `  true cost in use after ${ITERATIONS} iterations, median: shape + settings $${median(tuned.map((a) => a.costAfter)).toFixed(4)} vs shape only $${median(shape.map((a) => a.costAfter)).toFixed(4)} (baseline)\n` +
      `  per seed, settings / shape-only cost: median ${median(ratio).toFixed(3)}; cheaper in ${better}, dearer in ${worse}, same in ${seeds - better - worse}; over SLA/failed at the end: ${tuned.filter((a) => !Number.isFinite(a.costAfter)).length} vs ${shape.filter((a) => !Number.isFinite(a.costAfter)).length}\n` +
      `  applied solutions that changed Spark settings: ${sum(tuned, (a) => a.settingsApplied)}\n` +
      `  runs that failed: ${sum(tuned, (a) => a.failedRuns)} with settings (OOM ${sum(tuned, (a) => a.oomRuns)}, rolled back ${sum(tuned, (a) => a.rolledBackAfterOom)}) vs ${sum(shape, (a) => a.failedRuns)} shape only (OOM ${sum(shape, (a) => a.oomRuns)}, rolled back ${sum(shape, (a) => a.rolledBackAfterOom)})`,
  );
}
