// The ObjectStore port over a Databricks workspace: `/Volumes/...` through the Files API
// (/api/2.0/fs/files, /api/2.0/fs/directories) and `dbfs:/...` through the DBFS API (list, get-status,
// read in 1 MB slices, put / create+add-block+close). Streamed and paginated; no cloud SDK needed, which
// is what makes Azure Databricks work.
import { SyncError, isSyncError } from '../domain/errors.js';
import type { CallOptions, ObjectInfo, ObjectStore, PutOptions } from '../domain/ports.js';
import type { DatabricksClient } from './databricks-client.js';

/** Largest slice one /api/2.0/dbfs/read returns (Databricks' limit is 1 MB). */
const DBFS_READ = 1024 * 1024;
/** Largest body of one dbfs/put or add-block (1 MB of data, sent base64). */
const DBFS_BLOCK = 1024 * 1024;

type Kind = { api: 'files'; path: string } | { api: 'dbfs'; path: string };

/** Where a URL lives: `/Volumes/...` (or `dbfs:/Volumes/...`) in the Files API, other `dbfs:/` paths in DBFS. */
function kindOf(url: string): Kind {
  if (typeof url !== 'string') throw new SyncError('invalid_request', 'object URL must be a string');
  let path: string;
  if (url.startsWith('dbfs:/')) path = `/${url.slice('dbfs:/'.length).replace(/^\/+/, '')}`;
  else if (url.startsWith('/Volumes/')) path = url;
  else throw new SyncError('unsupported', `not a Databricks location: ${JSON.stringify(url)} (expected dbfs:/... or /Volumes/...)`);
  if (/(^|\/)\.\.?(\/|$)/.test(path)) throw new SyncError('invalid_request', `${url} must not contain '.' or '..' segments`);
  return path.startsWith('/Volumes/') ? { api: 'files', path } : { api: 'dbfs', path };
}

/** The URL of a path in the scheme the caller used (`dbfs:/x` stays `dbfs:/x`, `/Volumes/x` stays). */
function urlOf(original: string, path: string): string {
  return original.startsWith('dbfs:/') ? `dbfs:${path}` : path;
}

const encodePath = (path: string) => path.split('/').map(encodeURIComponent).join('/');

function info(url: string, size: number, modifiedAt: number): ObjectInfo {
  return { url, size, etag: `"${size}-${modifiedAt}"`, lastModified: new Date(modifiedAt) };
}

/** An ObjectStore for `dbfs:/` and `/Volumes/` URLs of one workspace. */
export function createDatabricksObjectStore(client: DatabricksClient): ObjectStore {
  const head = async (url: string, options: CallOptions = {}): Promise<ObjectInfo | undefined> => {
    const k = kindOf(url);
    try {
      if (k.api === 'files') {
        const res = await client.raw('HEAD', `/api/2.0/fs/files${encodePath(k.path)}`, options);
        const modified = Date.parse(res.headers.get('last-modified') ?? '');
        return info(url, Number(res.headers.get('content-length') ?? 0), Number.isNaN(modified) ? 0 : modified);
      }
      const s = await client.json<{ is_dir?: boolean; file_size?: number; modification_time?: number }>('GET', '/api/2.0/dbfs/get-status', { ...options, query: { path: k.path } });
      if (s.is_dir) return undefined;
      return info(url, s.file_size ?? 0, s.modification_time ?? 0);
    } catch (e) {
      if (isSyncError(e, 'not_found')) return undefined;
      throw e;
    }
  };

  async function* stream(url: string, options: CallOptions = {}): AsyncGenerator<Uint8Array> {
    const k = kindOf(url);
    if (k.api === 'files') {
      const res = await client.raw('GET', `/api/2.0/fs/files${encodePath(k.path)}`, options);
      if (!res.body) return;
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) yield chunk;
      return;
    }
    for (let offset = 0; ; ) {
      const r = await client.json<{ bytes_read?: number; data?: string }>('GET', '/api/2.0/dbfs/read', { ...options, query: { path: k.path, offset, length: DBFS_READ } });
      const n = r.bytes_read ?? 0;
      if (n === 0) return;
      yield Buffer.from(r.data ?? '', 'base64');
      offset += n;
      if (n < DBFS_READ) return;
    }
  }

  const get = async (url: string, options: CallOptions = {}) => {
    const found = await head(url, options);
    if (!found) throw new SyncError('not_found', `no object at ${url}`);
    const chunks: Uint8Array[] = [];
    for await (const c of stream(url, options)) chunks.push(c);
    const body = Buffer.concat(chunks);
    return { body, info: { ...found, size: body.length } };
  };

  const put = async (url: string, body: string | Uint8Array, options: PutOptions = {}): Promise<ObjectInfo> => {
    const k = kindOf(url);
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
    // Neither API has conditional writes on an etag: check first (not atomic against another writer).
    if (options.ifMatch !== undefined) {
      const current = await head(url, options);
      if (!current || current.etag !== options.ifMatch) throw new SyncError('conflict', `${url} changed since it was read`);
    }
    if (k.api === 'files') {
      try {
        await client.raw('PUT', `/api/2.0/fs/files${encodePath(k.path)}`, { ...options, bytes, query: { overwrite: options.ifNoneMatch === '*' ? 'false' : 'true' }, idempotent: true });
      } catch (e) {
        if (options.ifNoneMatch === '*' && isSyncError(e, 'already_exists', 'conflict')) throw new SyncError('conflict', `${url} already exists`);
        throw e;
      }
    } else {
      if (options.ifNoneMatch === '*' && (await head(url, options))) throw new SyncError('conflict', `${url} already exists`);
      if (bytes.length <= DBFS_BLOCK) {
        await client.json('POST', '/api/2.0/dbfs/put', { ...options, body: { path: k.path, contents: bytes.toString('base64'), overwrite: true }, idempotent: true });
      } else {
        const { handle } = await client.json<{ handle: number }>('POST', '/api/2.0/dbfs/create', { ...options, body: { path: k.path, overwrite: true } });
        for (let at = 0; at < bytes.length; at += DBFS_BLOCK) {
          await client.json('POST', '/api/2.0/dbfs/add-block', { ...options, body: { handle, data: bytes.subarray(at, at + DBFS_BLOCK).toString('base64') } });
        }
        await client.json('POST', '/api/2.0/dbfs/close', { ...options, body: { handle } });
      }
    }
    return (await head(url, options)) ?? info(url, bytes.length, Date.now());
  };

  async function* list(prefix: string, options: CallOptions = {}): AsyncGenerator<ObjectInfo> {
    const k = kindOf(prefix);
    // List the deepest folder the prefix names, then walk down (depth first, in name order).
    const start = k.path.endsWith('/') ? k.path.slice(0, -1) : k.path.slice(0, k.path.lastIndexOf('/')) || '/';
    const walk = async function* (dir: string): AsyncGenerator<ObjectInfo> {
      let entries: { path: string; isDir: boolean; size: number; modifiedAt: number }[];
      try {
        entries = await listDir(dir, options);
      } catch (e) {
        if (isSyncError(e, 'not_found')) return;
        throw e;
      }
      entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      for (const e of entries) {
        if (e.isDir) {
          if (k.path.startsWith(`${e.path}/`) || `${e.path}/`.startsWith(k.path)) yield* walk(e.path);
        } else if (e.path.startsWith(k.path)) {
          yield info(urlOf(prefix, e.path), e.size, e.modifiedAt);
        }
      }
    };
    yield* walk(start);
  }

  const listDir = async (dir: string, options: CallOptions) => {
    const out: { path: string; isDir: boolean; size: number; modifiedAt: number }[] = [];
    if (dir.startsWith('/Volumes/')) {
      let token: string | undefined;
      for (let page = 0; page < 100_000; page++) {
        const r = await client.json<{ contents?: { path: string; is_directory?: boolean; file_size?: number; last_modified?: number }[]; next_page_token?: string }>(
          'GET',
          `/api/2.0/fs/directories${encodePath(dir)}`,
          { ...options, query: { page_token: token } },
        );
        for (const c of r.contents ?? []) out.push({ path: c.path.replace(/\/+$/, ''), isDir: c.is_directory === true, size: c.file_size ?? 0, modifiedAt: c.last_modified ?? 0 });
        token = r.next_page_token;
        if (!token) break;
      }
      return out;
    }
    const r = await client.json<{ files?: { path: string; is_dir?: boolean; file_size?: number; modification_time?: number }[] }>('GET', '/api/2.0/dbfs/list', { ...options, query: { path: dir } });
    for (const f of r.files ?? []) out.push({ path: f.path.replace(/^dbfs:/, '').replace(/\/+$/, ''), isDir: f.is_dir === true, size: f.file_size ?? 0, modifiedAt: f.modification_time ?? 0 });
    return out;
  };

  const del = async (url: string, options: CallOptions = {}): Promise<void> => {
    const k = kindOf(url);
    try {
      if (k.api === 'files') await client.raw('DELETE', `/api/2.0/fs/files${encodePath(k.path)}`, { ...options, idempotent: true });
      else await client.json('POST', '/api/2.0/dbfs/delete', { ...options, body: { path: k.path, recursive: false }, idempotent: true });
    } catch (e) {
      if (!isSyncError(e, 'not_found')) throw e;
    }
  };

  return { head, get, stream, put, list, delete: del };
}
