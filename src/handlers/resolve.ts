// Local precedence rules until src/config offers its own resolver: request -> project -> site -> tenant -> default.
import type { Config } from '../config/types.js';
import { SyncError } from '../domain/errors.js';
import type { Preference, Project } from '../domain/types.js';

/** The run-data location for a project: the request's, the project's, site.projectLocation, tenant.projectLocation; else SyncError 'invalid_config'. */
export function resolveProjectLocation(config: Config, project: Pick<Project, 'id' | 'location'> | undefined, requested?: string): string {
  const found = requested ?? project?.location ?? config.site.projectLocation ?? config.tenant.projectLocation;
  if (found === undefined) {
    throw new SyncError(
      'invalid_config',
      `no project location for project '${project?.id ?? '?'}': looked in the request, the project's location, site.projectLocation and tenant.projectLocation`,
    );
  }
  return found;
}

/** The preference to use: the request's, the project's, site.predictionPreference, tenant.predictionPreference, else 'balanced'. */
export function resolvePreference(config: Config, project: Pick<Project, 'preference'> | undefined, requested?: Preference): Preference {
  return requested ?? project?.preference ?? config.site.predictionPreference ?? config.tenant.predictionPreference ?? 'balanced';
}
