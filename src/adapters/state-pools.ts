// Cluster pools' documents beside the projects' in the tenant state: `<tenant.state>/pools/<poolId>.json`,
// one PoolState each, versioned by the object's ETag (S3) or digest (file) and written conditionally
// (If-Match, or If-None-Match '*' to create) through the object store, so two agents never lose each
// other's placement.
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SyncError } from '../domain/errors.js';
import type { CallOptions, ObjectStore, PoolStore, Versioned } from '../domain/ports.js';
import type { PoolState } from '../domain/pools.js';
import { assertProjectId } from './state-file.js';
import { getVersionedDocument } from './state-s3.js';

function parsePoolState(bytes: Uint8Array, where: string): PoolState {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw new SyncError('corrupt_data', `pool document ${where} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  const d = doc as Partial<PoolState> | null;
  if (!d || typeof d !== 'object' || !d.pool || typeof d.pool !== 'object' || !Array.isArray(d.clusters) || !Array.isArray(d.placements)) {
    throw new SyncError('corrupt_data', `pool document ${where} is not a PoolState (needs object pool, clusters[], placements[])`);
  }
  return d as PoolState;
}

/** `tenant.state` as a URL the object store serves: s3:// and file:// as they are, a path as file://. */
function rootUrlOf(stateUrl: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(stateUrl)) return stateUrl.replace(/\/+$/, '');
  return pathToFileURL(isAbsolute(stateUrl) ? stateUrl : resolve(stateUrl)).href.replace(/\/+$/, '');
}

/** The PoolStore kept under `stateUrl` (tenant.state) through `objectStore`. */
export function createPoolStore(deps: { objectStore: ObjectStore; stateUrl: string }): PoolStore {
  const prefix = `${rootUrlOf(deps.stateUrl)}/pools/`;
  const url = (poolId: string) => {
    assertProjectId(poolId);
    return `${prefix}${poolId}.json`;
  };
  const signalOf = (options?: CallOptions) => (options?.signal ? { signal: options.signal } : {});
  return {
    async get(poolId, options): Promise<Versioned<PoolState> | undefined> {
      const u = url(poolId);
      return getVersionedDocument(deps.objectStore, u, (body) => parsePoolState(body, u), options);
    },
    async put(poolId, state, expectedVersion, options) {
      const condition = expectedVersion === null ? { ifNoneMatch: '*' as const } : { ifMatch: expectedVersion };
      try {
        const info = await deps.objectStore.put(url(poolId), `${JSON.stringify(state, null, 2)}\n`, { ...condition, contentType: 'application/json', ...signalOf(options) });
        return info.etag;
      } catch (e) {
        if (e instanceof SyncError && e.code === 'conflict') throw new SyncError('conflict', `pool ${poolId} changed (or exists) under this write`, { cause: e });
        throw e;
      }
    },
    async list(options) {
      const ids: string[] = [];
      for await (const o of deps.objectStore.list(prefix, signalOf(options))) {
        const name = o.url.slice(prefix.length);
        if (name.endsWith('.json') && !name.includes('/')) ids.push(name.slice(0, -'.json'.length));
      }
      return ids.sort();
    },
  };
}
