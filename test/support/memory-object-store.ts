// An in-memory ObjectStore for unit tests: the whole port, including streaming reads in small chunks
// (so readers are tested against bodies that arrive in pieces) and conditional writes.
import { createHash } from 'node:crypto';
import { SyncError } from '../../src/domain/errors.js';
import type { CallOptions, ObjectInfo, ObjectStore, PutOptions } from '../../src/domain/ports.js';

type Stored = { body: Buffer; info: ObjectInfo };

/** The fake, plus what tests inspect: its objects and how many bytes each stream() call handed out. */
export type MemoryObjectStore = ObjectStore & {
  readonly objects: Map<string, Stored>;
  /** Largest chunk any stream() call yielded, in bytes. */
  readonly maxChunkYielded: number;
  /** Number of whole-object reads through get(). */
  readonly getCalls: number;
};

function checkUrl(url: string): void {
  if (!/^(s3|file):\/\//.test(url)) throw new SyncError('invalid_request', `not an object URL: ${url}`);
}

function abortIfNeeded(options?: CallOptions): void {
  if (options?.signal?.aborted) throw new SyncError('aborted', 'the operation was aborted');
}

/** Creates an empty in-memory store; `chunkSize` is the size of the pieces stream() yields. */
export function createMemoryObjectStore(options: { chunkSize?: number; clock?: () => Date } = {}): MemoryObjectStore {
  const chunkSize = options.chunkSize ?? 64 * 1024;
  const now = options.clock ?? (() => new Date());
  const objects = new Map<string, Stored>();
  let maxChunkYielded = 0;
  let getCalls = 0;

  const find = (url: string): Stored => {
    const o = objects.get(url);
    if (!o) throw new SyncError('not_found', `no such object: ${url}`);
    return o;
  };

  return {
    objects,
    get maxChunkYielded() {
      return maxChunkYielded;
    },
    get getCalls() {
      return getCalls;
    },
    async head(url, opts) {
      checkUrl(url);
      abortIfNeeded(opts);
      const o = objects.get(url);
      return o ? { ...o.info } : undefined;
    },
    async get(url, opts) {
      checkUrl(url);
      abortIfNeeded(opts);
      getCalls += 1;
      const o = find(url);
      return { body: Buffer.from(o.body), info: { ...o.info } };
    },
    async *stream(url, opts) {
      checkUrl(url);
      abortIfNeeded(opts);
      const o = find(url);
      for (let i = 0; i < o.body.length; i += chunkSize) {
        abortIfNeeded(opts);
        const piece = Uint8Array.prototype.slice.call(o.body, i, i + chunkSize);
        maxChunkYielded = Math.max(maxChunkYielded, piece.length);
        yield piece;
      }
    },
    async put(url, body, opts: PutOptions = {}) {
      checkUrl(url);
      abortIfNeeded(opts);
      const current = objects.get(url);
      if (opts.ifNoneMatch === '*' && current) throw new SyncError('conflict', `object already exists: ${url}`);
      if (opts.ifMatch !== undefined && current?.info.etag !== opts.ifMatch) throw new SyncError('conflict', `object changed since it was read: ${url}`);
      const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
      const info: ObjectInfo = { url, size: bytes.length, etag: `"${createHash('md5').update(bytes).digest('hex')}"`, lastModified: now() };
      objects.set(url, { body: bytes, info });
      return { ...info };
    },
    async *list(prefix, opts) {
      checkUrl(prefix);
      abortIfNeeded(opts);
      const keys = [...objects.keys()].filter((k) => k.startsWith(prefix)).sort();
      for (const k of keys) {
        const o = objects.get(k);
        if (o) yield { ...o.info };
      }
    },
    async delete(url, opts) {
      checkUrl(url);
      abortIfNeeded(opts);
      objects.delete(url);
    },
  };
}
