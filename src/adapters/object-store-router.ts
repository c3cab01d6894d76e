// One ObjectStore over several: each call goes to the store for its URL's scheme.
import { SyncError } from '../domain/errors.js';
import type { ObjectStore } from '../domain/ports.js';

/** The scheme of a URL (`s3`, `file`, ...), lower-cased, or '' when it has none. */
function schemeOf(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(url);
  return m ? m[1]!.toLowerCase() : '';
}

/**
 * Dispatches `s3://` URLs to `stores.s3`, `file://` URLs to `stores.file`, and Databricks locations
 * (`dbfs:/...`, `/Volumes/...`) to `stores.databricks`; anything else is SyncError 'unsupported'.
 */
export function createObjectStoreRouter(stores: { s3?: ObjectStore; file?: ObjectStore; databricks?: ObjectStore }): ObjectStore {
  const pick = (url: string): ObjectStore => {
    if (typeof url !== 'string') throw new SyncError('invalid_request', `object URL must be a string, got ${typeof url}`);
    const scheme = schemeOf(url);
    if (scheme === 'dbfs' || url.startsWith('/Volumes/')) {
      if (stores.databricks) return stores.databricks;
      throw new SyncError('unsupported', `no Databricks workspace is configured for ${JSON.stringify(url)} (set site.databricks)`);
    }
    const store = scheme === 's3' ? stores.s3 : scheme === 'file' ? stores.file : undefined;
    if (store) return store;
    if (scheme === 's3' || scheme === 'file') {
      throw new SyncError('unsupported', `no ${scheme}:// object store is configured (for ${JSON.stringify(url)})`);
    }
    const known = [stores.s3 ? 's3://' : '', stores.file ? 'file://' : ''].filter(Boolean).join(' or ');
    throw new SyncError('unsupported', `unsupported object URL ${JSON.stringify(url)}: expected ${known || 'nothing (no store configured)'}`);
  };
  return {
    head: async (url, options) => pick(url).head(url, options),
    get: async (url, options) => pick(url).get(url, options),
    // Like the stores' own generators, a bad URL surfaces when iteration starts.
    stream: async function* (url, options) {
      yield* pick(url).stream(url, options);
    },
    put: async (url, body, options) => pick(url).put(url, body, options),
    list: async function* (prefix, options) {
      yield* pick(prefix).list(prefix, options);
    },
    delete: async (url, options) => pick(url).delete(url, options),
  };
}
