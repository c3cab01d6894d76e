import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Config, SiteConfig } from './types.js';

/** Where project state lives when the tenant does not say (a system daemon's data folder). */
export const DEFAULT_STATE = 'file:///var/lib/sync-agent/state';
/** Redis used when the site does not name one: the conventional local server. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_API_URL = 'https://api.synccomputing.com';

/** AWS_REGION, else AWS_DEFAULT_REGION, else 'us-east-1' (the AWS CLI's own order). */
export function defaultRegion(env: Readonly<Record<string, string | undefined>>): string {
  return env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
}

/** The site sections that have fixed defaults, as documented in src/config/types.ts. */
export function siteDefaults(env: Readonly<Record<string, string | undefined>>): Omit<SiteConfig, 'id' | 'redis' | 'predictionPreference' | 'projectLocation' | 'sqs'> {
  return {
    queues: { prefix: 'sync', concurrency: 4, attempts: 5, backoffMs: 2000, lockDurationMs: 30_000 },
    aws: { region: defaultRegion(env), endpoints: {}, s3ForcePathStyle: false },
    predictions: { backend: 'local', apiUrl: DEFAULT_API_URL },
    http: { enabled: true, port: 8080, host: '127.0.0.1', ui: true },
    shutdown: { graceMs: 30_000 },
    reconcile: { intervalMs: 300_000 },
    orphans: { graceMs: 3_600_000, terminate: false, maxDescribesPerPass: 20, lookbackMs: 14 * 86_400_000 },
    eventLog: { waitTimeoutMs: 900_000, pollMs: 15_000 },
    logLevel: 'info',
  };
}

/**
 * A complete Config that needs no file and no AWS account: a private (embedded) redis-server, project
 * state under `<baseDir>/.sync-agent/state` and run data under `<baseDir>/.sync-agent/runs`, tenant 'local'.
 */
export function embeddedDefaults(baseDir: string, options: { env?: Readonly<Record<string, string | undefined>>; hostname?: string } = {}): Config {
  const env = options.env ?? process.env;
  const root = join(baseDir, '.sync-agent');
  return {
    site: {
      id: options.hostname ?? osHostname(),
      redis: { embedded: true, dir: join(root, 'redis') },
      ...siteDefaults(env),
    },
    tenant: {
      id: 'local',
      state: pathToFileURL(join(root, 'state')).href,
      projectLocation: pathToFileURL(join(root, 'runs')).href,
    },
    sources: [],
  };
}
