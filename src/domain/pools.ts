// Cluster pools: long-lived EMR clusters that pooled projects add their steps to, instead of
// starting a cluster per run. Pure rules here (placement, step naming, the event-log --conf, the
// cost share); the handlers in src/handlers/pool-*.ts and run-start/run-record do the I/O.
import { SyncError } from './errors.js';
import type { JobFlow, RunStep } from './types.js';
import { FINAL_STEP_STATES } from './run-steps.js';

/** Tag key naming the pool a cluster belongs to, and the cluster's slot in it. */
export const TAG_POOL_ID = 'sync:pool-id';
export const TAG_POOL_SLOT = 'sync:pool-slot';

/**
 * One cluster of a pool. `launching`: its slot is reserved and RunJobFlow may be in flight (`id` is ''
 * until it is known; a retry looks the cluster up by its slot tag first). `draining`: takes no new
 * steps and is terminated once its steps have ended.
 */
export type PoolCluster = { id: string; slot: number; status: 'launching' | 'active' | 'draining' | 'terminated'; createdAt: string; endedAt?: string };

/**
 * Where one run's steps went. Written as `claimed` (with the attempt's token) before AddJobFlowSteps,
 * so an attempt that finds a claim it did not write looks for the steps by name before adding any.
 */
export type Placement = {
  runId: string;
  projectId: string;
  clusterId: string;
  status: 'claimed' | 'placed' | 'ended';
  token: string;
  at: string;
  stepIds?: string[];
  endedAt?: string;
  /** The run failed (a step failed): counts against the cluster in placement ties. */
  failed?: boolean;
};

/** One pool document in the state store (`<tenant.state>/pools/<poolId>.json`). */
export type PoolState = {
  pool: {
    id: string;
    tenantId: string;
    /** Clusters the pool keeps up. */
    size: number;
    /** The RunJobFlow request of every pool cluster (KeepJobFlowAliveWhenNoSteps forced on). */
    jobFlow: JobFlow;
    status: 'active' | 'deleting' | 'deleted';
    createdAt: string;
    updatedAt: string;
  };
  clusters: PoolCluster[];
  /** The next cluster's slot number (slots are never reused). */
  nextSlot: number;
  /** Placements, oldest first; ended ones beyond the newest MAX_ENDED_PLACEMENTS are dropped. */
  placements: Placement[];
};

/** How many ended placements a pool document keeps (for the failure tie-break and for people reading it). */
export const MAX_ENDED_PLACEMENTS = 200;
/** "Recent failures" of a cluster: failed runs among its last this many ended placements. */
export const RECENT_PLACEMENTS = 20;

/**
 * The platform's count of each cluster's PENDING + RUNNING steps, and the runs whose placement was
 * already `placed` in the pool document read before counting (their steps are in the count, if active).
 */
export type ActiveSteps = { counts: ReadonlyMap<string, number>; placedBefore: ReadonlySet<string>; now?: number };

/**
 * A claim older than this no longer counts as load: its run.start gave up (every attempt failed) and
 * left it behind. Only the load estimate uses it; the claim itself still guards against adding twice.
 */
export const STALE_CLAIM_MS = 10 * 60_000;

/**
 * Running + pending steps per active cluster. With `active`: the platform's count plus the placements
 * whose steps it may not have seen (still `claimed`, or placed after the count was taken). Without it:
 * the placements not yet ended.
 */
export function clusterLoads(state: PoolState, active?: ActiveSteps): Map<string, number> {
  const loads = new Map<string, number>();
  for (const c of state.clusters) if (c.status === 'active') loads.set(c.id, active?.counts.get(c.id) ?? 0);
  for (const p of state.placements) {
    if (!loads.has(p.clusterId)) continue;
    const fresh = active?.now === undefined || active.now - Date.parse(p.at) < STALE_CLAIM_MS;
    const unseen = active ? (p.status === 'claimed' && fresh) || (p.status === 'placed' && !active.placedBefore.has(p.runId)) : p.status !== 'ended';
    if (unseen) loads.set(p.clusterId, loads.get(p.clusterId)! + 1);
  }
  return loads;
}

/** Failed runs among each cluster's last RECENT_PLACEMENTS ended placements. */
export function recentFailures(state: PoolState): Map<string, number> {
  const out = new Map<string, number>();
  const seen = new Map<string, number>();
  for (const p of [...state.placements].reverse()) {
    if (p.status !== 'ended') continue;
    const n = seen.get(p.clusterId) ?? 0;
    if (n >= RECENT_PLACEMENTS) continue;
    seen.set(p.clusterId, n + 1);
    if (p.failed) out.set(p.clusterId, (out.get(p.clusterId) ?? 0) + 1);
  }
  return out;
}

/**
 * The least-loaded active cluster: fewest running + pending steps (clusterLoads), ties by
 * fewest recent failures, then by fewest placements on record (so that ties, common when steps end
 * between placements, do not pile work on the first slot), then by the lower slot. Undefined when
 * the pool has no active cluster.
 */
export function chooseCluster(state: PoolState, active?: ActiveSteps): PoolCluster | undefined {
  const loads = clusterLoads(state, active);
  const failures = recentFailures(state);
  const placed = new Map<string, number>();
  for (const p of state.placements) placed.set(p.clusterId, (placed.get(p.clusterId) ?? 0) + 1);
  const candidates = state.clusters.filter((c) => c.status === 'active');
  candidates.sort(
    (a, b) => loads.get(a.id)! - loads.get(b.id)! || (failures.get(a.id) ?? 0) - (failures.get(b.id) ?? 0) || (placed.get(a.id) ?? 0) - (placed.get(b.id) ?? 0) || a.slot - b.slot,
  );
  return candidates[0];
}

/** Adds (or keeps) the claim of `runId` on the least-loaded cluster; undefined when nothing changes. Throws when the pool cannot take steps. */
export function claimPlacement(state: PoolState, claim: { runId: string; projectId: string; token: string; at: string }, active?: ActiveSteps): PoolState | undefined {
  if (state.placements.some((p) => p.runId === claim.runId)) return undefined;
  if (state.pool.status !== 'active') throw new SyncError('invalid_request', `pool '${state.pool.id}' is being deleted and takes no new runs`, { retryable: false });
  const cluster = chooseCluster(state, active);
  if (!cluster) throw new SyncError('not_ready', `pool '${state.pool.id}' has no active cluster to place run ${claim.runId} on`);
  return { ...state, placements: [...state.placements, { ...claim, clusterId: cluster.id, status: 'claimed' }] };
}

/** `state` with the placement of `runId` changed by `fn` (undefined when missing or unchanged). */
export function patchPlacement(state: PoolState, runId: string, fn: (p: Placement) => Placement | undefined): PoolState | undefined {
  const i = state.placements.findIndex((p) => p.runId === runId);
  if (i < 0) return undefined;
  const next = fn(state.placements[i]!);
  if (!next) return undefined;
  const placements = [...state.placements];
  placements[i] = next;
  return { ...state, placements: trimEnded(placements) };
}

function trimEnded(placements: Placement[]): Placement[] {
  const ended = placements.filter((p) => p.status === 'ended').length;
  if (ended <= MAX_ENDED_PLACEMENTS) return placements;
  let drop = ended - MAX_ENDED_PLACEMENTS;
  return placements.filter((p) => !(p.status === 'ended' && drop-- > 0));
}

const STEP_NAME = /^sync:([A-Za-z0-9._-]+)\/([A-Za-z0-9._-]+)\/(\d+) /;

/** The name of a pooled run's step `index`: it carries the project and run, so an event or a listing finds its run. */
export function pooledStepName(projectId: string, runId: string, index: number, name: string): string {
  return `sync:${projectId}/${runId}/${index} ${name}`.slice(0, 256);
}

/** The project, run and index a pooled step name carries, if it is one. */
export function parsePooledStepName(name: string | undefined): { projectId: string; runId: string; index: number } | undefined {
  const m = name === undefined ? null : STEP_NAME.exec(name);
  return m ? { projectId: m[1]!, runId: m[2]!, index: Number(m[3]) } : undefined;
}

/** The steps of `runId` in a cluster's step listing. */
export function stepsOfRun<S extends { name: string }>(steps: readonly S[], runId: string): S[] {
  return steps.filter((s) => parsePooledStepName(s.name)?.runId === runId);
}

/**
 * The run's steps for AddJobFlowSteps: named for the run (pooledStepName), `ActionOnFailure: CONTINUE`
 * (a failed step must not end a shared cluster), and each spark-submit given the run's own
 * `spark.eventLog.dir` (and `spark.eventLog.enabled=true`) plus `sparkConf` (the project's or the applied
 * prediction's spark-defaults: a pool cluster has only its own) as `--conf` right after `spark-submit`;
 * the step's own `--conf` of those keys are dropped.
 */
export function pooledSteps(input: { projectId: string; runId: string; steps: unknown; sparkEventLogDir: string; sparkConf?: Readonly<Record<string, string>> }): Record<string, unknown>[] {
  if (!Array.isArray(input.steps) || input.steps.length === 0) {
    throw new SyncError('invalid_request', `a pooled run needs steps: the project's jobFlow.Steps is ${Array.isArray(input.steps) ? 'empty' : 'missing'}`, { retryable: false });
  }
  const conf: [string, string][] = [
    ...Object.entries(input.sparkConf ?? {}).filter(([k]) => !k.startsWith('spark.eventLog.')),
    ['spark.eventLog.enabled', 'true'],
    ['spark.eventLog.dir', input.sparkEventLogDir],
  ];
  return input.steps.map((raw, i) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new SyncError('invalid_request', `jobFlow.Steps[${i}] is not an object`, { retryable: false });
    const step = raw as Record<string, unknown>;
    const jar = step.HadoopJarStep as Record<string, unknown> | undefined;
    if (!jar || typeof jar !== 'object' || !Array.isArray(jar.Args)) throw new SyncError('invalid_request', `jobFlow.Steps[${i}].HadoopJarStep.Args is missing`, { retryable: false });
    const args = (jar.Args as unknown[]).map(String);
    const at = args.findIndex((a) => a === 'spark-submit' || a.endsWith('/spark-submit'));
    const withConf = at < 0 ? args : withSparkConf(args, at, conf);
    return {
      ...step,
      Name: pooledStepName(input.projectId, input.runId, i, typeof step.Name === 'string' ? step.Name : `step-${i}`),
      ActionOnFailure: 'CONTINUE',
      HadoopJarStep: { ...jar, Args: withConf },
    };
  });
}

/** spark-submit's args with the step's own --conf of `conf`'s keys removed and `conf` put first. */
function withSparkConf(args: string[], at: number, conf: [string, string][]): string[] {
  const keys = new Set(conf.map(([k]) => k));
  const ours = (kv: string) => keys.has(kv.slice(0, Math.max(0, kv.indexOf('='))));
  const rest: string[] = [];
  const tail = args.slice(at + 1);
  for (let i = 0; i < tail.length; i++) {
    const a = tail[i]!;
    if (a === '--conf' && ours(tail[i + 1] ?? '')) {
      i++;
      continue;
    }
    if (a.startsWith('--conf=') && ours(a.slice('--conf='.length))) continue;
    rest.push(a);
  }
  return [...args.slice(0, at + 1), ...conf.flatMap(([k, v]) => ['--conf', `${k}=${v}`]), ...rest];
}

/** The spark-defaults Properties of a RunJobFlow request's Configurations. */
export function sparkDefaultsOf(jobFlow: JobFlow | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const configurations = jobFlow?.Configurations;
  if (!Array.isArray(configurations)) return out;
  for (const c of configurations as unknown[]) {
    const cfg = c as { Classification?: unknown; Properties?: unknown };
    if (cfg?.Classification !== 'spark-defaults' || !cfg.Properties || typeof cfg.Properties !== 'object') continue;
    for (const [k, v] of Object.entries(cfg.Properties as Record<string, unknown>)) if (typeof v === 'string') out[k] = v;
  }
  return out;
}

/** True when every step of the list has ended (and there is at least one). */
export function allStepsEnded(steps: readonly RunStep[]): boolean {
  return steps.length > 0 && steps.every((s) => FINAL_STEP_STATES.has(s.state));
}

/**
 * The cost-share rule of a pooled run: over each of its steps' run time, the cluster's time is split
 * evenly among the steps running on it at that moment (sequential steps: the whole cluster). Returns
 * the cluster-seconds the run used; its cost is the cluster's cost for that many seconds. The
 * cluster's idle time (WAITING) is charged to no run.
 */
export function clusterSecondsUsed(runSteps: readonly RunStep[], clusterSteps: readonly RunStep[]): number {
  const spans = (list: readonly RunStep[]) =>
    list.flatMap((s) => {
      const a = s.startedAt ? Date.parse(s.startedAt) : NaN;
      const b = s.endedAt ? Date.parse(s.endedAt) : NaN;
      return Number.isFinite(a) && Number.isFinite(b) && b > a ? [{ id: s.id, a, b }] : [];
    });
  const all = spans(clusterSteps);
  let total = 0;
  for (const mine of spans(runSteps)) {
    // Cut the step's span at every start/end of another step inside it; count steps live in each piece.
    const cuts = new Set<number>([mine.a, mine.b]);
    for (const o of all) {
      if (o.a > mine.a && o.a < mine.b) cuts.add(o.a);
      if (o.b > mine.a && o.b < mine.b) cuts.add(o.b);
    }
    const points = [...cuts].sort((x, y) => x - y);
    for (let i = 0; i + 1 < points.length; i++) {
      const from = points[i]!;
      const to = points[i + 1]!;
      const mid = (from + to) / 2;
      const live = Math.max(1, all.filter((o) => o.a <= mid && o.b >= mid).length);
      total += (to - from) / live;
    }
  }
  return total / 1000;
}

/** The pool's RunJobFlow for slot `slot`: KeepJobFlowAliveWhenNoSteps on, no steps, the tenant's and the pool's tags. */
export function poolJobFlow(state: PoolState, slot: number): JobFlow {
  const base = structuredClone(state.pool.jobFlow);
  const instances = base.Instances && typeof base.Instances === 'object' && !Array.isArray(base.Instances) ? (base.Instances as Record<string, unknown>) : {};
  base.Instances = { ...instances, KeepJobFlowAliveWhenNoSteps: true };
  delete base.Steps;
  const userTags = Array.isArray(base.Tags) ? (base.Tags as { Key?: unknown; Value?: unknown }[]).filter((t) => typeof t?.Key === 'string' && !(t.Key as string).startsWith('sync:')) : [];
  base.Tags = [
    ...userTags,
    { Key: 'sync:tenant-id', Value: state.pool.tenantId },
    { Key: TAG_POOL_ID, Value: state.pool.id },
    { Key: TAG_POOL_SLOT, Value: String(slot) },
  ];
  if (typeof base.Name !== 'string' || base.Name === '') base.Name = `sync-pool-${state.pool.id}`;
  return base;
}
