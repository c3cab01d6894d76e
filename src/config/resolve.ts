import { SyncError } from '../domain/errors.js';
import { PREFERENCES, type Preference, type Project } from '../domain/types.js';
import { checkLocation } from './locations.js';
import type { Config } from './types.js';

/** What a precedence lookup consults, most specific first: the request, the project, then the config. */
export type PrecedenceInput = {
  request?: { preference?: Preference | undefined; location?: string | undefined } | undefined;
  project?: Pick<Project, 'preference' | 'location'> | undefined;
  config: Pick<Config, 'site' | 'tenant' | 'sources'>;
};

/** The preference to use: request -> project -> site -> tenant -> 'balanced'. */
export function resolvePreference({ request, project, config }: PrecedenceInput): Preference {
  const requested = request?.preference;
  if (requested !== undefined && !PREFERENCES.includes(requested)) {
    throw new SyncError('invalid_request', `preference must be one of ${PREFERENCES.map((p) => `'${p}'`).join(', ')}, got '${String(requested)}'`);
  }
  return requested ?? project?.preference ?? config.site.predictionPreference ?? config.tenant.predictionPreference ?? 'balanced';
}

/**
 * The run data location to use: request `location` -> project `location` -> site.projectLocation ->
 * tenant.projectLocation, normalised (no trailing slash). Throws SyncError('invalid_config') naming the
 * key and every place looked when none is set, and SyncError('invalid_request') for a malformed request value.
 */
export function resolveProjectLocation({ request, project, config }: PrecedenceInput): string {
  const candidates: Array<[string | undefined, string]> = [
    [request?.location, "the request's `location`"],
    [project?.location, "the project's `location`"],
    [config.site.projectLocation, '`site.projectLocation`'],
    [config.tenant.projectLocation, '`tenant.projectLocation`'],
  ];
  for (const [value, where] of candidates) {
    if (value === undefined) continue;
    const checked = checkLocation(value);
    if (!checked.ok) {
      const code = where.startsWith("the request's") ? 'invalid_request' : 'invalid_config';
      throw new SyncError(code, `${where} ${checked.reason}`, { details: { key: where } });
    }
    return checked.url;
  }
  const files = config.sources.length > 0 ? ` (configuration: ${config.sources.join(', ')})` : '';
  throw new SyncError(
    'invalid_config',
    `no project location: set \`location\` on the request or the project, or \`projectLocation\` in the site or tenant configuration; looked at ${candidates.map(([, w]) => w).join(', ')}${files}`,
    { details: { key: 'projectLocation', looked: candidates.map(([, w]) => w), sources: config.sources } },
  );
}
