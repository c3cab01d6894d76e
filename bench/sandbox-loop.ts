// The tuning loop run in-process on the sandbox, shared by the what-if and the settings benches: each
// run goes through the sandbox's ground truth, the engine reads the Spark event log the sandbox
// writes and a cluster report in EMR's shapes, and the policy (decideIteration) chooses the next
// configuration, as run.start, run.complete and prediction.create do it for a real project.
import { buildApplicationModel } from '../src/domain/eventlog/build-model.js';
import type { ApplicationModel } from '../src/domain/eventlog/model.js';
import { inputOf } from '../src/domain/input-volume.js';
import { mergeJobFlow } from '../src/domain/job-flow.js';
import { executorMemoryOf, keepPinnedSparkSettings } from '../src/domain/pinned-settings.js';
import type { Catalog } from '../src/domain/prediction/catalog.js';
import { clusterCostUsd } from '../src/domain/prediction/cost.js';
import { predictFromModel } from '../src/domain/prediction/predict.js';
import type { PredictionOutcome } from '../src/domain/prediction/predict.js';
import { decideIteration, isMemoryFailure, memoryGuard, memoryRunsOf } from '../src/domain/tuning-policy.js';
import type { IterationDecision } from '../src/domain/tuning-policy.js';
import type { JobFlow, Prediction, Preference, ProjectState, Run, TuningPolicy } from '../src/domain/types.js';
import type { ClusterReport } from '../src/domain/ports.js';
import { clusterDescription, createAddressPool, createClusterRecord, instanceGroupShape, instanceShape } from '../src/sandbox/emr-cluster.js';
import type { ClusterRecord } from '../src/sandbox/emr-cluster.js';
import { writeEventLog } from '../src/sandbox/eventlog-writer.js';
import { runWorkload } from '../src/sandbox/ground-truth.js';
import type { SimulatedRun } from '../src/sandbox/ground-truth.js';
import type { readInstanceFacts } from '../src/sandbox/instance-facts.js';
import { sandboxClusterOf, sparkConfOf } from '../src/sandbox/sandbox-platform.js';
import type { Workload } from '../src/sandbox/workload.js';

export type Instances = ReturnType<typeof readInstanceFacts>;

/** The true cost of the cheapest cluster shape per seed, as the what-if bench's brute force found it (the settings bench reuses it). */
export const bestShapeCostBySeed = new Map<number, number>();

/** A request in EMR's RunJobFlow shape: one core group, Spark, one spark-submit step. */
export function jobFlowOf(c: { instanceType: string; nodes: number }, codeUrl: string): JobFlow {
  return {
    Name: 'whatif',
    ReleaseLabel: 'emr-6.15.0',
    Applications: [{ Name: 'Spark' }],
    Instances: {
      InstanceGroups: [
        { Name: 'Primary', InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 },
        { Name: 'Core', InstanceRole: 'CORE', InstanceType: c.instanceType, InstanceCount: c.nodes },
      ],
      KeepJobFlowAliveWhenNoSteps: false,
    },
    Steps: [{ Name: 'etl', ActionOnFailure: 'TERMINATE_CLUSTER', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', codeUrl] } }],
    JobFlowRole: 'EMR_EC2_DefaultRole',
    ServiceRole: 'EMR_DefaultRole',
  };
}

/** One run as the sandbox platform would make it: the cluster record, its ground-truth run, report and log. */
export function runCluster(jobFlow: JobFlow, workload: Workload, world: number, noiseSeed: number, instances: ReturnType<typeof readInstanceFacts>, at: number) {
  const record: ClusterRecord = createClusterRecord(jobFlow as Record<string, unknown>, { region: 'us-east-1', account: '123456789012', now: at, pool: createAddressPool() });
  const cluster = sandboxClusterOf(record, sparkConfOf(record, record.steps[0]));
  cluster.hosts = record.instances.filter((i) => i.role !== 'MASTER').map((i) => i.privateDns);
  let run: SimulatedRun;
  try {
    run = runWorkload(workload, cluster, { seed: noiseSeed, startedAt: at, instances, world });
  } catch (e) {
    return { record, failed: e instanceof Error ? e.message : String(e) };
  }
  record.readyAt = run.timeline.readyAt;
  record.endedAt = run.timeline.endedAt;
  record.state = run.failure ? 'TERMINATED_WITH_ERRORS' : 'TERMINATED';
  for (const i of record.instances) {
    i.readyAt = run.timeline.readyAt;
    i.endedAt = run.timeline.endedAt;
    i.state = 'TERMINATED';
  }
  for (const g of record.instanceGroups) g.state = 'TERMINATED';
  return { record, run, ...(run.failure ? { failed: run.failure } : {}) };
}

export function reportOf(record: ClusterRecord): ClusterReport {
  return {
    Cluster: clusterDescription(record, record.endedAt ?? record.createdAt),
    Instances: record.instances.map(instanceShape),
    InstanceGroups: record.instanceGroups.map((g) => instanceGroupShape(record, g)),
    Steps: [],
    BootstrapActions: [],
    Region: 'us-east-1',
  };
}

/** The core group of a request: instance type and node count. */
export function coreOf(jobFlow: JobFlow): { instanceType: string; nodes: number } {
  const groups = ((jobFlow.Instances as Record<string, unknown>).InstanceGroups ?? []) as { InstanceRole: string; InstanceType: string; InstanceCount: number }[];
  const core = groups.find((g) => g.InstanceRole === 'CORE')!;
  return { instanceType: core.InstanceType, nodes: core.InstanceCount };
}

/** The spark-defaults a request sets. */
export function sparkDefaultsOf(jobFlow: JobFlow): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of (jobFlow.Configurations ?? []) as { Classification?: string; Properties?: Record<string, string> }[]) if (c.Classification === 'spark-defaults') Object.assign(out, c.Properties);
  return out;
}

/** The truth of a request (cluster + settings) in one world with one noise seed: runtime and cost, Infinity when it fails. */
export type Truth = { seconds: number; cost: number; failed?: string };

/** Ground-truth evaluation of requests with one noise seed for all (so requests compare like with like), cached. */
export function truthEvaluator(workload: Workload, world: number, noiseSeed: number, catalog: Catalog, instances: Instances, at: number): (jobFlow: JobFlow) => Truth {
  const cache = new Map<string, Truth>();
  return (jobFlow) => {
    const k = JSON.stringify([coreOf(jobFlow), sparkDefaultsOf(jobFlow)]);
    let t = cache.get(k);
    if (!t) {
      const r: { run?: SimulatedRun; failed?: string } = runCluster(jobFlow, workload, world, noiseSeed, instances, at);
      if (!r.run || r.failed) t = { seconds: Infinity, cost: Infinity, failed: r.failed ?? 'failed' };
      else {
        const seconds = r.run.totals.applicationSeconds;
        t = { seconds, cost: clusterCostUsd(catalog, { ...coreOf(jobFlow), masterInstanceType: 'm5.xlarge' }, seconds + r.run.totals.provisioningSeconds) };
      }
      cache.set(k, t);
    }
    return t;
  };
}

export type LoopSetup = {
  seed: number;
  world: number;
  /** The workload of run k (1-based): the same one, or one whose input varies. */
  workloadAt: (k: number) => Workload;
  base: JobFlow;
  catalog: Catalog;
  include: string[];
  instances: Instances;
  iterations: number;
  preference: Preference;
  policy?: TuningPolicy;
  /** Recommend Spark settings with the cluster (predictFromModel's tuneSettings). */
  tuneSettings: boolean;
  /** Earlier runs feed the engine's scaling curve (predictFromModel's history). */
  history?: boolean;
  /** Record each run's input bytes (the regression guard then compares per unit of input). */
  recordInput?: boolean;
  /** Hook after each iteration's decision (measurements of the what-if bench). */
  onIteration?: (it: LoopIteration) => void;
};

/** One iteration as it happened. */
export type LoopIteration = {
  k: number;
  /** The request the run used. */
  jobFlow: JobFlow;
  run: Run;
  sim: { record: ClusterRecord; run?: SimulatedRun; failed?: string };
  /** The run ran out of memory (OutOfMemoryError, container killed for memory). */
  oom: boolean;
  model?: ApplicationModel;
  outcome?: PredictionOutcome;
  prediction?: Prediction;
  decision: IterationDecision;
  /** The request of the next run. */
  next: JobFlow;
  /** The next run applies a solution that writes Spark settings. */
  nextHasSettings: boolean;
  /** The project's memory floor the prediction was made with, MB (0: none). */
  memoryFloorMb: number;
  state: ProjectState;
};

const MiB = 1024 * 1024;

/** Runs the tuning loop for `iterations` runs from `base` and returns each iteration. */
export async function runTuningLoop(setup: LoopSetup): Promise<LoopIteration[]> {
  const { seed, world, base, catalog, instances, preference } = setup;
  const policy = setup.policy ?? {};
  const state: ProjectState = { project: { id: 's', name: 's', platform: 'emr', mode: 'auto', preference, jobFlow: base, policy } as ProjectState['project'], runs: [], predictions: [] };
  const predictions = new Map<string, Prediction>();
  let jobFlow = base;
  let using: { predictionId: string; preference: Preference } | undefined;
  let trial = false;
  const out: LoopIteration[] = [];
  let at = Date.UTC(2026, 0, 1);
  for (let k = 1; k <= setup.iterations; k++) {
    const workload = setup.workloadAt(k);
    const used = jobFlow;
    const sim: LoopIteration['sim'] = runCluster(jobFlow, workload, world, seed * 100 + k, instances, at);
    at += 86_400_000;
    const runId = `r${k}`;
    const run: Run = { id: runId, projectId: 's', status: sim.failed ? 'failed' : 'recorded', location: '', createdAt: new Date(at).toISOString(), requestKey: runId, cluster: coreOf(jobFlow) };
    // As run.start records it: the executor memory requested (or the one the cluster gave), what an applied prediction promised.
    const memoryMb = executorMemoryOf(jobFlow) ?? sim.run?.layout.executorMemoryMb;
    if (memoryMb !== undefined) run.executorMemoryMb = memoryMb;
    if (using) {
      const pred = predictions.get(using.predictionId)!;
      run.predictionId = using.predictionId;
      run.preference = using.preference;
      run.expected = pred.solutions[using.preference].estimate;
      run.baseline = pred.basis;
    }
    if (trial) run.trial = true;
    const oom = sim.failed !== undefined && isMemoryFailure([sim.failed]);
    if (sim.failed) run.error = { code: 'run_failed', message: sim.failed };
    else if (sim.run) run.runtimeSeconds = sim.run.totals.clusterSeconds;
    state.runs.push(run);
    let prediction: Prediction | undefined;
    let model: ApplicationModel | undefined;
    let outcome: PredictionOutcome | undefined;
    let floor = memoryGuard(memoryRunsOf(state)).floorMb;
    if (sim.run && !sim.failed) {
      const log = writeEventLog(sim.run, workload, { appId: `application_${at}_0001`, appName: workload.appName });
      model = await buildApplicationModel(log.split('\n').filter((l) => l.length > 0));
      if (setup.recordInput) run.inputBytes = inputOf(model).bytes;
      const heap = Math.max(0, ...model.executors.filter((e) => e.id !== 'driver').map((e) => e.peakMemory?.jvmHeapBytes ?? 0));
      if (heap > 0) run.peakHeapMb = heap / MiB;
      // The project's floor with this run's own peak (as prediction.create reads it from the recorded run).
      floor = memoryGuard(memoryRunsOf(state)).floorMb;
      const history = setup.history
        ? state.runs
            .filter((x) => x.status === 'recorded' && x.runtimeSeconds !== undefined && x.id !== runId)
            .map((x) => ({ instanceType: x.cluster!.instanceType!, nodes: x.cluster!.nodes!, runtimeSeconds: x.runtimeSeconds! }))
        : undefined;
      outcome = predictFromModel(model, reportOf(sim.record), {
        catalog,
        include: setup.include,
        tuneSettings: setup.tuneSettings,
        ...(history ? { history } : {}),
        ...(policy.pinned ? { pinned: policy.pinned } : {}),
        ...(floor > 0 ? { memoryFloorMb: floor } : {}),
      });
      prediction = { predictionId: `p${k}`, projectId: 's', basisRunId: runId, createdAt: new Date(at).toISOString(), solutions: outcome.solutions, basis: { runtimeSeconds: outcome.basis.runtimeSeconds, costUsd: outcome.basis.costUsd } };
      predictions.set(prediction.predictionId, prediction);
      state.predictions.push({ id: prediction.predictionId, url: '', basisRunId: runId, createdAt: prediction.createdAt });
      run.observed = prediction.basis;
    }
    const decision = decideIteration({ state, latest: run, prediction, preference, currentFingerprint: 'same' });
    if (decision.regressed) run.regressed = decision.regressed.why;
    // The next request, as run.start builds it (pinned settings kept from the project's request).
    let nextHasSettings = false;
    if ('base' in decision.next) {
      jobFlow = base;
      using = undefined;
    } else {
      const sol = predictions.get(decision.next.predictionId)!.solutions[decision.next.preference];
      jobFlow = keepPinnedSparkSettings(base, mergeJobFlow(base, sol.configuration), policy.pinned);
      using = { predictionId: decision.next.predictionId, preference: decision.next.preference };
      nextHasSettings = (sol.settings?.length ?? 0) > 0;
    }
    trial = decision.trial === true;
    const it: LoopIteration = { k, jobFlow: used, run, sim, oom, decision, next: jobFlow, nextHasSettings, memoryFloorMb: floor, state };
    if (model) it.model = model;
    if (outcome) it.outcome = outcome;
    if (prediction) it.prediction = prediction;
    setup.onIteration?.(it);
    out.push(it);
  }
  return out;
}
