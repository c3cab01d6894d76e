import { type Observable, defer, from, switchMap } from 'rxjs';
import { SyncError, isSyncError } from '../domain/errors.js';
import { shortHash } from '../domain/ids.js';
import type { ProjectCreateData } from '../domain/requests.js';
import { normaliseLocation } from '../domain/run-location.js';
import type { Project, ProjectState } from '../domain/types.js';
import type { HandlerContext, HandlerDeps } from './deps.js';
import { fromAbortable } from './rx.js';
import { requestKeyOf } from './run-start.js';

/** The fields that make a project's definition; two creates with equal definitions are the same create. */
const DEFINITION_FIELDS = ['name', 'platform', 'jobFlow', 'job', 'cluster', 'location', 'preference', 'autoApply', 'mode', 'policy', 'pool'] as const;

/** A lowercase slug of `name` (a-z 0-9 -, at most 100 characters), or 'project' when nothing is left. */
export function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 100)
    .replace(/-+$/, '');
  return slug === '' ? 'project' : slug;
}

/**
 * The project id for a create: the requested one, else `{slug of name}-{6 hex}` where the suffix
 * comes from the request key, so a retried create lands on the same id.
 */
export function projectIdFor(data: Pick<ProjectCreateData, 'projectId' | 'name'>, requestKey: string): string {
  return data.projectId ?? `${slugify(data.name)}-${shortHash(`${data.name}\u0000${requestKey}`, 6)}`;
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The project a create describes (normalised location, no undefined fields). */
export function projectFromRequest(data: ProjectCreateData, id: string, tenantId: string, now: Date): Project {
  const project: Project = { id, name: data.name, platform: data.platform, tenantId, createdAt: now.toISOString(), updatedAt: now.toISOString() };
  if (data.location !== undefined) project.location = normaliseLocation(data.location);
  if (data.preference !== undefined) project.preference = data.preference;
  if (data.autoApply !== undefined) project.autoApply = data.autoApply;
  if (data.mode !== undefined) project.mode = data.mode;
  if (data.policy !== undefined) project.policy = data.policy;
  if (data.jobFlow !== undefined) project.jobFlow = structuredClone(data.jobFlow);
  if (data.job !== undefined) project.job = structuredClone(data.job);
  if (data.cluster !== undefined) project.cluster = structuredClone(data.cluster);
  if (data.pool !== undefined) {
    if (data.platform !== 'emr') throw new SyncError('invalid_request', `data.pool: cluster pools are for platform 'emr' projects, not '${data.platform}'`, { retryable: false });
    project.pool = data.pool;
  }
  return project;
}

/** True when two projects have the same definition (key order inside jobFlow/cluster does not matter). */
export function sameDefinition(a: Project, b: Project): boolean {
  return DEFINITION_FIELDS.every((f) => canonical(a[f]) === canonical(b[f])) && a.tenantId === b.tenantId;
}

/**
 * Decides a project.create against what is stored: create a new document, answer with the existing
 * project (same definition: an idempotent replay), or SyncError 'already_exists'.
 */
export function decideProjectCreate(existing: ProjectState | undefined, wanted: Project): { action: 'create'; state: ProjectState } | { action: 'existing'; project: Project } {
  if (!existing) return { action: 'create', state: { project: wanted, runs: [], predictions: [] } };
  if (sameDefinition(existing.project, wanted)) return { action: 'existing', project: existing.project };
  throw new SyncError('already_exists', `project '${wanted.id}' already exists with a different definition`, { details: { projectId: wanted.id } });
}

/** Creates a project's state document (write-if-absent); replaying the same create answers the stored project. */
export function projectCreate(data: ProjectCreateData, deps: HandlerDeps, ctx: HandlerContext): Observable<Project> {
  return defer(() => {
    const requestKey = requestKeyOf(ctx);
    const id = projectIdFor(data, requestKey);
    const wanted = projectFromRequest(data, id, deps.config.tenant.id, deps.clock.now());
    return fromAbortable((signal) => deps.state.get(id, { signal }), ctx.signal).pipe(
      switchMap((current) => {
        const decision = decideProjectCreate(current?.value, wanted);
        if (decision.action === 'existing') return from([decision.project]);
        return fromAbortable(async (signal) => {
          if (wanted.pool !== undefined) {
            // A pooled project needs its pool (pool.create) first: say so now rather than at its first run.
            const pool = deps.pools ? await deps.pools.get(wanted.pool, { signal }) : undefined;
            if (!pool || pool.value.pool.status !== 'active') {
              throw new SyncError('invalid_request', `data.pool: pool '${wanted.pool}' ${pool ? `is ${pool.value.pool.status}` : 'does not exist (create it with pool.create)'}`, { retryable: false });
            }
          }
          try {
            await deps.state.put(id, decision.state, null, { signal });
          } catch (e) {
            if (!isSyncError(e, 'conflict')) throw e;
            // Someone created it between our read and write: answer as if we had read theirs.
            const raced = await deps.state.get(id, { signal });
            const again = decideProjectCreate(raced?.value, wanted);
            if (again.action === 'create') throw e;
            return again.project;
          }
          deps.logger.info('project created', { projectId: id, platform: wanted.platform });
          return wanted;
        }, ctx.signal);
      }),
    );
  });
}
