import { createAwsClients } from '../adapters/aws-clients.js';
import { createFileObjectStore } from '../adapters/file-object-store.js';
import { createObjectStoreRouter } from '../adapters/object-store-router.js';
import { createS3ObjectStore } from '../adapters/s3-object-store.js';
import { createStateStore } from '../adapters/state-store.js';
import { loadConfig } from '../config/load-config.js';
import type { Config } from '../config/types.js';
import type { ObjectStore, StateStore } from '../domain/ports.js';
import type { CliIo } from './io.js';

/** The configured tenant state store, for read-only CLI commands (projects, runs). */
export async function openState(io: CliIo, configPath: string | undefined): Promise<{ config: Config; state: StateStore; objects: ObjectStore }> {
  const config = await loadConfig({ ...(configPath ? { configPath } : {}), cwd: io.cwd, env: io.env, allowDefaults: true });
  const aws = config.tenant.state.startsWith('s3://')
    ? createAwsClients({ region: config.site.aws.region, endpoints: config.site.aws.endpoints, s3ForcePathStyle: config.site.aws.s3ForcePathStyle })
    : undefined;
  const objects = createObjectStoreRouter({ file: createFileObjectStore(), ...(aws ? { s3: createS3ObjectStore({ client: aws.s3 }) } : {}) });
  return { config, state: createStateStore(config.tenant.state, { objectStore: objects }), objects };
}
