// Keeps a project document bounded: its oldest finished runs (with their predictions and request
// keys) move to archive chunks beside it, and the document keeps the recent runs, the runs the tuning
// loop still needs (the last good one, the bases of recent predictions) and a summary of the rest.
import type { ProjectState, Run, RunStatus } from './types.js';

/** Runs a document keeps after an archive step. */
export const DEFAULT_KEEP_RUNS = 50;
/** Runs over `keep` that trigger an archive step (so that one chunk write serves this many updates). */
export const DEFAULT_ARCHIVE_BATCH = 25;
/** Bases of this many most recent predictions stay in the document. */
const PINNED_PREDICTIONS = 5;

/** What the document says about its archived runs. */
export type RunArchiveSummary = {
  runs: number;
  byStatus: Partial<Record<RunStatus, number>>;
  /** Archived failed runs by error code (the error distribution's inputs). */
  errors: Record<string, number>;
  oldestCreatedAt?: string;
  newestCreatedAt?: string;
  chunks: number;
};

/** One archive chunk: runs (oldest first) with their predictions and request keys. */
export type RunArchiveChunk = {
  projectId: string;
  runs: Run[];
  predictions: ProjectState['predictions'];
  requests: NonNullable<ProjectState['requests']>;
};

export type ArchiveOptions = { keep?: number; batch?: number };

/** The chunk's name: sortable by the creation time of its first run (then its id). */
export function chunkNameOf(first: Run): string {
  return `${first.createdAt.replace(/[:]/g, '-')}-${first.id}`;
}

/**
 * The archive step for `state`, or undefined when the document is small enough (at most keep+batch
 * runs) or nothing may move. Only finished runs (recorded, failed) move; the last good run and the
 * bases of recent predictions stay.
 */
export function compactProjectState(state: ProjectState, opts: ArchiveOptions = {}): { state: ProjectState; chunk: RunArchiveChunk; name: string } | undefined {
  const keep = Math.max(1, opts.keep ?? DEFAULT_KEEP_RUNS);
  const batch = Math.max(1, opts.batch ?? DEFAULT_ARCHIVE_BATCH);
  if (state.runs.length <= keep + batch) return undefined;
  const pinned = new Set<string>();
  const lastGood = [...state.runs].reverse().find((r) => r.status === 'recorded' && r.regressed === undefined);
  if (lastGood) pinned.add(lastGood.id);
  for (const p of state.predictions.slice(-PINNED_PREDICTIONS)) if (p.basisRunId) pinned.add(p.basisRunId);
  const excess = state.runs.length - keep;
  const moving: Run[] = [];
  for (const r of state.runs) {
    if (moving.length >= excess) break;
    if ((r.status === 'recorded' || r.status === 'failed') && !pinned.has(r.id)) moving.push(r);
  }
  if (moving.length === 0) return undefined;
  const moved = new Set(moving.map((r) => r.id));
  const requests: NonNullable<ProjectState['requests']> = {};
  const keptRequests: NonNullable<ProjectState['requests']> = {};
  for (const [key, v] of Object.entries(state.requests ?? {})) {
    if (v.runId !== undefined && moved.has(v.runId)) requests[key] = v;
    else keptRequests[key] = v;
  }
  // Predictions based on a moved run go with it, except the recent ones.
  const recent = new Set(state.predictions.slice(-PINNED_PREDICTIONS).map((p) => p.id));
  const predictions = state.predictions.filter((p) => p.basisRunId !== undefined && moved.has(p.basisRunId) && !recent.has(p.id));
  const movedPredictions = new Set(predictions.map((p) => p.id));

  const prev = state.archive ?? { runs: 0, byStatus: {}, errors: {}, chunks: 0 };
  const summary: RunArchiveSummary = { ...prev, byStatus: { ...prev.byStatus }, errors: { ...prev.errors }, runs: prev.runs + moving.length, chunks: prev.chunks + 1 };
  for (const r of moving) {
    summary.byStatus[r.status] = (summary.byStatus[r.status] ?? 0) + 1;
    if (r.status === 'failed') {
      const code = r.error?.code ?? 'unknown';
      summary.errors[code] = (summary.errors[code] ?? 0) + 1;
    }
    if (summary.oldestCreatedAt === undefined || r.createdAt < summary.oldestCreatedAt) summary.oldestCreatedAt = r.createdAt;
    if (summary.newestCreatedAt === undefined || r.createdAt > summary.newestCreatedAt) summary.newestCreatedAt = r.createdAt;
  }
  const next: ProjectState = {
    ...state,
    runs: state.runs.filter((r) => !moved.has(r.id)),
    predictions: state.predictions.filter((p) => !movedPredictions.has(p.id)),
    archive: summary,
  };
  if (state.requests !== undefined) next.requests = keptRequests;
  return { state: next, chunk: { projectId: state.project.id, runs: moving, predictions, requests }, name: chunkNameOf(moving[0]!) };
}

/** Every run of a project, oldest first: archived chunks (in name order) then the document; the document wins on duplicates. */
export function mergeRuns(chunks: readonly RunArchiveChunk[], current: readonly Run[]): Run[] {
  const inDoc = new Set(current.map((r) => r.id));
  const seen = new Set<string>();
  const out: Run[] = [];
  for (const c of chunks) {
    for (const r of c.runs) {
      if (inDoc.has(r.id) || seen.has(r.id)) continue;
      seen.add(r.id);
      out.push(r);
    }
  }
  return [...out, ...current];
}
