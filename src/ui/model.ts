// What the dashboard shows, computed from project state: pure, so the numbers are tested without a browser.
import { modeOf } from '../domain/tuning-policy.js';
import type { IterationRecord, JobFlow, ProjectState, Run } from '../domain/types.js';

const DAY_S = 86_400;
const MONTH_S = 30.4375 * DAY_S;

/** The runtime and cost people should see for a run: what the engine measured, else the cluster's. */
export function runFigures(r: Run): { runtimeSeconds?: number; costUsd?: number } {
  const runtime = r.observed?.runtimeSeconds ?? r.runtimeSeconds;
  const cost = r.observed?.costUsd ?? r.costUsd;
  return { ...(runtime !== undefined ? { runtimeSeconds: runtime } : {}), ...(cost !== undefined ? { costUsd: cost } : {}) };
}

/** `12 x m5.4xlarge` from a RunJobFlow-shaped request (groups, fleets or the flat form), if it says. */
export function describeJobFlow(jobFlow: JobFlow | undefined): string | undefined {
  // A Databricks cluster fragment (a Databricks solution's configuration).
  if (typeof jobFlow?.['node_type_id'] === 'string') {
    const auto = jobFlow['autoscale'] as { min_workers?: number; max_workers?: number } | undefined;
    const workers = auto ? `${auto.min_workers ?? '?'}-${auto.max_workers ?? '?'}` : String(jobFlow['num_workers'] ?? '?');
    return `${workers} x ${jobFlow['node_type_id']}`;
  }
  const inst = (jobFlow?.['Instances'] ?? undefined) as Record<string, unknown> | undefined;
  if (!inst) return undefined;
  const groups = inst['InstanceGroups'] as Record<string, unknown>[] | undefined;
  if (Array.isArray(groups)) {
    const workers = groups.filter((g) => g['InstanceRole'] !== 'MASTER');
    const parts = workers.map((g) => `${String(g['InstanceCount'] ?? '?')} x ${String(g['InstanceType'] ?? '?')}${g['Market'] === 'SPOT' ? ' (spot)' : ''}`);
    if (parts.length > 0) return parts.join(' + ');
  }
  const fleets = inst['InstanceFleets'] as Record<string, unknown>[] | undefined;
  if (Array.isArray(fleets)) {
    const parts = fleets
      .filter((f) => f['InstanceFleetType'] !== 'MASTER')
      .map((f) => {
        const types = ((f['InstanceTypeConfigs'] as Record<string, unknown>[] | undefined) ?? []).map((c) => String(c['InstanceType'] ?? '?'));
        const units = Number(f['TargetOnDemandCapacity'] ?? 0) + Number(f['TargetSpotCapacity'] ?? 0);
        return `${units} units of ${types.join('/') || '?'}`;
      });
    if (parts.length > 0) return parts.join(' + ');
  }
  if (inst['SlaveInstanceType']) return `${Math.max(0, Number(inst['InstanceCount'] ?? 1) - 1)} x ${String(inst['SlaveInstanceType'])}`;
  return undefined;
}

/** The hardware a run had, as people say it. */
export function describeRun(r: Run): string | undefined {
  return r.cluster?.instanceType ? `${r.cluster.nodes ?? '?'} x ${r.cluster.instanceType}` : undefined;
}

export type Saving = {
  firstRunId: string;
  lastRunId: string;
  firstCostUsd: number;
  lastCostUsd: number;
  /** (last - first) / first: negative is a saving. */
  change: number;
  /** first - last: positive is a saving. */
  perRunUsd: number;
  /** The median time between runs, when there are at least two. */
  cadenceSeconds?: number;
  perMonthUsd?: number;
};

/** Cost of the last recorded run against the first, per run and per month at the observed cadence. */
export function savingOf(state: ProjectState): Saving | undefined {
  const priced = state.runs.filter((r) => r.status === 'recorded' && runFigures(r).costUsd !== undefined);
  const first = priced[0];
  const last = priced[priced.length - 1];
  if (!first || !last || first === last) return undefined;
  const a = runFigures(first).costUsd!;
  const b = runFigures(last).costUsd!;
  if (!(a > 0)) return undefined;
  const times = priced.map((r) => new Date(r.startedAt ?? r.createdAt).getTime() / 1000).filter(Number.isFinite);
  const gaps = times
    .slice(1)
    .map((t, i) => t - times[i]!)
    .filter((g) => g > 0)
    .sort((x, y) => x - y);
  // A monthly figure needs a cadence: at least two gaps, and runs at least five minutes apart (a burst of
  // test runs is no schedule).
  const median = gaps.length >= 2 ? gaps[Math.floor((gaps.length - 1) / 2)]! : undefined;
  const cadence = median !== undefined && median >= 300 ? median : undefined;
  const perRun = a - b;
  return {
    firstRunId: first.id,
    lastRunId: last.id,
    firstCostUsd: a,
    lastCostUsd: b,
    change: (b - a) / a,
    perRunUsd: perRun,
    ...(cadence !== undefined ? { cadenceSeconds: cadence, perMonthUsd: (perRun * MONTH_S) / cadence } : {}),
  };
}

/** Everything a project shows as a warning: its own, regressions rolled back, SLA breaches, failures. */
export function warningsOf(state: ProjectState): string[] {
  const out = [...(state.status?.warnings ?? [])];
  const sla = state.project.policy?.maxRuntimeSeconds;
  for (const r of state.runs.slice(-20)) {
    if (r.regressed) out.push(`Run ${r.id} regressed and was rolled back: ${r.regressed}`);
    const rt = runFigures(r).runtimeSeconds;
    if (sla !== undefined && rt !== undefined && r.status === 'recorded' && rt > sla) out.push(`Run ${r.id} broke the SLA: ${Math.round(rt)} s against ${sla} s`);
  }
  const last = state.runs[state.runs.length - 1];
  if (last?.status === 'failed') out.push(`The last run failed${last.error ? `: ${last.error.message}` : last.stateChangeReason ? `: ${last.stateChangeReason}` : ''}`);
  return [...new Set(out)];
}

/** The decision project.iterate took for each run it started, by run id. */
export function decisionsByRun(state: ProjectState): Map<string, IterationRecord> {
  const m = new Map<string, IterationRecord>();
  for (const it of state.status?.iterations ?? []) m.set(it.runId, it);
  return m;
}

export type ProjectRow = {
  id: string;
  name: string;
  platform: string;
  mode: string;
  preference: string;
  configuration: string;
  lastRun?: { id: string; status: string; at: string; runtimeSeconds?: number; costUsd?: number };
  runs: number;
  saving?: Saving;
  warnings: string[];
};

/** One line of the projects page. */
export function projectRow(state: ProjectState, defaultPreference: string): ProjectRow {
  const p = state.project;
  const last = state.runs[state.runs.length - 1];
  const lastWithHw = [...state.runs].reverse().find((r) => describeRun(r) !== undefined);
  const saving = savingOf(state);
  return {
    id: p.id,
    name: p.name,
    platform: p.platform,
    mode: modeOf(p),
    preference: p.preference ?? defaultPreference,
    // What runs now: the hardware of the latest run that had some, else what the project's request asks for.
    configuration: (lastWithHw ? describeRun(lastWithHw) : undefined) ?? describeJobFlow(p.jobFlow) ?? '—',
    ...(last ? { lastRun: { id: last.id, status: last.status + (last.regressed ? ' (regressed)' : ''), at: last.createdAt, ...runFigures(last) } } : {}),
    runs: state.runs.length,
    ...(saving ? { saving } : {}),
    warnings: warningsOf(state),
  };
}

/** A leaf-by-leaf difference of two JSON documents: paths whose values differ, were added or removed. */
export function jsonDiff(before: unknown, after: unknown, ignore: (path: string) => boolean = () => false): { path: string; before?: string; after?: string }[] {
  const flat = (v: unknown, path: string, out: Map<string, string>) => {
    if (Array.isArray(v)) {
      // Lists of named things (instance groups, configurations, tags) are keyed by their name, not their position.
      v.forEach((item, i) => {
        const o = item as Record<string, unknown> | null;
        const name = o && typeof o === 'object' ? (o['Name'] ?? o['Key'] ?? o['InstanceRole'] ?? o['InstanceFleetType'] ?? o['Classification']) : undefined;
        flat(item, `${path}[${typeof name === 'string' ? name : i}]`, out);
      });
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) flat(x, path ? `${path}.${k}` : k, out);
    } else out.set(path, JSON.stringify(v));
  };
  const a = new Map<string, string>();
  const b = new Map<string, string>();
  flat(before, '', a);
  flat(after, '', b);
  const out: { path: string; before?: string; after?: string }[] = [];
  for (const path of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    if (ignore(path)) continue;
    const x = a.get(path);
    const y = b.get(path);
    if (x !== y) out.push({ path, ...(x !== undefined ? { before: x } : {}), ...(y !== undefined ? { after: y } : {}) });
  }
  return out;
}

/** Link to the cluster in the AWS console (EMR) or the Databricks workspace. */
export function clusterLink(platform: string, clusterId: string | undefined, region: string, databricksHost?: string): string | undefined {
  if (!clusterId) return undefined;
  if (platform === 'databricks') return databricksHost ? `${databricksHost.replace(/\/$/, '')}/#setting/clusters/${encodeURIComponent(clusterId)}/configuration` : undefined;
  if (!/^j-[A-Z0-9]+$/.test(clusterId)) return undefined;
  return `https://${region}.console.aws.amazon.com/emr/home?region=${region}#/clusterDetails/${clusterId}`;
}
