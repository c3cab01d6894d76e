import { type Observable, defer, of, switchMap } from 'rxjs';
import { SyncError } from '../domain/errors.js';
import type { ProjectUpdateData } from '../domain/requests.js';
import { normaliseLocation } from '../domain/run-location.js';
import type { Project } from '../domain/types.js';
import type { HandlerContext, HandlerDeps } from './deps.js';
import { fromAbortable } from './rx.js';
import { updateProjectState } from './update-project.js';

const OPTIONAL = ['jobFlow', 'job', 'cluster', 'location', 'preference', 'autoApply', 'mode', 'policy'] as const;

/** `project` with the update applied: given fields replace, `null` removes; undefined when nothing changes. */
export function applyProjectUpdate(project: Project, data: ProjectUpdateData, now: Date): Project | undefined {
  const next: Record<string, unknown> = { ...project };
  if (data.name !== undefined) next.name = data.name;
  for (const field of OPTIONAL) {
    const value = data[field];
    if (value === undefined) continue;
    if (value === null) delete next[field];
    else next[field] = field === 'location' ? normaliseLocation(value as string) : structuredClone(value);
  }
  const changed = JSON.stringify({ ...next, updatedAt: '' }) !== JSON.stringify({ ...project, updatedAt: '' });
  return changed ? ({ ...next, updatedAt: now.toISOString() } as Project) : undefined;
}

/**
 * project.update: changes a project's definition (name, base request, location, preference, mode,
 * policy). Runs already started keep what they had; a change to the steps or the code they reference
 * engages the code-change guard of project.iterate.
 */
export function projectUpdate(data: ProjectUpdateData, deps: HandlerDeps, ctx: HandlerContext): Observable<Project> {
  return defer(() => of(data)).pipe(
    switchMap((d) =>
      fromAbortable(async (signal) => {
        if (!(await deps.state.get(d.projectId, { signal }))) throw new SyncError('not_found', `project '${d.projectId}' does not exist`);
        const now = deps.clock.now();
        const written = await updateProjectState(
          deps.state,
          d.projectId,
          (s) => {
            const project = applyProjectUpdate(s.project, d, now);
            return project ? { ...s, project } : undefined;
          },
          { signal },
        );
        deps.logger.info('project updated', { projectId: d.projectId, changed: written.written, requestId: ctx.requestId });
        return written.state.project;
      }, ctx.signal),
    ),
  );
}
