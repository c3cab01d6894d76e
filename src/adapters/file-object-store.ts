// ObjectStore over the local filesystem for `file:///abs/path` URLs. Writes are atomic (temp file
// in the same folder, fsync, rename); conditional writes are decided under a per-file lock, so two
// processes on one host never both win. ETags are the quoted MD5 of the content (as S3 gives for
// single-part uploads), cached per inode/size/mtime so a head does not re-read an unchanged file.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rmdir, stat, unlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SyncError } from '../domain/errors.js';
import type { CallOptions, ObjectInfo, ObjectStore, PutOptions } from '../domain/ports.js';
import { withFileLock } from './file-lock.js';

/** Suffix of the lock files that sit beside locked files (hidden from `list`). */
export const LOCK_SUFFIX = '.sync-lock';
/** Prefix of temp files written before a rename (hidden from `list`). */
export const TEMP_PREFIX = '.sync-tmp-';

const EMPTY_ETAG = `"${createHash('md5').digest('hex')}"`;

function errnoOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * The absolute filesystem path a `file://` URL names (percent-decoded). Refuses other schemes, hosts
 * other than '' / 'localhost', relative paths, `.`/`..` segments and NUL bytes (SyncError 'invalid_request').
 */
export function filePathOf(url: string): string {
  let rest: string;
  if (url.startsWith('file:///')) rest = url.slice('file://'.length);
  else if (url.startsWith('file://localhost/')) rest = url.slice('file://localhost'.length);
  else throw new SyncError('invalid_request', `not an absolute file:// URL: ${JSON.stringify(url)} (expected file:///abs/path)`);
  if (/[?#]/.test(rest)) throw new SyncError('invalid_request', `file URL ${JSON.stringify(url)} has a query or fragment; percent-encode '?' and '#'`);
  let path: string;
  try {
    path = decodeURIComponent(rest);
  } catch {
    throw new SyncError('invalid_request', `file URL ${JSON.stringify(url)} has a malformed percent escape`);
  }
  if (path.includes('\0')) throw new SyncError('invalid_request', `file URL ${JSON.stringify(url)} contains a NUL byte`);
  const segments = path.split('/');
  if (segments.some((s) => s === '..' || s === '.')) {
    throw new SyncError('invalid_request', `file URL ${JSON.stringify(url)} contains a '.' or '..' path segment`);
  }
  return path;
}

/** The `file://` URL of an absolute path; `filePathOf(fileUrlOf(p)) === p`. */
export function fileUrlOf(path: string): string {
  return 'file://' + encodeURI(path).replace(/[?#]/g, (c) => encodeURIComponent(c));
}

function lockPathOf(path: string): string {
  return (path.endsWith('/') ? path.slice(0, -1) : path) + LOCK_SUFFIX;
}

function isHidden(name: string): boolean {
  return name.endsWith(LOCK_SUFFIX) || name.startsWith(TEMP_PREFIX) || name.endsWith(LOCK_SUFFIX + '.break');
}

function mapFsError(e: unknown, what: string, path: string): SyncError {
  if (e instanceof SyncError) return e;
  const code = errnoOf(e);
  const message = `${what} ${path}: ${(e as Error).message}`;
  switch (code) {
    case 'ENOENT':
      return new SyncError('not_found', `no such object: ${path}`, { cause: e });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new SyncError('access_denied', message, { cause: e });
    case 'EISDIR':
    case 'ENOTDIR':
    case 'ENAMETOOLONG':
    case 'EINVAL':
      return new SyncError('invalid_request', message, { cause: e });
    case 'ENOSPC':
    case 'EMFILE':
    case 'ENFILE':
    case 'EIO':
    case 'EBUSY':
    case 'EAGAIN':
      return new SyncError('unavailable', message, { cause: e });
    case 'ABORT_ERR':
      return new SyncError('aborted', `${what} ${path} was aborted`, { cause: e });
    default:
      return new SyncError('internal', message, { cause: e });
  }
}

function checkAborted(options: CallOptions | undefined, what: string): void {
  if (options?.signal?.aborted) throw new SyncError('aborted', `${what} was aborted`);
}

/** Writes `data` to `path` atomically: a temp file in the same folder, fsync, rename, fsync of the folder. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `${TEMP_PREFIX}${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}`);
  const fh = await open(temp, 'wx', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  try {
    await rename(temp, path);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw e;
  }
  // The rename is durable only once the folder entry is flushed; some filesystems refuse to open a folder.
  const dh = await open(dir, 'r').catch(() => undefined);
  if (dh) await dh.sync().catch(() => undefined).finally(() => dh.close());
}

/** Creates the `file://` ObjectStore. */
export function createFileObjectStore(): ObjectStore {
  // path -> etag for an exact (inode, size, mtime, ctime) of that path.
  const etagCache = new Map<string, { stamp: string; etag: string }>();
  // Bounded: every file a long-running agent ever wrote or read would otherwise stay here.
  const remember = (path: string, entry: { stamp: string; etag: string }) => {
    if (etagCache.size >= 2000 && !etagCache.has(path)) etagCache.clear();
    etagCache.set(path, entry);
  };
  const stampOf = (st: Stats) => `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;

  const hashFile = (path: string, signal?: AbortSignal): Promise<string> =>
    new Promise((resolve, reject) => {
      const hash = createHash('md5');
      const s = createReadStream(path, signal ? { signal } : {});
      s.on('data', (d) => hash.update(d));
      s.on('error', reject);
      s.on('end', () => resolve(`"${hash.digest('hex')}"`));
    });

  const etagOf = async (path: string, st: Stats, signal?: AbortSignal): Promise<string> => {
    if (st.isDirectory()) return EMPTY_ETAG;
    const stamp = stampOf(st);
    const cached = etagCache.get(path);
    if (cached?.stamp === stamp) return cached.etag;
    const etag = await hashFile(path, signal);
    remember(path, { stamp, etag });
    return etag;
  };

  const infoOf = async (url: string, path: string, st: Stats, signal?: AbortSignal): Promise<ObjectInfo> => ({
    url,
    size: st.isDirectory() ? 0 : st.size,
    etag: await etagOf(path, st, signal),
    lastModified: st.mtime,
  });

  // A directory answers only to its `/`-ending URL, a file only to a URL without one.
  const statObject = async (url: string, path: string): Promise<Stats | undefined> => {
    try {
      const st = await stat(path);
      if (url.endsWith('/') ? !st.isDirectory() : !st.isFile()) return undefined;
      return st;
    } catch (e) {
      if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR') return undefined;
      throw e;
    }
  };

  const head = async (url: string, options?: CallOptions): Promise<ObjectInfo | undefined> => {
    const path = filePathOf(url);
    checkAborted(options, `head ${url}`);
    try {
      const st = await statObject(url, path);
      return st ? await infoOf(url, path, st, options?.signal) : undefined;
    } catch (e) {
      throw mapFsError(e, 'cannot stat', path);
    }
  };

  const get = async (url: string, options?: CallOptions): Promise<{ body: Buffer; info: ObjectInfo }> => {
    const path = filePathOf(url);
    checkAborted(options, `get ${url}`);
    try {
      if (url.endsWith('/')) {
        const st = await statObject(url, path);
        if (!st) throw new SyncError('not_found', `no such object: ${url}`);
        return { body: Buffer.alloc(0), info: await infoOf(url, path, st) };
      }
      // Read through one handle so the bytes and the stat describe the same file even if it is replaced meanwhile.
      const fh = await open(path, 'r');
      try {
        const st = await fh.stat();
        if (!st.isFile()) throw new SyncError('invalid_request', `${url} is not a file`);
        const body = await fh.readFile(options?.signal ? { signal: options.signal } : {});
        const etag = `"${createHash('md5').update(body).digest('hex')}"`;
        remember(path, { stamp: stampOf(st), etag });
        return { body, info: { url, size: body.length, etag, lastModified: st.mtime } };
      } finally {
        await fh.close();
      }
    } catch (e) {
      throw mapFsError(e, 'cannot read', path);
    }
  };

  async function* stream(url: string, options?: CallOptions): AsyncIterable<Uint8Array> {
    const path = filePathOf(url);
    checkAborted(options, `stream ${url}`);
    let fh;
    try {
      fh = await open(path, 'r');
      if (!(await fh.stat()).isFile()) throw new SyncError('invalid_request', `${url} is not a file`);
    } catch (e) {
      await fh?.close();
      throw mapFsError(e, 'cannot read', path);
    }
    const s = fh.createReadStream(options?.signal ? { signal: options.signal, highWaterMark: 256 * 1024 } : { highWaterMark: 256 * 1024 });
    try {
      for await (const chunk of s) yield chunk as Buffer;
    } catch (e) {
      throw mapFsError(e, 'cannot read', path);
    } finally {
      s.destroy();
    }
  }

  const put = async (url: string, body: string | Uint8Array, options: PutOptions = {}): Promise<ObjectInfo> => {
    const path = filePathOf(url);
    checkAborted(options, `put ${url}`);
    const isDir = url.endsWith('/');
    if (isDir && (typeof body === 'string' ? body.length : body.byteLength) > 0) {
      throw new SyncError('invalid_request', `${url} ends in '/' (a folder marker) and cannot have content`);
    }
    const write = async (): Promise<ObjectInfo> => {
      if (options.ifMatch !== undefined || options.ifNoneMatch !== undefined) {
        const st = await statObject(url, path);
        if (options.ifNoneMatch === '*' && st) throw new SyncError('conflict', `${url} already exists (ifNoneMatch '*')`);
        if (options.ifMatch !== undefined) {
          if (!st) throw new SyncError('conflict', `${url} does not exist (ifMatch ${options.ifMatch})`);
          const current = await etagOf(path, st);
          if (current !== options.ifMatch) throw new SyncError('conflict', `${url} has etag ${current}, not ${options.ifMatch}`);
        }
      }
      if (isDir) {
        await mkdir(path, { recursive: true });
        return infoOf(url, path, await stat(path));
      }
      await writeFileAtomic(path, body);
      const st = await stat(path);
      const bytes = typeof body === 'string' ? Buffer.from(body) : body;
      const etag = `"${createHash('md5').update(bytes).digest('hex')}"`;
      remember(path, { stamp: stampOf(st), etag });
      return { url, size: bytes.byteLength, etag, lastModified: st.mtime };
    };
    try {
      await mkdir(isDir ? dirname(path.slice(0, -1)) : dirname(path), { recursive: true });
      // Every write takes the lock, so an unconditional write cannot slip between a conditional one's check and rename.
      return await withFileLock(lockPathOf(path), write, options.signal ? { signal: options.signal } : {});
    } catch (e) {
      throw mapFsError(e, 'cannot write', path);
    }
  };

  // Yields the files under `dir` whose path starts with `prefix`, in byte order of their full path.
  async function* walk(dir: string, prefix: string, signal?: AbortSignal): AsyncGenerator<{ path: string; st: Stats }> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR') return;
      throw e;
    }
    // A folder sorts as `name/` so its contents land where their full keys belong (`a-b` < `a/x`).
    const keyed = entries
      .filter((d) => !isHidden(d.name) && (d.isFile() || d.isDirectory()))
      .map((d) => ({ d, key: Buffer.from(d.isDirectory() ? d.name + '/' : d.name) }))
      .sort((a, b) => Buffer.compare(a.key, b.key));
    for (const { d } of keyed) {
      if (signal?.aborted) throw new SyncError('aborted', `list ${prefix} was aborted`);
      const full = join(dir, d.name);
      if (d.isDirectory()) {
        const asDir = full + '/';
        if (asDir.startsWith(prefix) || prefix.startsWith(asDir)) yield* walk(full, prefix, signal);
      } else if (full.startsWith(prefix)) {
        const st = await stat(full).catch(() => undefined);
        if (st?.isFile()) yield { path: full, st };
      }
    }
  }

  async function* list(prefix: string, options?: CallOptions): AsyncIterable<ObjectInfo> {
    const path = filePathOf(prefix);
    const start = path.endsWith('/') ? path : dirname(path);
    try {
      for await (const { path: p, st } of walk(start, path, options?.signal)) {
        yield await infoOf(fileUrlOf(p), p, st, options?.signal);
      }
    } catch (e) {
      throw mapFsError(e, 'cannot list', path);
    }
  }

  const del = async (url: string, options?: CallOptions): Promise<void> => {
    const path = filePathOf(url);
    checkAborted(options, `delete ${url}`);
    try {
      if (url.endsWith('/')) await rmdir(path);
      else if (await statObject(url, path)) await withFileLock(lockPathOf(path), () => unlink(path), options?.signal ? { signal: options.signal } : {});
      etagCache.delete(path);
    } catch (e) {
      // Like S3, deleting what is not there succeeds; a non-empty folder marker stays (its files still exist).
      if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTEMPTY' || errnoOf(e) === 'EEXIST') return;
      throw mapFsError(e, 'cannot delete', path);
    }
  };

  return { head, get, stream, put, list, delete: del };
}
