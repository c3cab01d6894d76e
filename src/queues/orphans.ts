// Orphan clusters: a cluster carrying this tenant's sync tags that no live run owns (its run ended, or
// no run of the project has its id) and that is still up after a grace period. Each pass lists the live
// clusters once (paged), describes at most `maxDescribesPerPass` of those it has not seen (tags do not
// change, so each cluster is described once while it lives), reports the orphans, and terminates them
// when asked to. A cluster without our tenant and run tags is never touched.
import { isSyncError, toSyncError } from '../domain/errors.js';
import type { CallOptions, ClusterInfo, Logger, Platform } from '../domain/ports.js';
import { TAG_PROJECT_ID, TAG_RUN_ID, TAG_TENANT_ID } from '../domain/tags.js';
import type { ProjectState, Run, RunStatus } from '../domain/types.js';
import type { OrphanSettings } from '../config/types.js';

/** Cluster states an orphan can be in: up and billing (WAITING included: an idle long-lived cluster). */
export const LIVE_CLUSTER_STATES: readonly string[] = ['STARTING', 'BOOTSTRAPPING', 'RUNNING', 'WAITING'];
/** Run statuses that own their cluster. */
const LIVE_RUN_STATUSES: ReadonlySet<RunStatus> = new Set(['starting', 'running', 'recording']);

export type { OrphanSettings };

/** The Redis key holding the last pass's report (JSON), for GET /v1/orphans. */
export const orphanReportKey = (prefix: string): string => `${prefix}:orphans:last`;

export const DEFAULT_ORPHAN_SETTINGS: OrphanSettings = { graceMs: 3_600_000, terminate: false, maxDescribesPerPass: 20, lookbackMs: 14 * 86_400_000 };

/** One orphan cluster. */
export type Orphan = {
  clusterId: string;
  state: string;
  projectId?: string;
  runId: string;
  /**
   * `run_ended`: its run is finished (status given); `no_run`: the project has no such run in its
   * document (never written, deleted, or archived); `other_cluster`: its run is live on another cluster.
   */
  reason: 'run_ended' | 'no_run' | 'other_cluster';
  runStatus?: RunStatus;
  /** Since when the cluster has had no live run (ISO): the run's end, else the cluster's creation. */
  since: string;
  /** True once this pass terminated it. */
  terminated: boolean;
};

/** What one pass saw. */
export type OrphanReport = {
  at: string;
  /** Live clusters listed, and how many carry this tenant's run tags. */
  listed: number;
  ours: number;
  /** Clusters listed whose tags are not yet known (describe budget spent); seen next pass. */
  unseen: number;
  described: number;
  orphans: Orphan[];
  terminate: boolean;
  graceMs: number;
};

export type OrphanSweeperOptions = {
  tenantId: string;
  platform: Pick<Platform, 'describeCluster' | 'terminateCluster' | 'listClusters'>;
  /** The project document (undefined when the project does not exist). */
  readProject: (projectId: string, options?: CallOptions) => Promise<ProjectState | undefined>;
  /** Read at each pass (a getter may follow a reloaded configuration). */
  readonly settings: OrphanSettings;
  logger: Logger;
  now?: () => number;
  /** Called once per orphan the first time it is reported, and once per termination. */
  onOrphan?: (action: 'reported' | 'terminated', orphan: Orphan) => void;
};

export type OrphanSweeper = {
  /** One pass; with settings.terminate, terminates the orphans it finds. */
  pass(options?: CallOptions & { terminate?: boolean }): Promise<OrphanReport>;
  readonly last: OrphanReport | undefined;
};

type Seen = { tags: Record<string, string>; createdAt?: number };

/** The time a finished run stopped owning its cluster. */
function endedAt(run: Run): number | undefined {
  for (const t of [run.endedAt, run.cancelled?.at, run.recordedAt]) {
    const ms = t === undefined ? NaN : Date.parse(t);
    if (Number.isFinite(ms)) return ms;
  }
  return undefined;
}

export function createOrphanSweeper(opts: OrphanSweeperOptions): OrphanSweeper {
  const log = opts.logger.child({ component: 'orphans' });
  const now = opts.now ?? Date.now;
  // Tags of clusters seen while they live (a cluster's id and tags do not change).
  const seen = new Map<string, Seen>();
  // Orphans already reported (counted once, logged each pass).
  const reported = new Set<string>();
  let last: OrphanReport | undefined;

  const judge = (clusterId: string, state: string, info: Seen, doc: ProjectState | undefined, t: number): Orphan | undefined => {
    const runId = info.tags[TAG_RUN_ID]!;
    const projectId = info.tags[TAG_PROJECT_ID];
    const run = doc?.runs.find((r) => r.id === runId);
    // A live run owns the cluster it names (or, before it names one, any cluster with its tag); another
    // cluster with the same run tag (a second launch) is not its cluster.
    const other = run !== undefined && LIVE_RUN_STATUSES.has(run.status) && run.clusterId !== undefined && run.clusterId !== clusterId;
    if (run && LIVE_RUN_STATUSES.has(run.status) && !other) return undefined;
    const since = (run && !other ? endedAt(run) : undefined) ?? info.createdAt;
    // Without a time to count from, wait for one: never terminate on a guess.
    if (since === undefined || t - since < opts.settings.graceMs) return undefined;
    return {
      clusterId,
      state,
      ...(projectId !== undefined ? { projectId } : {}),
      runId,
      reason: other ? 'other_cluster' : run ? 'run_ended' : 'no_run',
      ...(run ? { runStatus: run.status } : {}),
      since: new Date(since).toISOString(),
      terminated: false,
    };
  };

  const ours = (tags: Record<string, string>) => tags[TAG_TENANT_ID] === opts.tenantId && typeof tags[TAG_RUN_ID] === 'string' && tags[TAG_RUN_ID] !== '';

  const pass = async (options: CallOptions & { terminate?: boolean } = {}): Promise<OrphanReport> => {
    const { settings } = opts;
    const terminate = options.terminate ?? settings.terminate;
    const call = options.signal ? { signal: options.signal } : {};
    const t = now();
    const report: OrphanReport = { at: new Date(t).toISOString(), listed: 0, ours: 0, unseen: 0, described: 0, orphans: [], terminate, graceMs: settings.graceMs };
    if (!opts.platform.listClusters) {
      last = report;
      return report;
    }
    const live = await opts.platform.listClusters({ states: LIVE_CLUSTER_STATES, createdAfter: new Date(t - settings.lookbackMs) }, call);
    report.listed = live.length;
    const liveIds = new Set(live.map((c) => c.id));
    for (const id of seen.keys()) if (!liveIds.has(id)) seen.delete(id);
    for (const id of reported) if (!liveIds.has(id)) reported.delete(id);

    // Tags of clusters not seen yet, within the budget (ListClusters answers newest first; oldest are the likelier orphans).
    for (const c of [...live].reverse()) {
      if (seen.has(c.id)) continue;
      if (report.described >= settings.maxDescribesPerPass) {
        report.unseen += 1;
        continue;
      }
      report.described += 1;
      try {
        const info = await opts.platform.describeCluster(c.id, call);
        seen.set(c.id, { tags: info.tags, ...(info.createdAt ? { createdAt: info.createdAt.getTime() } : {}) });
      } catch (e) {
        if (!isSyncError(e, 'not_found')) log.warn('could not describe a cluster; next pass retries', { clusterId: c.id, error: toSyncError(e).toJSON() });
      }
    }

    const docs = new Map<string, Promise<ProjectState | undefined>>();
    const project = (id: string | undefined) => {
      if (id === undefined) return Promise.resolve(undefined);
      let p = docs.get(id);
      if (!p) docs.set(id, (p = opts.readProject(id, call)));
      return p;
    };
    for (const c of live) {
      const info = seen.get(c.id);
      if (!info || !ours(info.tags)) continue;
      report.ours += 1;
      let doc: ProjectState | undefined;
      try {
        doc = await project(info.tags[TAG_PROJECT_ID]);
      } catch (e) {
        // Without the run's state there is no judging it: skip the cluster this pass.
        log.warn('could not read the project of a tagged cluster; next pass retries', { clusterId: c.id, projectId: info.tags[TAG_PROJECT_ID], error: toSyncError(e).toJSON() });
        continue;
      }
      const orphan = judge(c.id, c.state, info, doc, t);
      if (!orphan) continue;
      report.orphans.push(orphan);
      log.warn('orphan cluster: tagged for this tenant, no live run owns it', { ...orphan, graceMs: settings.graceMs, terminate });
      if (!reported.has(c.id)) {
        reported.add(c.id);
        opts.onOrphan?.('reported', orphan);
      }
    }

    if (terminate) {
      for (const orphan of report.orphans) {
        if (options.signal?.aborted) break;
        try {
          // Look again just before acting: the cluster's own tags, and the run as it stands now.
          const fresh: ClusterInfo = await opts.platform.describeCluster(orphan.clusterId, call);
          if (!ours(fresh.tags) || !LIVE_CLUSTER_STATES.includes(fresh.state)) continue;
          const projectId = fresh.tags[TAG_PROJECT_ID];
          const doc = projectId === undefined ? undefined : await opts.readProject(projectId, call);
          const again = judge(orphan.clusterId, fresh.state, { tags: fresh.tags, ...(fresh.createdAt ? { createdAt: fresh.createdAt.getTime() } : {}) }, doc, now());
          if (!again) continue;
          await opts.platform.terminateCluster(orphan.clusterId, call);
          orphan.terminated = true;
          log.warn('terminated orphan cluster', { ...orphan });
          opts.onOrphan?.('terminated', orphan);
        } catch (e) {
          log.warn('could not terminate an orphan cluster; next pass retries', { clusterId: orphan.clusterId, error: toSyncError(e).toJSON() });
        }
      }
    }
    last = report;
    return report;
  };

  return {
    pass,
    get last() {
      return last;
    },
  };
}
