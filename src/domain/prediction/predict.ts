// The prediction engine: simulate the basis application on every candidate cluster (or use the
// project's scaling curve), price each, take the Pareto front of (runtime, cost), and pick the
// cluster for each preference with a RunJobFlow fragment and a short explanation.
import { ECONOMY_RUNTIME_FACTOR } from '../tuning-policy.js';
import type { ApplicationModel } from '../eventlog/model.js';
import type { ClusterReport } from '../ports.js';
import type { Estimate, Preference, Solution } from '../types.js';
import { PREFERENCES } from '../types.js';
import { SyncError } from '../errors.js';
import { estimatedSpec, extendCatalog } from './catalog.js';
import type { Catalog, InstanceSpec } from './catalog.js';
import { generateCandidates } from './candidates.js';
import type { Candidate } from './candidates.js';
import { basisHardware, clusterShapeFromReport } from './cluster-shape.js';
import type { BasisHardware, ClusterShape } from './cluster-shape.js';
import { clusterCostUsd, hourlyRate } from './cost.js';
import { executorLayout, fitsBesideApplicationMaster, overheadMb, yarnMemoryMb } from './executor-layout.js';
import type { ExecutorLayout, ExecutorSettings } from './executor-layout.js';
import { currentClusterFragment, runJobFlowFragment } from './fragment.js';
import { fitHistory, historyCatalog, historyWeight } from './history.js';
import { ECONOMY_REUSE_MARGIN, ECONOMY_UNCERTAINTY_Z, fitRuntimeModel, pickEconomyOverObserved } from './history-model.js';
import type { HardwareOf, RuntimeEstimate } from './history-model.js';
import type { HistoryCurve, HistoryRun } from './history.js';
import { beatsCurrent, choosePreferencesOver, relativeChange } from './pareto.js';
import type { PreferenceCeilings } from './pareto.js';
import { buildReplayPlan } from './plan.js';
import type { ReplayPlan } from './plan.js';
import { COMPRESS_FROM_TASKS, CPU_GRID, adaptiveLine, compressFor, factorSteps, memoryReach, quantiseFactor, slotBucket } from './compress.js';
import { taskScaling, usableTaskMemoryBytes } from './scaling.js';
import { adviceProperties, adviseSettings, bytesInWords, describeAdvice } from './settings-advice.js';
import type { SettingAdvice, SettingsAdvice } from './settings-advice.js';
import { withShufflePartitions } from './settings-effect.js';
import { observedCluster, simulatePlan, supplyParameters } from './simulator.js';

/** Options of a prediction. */
export type PredictOptions = {
  catalog: Catalog;
  /** Earlier runs of the same application (for the scaling curve). */
  history?: readonly HistoryRun[];
  /** Absolute ceilings; default: performance within 2x the basis cost, economy within 1.5x the basis runtime. */
  preferenceCeilings?: PreferenceCeilings;
  /** Price core nodes at spot rates. */
  spot?: boolean;
  spotDiscount?: number;
  /** Restrict candidates to these instance types or families. */
  include?: readonly string[];
  x86Only?: boolean;
  /** Seconds each cluster is billed before the application starts (default: the report's creation -> ready time, else 0). */
  clusterStartupSeconds?: number;
  /** Explore total slots between these factors of the basis (default 1/3 .. 3). */
  minFactor?: number;
  maxFactor?: number;
  /**
   * A recommendation must beat the current configuration by this fraction on its preference's axis
   * (runtime, cost, or their sum for balanced), else the preference keeps the current cluster.
   * Default: the tuning policy's compellingSaving default (0.1).
   */
  margin?: number;
  /** Recommend Spark settings (executor sizing, shuffle partitions, ...) with the cluster (default true). */
  tuneSettings?: boolean;
  /** Spark keys the user pinned (policy.pinned): never written. */
  pinned?: readonly string[];
  /** The project's executor memory floor (raised after an OOM), MB. */
  memoryFloorMb?: number;
};

/** One evaluated candidate. */
export type CandidateEstimate = {
  instanceType: string;
  nodes: number;
  executors: number;
  executorCores: number;
  executorMemoryMb: number;
  userSizing: boolean;
  runtimeSeconds: number;
  costUsd: number;
  source: 'simulator' | 'history' | 'blend';
  simulatedSeconds?: number;
  historySeconds?: number;
  /** The current configuration: the replay of the observed run on its own hardware and executor layout. */
  current?: boolean;
  /** From history alone: the runtime at the upper bound the picks use. */
  runtimeHighSeconds?: number;
  /** True when the candidate runs with the recommended Spark settings (PredictionOutcome.settings). */
  tunedSettings?: boolean;
};

/** The engine's answer. */
export type PredictionOutcome = {
  solutions: Record<Preference, Solution>;
  basis: Estimate & {
    instanceType: string;
    nodes: number;
    simulatedSeconds?: number;
    baselineSeconds?: number;
    startupSeconds?: number;
    /** The whole current cluster in words (master, task nodes, markets). */
    description?: string;
    /** Where the basis hardware came from: executor hosts matched to the report, the report's core capacity, or an assumption. */
    hardwareFrom?: 'executor-hosts' | 'report' | 'assumed';
    executors?: number;
    executorCores?: number;
    /** What the basis run measured, in words (the evidence every cluster-shape recommendation starts from). */
    evidence?: string;
  };
  candidates: CandidateEstimate[];
  /** Where the estimates mostly came from. */
  source: 'simulator' | 'history' | 'blend';
  warnings: string[];
  /** The Spark settings the log's evidence supports (written by the candidates marked tunedSettings). */
  settings?: SettingsAdvice;
};

/** Default basis hardware when the cluster report does not say (an EMR default core type). */
export const FALLBACK_INSTANCE_TYPE = 'm5.xlarge';
const PERFORMANCE_COST_FACTOR = 2;
/** Default margin a recommendation must beat the current configuration by (the policy's compellingSaving default). */
export const DEFAULT_MARGIN = 0.1;
/** Fewest candidates a default search evaluates (the range widens upwards to reach it). */
export const MIN_CANDIDATES = 200;

const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;
/** The grid CPU factors are rounded to (1%), which the line of a smaller log is refined on. */
const FINE_CPU_GRID = 0.01;
/** Distinct CPU factors in a group from which a smaller log's group is interpolated rather than simulated at each. */
const LINE_FROM_FACTORS = 4;
/**
 * Tasks from which a log's groups are interpolated (below, each simulation takes under a millisecond).
 * On the real logs and db_sim x 5 (13,000+ tasks) the interpolated estimates were within 0.3% of one
 * simulation per factor, with the same solutions; on logs of 10 and 35 tasks they were off by up to 2.2%.
 */
const LINE_FROM_TASKS = 2_000;

function settingsOf(model: ApplicationModel | undefined, shape: ClusterShape): ExecutorSettings {
  const s: ExecutorSettings = {};
  const cores = model?.settings.executorCores ?? num(shape.sparkDefaults['spark.executor.cores']);
  if (cores !== undefined) s.executorCores = cores;
  if (model?.settings.executorMemoryMb !== undefined) s.executorMemoryMb = model.settings.executorMemoryMb;
  if (model?.settings.executorMemoryOverheadMb !== undefined) s.executorMemoryOverheadMb = model.settings.executorMemoryOverheadMb;
  if (model?.settings.taskCpus !== undefined) s.taskCpus = model.settings.taskCpus;
  return s;
}

function num(v: string | undefined): number | undefined {
  const n = v === undefined ? NaN : Number(v);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** The basis hardware: the type the executors ran on, priced from the report or the log when the catalog lacks it. */
function resolveBasis(
  catalog: Catalog,
  shape: ClusterShape,
  hw: BasisHardware,
  model: ApplicationModel,
  settings: ExecutorSettings,
  warnings: string[],
): { catalog: Catalog; spec: InstanceSpec; assumed: boolean } {
  const extra: InstanceSpec[] = [];
  const t = hw.instanceType ?? shape.coreInstanceType;
  let spec = t ? catalog.get(t) : undefined;
  if (t && !spec) {
    const facts = shape.typeFacts[t] ?? {};
    // From the log: the executors one host ran (cores, and memory as YARN containers).
    const memPerExecutor = settings.executorMemoryMb !== undefined ? settings.executorMemoryMb + (settings.executorMemoryOverheadMb ?? overheadMb(settings.executorMemoryMb)) : undefined;
    const logVcpu = hw.maxCoresPerHost;
    const logGib = memPerExecutor !== undefined && hw.maxExecutorsPerHost !== undefined ? Math.ceil((hw.maxExecutorsPerHost * memPerExecutor) / 1024 / 0.75) : undefined;
    const vcpu = facts.vcpu ?? logVcpu;
    const memoryGib = facts.memoryGib ?? logGib;
    if (vcpu !== undefined && memoryGib !== undefined) {
      spec = estimatedSpec(catalog, t, vcpu, memoryGib);
      extra.push(spec);
      const from = facts.vcpu !== undefined && facts.memoryGib !== undefined ? "the cluster report's" : facts.vcpu !== undefined || facts.memoryGib !== undefined ? "the cluster report's and the event log's" : "the event log's (executors per host)";
      warnings.push(
        `core instance type ${t} is not in the catalog: priced from ${from} ${vcpu} vCPU / ${Math.round(memoryGib * 10) / 10} GiB at ` +
          `$${spec.onDemandUsdPerHour.toFixed(4)}/h EC2 (the catalog's fitted price per vCPU and per GiB) + $${spec.emrUsdPerHour.toFixed(4)}/h EMR, no CoreMark; add it under site.predictions.instances for its real price`,
      );
    }
  }
  if (spec) return { catalog: extendCatalog(catalog, extra), spec, assumed: false };
  // Nothing says what the executors ran on: the smallest size of the fallback's family on which the user's executors fit.
  const base = catalog.get(FALLBACK_INSTANCE_TYPE);
  const fits = catalog.instances
    .filter((s) => s.family === base?.family && s.vcpu >= base.vcpu && executorLayout(s, settings).executorsPerNode > 0)
    .sort((a, b) => a.vcpu - b.vcpu);
  const fallback = fits[0] ?? catalog.get(FALLBACK_INSTANCE_TYPE) ?? catalog.instances[0];
  if (!fallback) throw new SyncError('invalid_config', 'the instance catalog is empty');
  warnings.push(
    t
      ? `core instance type ${t} is not in the catalog and neither the report nor the log (${model.executors.length} executors) gives its vCPU and memory; ` +
          `ASSUMED ${fallback.instanceType} for the basis run: every % below is against that assumption (add ${t} under site.predictions.instances)`
      : `no cluster report: assumed the basis run used ${fallback.instanceType} nodes`,
  );
  return { catalog, spec: fallback, assumed: true };
}

/** Prices the types of the current cluster the catalog lacks from the report's vCPU/memory; names those it cannot price. */
function priceCurrentTypes(catalog: Catalog, shape: ClusterShape, warnings: string[]): { catalog: Catalog; unpriced: Set<string> } {
  const extra: InstanceSpec[] = [];
  const unpriced = new Set<string>();
  const types = [...new Set([...shape.workers.map((w) => w.instanceType), ...(shape.masterInstanceType ? [shape.masterInstanceType] : [])])];
  for (const t of types) {
    if (catalog.get(t)) continue;
    const f = shape.typeFacts[t];
    if (f?.vcpu !== undefined && f.memoryGib !== undefined) {
      const spec = estimatedSpec(catalog, t, f.vcpu, f.memoryGib);
      extra.push(spec);
      warnings.push(`instance type ${t} is not in the catalog: priced from the cluster report's ${f.vcpu} vCPU / ${f.memoryGib} GiB at $${(spec.onDemandUsdPerHour + spec.emrUsdPerHour).toFixed(4)}/h (EC2 + EMR)`);
    } else {
      unpriced.add(t);
      warnings.push(`instance type ${t} is not in the catalog and the report gives no vCPU/memory for it: left out of every cost (add it under site.predictions.instances)`);
    }
  }
  return { catalog: extendCatalog(catalog, extra), unpriced };
}

function describe(c: { instanceType: string; nodes: number }): string {
  return `${c.nodes} x ${c.instanceType}`;
}

function describeCurrent(shape: ClusterShape, basisType: string, basisNodes: number, observed: { executors: number; cores: number }): string {
  const main = `${basisNodes} x ${basisType} (${observed.executors} executor${observed.executors === 1 ? '' : 's'} x ${observed.cores} core${observed.cores === 1 ? '' : 's'})`;
  const others = shape.workers
    .map((w) => ({ ...w, count: w.instanceType === basisType && w.role === 'CORE' ? w.count - basisNodes : w.count }))
    .filter((w) => w.count > 0 && !(w.instanceType === basisType && w.role === 'CORE'))
    .map((w) => `${w.count} x ${w.instanceType}${w.spot ? ' spot' : ''} ${w.role === 'TASK' ? 'task' : 'core'}`);
  return [main, ...(shape.masterInstanceType ? [`master ${shape.masterInstanceType}`] : []), ...others].join(', ');
}

function pct(x: number, base: number): string {
  const p = ((x - base) / base) * 100;
  return `${p >= 0 ? '+' : ''}${p.toFixed(0)}%`;
}

function explain(pref: Preference, c: CandidateEstimate, basis: PredictionOutcome['basis'], ceilings: Required<PreferenceCeilings>, archNote?: string): string {
  const same = c.instanceType === basis.instanceType && c.nodes === basis.nodes;
  const what = same ? `keep ${describe(basis)}` : `${describe(c)} instead of ${describe(basis)}`;
  const sizing = `${c.executors} executor${c.executors === 1 ? '' : 's'} of ${c.executorCores} core${c.executorCores === 1 ? '' : 's'}${c.userSizing ? ', your sizing' : ''}`;
  const why =
    pref === 'performance'
      ? `the fastest configuration costing at most $${ceilings.performanceMaxCostUsd.toFixed(2)}`
      : pref === 'economy'
        ? Number.isFinite(ceilings.economyMaxRuntimeSeconds)
          ? `the cheapest configuration finishing within ${Math.round(ceilings.economyMaxRuntimeSeconds)} s`
          : 'the cheapest configuration'
        : 'the knee of the runtime/cost trade-off';
  const arch = (basis.startupSeconds ? ` Costs include ${Math.round(basis.startupSeconds)} s of cluster start-up (creation to ready, as observed).` : '') + (archNote ? ` ${archNote}` : '');
  return (
    `${what} (${sizing}): estimated ${Math.round(c.runtimeSeconds)} s (${pct(c.runtimeSeconds, basis.runtimeSeconds)}) ` +
    `for $${c.costUsd.toFixed(2)} (${pct(c.costUsd, basis.costUsd)}); ${why}; estimate from the ${c.source === 'blend' ? 'simulator blended with this project\'s scaling curve' : c.source === 'history' ? 'project\'s scaling curve' : 'simulator'}.${arch}`
  );
}

/** The evidence for a cluster shape in words: what the basis run measured and what the estimate for `c` rests on. */
function shapeEvidence(c: CandidateEstimate, basis: PredictionOutcome['basis']): string {
  const from =
    c.source === 'history'
      ? "the project's scaling curve of earlier runs"
      : c.source === 'blend'
        ? "the simulator's replay blended with the project's scaling curve"
        : "the simulator's replay of the basis run's tasks";
  const measured = basis.evidence ? `${basis.evidence}; ` : '';
  return `${measured}${from} puts ${describe(c)} (${c.executors} executor${c.executors === 1 ? '' : 's'} of ${c.executorCores} core${c.executorCores === 1 ? '' : 's'}) at ${Math.round(c.runtimeSeconds)} s for $${c.costUsd.toFixed(2)}, against ${Math.round(basis.runtimeSeconds)} s for $${basis.costUsd.toFixed(2)} as observed`;
}

function archNoteFor(catalog: Catalog, from: string, to: string): string | undefined {
  const a = catalog.get(from)?.arch;
  const b = catalog.get(to)?.arch;
  if (!a || !b || a === b) return undefined;
  return b === 'arm64' ? 'Graviton (arm64): check that bootstrap actions and native libraries support it, or pass x86Only.' : 'Moves from arm64 to x86_64.';
}

function solutionsFrom(
  estimates: CandidateEstimate[],
  basis: PredictionOutcome['basis'],
  shape: ClusterShape,
  master: string | undefined,
  ceilings: PreferenceCeilings | undefined,
  options: PredictOptions,
  layouts: Map<CandidateEstimate, ExecutorLayout>,
  executorCounts?: { dynamic: boolean; maxExecutors?: number; instances?: number; carried?: Record<string, string> },
  /** Picks made elsewhere (the history model's cautious picks); a missing one keeps the current cluster. */
  picks?: Partial<Record<Preference, CandidateEstimate>>,
  advice?: SettingsAdvice,
): Record<Preference, Solution> {
  const resolved: Required<PreferenceCeilings> = {
    performanceMaxCostUsd: ceilings?.performanceMaxCostUsd ?? basis.costUsd * PERFORMANCE_COST_FACTOR,
    economyMaxRuntimeSeconds: ceilings?.economyMaxRuntimeSeconds ?? basis.runtimeSeconds * ECONOMY_RUNTIME_FACTOR,
  };
  if (estimates.length === 0) throw new SyncError('invalid_request', 'no candidate cluster could be evaluated (is the instance catalog empty?)');
  const margin = options.margin ?? DEFAULT_MARGIN;
  const { chosen, unconstrained } = choosePreferencesOver(estimates, basis, resolved, margin);
  const out = {} as Record<Preference, Solution>;
  for (const pref of PREFERENCES) {
    const c = picks ? picks[pref] : chosen[pref];
    if (!c) {
      out[pref] = keepSolution(pref, basis, shape, master, margin, resolved, unconstrained[pref]);
      continue;
    }
    const layout = layouts.get(c);
    // The simulation used the whole cluster: lift an executor count the user had pinned below it.
    // Partitioning the run had (a setting applied earlier) stays: a new cluster shape does not undo it.
    const sparkProperties: Record<string, string> = { ...(executorCounts?.carried ?? {}) };
    if (executorCounts?.dynamic && executorCounts.maxExecutors !== undefined && executorCounts.maxExecutors < c.executors) {
      sparkProperties['spark.dynamicAllocation.maxExecutors'] = String(c.executors);
    }
    if (executorCounts && !executorCounts.dynamic && executorCounts.instances !== undefined) sparkProperties['spark.executor.instances'] = String(c.executors);
    const tuned = c.tunedSettings && advice ? advice.settings : [];
    for (const [k, v] of Object.entries(tuned.length > 0 && advice ? adviceProperties(advice) : {})) {
      sparkProperties[k] = k === 'spark.dynamicAllocation.maxExecutors' ? String(Math.min(Number(v), c.executors)) : v;
    }
    const fragment = runJobFlowFragment({
      sparkProperties,
      ...(options.pinned ? { pinned: options.pinned } : {}),
      instanceType: c.instanceType,
      nodes: c.nodes,
      masterInstanceType: master ?? c.instanceType,
      collection: shape.collection,
      spot: options.spot ?? shape.spot,
      ...(layout ? { layout } : {}),
    });
    const settingsNote = tuned.length > 0 && advice ? ` Spark settings: ${describeAdvice(advice)}.` : '';
    out[pref] = {
      configuration: fragment,
      estimate: { runtimeSeconds: round(c.runtimeSeconds, 1), costUsd: round(c.costUsd, 4) },
      source: c.source,
      explanation: explain(pref, c, basis, resolved, archNoteFor(options.catalog, basis.instanceType, c.instanceType)) + settingsNote,
      ...(tuned.length > 0 ? { settings: tuned.map((t: SettingAdvice) => ({ ...t })) } : {}),
      evidence: [shapeEvidence(c, basis), ...tuned.map((t) => `${t.key}=${t.value}: ${t.evidence}`)],
      ...(c.instanceType === basis.instanceType && c.nodes === basis.nodes ? { sameCluster: true as const } : {}),
    };
  }
  return out;
}

/** A preference for which nothing beats the current cluster by the margin: it carries the current configuration. */
function keepSolution(
  pref: Preference,
  basis: PredictionOutcome['basis'],
  shape: ClusterShape,
  master: string | undefined,
  margin: number,
  ceilings: Required<PreferenceCeilings>,
  best: CandidateEstimate | undefined,
): Solution {
  const axis = pref === 'performance' ? 'runtime' : pref === 'economy' ? 'cost' : 'runtime + cost';
  const within =
    pref === 'performance'
      ? ` costing at most $${ceilings.performanceMaxCostUsd.toFixed(2)}`
      : pref === 'economy' && Number.isFinite(ceilings.economyMaxRuntimeSeconds)
        ? ` finishing within ${Math.round(ceilings.economyMaxRuntimeSeconds)} s`
        : '';
  let closest = '';
  if (best && !best.current) {
    const d = relativeChange(best, basis);
    const sign = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(0)}%`;
    closest = ` (the best candidate${within}, ${describe(best)}, is estimated at ${Math.round(best.runtimeSeconds)} s, ${sign(d.runtime)}, for $${best.costUsd.toFixed(2)}, ${sign(d.cost)})`;
  }
  const configuration =
    shape.workers.length > 0
      ? currentClusterFragment({ ...(master ? { masterInstanceType: master } : {}), collection: shape.collection, workers: shape.workers })
      : runJobFlowFragment({ instanceType: basis.instanceType, nodes: basis.nodes, masterInstanceType: master ?? basis.instanceType, collection: shape.collection, spot: shape.spot });
  return {
    configuration,
    estimate: { runtimeSeconds: basis.runtimeSeconds, costUsd: basis.costUsd },
    source: 'simulator',
    keep: true,
    evidence: [`${basis.evidence ? `${basis.evidence}; ` : ''}no candidate beat the current cluster by ${Math.round(margin * 100)}% on ${axis}${closest}`],
    explanation:
      `keep: nothing beats the current cluster by ${Math.round(margin * 100)}% on ${axis}${closest}; ` +
      `keeping ${basis.description ?? describe(basis)} at ${basis.runtimeSeconds.toFixed(1)} s for $${basis.costUsd.toFixed(2)} as observed.`,
  };
}

function mainSource(estimates: CandidateEstimate[]): 'simulator' | 'history' | 'blend' {
  const n = { simulator: 0, history: 0, blend: 0 };
  for (const e of estimates) n[e.source]++;
  return n.blend > 0 ? 'blend' : n.history > n.simulator ? 'history' : 'simulator';
}

/** What the current cluster cost: every core and task node at its own market, plus the master. */
function currentClusterCost(
  catalog: Catalog,
  shape: ClusterShape,
  unpriced: ReadonlySet<string>,
  basisType: string,
  basisNodes: number,
  master: string | undefined,
  seconds: number,
  pricing: { spot?: boolean; spotDiscount?: number },
): number {
  const { spotDiscount } = pricing;
  // An explicit spot choice (a what-if) prices the core nodes of the current cluster as it does the candidates'.
  const spotOf = (w: { role?: 'CORE' | 'TASK'; spot: boolean }) => (pricing.spot !== undefined && w.role !== 'TASK' ? pricing.spot : w.spot);
  const workers = shape.workers.length > 0 ? shape.workers : [{ instanceType: basisType, count: basisNodes, spot: shape.spot }];
  // The basis may be an assumed type (the report's own is unknown): price the workers as the basis then.
  const priced = workers.some((w) => w.instanceType === basisType) ? workers : [{ instanceType: basisType, count: basisNodes, spot: shape.spot }];
  const perHour =
    priced.reduce((sum, w) => sum + (unpriced.has(w.instanceType) || !catalog.get(w.instanceType) ? 0 : hourlyRate(catalog, w.instanceType, { spot: spotOf(w), ...(spotDiscount !== undefined ? { spotDiscount } : {}) }) * w.count), 0) +
    (master ? hourlyRate(catalog, master) : 0);
  return (perHour * Math.max(seconds, 60)) / 3600;
}

/** What the basis run measured, in words: its tasks, how busy they kept its task slots, and its spill. */
function basisEvidence(model: ApplicationModel, slots: number): string {
  let tasks = 0;
  let busyMs = 0;
  let spill = 0;
  for (const s of model.stages) {
    if (s.skipped) continue;
    tasks += s.tasks.count;
    for (let k = 0; k < s.tasks.count; k++) {
      busyMs += s.tasks.executorRunTimeMs[k] ?? 0;
      spill += s.tasks.diskSpillBytes[k] ?? 0;
    }
  }
  const seconds = model.durationMs / 1000;
  const busy = slots > 0 && model.durationMs > 0 ? Math.round((busyMs / (slots * model.durationMs)) * 100) : 0;
  const spilled = spill > 0 ? `, spilling ${bytesInWords(spill)} to disk` : ', without spilling to disk';
  return `the basis run's ${tasks} tasks kept its ${slots} task slots ${busy}% busy over ${seconds.toFixed(1)} s${spilled}`;
}

/** Settings that cut the work into partitions, as the run had them: every solution keeps them (the advice may change them). */
export const CARRIED_SETTINGS = ['spark.sql.shuffle.partitions', 'spark.sql.files.maxPartitionBytes'] as const;

function carriedSettings(model: ApplicationModel): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of CARRIED_SETTINGS) {
    const v = model.sparkProperties[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * Predicts, from one run's application model and cluster report, the runtime and cost of every
 * candidate cluster and the recommended one per preference. Pure: the catalog is passed in.
 */
export function predictFromModel(model: ApplicationModel, report: ClusterReport | undefined, options: PredictOptions): PredictionOutcome {
  const warnings: string[] = [];
  const shape = clusterShapeFromReport(report);
  const settings = settingsOf(model, shape);
  const hw = basisHardware(shape, model.executors, model.sparkProperties['spark.driver.host']);
  if (hw.otherHosts.length > 0) {
    warnings.push(
      `executors also ran on ${hw.otherHosts.map((o) => `${o.hosts} x ${o.instanceType} (${o.cores} cores)`).join(', ')}: the basis models ${hw.instanceType} nodes only`,
    );
  }
  const priced = priceCurrentTypes(options.catalog, shape, warnings);
  const resolved = resolveBasis(priced.catalog, shape, hw, model, settings, warnings);
  const catalog = resolved.catalog;
  const basisSpec = resolved.spec;
  const plan = buildReplayPlan(model);
  const params = supplyParameters(plan);
  const observed = observedCluster(plan);
  const fitted = executorLayout(basisSpec, settings);
  // The basis ran, so its executors fitted even if this layout model thinks they do not.
  const basisLayout: ExecutorLayout =
    fitted.executorsPerNode > 0 ? fitted : { ...fitted, executorsPerNode: 1, slotsPerNode: Math.max(1, Math.floor(fitted.executorCores / (settings.taskCpus ?? 1))) };
  const observedSlots = observed.executors * Math.max(1, Math.floor(observed.cores / plan.taskCpus));
  const basisNodes = (resolved.assumed ? undefined : hw.nodes) ?? Math.max(1, Math.ceil(observedSlots / Math.max(1, basisLayout.slotsPerNode)));
  // The master stays as it is on every candidate; one the catalog cannot price is left out of every cost.
  // With no master named (no report), one of the basis type is assumed, as EMR always has one.
  const master = shape.masterInstanceType ? (catalog.get(shape.masterInstanceType) ? shape.masterInstanceType : undefined) : basisSpec.instanceType;
  const pricing = { spot: options.spot ?? shape.spot, ...(options.spotDiscount !== undefined ? { spotDiscount: options.spotDiscount } : {}) };
  if (!model.complete) warnings.push('the event log does not show the application ending; its duration may be cut short');
  if (model.master !== undefined && /^local(\[|$)/.test(model.master)) {
    warnings.push(`the application ran in local mode (master ${model.master}): one process did all the work, so estimates on a cluster of separate executors are extrapolations`);
  }
  if (plan.taskCount === 0) warnings.push('the event log has no finished task: estimates only carry driver time');

  const observedMemoryPerTaskMb =
    model.settings.executorMemoryMb !== undefined ? model.settings.executorMemoryMb / Math.max(1, Math.floor(observed.cores / plan.taskCpus)) : basisLayout.memoryPerTaskMb;
  // Large logs are simulated compressed (compress.ts), for slot counts rounded up to a power of sqrt(2), observed run included.
  const compressed = new Map<string, ReplayPlan>();
  const planFor = (p: ReplayPlan, slots: number, tag: string): ReplayPlan => {
    if (p.taskCount < COMPRESS_FROM_TASKS) return p;
    const key = `${tag}/${slotBucket(slots)}`;
    let out = compressed.get(key);
    if (!out) compressed.set(key, (out = compressFor(p, slots)));
    return out;
  };
  const simObserved = simulatePlan(planFor(plan, observedSlots, 'p'), observed, params);
  // Anchor on the observed run: candidates keep the replay's ratio to it.
  const anchor = simObserved.estimatedMs > 0 ? model.durationMs / simObserved.estimatedMs : 1;

  // Earlier runs on types the catalog lacks are described and priced from the history itself (with a warning).
  const extended = options.history && options.history.length > 0 ? historyCatalog(catalog, options.history) : undefined;
  if (extended) warnings.push(...extended.warnings);
  const history = options.history && extended ? fitHistory(extended.catalog, options.history) : {};
  if (options.history && options.history.length > 0 && !history.curve) warnings.push(`scaling curve not used: ${history.reason}`);
  const curve: HistoryCurve | undefined = history.curve;

  const generate = (maxFactor: number | undefined) =>
    generateCandidates(catalog, {
      basisSlots: Math.max(1, observedSlots),
      settings,
      keepTypes: [basisSpec.instanceType],
      ...(options.include ? { include: options.include } : {}),
      ...(options.x86Only ? { x86Only: true } : {}),
      ...(options.minFactor !== undefined ? { minFactor: options.minFactor } : {}),
      ...(maxFactor !== undefined ? { maxFactor } : {}),
    });
  let candidates = generate(options.maxFactor);
  // Small clusters have few sizes within 3x: widen upwards until the search has MIN_CANDIDATES.
  for (let f = 4; options.maxFactor === undefined && candidates.length < MIN_CANDIDATES && f <= 16; f *= 2) candidates = generate(f);
  const pinSizing = settings.executorCores !== undefined || settings.executorMemoryMb !== undefined;
  // Spark settings from the log's evidence: each cluster shape is also tried with them.
  const advice =
    options.tuneSettings === false || plan.taskCount === 0
      ? undefined
      : adviseSettings(model, {
          executorCores: observed.cores,
          // In local mode the tasks share the driver's heap (Spark's default 1g).
          executorMemoryMb: plan.local ? (model.settings.driverMemoryMb ?? 1024) : (settings.executorMemoryMb ?? basisLayout.executorMemoryMb),
          ...(settings.executorMemoryOverheadMb !== undefined ? { executorMemoryOverheadMb: settings.executorMemoryOverheadMb } : {}),
          taskCpus: plan.taskCpus,
          slots: Math.max(1, observedSlots),
          ...(options.pinned ? { pinned: options.pinned } : {}),
          ...(options.memoryFloorMb !== undefined ? { memoryFloorMb: options.memoryFloorMb } : {}),
        });
  const tuned = advice && advice.settings.length > 0 ? advice : undefined;
  if (tuned) {
    const seen = new Set<string>();
    const variants: Candidate[] = [];
    for (const c of candidates) {
      const key = `${c.instanceType}/${c.nodes}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const layout = executorLayout(catalog.get(c.instanceType)!, {
        executorCores: tuned.executorCores,
        executorMemoryMb: tuned.executorMemoryMb,
        executorMemoryOverheadMb: tuned.executorMemoryOverheadMb,
        taskCpus: plan.taskCpus,
      });
      if (layout.executorsPerNode > 0) variants.push({ instanceType: c.instanceType, nodes: c.nodes, layout, userSizing: false, tunedSettings: true });
    }
    candidates = [...candidates, ...variants];
  }
  const tunedPlan = tuned?.shufflePartitions ? withShufflePartitions(plan, tuned.shufflePartitions.from, tuned.shufflePartitions.to) : plan;
  // Instances are billed from creation: the observed provisioning/bootstrap time is added to each cost.
  const startupSeconds = options.clusterStartupSeconds ?? shape.startupSeconds ?? 0;
  const cache = new Map<string, number>();
  // What memory limits can change in each plan: limits past every task's peak, and relief below every spilled task's need, change nothing.
  const reach = new Map<ReplayPlan, ReturnType<typeof memoryReach>>([[plan, memoryReach(plan)]]);
  if (!reach.has(tunedPlan)) reach.set(tunedPlan, memoryReach(tunedPlan));
  // Large logs: GC and fetch factors in steps that move the total task time by at most 0.25% (compress.ts).
  const steps = plan.taskCount >= COMPRESS_FROM_TASKS ? factorSteps(plan, 0.1) : undefined;
  const estimates: CandidateEstimate[] = [];
  const layouts = new Map<CandidateEstimate, ExecutorLayout>();
  const memoryFloor = options.memoryFloorMb !== undefined ? Math.min(options.memoryFloorMb, settings.executorMemoryMb ?? Infinity) : undefined;
  const prepare = (c: Candidate) => {
    const spec = catalog.get(c.instanceType)!;
    // A written executor size must leave room for the ApplicationMaster on a one-node cluster (else spark-submit fails).
    const overhead = c.tunedSettings ? tuned?.executorMemoryOverheadMb : settings.executorMemoryOverheadMb;
    if (c.nodes === 1 && (pinSizing || c.tunedSettings) && !fitsBesideApplicationMaster(spec, c.layout, overhead)) return undefined;
    // Never below the project's memory floor (past successful peaks + margin, raised after an OOM), nor
    // lower than the run had when it was already under the floor.
    if (memoryFloor !== undefined && (pinSizing || c.tunedSettings) && c.layout.executorMemoryMb < memoryFloor) return undefined;
    const executors = c.nodes * c.layout.executorsPerNode;
    const exact = taskScaling(
      { instance: basisSpec, nodes: basisNodes, memoryPerTaskMb: observedMemoryPerTaskMb },
      { instance: spec, nodes: c.nodes, memoryPerTaskMb: c.layout.memoryPerTaskMb },
    );
    // Factors are quantised (1% CPU, 10% GC and fetch, 100 MB memory) so that near-identical
    // candidates share one simulation.
    const scaling = {
      ...exact,
      cpuFactor: round(exact.cpuFactor, 2),
      gcFactor: steps ? quantiseFactor(exact.gcFactor, steps.gc) : round(exact.gcFactor, 1),
      fetchFactor: steps ? quantiseFactor(exact.fetchFactor, steps.fetch) : round(exact.fetchFactor, 1),
      memoryPerTaskBytes: Number.isFinite(exact.memoryPerTaskBytes) ? Math.round(exact.memoryPerTaskBytes / 1e8) * 1e8 : Infinity,
    };
    if (exact.spillReliefBytes !== undefined) scaling.spillReliefBytes = Math.floor(exact.spillReliefBytes / 1e6) * 1e6;
    // With other shuffle partitions a task's memory need changes: charge what no longer fits.
    if (c.tunedSettings && tunedPlan !== plan && !Number.isFinite(scaling.memoryPerTaskBytes)) scaling.memoryPerTaskBytes = usableTaskMemoryBytes(c.layout.memoryPerTaskMb);
    // And what now fits is no longer spilled.
    if (c.tunedSettings && tunedPlan !== plan) scaling.spillReliefBytes = Math.max(scaling.spillReliefBytes ?? 0, Math.floor(usableTaskMemoryBytes(c.layout.memoryPerTaskMb) / 1e6) * 1e6);
    const r = reach.get(c.tunedSettings ? tunedPlan : plan)!;
    if (scaling.memoryPerTaskBytes >= r.maxPeakBytes) scaling.memoryPerTaskBytes = Infinity;
    if (scaling.spillReliefBytes !== undefined) scaling.spillReliefBytes = r.reliefLevel(scaling.spillReliefBytes);
    if (scaling.spillReliefBytes === 0) delete scaling.spillReliefBytes;
    const simAt = (cpuFactor: number): number => {
      const key = [executors, c.layout.executorCores, cpuFactor, scaling.gcFactor, scaling.fetchFactor, scaling.memoryPerTaskBytes, scaling.spillReliefBytes ?? 0, c.tunedSettings ? 't' : ''].join('/');
      let ms = cache.get(key);
      if (ms === undefined) {
        const slots = executors * Math.max(1, Math.floor(c.layout.executorCores / plan.taskCpus));
        const simPlan = c.tunedSettings ? planFor(tunedPlan, slots, 't') : planFor(plan, slots, 'p');
        ms = simulatePlan(simPlan, { executors, cores: c.layout.executorCores, scaling: { ...scaling, cpuFactor } }, params).estimatedMs * anchor;
        cache.set(key, ms);
      }
      return ms;
    };
    const group = [executors, c.layout.executorCores, scaling.gcFactor, scaling.fetchFactor, scaling.memoryPerTaskBytes, scaling.spillReliefBytes ?? 0, c.tunedSettings ? 't' : ''].join('/');
    return { executors, exact, scaling, simAt, group };
  };
  const prepared = candidates.map(prepare);
  // Per group of candidates that differ only in CPU factor, the estimate is simulated at few CPU
  // factors and interpolated (compress.ts adaptiveLine: a grid over the group's range, refined where
  // the runtime is not linear in the factor). Large logs use the CPU_GRID grid over the exact factors.
  // Logs of LINE_FROM_TASKS tasks or more use the 1% grid the factors are rounded to: where the line
  // is refined to every grid point the estimate is the one a simulation per rounded factor gives, and
  // groups with few factors are simulated at each (the line would cost as many simulations). Smaller
  // logs are simulated at every factor: they are quick, and with few tasks the runtime moves in
  // steps (waves) that a line through a midpoint can miss by a few per cent.
  const lines = new Map<string, (x: number) => number>();
  const range = new Map<string, { lo: number; hi: number; simAt: (x: number) => number; factors: Set<number> }>();
  for (const p of prepared) {
    if (!p) continue;
    const x = steps ? p.exact.cpuFactor : p.scaling.cpuFactor;
    const r = range.get(p.group);
    if (r) {
      r.lo = Math.min(r.lo, x);
      r.hi = Math.max(r.hi, x);
      r.factors.add(x);
    } else range.set(p.group, { lo: x, hi: x, simAt: p.simAt, factors: new Set([x]) });
  }
  for (const [g, r] of range) {
    if (steps) lines.set(g, adaptiveLine(r.lo, r.hi, CPU_GRID, r.simAt));
    else if (plan.taskCount >= LINE_FROM_TASKS && r.factors.size >= LINE_FROM_FACTORS) lines.set(g, adaptiveLine(r.lo, r.hi, FINE_CPU_GRID, r.simAt));
  }
  for (const [ci, c] of candidates.entries()) {
    const p = prepared[ci];
    if (!p) continue; // skipped: no room beside the ApplicationMaster, or below the memory floor
    const { executors, exact, scaling, simAt, group } = p;
    const line = lines.get(group);
    const simMs = line ? line(steps ? exact.cpuFactor : scaling.cpuFactor) : simAt(scaling.cpuFactor);
    const simulatedSeconds = simMs / 1000;
    let runtimeSeconds = simulatedSeconds;
    let source: CandidateEstimate['source'] = 'simulator';
    let historySeconds: number | undefined;
    if (curve) {
      const m = curve.equivalentNodes(c.instanceType, c.nodes);
      const h = curve.predictSeconds(c.instanceType, c.nodes);
      const w = m === undefined || h === undefined ? 0 : historyWeight(curve, m);
      if (w > 0 && h !== undefined) {
        historySeconds = h;
        runtimeSeconds = w * h + (1 - w) * simulatedSeconds;
        source = 'blend';
      }
    }
    const e: CandidateEstimate = {
      instanceType: c.instanceType,
      nodes: c.nodes,
      executors,
      executorCores: c.layout.executorCores,
      executorMemoryMb: Math.floor(c.layout.executorMemoryMb),
      userSizing: c.userSizing,
      runtimeSeconds,
      costUsd: clusterCostUsd(catalog, { instanceType: c.instanceType, nodes: c.nodes, ...(master ? { masterInstanceType: master } : {}) }, runtimeSeconds + startupSeconds, pricing),
      source,
      simulatedSeconds,
    };
    if (historySeconds !== undefined) e.historySeconds = historySeconds;
    if (c.tunedSettings) e.tunedSettings = true;
    estimates.push(e);
    // Pin executor sizing when the user had set it (it must then be overridden or kept), or when the settings are tuned.
    if (pinSizing || c.tunedSettings) layouts.set(e, c.layout);
  }
  // The current configuration, always a candidate: the replay of the observed run on its own
  // hardware and executor layout (anchored, so its estimate is the observed runtime), priced as the
  // whole cluster that ran it (master, task nodes and markets included).
  const basisRuntime = (simObserved.estimatedMs * anchor || model.durationMs) / 1000;
  const currentCost = currentClusterCost(catalog, shape, priced.unpriced, basisSpec.instanceType, basisNodes, master, basisRuntime + startupSeconds, {
    ...(options.spot !== undefined ? { spot: options.spot } : {}),
    ...(options.spotDiscount !== undefined ? { spotDiscount: options.spotDiscount } : {}),
  });
  const executorsPerNode = Math.max(1, Math.ceil(observed.executors / basisNodes));
  const slotsPerExecutor = Math.max(1, Math.floor(observed.cores / plan.taskCpus));
  const current: CandidateEstimate = {
    instanceType: basisSpec.instanceType,
    nodes: basisNodes,
    executors: observed.executors,
    executorCores: observed.cores,
    executorMemoryMb: Math.floor(settings.executorMemoryMb ?? basisLayout.executorMemoryMb),
    userSizing: true,
    runtimeSeconds: basisRuntime,
    costUsd: currentCost,
    source: 'simulator',
    simulatedSeconds: simObserved.estimatedMs / 1000,
    current: true,
  };
  estimates.push(current);
  layouts.set(current, {
    executorCores: observed.cores,
    executorMemoryMb: current.executorMemoryMb,
    executorsPerNode,
    slotsPerNode: executorsPerNode * slotsPerExecutor,
    memoryPerTaskMb: observedMemoryPerTaskMb,
  });
  const basis: PredictionOutcome['basis'] = {
    runtimeSeconds: round(basisRuntime, 1),
    costUsd: round(currentCost, 4),
    instanceType: basisSpec.instanceType,
    nodes: basisNodes,
    simulatedSeconds: round(simObserved.estimatedMs / 1000, 1),
    description: describeCurrent(shape, basisSpec.instanceType, basisNodes, observed),
    hardwareFrom: resolved.assumed ? 'assumed' : hw.from === 'executor-hosts' ? 'executor-hosts' : 'report',
    executors: observed.executors,
    executorCores: observed.cores,
  };
  if (startupSeconds > 0) basis.startupSeconds = startupSeconds;
  basis.evidence = basisEvidence(model, observedSlots);
  return {
    solutions: solutionsFrom(estimates, basis, shape, master, options.preferenceCeilings, { ...options, catalog }, layouts, {
      dynamic: model.settings.dynamicAllocation,
      ...(model.settings.maxExecutors !== undefined ? { maxExecutors: model.settings.maxExecutors } : {}),
      ...(model.settings.executorInstances !== undefined ? { instances: model.settings.executorInstances } : {}),
      carried: carriedSettings(model),
    }, undefined, tuned),
    basis,
    candidates: estimates,
    source: mainSource(estimates),
    warnings,
    ...(advice ? { settings: advice } : {}),
  };
}

/**
 * Says so when a candidate lies outside the runs observed (its total vCPU or its vCPU per node beyond
 * their range): its estimate there is the model's extrapolation. Undefined inside the range.
 */
export function outsideObserved(c: { instanceType: string; nodes: number }, runs: readonly HistoryRun[], catalog: Catalog): string | undefined {
  const vcpu = (t: string) => catalog.get(t)!.vcpu;
  const totals = runs.map((r) => r.nodes * vcpu(r.instanceType));
  const perNode = runs.map((r) => vcpu(r.instanceType));
  const [t, n] = [c.nodes * vcpu(c.instanceType), vcpu(c.instanceType)];
  const range = (xs: number[]) => [Math.min(...xs), Math.max(...xs)] as const;
  const [tLo, tHi] = range(totals);
  const [nLo, nHi] = range(perNode);
  const what: string[] = [];
  if (t < tLo || t > tHi) what.push(`${t} vCPU in all against ${tLo === tHi ? tLo : `${tLo}-${tHi}`} run`);
  if (n < nLo || n > nHi) what.push(`${n} vCPU per node against ${nLo === nHi ? nLo : `${nLo}-${nHi}`} run`);
  return what.length > 0 ? `It lies outside the runs observed (${what.join('; ')}): its estimate there is the model's extrapolation, not a measurement.` : undefined;
}

/**
 * Predicts from earlier runs alone (no event log): fits the scaling curve and prices every
 * candidate within twice the fitted size range. Needs runs at two or more sizes.
 */
export function predictFromHistory(runs: readonly HistoryRun[], options: Omit<PredictOptions, 'history'> & { collection?: 'groups' | 'fleets'; masterInstanceType?: string }): PredictionOutcome {
  const ext = historyCatalog(options.catalog, runs);
  const catalog = ext.catalog;
  const warnings = [...ext.warnings];
  const usable = runs.filter((r) => catalog.get(r.instanceType) && r.nodes > 0 && r.runtimeSeconds > 0);
  if (usable.length === 0) throw new SyncError('invalid_request', 'no earlier run on an instance type that can be described (add vcpu and memoryGib columns)');
  const hardware = (t: string): HardwareOf => {
    const s = catalog.get(t)!;
    return { vcpu: s.vcpu, memoryGib: s.memoryGib, family: s.family, ...(s.coremark !== undefined ? { coremark: s.coremark } : {}) };
  };
  const model = fitRuntimeModel(usable.map((r) => ({ hardware: hardware(r.instanceType), nodes: r.nodes, runtimeSeconds: r.runtimeSeconds })));
  if (new Set(usable.map((r) => r.nodes * catalog.get(r.instanceType)!.vcpu)).size < 2) {
    warnings.push('earlier runs cover one cluster size: the scaling with size is the prior\'s, not this job\'s');
  }
  const latest = usable[usable.length - 1]!;
  const master = options.masterInstanceType && catalog.get(options.masterInstanceType) ? options.masterInstanceType : latest.instanceType;
  const pricing = { spot: options.spot ?? false, ...(options.spotDiscount !== undefined ? { spotDiscount: options.spotDiscount } : {}) };
  const costOf = (c: { instanceType: string; nodes: number }, seconds: number) => clusterCostUsd(catalog, { instanceType: c.instanceType, nodes: c.nodes, masterInstanceType: master }, seconds, pricing);
  // Candidates: every type at the grid's node counts within 4x of the total vCPU observed either way.
  const sizes = usable.map((r) => r.nodes * catalog.get(r.instanceType)!.vcpu);
  const [lo, hi] = [Math.min(...sizes), Math.max(...sizes)];
  const estimates: CandidateEstimate[] = [];
  const all = generateCandidates(catalog, {
    basisSlots: 1,
    minFactor: lo / 8,
    maxFactor: hi * 8,
    ...(options.include ? { include: options.include } : {}),
    ...(options.x86Only ? { x86Only: true } : {}),
  });
  // The configurations already run are candidates too (their node counts may be off the grid).
  for (const r of usable) all.push({ instanceType: r.instanceType, nodes: r.nodes, layout: executorLayout(catalog.get(r.instanceType)!), userSizing: false });
  const seen = new Set<string>();
  const fits = new Map<CandidateEstimate, RuntimeEstimate>();
  for (const c of all) {
    const key = `${c.instanceType}/${c.nodes}`;
    const v = c.nodes * catalog.get(c.instanceType)!.vcpu;
    if (seen.has(key) || v < lo / 4 || v > hi * 4) continue;
    seen.add(key);
    const r = model.predict(hardware(c.instanceType), c.nodes);
    const e: CandidateEstimate = {
      instanceType: c.instanceType,
      nodes: c.nodes,
      executors: c.nodes * c.layout.executorsPerNode,
      executorCores: c.layout.executorCores,
      executorMemoryMb: Math.floor(c.layout.executorMemoryMb),
      userSizing: false,
      runtimeSeconds: r.seconds,
      costUsd: costOf(c, r.seconds),
      source: 'history',
      historySeconds: r.seconds,
      runtimeHighSeconds: r.upperSeconds(ECONOMY_UNCERTAINTY_Z),
    };
    estimates.push(e);
    fits.set(e, r);
  }
  if (estimates.length === 0) throw new SyncError('invalid_request', 'no candidate cluster near the sizes of the earlier runs (check --families / --x86-only)');
  const basis: PredictionOutcome['basis'] = {
    runtimeSeconds: round(latest.runtimeSeconds, 1),
    costUsd: round(costOf(latest, latest.runtimeSeconds), 4),
    instanceType: latest.instanceType,
    nodes: latest.nodes,
  };
  // A configuration already run has a known runtime: its upper estimate is the longest it took (not the model's).
  const observedRuns = new Map<string, number[]>();
  for (const r of usable) observedRuns.set(`${r.instanceType}/${r.nodes}`, [...(observedRuns.get(`${r.instanceType}/${r.nodes}`) ?? []), r.runtimeSeconds]);
  for (const e of estimates) {
    const seen = observedRuns.get(`${e.instanceType}/${e.nodes}`);
    if (seen === undefined) continue;
    // Reported at what it took (the mean of its runs; the model's estimate stays in historySeconds).
    e.runtimeHighSeconds = Math.max(...seen);
    e.runtimeSeconds = seen.reduce((a, b) => a + b, 0) / seen.length;
    e.costUsd = costOf(e, e.runtimeSeconds);
  }
  // The latest run is the current configuration: a candidate at its observed runtime, with no uncertainty.
  const latestLayout = executorLayout(catalog.get(latest.instanceType)!);
  const current: CandidateEstimate = {
    instanceType: latest.instanceType,
    nodes: latest.nodes,
    executors: latest.nodes * latestLayout.executorsPerNode,
    executorCores: latestLayout.executorCores,
    executorMemoryMb: Math.floor(latestLayout.executorMemoryMb),
    userSizing: false,
    runtimeSeconds: latest.runtimeSeconds,
    costUsd: basis.costUsd,
    source: 'history',
    current: true,
    runtimeHighSeconds: latest.runtimeSeconds,
  };
  estimates.push(current);
  // Every preference is chosen on the upper estimates (runtime and cost at z model sd), so that no
  // preference bets on a configuration the runs say little about; the median is what is reported. A
  // pick must beat the current cluster by the margin even at its upper estimate, else it keeps it.
  const z = ECONOMY_UNCERTAINTY_Z;
  const margin = options.margin ?? DEFAULT_MARGIN;
  const cautious = estimates.map((e) => ({ e, runtimeSeconds: e.runtimeHighSeconds!, costUsd: e.current ? e.costUsd : costOf(e, e.runtimeHighSeconds!) }));
  const resolved = {
    performanceMaxCostUsd: options.preferenceCeilings?.performanceMaxCostUsd ?? basis.costUsd * PERFORMANCE_COST_FACTOR,
    economyMaxRuntimeSeconds: options.preferenceCeilings?.economyMaxRuntimeSeconds ?? Infinity,
  };
  const { chosen } = choosePreferencesOver(cautious, basis, resolved, margin);
  // Economy: the cheapest at the upper estimate among those that beat the current cluster by the margin,
  // under pickEconomyOverObserved's rule: a configuration not yet run must also beat the cheapest
  // observed one (known cost) by ECONOMY_REUSE_MARGIN, else that observed configuration is re-used.
  const isObserved = (e: CandidateEstimate) => e.current === true || observedRuns.has(`${e.instanceType}/${e.nodes}`);
  const eligible = cautious.filter((p) => p.runtimeSeconds <= resolved.economyMaxRuntimeSeconds && beatsCurrent('economy', p, basis, margin));
  const economy = pickEconomyOverObserved(
    eligible.filter((p) => !isObserved(p.e)),
    cautious.filter((p) => isObserved(p.e) && (p.e.current === true || beatsCurrent('economy', p, basis, margin))).map((p) => ({ config: p, runtimeSeconds: p.runtimeSeconds })),
    (p) => ({ seconds: p.runtimeSeconds, logSd: 0, modelLogSd: 0, upperSeconds: () => p.runtimeSeconds }),
    (p) => p.costUsd,
    0,
    ECONOMY_REUSE_MARGIN,
    resolved.economyMaxRuntimeSeconds,
  )?.config.e;
  const picks: Partial<Record<Preference, CandidateEstimate>> = {
    ...(chosen.performance && !chosen.performance.e.current ? { performance: chosen.performance.e } : {}),
    ...(chosen.balanced && !chosen.balanced.e.current ? { balanced: chosen.balanced.e } : {}),
    ...(economy && !economy.current ? { economy } : {}),
  };
  const shape: ClusterShape = { collection: options.collection ?? 'groups', spot: options.spot ?? false, sparkDefaults: {}, instances: [], workers: [], typeFacts: {} };
  const solutions = solutionsFrom(estimates, basis, shape, master, resolved, { ...options, catalog }, new Map(), undefined, picks);
  for (const pref of PREFERENCES) {
    const c = picks[pref];
    if (c && isObserved(c)) solutions[pref].explanation += ` This configuration was already run (at most ${Math.round(c.runtimeHighSeconds!)} s): its known cost is used, and no configuration not yet run beats it at ${z} model standard deviations above its median estimate.`;
    else if (c) {
      solutions[pref].explanation += ` Chosen on estimates ${z} model standard deviations above the median (here ${Math.round(c.runtimeHighSeconds!)} s), so that configurations far from the runs observed are not bet on.`;
      const outside = outsideObserved(c, usable, catalog);
      if (outside) solutions[pref].explanation += ` ${outside}`;
    }
  }
  return { solutions, basis, candidates: estimates, source: 'history', warnings };
}
