// Reads a Spark event log from a local path, a file:// URL or an s3:// URL (through the ObjectStore
// port), in any layout Spark or Databricks writes: a single file (plain or compressed, with or
// without .inprogress), a rolling `eventlog_v2_<appId>/` directory, a Databricks rolled directory,
// or a folder holding one of those (a run's `eventlog/` folder). Bytes are streamed, never buffered
// whole.
import { existsSync } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SyncError, isSyncError } from '../domain/errors.js';
import { createModelBuilder } from '../domain/eventlog/build-model.js';
import { lineBatches, linesOf } from '../domain/eventlog/line-batches.js';
import type { LineBatch } from '../domain/eventlog/line-batches.js';
import type { ApplicationModel } from '../domain/eventlog/model.js';
import type { Logger, ObjectStore } from '../domain/ports.js';
import { codecOfName, decoderFor, isInProgressName } from './codecs/codec-for-name.js';
import { isTruncation } from './codecs/codec-error.js';

/** What reading an event log may use. */
export type EventLogDeps = { objectStore?: ObjectStore; signal?: AbortSignal; log?: Pick<Logger, 'debug'> };

// Read size for local files handed to a decompressor: below V8's large-object threshold (128 KiB), so
// what is made from each chunk dies young instead of piling up in large-object space until a full GC.
const READ_CHUNK_BYTES = 120 * 1024;
// Read size for plain local files, read into a few buffers used in turn (the model builder reads the
// lines in place and lineBatches copies the cut line it keeps): fewer, larger reads and no fresh
// buffer per read, which costs page faults.
const PLAIN_READ_CHUNK_BYTES = 1024 * 1024;

type Entry = { rel: string; size: number };

/** One file of a log, in reading order. */
export type EventLogPart = { location: string; name: string; size: number };

/** Where a log's files are and in what order to read them. */
export type EventLogLayout = {
  kind: 'file' | 'rolling' | 'databricks';
  parts: EventLogPart[];
  /** True when the log may still be written (a cut-off last line is then tolerated). */
  inProgress: boolean;
  /** Notes about how the layout was chosen (e.g. other applications found beside it). */
  notes: string[];
};

type Store = {
  /** Human name of the root (path or URL). */
  root: string;
  /** undefined when the root is not a single file. */
  fileSize(): Promise<number | undefined>;
  /** Every file under the root (relative paths with "/"), recursively. */
  list(): Promise<Entry[]>;
  locate(rel: string): string;
  /**
   * The file's bytes. With `transient`, a chunk may be overwritten once the next one is asked for (the
   * caller copies what it keeps); without, every chunk is its own.
   */
  open(location: string, options?: { transient?: boolean }): AsyncIterable<Uint8Array>;
};

/**
 * A local file's bytes in `size` chunks, the next reads already under way while one is processed.
 * With `reuse`, the reads go to `ahead + 1` buffers in turn: a chunk stays valid only until the next
 * one is asked for.
 */
async function* readFileChunks(path: string, size: number, ahead = 2, reuse = false): AsyncGenerator<Uint8Array> {
  const fh = await open(path, 'r');
  const queue: Promise<{ bytesRead: number; buffer: Buffer }>[] = [];
  const ring = reuse ? Array.from({ length: ahead + 1 }, () => Buffer.allocUnsafeSlow(size)) : [];
  let reads = 0;
  let position = 0;
  const refill = (): void => {
    while (queue.length < ahead) {
      const buffer = reuse ? (ring[reads % ring.length] as Buffer) : Buffer.allocUnsafe(size);
      reads++;
      queue.push(fh.read(buffer, 0, size, position));
      position += size;
    }
  };
  try {
    refill();
    for (;;) {
      const next = queue.shift();
      if (!next) return;
      const { bytesRead, buffer } = await next;
      // A short read is the end of the file as it was when read; reads queued past it are dropped
      // (a file still being written may have grown, and their bytes would not follow on).
      const last = bytesRead < size;
      if (!last) refill();
      if (bytesRead > 0) yield buffer.subarray(0, bytesRead);
      if (last) return;
    }
  } finally {
    await Promise.allSettled(queue);
    await fh.close();
  }
}

function localStore(path: string): Store {
  return {
    root: path,
    async fileSize() {
      const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') throw new SyncError('not_found', `event log not found: ${path}`);
        throw e;
      });
      return st.isDirectory() ? undefined : st.size;
    },
    async list() {
      const out: Entry[] = [];
      const walk = async (dir: string, prefix: string, depth: number): Promise<void> => {
        for (const d of await readdir(dir, { withFileTypes: true })) {
          const rel = prefix + d.name;
          if (d.isDirectory()) {
            if (depth < 2) await walk(join(dir, d.name), rel + '/', depth + 1);
          } else if (d.isFile()) out.push({ rel, size: (await stat(join(dir, d.name))).size });
        }
      };
      await walk(path, '', 0);
      return out;
    },
    locate: (rel) => join(path, rel),
    open: (location, options) => (options?.transient ? readFileChunks(location, PLAIN_READ_CHUNK_BYTES, 2, true) : readFileChunks(location, READ_CHUNK_BYTES)),
  };
}

function objectStoreStore(url: string, store: ObjectStore, signal: AbortSignal | undefined): Store {
  const opts = signal ? { signal } : {};
  const prefix = url.endsWith('/') ? url : url + '/';
  return {
    root: url,
    async fileSize() {
      if (url.endsWith('/')) return undefined;
      const info = await store.head(url, opts);
      return info?.size;
    },
    async list() {
      const out: Entry[] = [];
      for await (const o of store.list(prefix, opts)) {
        const rel = o.url.slice(prefix.length);
        if (rel && !rel.endsWith('/')) out.push({ rel, size: o.size });
      }
      if (out.length === 0) throw new SyncError('not_found', `event log not found: ${url}`);
      return out;
    },
    locate: (rel) => prefix + rel,
    open: (location) => store.stream(location, opts),
  };
}

const ROLLING_DIR = /^eventlog_v2_(.+)$/;
const ROLLING_FILE = /^events_(\d+)_/;
const DATABRICKS_PART = /^eventlog-(\d{4}-\d{2}-\d{2}--\d{2}-\d{2})(\.gz)?$/;

/** Chooses the files of a directory log from its listing (relative paths). */
function layoutOfListing(store: Store, entries: Entry[]): EventLogLayout {
  const top = entries.filter((e) => !e.rel.includes('/'));
  const names = new Set(top.map((e) => e.rel));
  const part = (e: Entry, name = e.rel): EventLogPart => ({ location: store.locate(e.rel), name, size: e.size });

  const rolling = top.filter((e) => ROLLING_FILE.test(e.rel));
  if (rolling.length > 0) {
    const n = (e: Entry): number => Number(ROLLING_FILE.exec(e.rel)?.[1] ?? 0);
    const status = top.find((e) => e.rel.startsWith('appstatus_'));
    return {
      kind: 'rolling',
      parts: rolling.sort((a, b) => n(a) - n(b)).map((e) => part(e)),
      // No appstatus file at all: treat as still being written, to be safe.
      inProgress: status === undefined || isInProgressName(status.rel),
      notes: [],
    };
  }
  const dbParts = top.filter((e) => DATABRICKS_PART.test(e.rel));
  if (names.has('eventlog') || dbParts.length > 0) {
    const key = (e: Entry): string => DATABRICKS_PART.exec(e.rel)?.[1] ?? '';
    const parts = dbParts.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)).map((e) => part(e));
    const current = top.find((e) => e.rel === 'eventlog');
    if (current) parts.push(part(current));
    // Databricks writes no completion marker; the newest part may be cut off.
    return { kind: 'databricks', parts, inProgress: true, notes: [] };
  }

  // A folder of applications (a run's eventlog/ folder): one file or one eventlog_v2_ folder per app.
  type Candidate = { name: string; size: number; layout: () => EventLogLayout };
  const candidates: Candidate[] = [];
  for (const e of top) {
    // Not event logs: hidden and checksum files, S3 folder markers, and the JSON documents a run
    // folder keeps beside its eventlog/ folder (job-flow.json, emr-cluster-report.json).
    if (e.rel.startsWith('.') || e.rel.endsWith('.crc') || e.rel.endsWith('_$folder$') || e.rel.endsWith('.json')) continue;
    candidates.push({
      name: e.rel,
      size: e.size,
      layout: () => ({ kind: 'file', parts: [part(e)], inProgress: isInProgressName(e.rel), notes: [] }),
    });
  }
  const dirs = new Map<string, Entry[]>();
  for (const e of entries) {
    const slash = e.rel.indexOf('/');
    if (slash < 0) continue;
    const dir = e.rel.slice(0, slash);
    const list = dirs.get(dir) ?? [];
    list.push({ rel: e.rel.slice(slash + 1), size: e.size });
    dirs.set(dir, list);
  }
  for (const [dir, list] of dirs) {
    const sub: Store = { ...store, root: `${store.root}/${dir}`, locate: (rel) => store.locate(`${dir}/${rel}`) };
    const direct = list.filter((e) => !e.rel.includes('/'));
    if (!ROLLING_DIR.test(dir) && !direct.some((e) => e.rel === 'eventlog' || DATABRICKS_PART.test(e.rel))) continue;
    candidates.push({ name: dir, size: direct.reduce((s, e) => s + e.size, 0), layout: () => layoutOfListing(sub, list) });
  }
  // A run folder ({location}/{project}/{timestamp}/{run}/): its logs are under eventlog/.
  const runLogs = dirs.get('eventlog');
  if (candidates.length === 0 && runLogs) {
    return layoutOfListing({ ...store, root: `${store.root}/eventlog`, locate: (rel) => store.locate(`eventlog/${rel}`) }, runLogs);
  }
  if (candidates.length === 0) throw new SyncError('not_found', `no Spark event log found in ${store.root}`);
  candidates.sort((a, b) => b.size - a.size || (a.name < b.name ? -1 : 1));
  const chosen = candidates[0] as Candidate;
  const layout = chosen.layout();
  if (candidates.length > 1) {
    layout.notes.push(`${store.root} holds ${candidates.length} event logs; read the largest, ${chosen.name} (others: ${candidates.slice(1).map((c) => c.name).join(', ')})`);
  }
  return layout;
}

function storeFor(pathOrUrl: string, deps: EventLogDeps): Store {
  if (pathOrUrl.startsWith('s3://') || pathOrUrl.startsWith('s3a://')) {
    if (!deps.objectStore) throw new SyncError('invalid_request', `reading ${pathOrUrl} needs an object store`);
    return objectStoreStore(pathOrUrl.replace(/^s3a:/, 's3:'), deps.objectStore, deps.signal);
  }
  // Databricks locations: dbfs:/ always, /Volumes/ when it is not a local path (macOS mounts disks there).
  if (pathOrUrl.startsWith('dbfs:/') || (pathOrUrl.startsWith('/Volumes/') && deps.objectStore && !existsSync(pathOrUrl))) {
    if (!deps.objectStore) throw new SyncError('invalid_request', `reading ${pathOrUrl} needs a Databricks object store`);
    return objectStoreStore(pathOrUrl, deps.objectStore, deps.signal);
  }
  if (pathOrUrl.startsWith('file://')) return localStore(fileURLToPath(pathOrUrl));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(pathOrUrl)) throw new SyncError('unsupported', `unsupported event-log URL scheme: ${pathOrUrl}`);
  return localStore(pathOrUrl);
}

/** Finds the files of the event log at `pathOrUrl` and the order to read them in. */
export async function resolveEventLog(pathOrUrl: string, deps: EventLogDeps = {}): Promise<EventLogLayout> {
  const store = storeFor(pathOrUrl, deps);
  const size = await store.fileSize();
  if (size !== undefined) {
    const name = basename(pathOrUrl);
    return { kind: 'file', parts: [{ location: store.root, name, size }], inProgress: isInProgressName(name), notes: [] };
  }
  return layoutOfListing(store, await store.list());
}

/** A batch of lines with the file they came from. */
type SourcedBatch = LineBatch & { part: EventLogPart };

/** Reads every part in order as line batches; `warn` hears what was tolerated. */
async function* readBatches(pathOrUrl: string, deps: EventLogDeps, warn: (m: string) => void, onLayout?: (l: EventLogLayout) => void): AsyncGenerator<SourcedBatch> {
  const store = storeFor(pathOrUrl, deps);
  const layout = await resolveEventLog(pathOrUrl, deps);
  onLayout?.(layout);
  for (const n of layout.notes) warn(n);
  for (let p = 0; p < layout.parts.length; p++) {
    const part = layout.parts[p] as EventLogPart;
    const last = p === layout.parts.length - 1;
    const tolerant = last && layout.inProgress;
    const log = deps.log;
    // The size is a hint only: a file still being written may have grown since it was listed.
    const codec = codecOfName(part.name);
    // A plain file goes straight to lineBatches, which keeps no chunk past the next: its reads may reuse buffers.
    const raw = store.open(part.location, { transient: codec === 'none' });
    const decoded = decoderFor(codec, { sizeHint: part.size, ...(log ? { debug: (m: string) => log.debug(m, { file: part.location }) } : {}) })(raw);
    async function* guarded(): AsyncGenerator<Uint8Array> {
      try {
        yield* decoded;
      } catch (e) {
        if (tolerant && isTruncation(e)) {
          warn(`${part.location}: compressed stream cut off (log in progress): ${(e as Error).message}`);
          return;
        }
        throw wrap(e, part.location);
      }
    }
    for await (const batch of lineBatches(guarded())) {
      if (batch.unterminated) {
        const line = linesOf(batch)[0] ?? '';
        if (!parses(line)) {
          const where = `${part.location}: last line cut off at byte offset ${batch.offset} (${batch.bytes.length} bytes)`;
          if (!tolerant) throw new SyncError('corrupt_data', `${where}: the file is truncated`, { details: { file: part.location, offset: batch.offset } });
          warn(`${where}; ignored (log in progress)`);
          continue;
        }
      }
      yield Object.assign(batch, { part });
    }
  }
}

function parses(line: string): boolean {
  if (line.trim() === '') return true;
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

function wrap(e: unknown, file: string): unknown {
  if (isSyncError(e) && !e.message.startsWith(file)) {
    return new SyncError(e.code, `${file}: ${e.message}`, { retryable: e.retryable, cause: e, details: { ...(e.details ?? {}), file } });
  }
  if (!isSyncError(e) && (e as NodeJS.ErrnoException).code === 'ENOENT') return new SyncError('not_found', `event log file not found: ${file}`, { cause: e });
  return e;
}

/** The lines of the event log at `pathOrUrl`, streamed (local path, file:// or s3:// URL). */
export async function* openEventLog(pathOrUrl: string, deps: EventLogDeps = {}): AsyncGenerator<string> {
  for await (const batch of readBatches(pathOrUrl, deps, () => undefined)) yield* linesOf(batch);
}

/** Reads and models the event log at `pathOrUrl` (local path, file:// or s3:// URL). */
export async function loadApplicationModel(pathOrUrl: string, deps: EventLogDeps = {}): Promise<ApplicationModel> {
  const builder = createModelBuilder({ source: pathOrUrl });
  let inProgress = false;
  for await (const batch of readBatches(pathOrUrl, deps, (m) => builder.warn(m), (l) => (inProgress = l.inProgress && l.kind !== 'databricks'))) {
    if (deps.signal?.aborted) throw new SyncError('aborted', `reading ${pathOrUrl} was aborted`);
    const b = batch.bytes;
    let start = 0;
    try {
      while (start < b.length) {
        let end = b.indexOf(10, start);
        if (end < 0) end = b.length;
        builder.acceptBytes(b, start, end);
        start = end + 1;
      }
      builder.release(); // the batch's bytes may be overwritten once the next batch is asked for
    } catch (e) {
      if (isSyncError(e, 'corrupt_data')) {
        const offset = batch.offset + start;
        throw new SyncError('corrupt_data', `${batch.part.location}: corrupt event at byte offset ${offset}: ${String(e.details?.reason ?? e.message)}`, {
          cause: e,
          details: { file: batch.part.location, offset },
        });
      }
      throw e;
    }
  }
  if (builder.events === 0) {
    // Spark writes the first events when the application starts: an empty running log is early,
    // an empty finished one is broken.
    if (inProgress) throw new SyncError('not_ready', `${pathOrUrl}: the event log has no events yet (application still starting)`);
    throw new SyncError('corrupt_data', `${pathOrUrl}: the event log holds no events`);
  }
  const model = builder.finish();
  if (inProgress) model.complete = false;
  return model;
}
