// Tenant state in object storage: `<root>/projects/<projectId>.json`, one ProjectState per
// project, versioned by the object's ETag. Writes are conditional (If-Match, or If-None-Match '*'
// to create), so two agents never lose each other's update.
import { createHash } from 'node:crypto';
import { SyncError } from '../domain/errors.js';
import { sleep } from '../domain/sleep.js';
import type { CallOptions, ObjectStore, StateStore, Versioned } from '../domain/ports.js';
import type { ProjectState } from '../domain/types.js';
import type { RunArchiveChunk } from '../domain/run-archive.js';
import { compactProjectState } from '../domain/run-archive.js';
import { assertProjectId, parseArchiveChunk, parseProjectState, serializeProjectState } from './state-file.js';
import type { StateStoreOptions } from './state-file.js';

const PROJECT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const TORN_READ_ATTEMPTS = 6;
const TORN_READ_BACKOFF_MS = 25;

/** True when `etag` is a single-part MD5 ETag that `body` does not hash to: the read saw a write in flight. */
export function isTornRead(body: Uint8Array, etag: string): boolean {
  const m = /^(?:W\/)?"?([0-9a-f]{32})"?$/i.exec(etag.trim());
  if (!m) return false;
  return createHash('md5').update(body).digest('hex') !== m[1]!.toLowerCase();
}

/**
 * Reads and parses the JSON document at `url` with its version (ETag), or undefined when there is
 * none. A body that does not hash to its own single-part ETag was read while a write was landing
 * (S3-compatible stores that write in place can serve that): read again. A body that does hash to
 * its ETag is what was stored, so a parse failure there is reported at once.
 */
export async function getVersionedDocument<T>(objectStore: ObjectStore, url: string, parse: (body: Buffer) => T, options?: CallOptions): Promise<Versioned<T> | undefined> {
  for (let attempt = 1; ; attempt++) {
    let got: { body: Buffer; info: { etag: string } };
    try {
      got = await objectStore.get(url, options?.signal ? { signal: options.signal } : {});
    } catch (e) {
      if (e instanceof SyncError && e.code === 'not_found') return undefined;
      throw e;
    }
    try {
      return { value: parse(got.body), version: got.info.etag };
    } catch (e) {
      if (attempt >= TORN_READ_ATTEMPTS || !isTornRead(got.body, got.info.etag)) throw e;
      await sleep(TORN_READ_BACKOFF_MS * attempt, options?.signal, `reading ${url}`);
    }
  }
}

/**
 * Creates the StateStore kept under `rootUrl` (`s3://bucket/prefix`; any URL `objectStore` serves). A
 * document over its bound moves its oldest finished runs to `<root>/projects/<projectId>.runs/<chunk>.json`.
 */
export function createS3StateStore(deps: { objectStore: ObjectStore; rootUrl: string } & StateStoreOptions): StateStore {
  const { objectStore } = deps;
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/]+/i.test(deps.rootUrl)) {
    throw new SyncError('invalid_config', `state root ${JSON.stringify(deps.rootUrl)} is not a URL like s3://bucket/prefix`);
  }
  const projectsPrefix = `${deps.rootUrl.replace(/\/+$/, '')}/projects/`;
  const docUrl = (projectId: string) => {
    assertProjectId(projectId);
    return `${projectsPrefix}${projectId}.json`;
  };
  const archivePrefix = (projectId: string) => {
    assertProjectId(projectId);
    return `${projectsPrefix}${projectId}.runs/`;
  };

  const get = async (projectId: string, options?: CallOptions): Promise<Versioned<ProjectState> | undefined> => {
    const url = docUrl(projectId);
    return getVersionedDocument(objectStore, url, (body) => parseProjectState(body, url), options);
  };

  const put = async (projectId: string, state: ProjectState, expectedVersion: string | null, options?: CallOptions): Promise<string> => {
    const url = docUrl(projectId);
    const compact = deps.archive === false ? undefined : compactProjectState(state, deps.archive);
    // The chunk first: if the document's write then loses (conflict), the runs stay in the document too, and readers keep the document's.
    if (compact) {
      await objectStore.put(`${archivePrefix(projectId)}${compact.name}.json`, JSON.stringify(compact.chunk) + '\n', {
        contentType: 'application/json',
        ...(options?.signal ? { signal: options.signal } : {}),
      });
    }
    const body = serializeProjectState(compact ? compact.state : state);
    const condition = expectedVersion === null ? { ifNoneMatch: '*' as const } : { ifMatch: expectedVersion };
    try {
      const info = await objectStore.put(url, body, { ...condition, contentType: 'application/json', ...(options?.signal ? { signal: options.signal } : {}) });
      return info.etag;
    } catch (e) {
      if (e instanceof SyncError && e.code === 'conflict') {
        const what = expectedVersion === null ? 'already exists (expected to create it)' : `is no longer at version ${expectedVersion}`;
        throw new SyncError('conflict', `state of project ${projectId} ${what}`, { cause: e });
      }
      throw e;
    }
  };

  const list = async (options?: CallOptions): Promise<string[]> => {
    const ids: string[] = [];
    for await (const o of objectStore.list(projectsPrefix, options)) {
      const name = o.url.slice(projectsPrefix.length);
      if (!name.endsWith('.json') || name.includes('/')) continue;
      const id = name.slice(0, -'.json'.length);
      if (PROJECT_ID.test(id)) ids.push(id);
    }
    return ids.sort();
  };

  async function* archivedRuns(projectId: string, options?: CallOptions): AsyncIterable<RunArchiveChunk> {
    const prefix = archivePrefix(projectId);
    const urls: string[] = [];
    for await (const o of objectStore.list(prefix, options)) if (o.url.endsWith('.json') && !o.url.slice(prefix.length).includes('/')) urls.push(o.url);
    for (const url of urls.sort()) yield parseArchiveChunk((await objectStore.get(url, options)).body, url);
  }

  return { get, put, list, archivedRuns };
}
