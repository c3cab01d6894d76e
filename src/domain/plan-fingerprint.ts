// The application's structure from its event log, beside the code fingerprint: the SQL physical plans
// (operator trees without literals, paths or ids: eventlog/plan-skeleton.ts) and the stage DAG shape
// (stages and their parents per job, without task counts). Runs with the same structure learn
// together; a changed structure starts a new group and says what changed. Pure.
import { createHash } from 'node:crypto';
import type { ApplicationModel } from './eventlog/model.js';

/** One SQL execution's structure, in execution order. */
export type QueryStructure = { id: number; description: string; skeleton: string[]; hash: string };

/** An application's structure. */
export type AppStructure = {
  /** Hash of the queries' skeletons and the DAG shape. */
  fingerprint: string;
  queries: QueryStructure[];
  /** One line per job: its stages relative to the job's first, with their parents. */
  dag: string[];
};

const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);

/** The structure of the application an event log shows. */
export function structureOf(model: ApplicationModel): AppStructure {
  const queries = [...model.sql]
    .sort((a, b) => (a.startTime ?? 0) - (b.startTime ?? 0) || a.id - b.id)
    .filter((q) => q.planSkeleton !== undefined && q.planSkeleton.length > 0)
    .map((q) => ({ id: q.id, description: q.description, skeleton: q.planSkeleton!, hash: hash(q.planSkeleton!.join('\n')) }));
  const byId = new Map(model.stages.map((s) => [s.stageId, s]));
  const dag = [...model.jobs]
    .sort((a, b) => a.id - b.id)
    .map((j) => {
      const ids = [...new Set(j.stageIds)].sort((a, b) => a - b);
      const base = ids[0] ?? 0;
      return ids.map((id) => `${id - base}<${(byId.get(id)?.parentIds ?? []).map((p) => p - base).sort((a, b) => a - b).join(',')}`).join(' ');
    });
  const fingerprint = hash(JSON.stringify({ q: queries.map((q) => q.hash), d: dag }));
  return { fingerprint, queries, dag };
}

function multisetMinus(a: readonly string[], b: readonly string[]): string[] {
  const left = new Map<string, number>();
  for (const x of b) left.set(x, (left.get(x) ?? 0) + 1);
  const out: string[] = [];
  for (const x of a) {
    const n = left.get(x) ?? 0;
    if (n > 0) left.set(x, n - 1);
    else out.push(x);
  }
  return out;
}

const ops = (skeleton: readonly string[]) => skeleton.map((l) => l.slice(l.indexOf(':') + 1));

/** A structure as kept on a run (bounded: at most 50 queries of 200 operators). */
export type StoredStructure = { fingerprint: string; dagHash: string; jobs: number; queries: { id: number; hash: string; ops: string[] }[] };

/** The bounded form of a structure kept on a run. */
export function storedStructure(s: AppStructure): StoredStructure {
  return {
    fingerprint: s.fingerprint,
    dagHash: hash(s.dag.join('|')),
    jobs: s.dag.length,
    queries: s.queries.slice(0, 50).map((q) => ({ id: q.id, hash: q.hash, ops: ops(q.skeleton).slice(0, 200) })),
  };
}

/** What changed from `before` to `after`, in words (empty when the structure is the same). */
export function structureChanges(before: AppStructure | StoredStructure, after: AppStructure | StoredStructure): string[] {
  if (before.fingerprint === after.fingerprint) return [];
  const a0 = 'dag' in before ? storedStructure(before) : before;
  const b0 = 'dag' in after ? storedStructure(after) : after;
  return storedChanges(a0, b0);
}

function storedChanges(before: StoredStructure, after: StoredStructure): string[] {
  const out: string[] = [];
  const n = Math.max(before.queries.length, after.queries.length);
  for (let i = 0; i < n; i++) {
    const a = before.queries[i];
    const b = after.queries[i];
    if (!a && b) out.push(`query ${b.id} is new (${b.ops.length} operators)`);
    else if (a && !b) out.push(`query ${a.id} no longer runs`);
    else if (a && b && a.hash !== b.hash) {
      const added = [...new Set(multisetMinus(b.ops, a.ops))];
      const removed = [...new Set(multisetMinus(a.ops, b.ops))];
      const what = [...added.map((x) => `new ${x}`), ...removed.map((x) => `no ${x}`)];
      out.push(`the plan of query ${b.id} changed: ${what.length > 0 ? what.join(', ') : 'its operators were rearranged'}`);
    }
  }
  if (before.dagHash !== after.dagHash) {
    const jobs = after.jobs - before.jobs;
    out.push(jobs !== 0 ? `the application runs ${Math.abs(jobs)} ${jobs > 0 ? 'more' : 'fewer'} job(s) (${after.jobs} against ${before.jobs})` : 'the stage DAG of some jobs changed');
  }
  return out;
}

/** A learning group: consecutive runs with the same structure. */
export type StructureGroup = { fingerprint: string; runIds: string[]; firstRunId: string; changes: string[] };

/** Groups runs (oldest first) by structure: a run whose structure differs from the previous run's starts a new group, saying what changed. */
export function groupByStructure(runs: readonly { runId: string; structure: AppStructure }[]): StructureGroup[] {
  const groups: StructureGroup[] = [];
  let prev: AppStructure | undefined;
  for (const r of runs) {
    const current = groups[groups.length - 1];
    if (current && prev && prev.fingerprint === r.structure.fingerprint) current.runIds.push(r.runId);
    else groups.push({ fingerprint: r.structure.fingerprint, runIds: [r.runId], firstRunId: r.runId, changes: prev ? structureChanges(prev, r.structure) : [] });
    prev = r.structure;
  }
  return groups;
}
