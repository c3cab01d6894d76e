// One ObjectStore over several: each call goes to the store for its URL's scheme.
import { SyncError } from '../domain/errors.js';
import type { ObjectStore } from '../domain/ports.js';

/** The scheme of a URL (`s3`, `file`, ...), lower-cased, or '' when it has none. */
function schemeOf(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(url);
  return m ? m[1]!.toLowerCase() : '';
}

/** Dispatches `s3://` URLs to `stores.s3` and `file://` URLs to `stores.file`; anything else is SyncError 'unsupported'. */
export function createObjectStoreRouter(stores: { s3?: ObjectStore; file?: ObjectStore }): ObjectStore {
  const pick = (url: string): ObjectStore => {
    if (typeof url !== 'string') throw new SyncError('invalid_request', `object URL must be a string, got ${typeof url}`);
    const scheme = schemeOf(url);
    const store = scheme === 's3' ? stores.s3 : scheme === 'file' ? stores.file : undefined;
    if (store) return store;
    if (scheme === 's3' || scheme === 'file') {
      throw new SyncError('unsupported', `no ${scheme}:// object store is configured (for ${JSON.stringify(url)})`);
    }
    const known = [stores.s3 ? 's3://' : '', stores.file ? 'file://' : ''].filter(Boolean).join(' or ');
    throw new SyncError('unsupported', `unsupported object URL ${JSON.stringify(url)}: expected ${known || 'nothing (no store configured)'}`);
  };
  return {
    head: (url, options) => pick(url).head(url, options),
    get: (url, options) => pick(url).get(url, options),
    // Resolved eagerly so a bad URL fails at the call, like the other methods.
    stream: (url, options) => pick(url).stream(url, options),
    put: (url, body, options) => pick(url).put(url, body, options),
    list: (prefix, options) => pick(prefix).list(prefix, options),
    delete: (url, options) => pick(url).delete(url, options),
  };
}
