// Tenant state on the local filesystem: `<root>/projects/<projectId>.json`, one ProjectState JSON
// document per project. The version is the SHA-256 of the document's bytes, so the file stays a
// plain ProjectState that people and the S3 store can read. Writes compare the version under an
// exclusive lock file and replace the document atomically, so processes on one host never lose an update.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { SyncError } from '../domain/errors.js';
import type { CallOptions, StateStore, Versioned } from '../domain/ports.js';
import type { ProjectState } from '../domain/types.js';
import { compactProjectState } from '../domain/run-archive.js';
import type { ArchiveOptions, RunArchiveChunk } from '../domain/run-archive.js';
import { acquireFileLock, type FileLockOptions } from './file-lock.js';
import { filePathOf, writeFileAtomic } from './file-object-store.js';

const PROJECT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Throws SyncError 'invalid_request' unless `projectId` is a safe single path segment. */
export function assertProjectId(projectId: unknown): asserts projectId is string {
  if (typeof projectId !== 'string' || !PROJECT_ID.test(projectId) || projectId === '.' || projectId === '..') {
    throw new SyncError('invalid_request', `invalid projectId ${JSON.stringify(projectId)}: expected 1-128 of [A-Za-z0-9._-], starting with a letter or digit`);
  }
}

/** The version of a state document: the hex SHA-256 of its bytes. */
export function stateVersionOf(bytes: string | Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Parses a stored state document, or throws SyncError 'corrupt_data' naming `where`. */
export function parseProjectState(bytes: string | Uint8Array, where: string): ProjectState {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw new SyncError('corrupt_data', `state document ${where} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  const d = doc as Partial<ProjectState> | null;
  if (!d || typeof d !== 'object' || Array.isArray(d) || !d.project || typeof d.project !== 'object' || !Array.isArray(d.runs) || !Array.isArray(d.predictions)) {
    throw new SyncError('corrupt_data', `state document ${where} is not a ProjectState (needs object fields project, runs[], predictions[])`);
  }
  return d as ProjectState;
}

/** Serializes a state document the same way for every store (stable bytes -> stable versions). */
export function serializeProjectState(state: ProjectState): string {
  return JSON.stringify(state, null, 2) + '\n';
}

function rootPathOf(rootUrlOrPath: string): string {
  if (rootUrlOrPath.startsWith('file:')) {
    try {
      return filePathOf(rootUrlOrPath);
    } catch (e) {
      throw new SyncError('invalid_config', `state root: ${(e as Error).message}`, { cause: e });
    }
  }
  if (rootUrlOrPath.includes('\0')) throw new SyncError('invalid_config', `state root ${JSON.stringify(rootUrlOrPath)} contains a NUL byte`);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(rootUrlOrPath)) throw new SyncError('invalid_config', `state root ${rootUrlOrPath} is not a file:// URL or a path`);
  return isAbsolute(rootUrlOrPath) ? rootUrlOrPath : resolve(rootUrlOrPath);
}

/** Parses an archive chunk, or throws SyncError 'corrupt_data' naming `where`. */
export function parseArchiveChunk(bytes: string | Uint8Array, where: string): RunArchiveChunk {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw new SyncError('corrupt_data', `run archive ${where} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  const d = doc as Partial<RunArchiveChunk> | null;
  if (!d || typeof d !== 'object' || !Array.isArray(d.runs)) throw new SyncError('corrupt_data', `run archive ${where} has no runs[]`);
  return { projectId: String(d.projectId ?? ''), runs: d.runs, predictions: Array.isArray(d.predictions) ? d.predictions : [], requests: d.requests ?? {} };
}

/** Options of the state stores: how the project documents are kept bounded (false: never archive). */
export type StateStoreOptions = { archive?: ArchiveOptions | false };

/**
 * Creates the file StateStore rooted at a `file:///abs/dir` URL or a filesystem path. A document
 * over its bound moves its oldest finished runs to `<root>/projects/<projectId>.runs/<chunk>.json`.
 */
export function createFileStateStore(rootUrlOrPath: string, lockOptions: Omit<FileLockOptions, 'signal'> = {}, storeOptions: StateStoreOptions = {}): StateStore {
  const root = rootPathOf(rootUrlOrPath);
  const projectsDir = join(root, 'projects');
  const docPath = (projectId: string) => {
    assertProjectId(projectId);
    return join(projectsDir, `${projectId}.json`);
  };
  const archiveDir = (projectId: string) => {
    assertProjectId(projectId);
    return join(projectsDir, `${projectId}.runs`);
  };

  const readDoc = async (path: string): Promise<Buffer | undefined> => {
    try {
      return await readFile(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw fsError(e, 'cannot read', path);
    }
  };

  const get = async (projectId: string, options?: CallOptions): Promise<Versioned<ProjectState> | undefined> => {
    const path = docPath(projectId);
    if (options?.signal?.aborted) throw new SyncError('aborted', `reading state of ${projectId} was aborted`);
    const bytes = await readDoc(path);
    if (!bytes) return undefined;
    return { value: parseProjectState(bytes, path), version: stateVersionOf(bytes) };
  };

  const put = async (projectId: string, state: ProjectState, expectedVersion: string | null, options?: CallOptions): Promise<string> => {
    const path = docPath(projectId);
    if (options?.signal?.aborted) throw new SyncError('aborted', `writing state of ${projectId} was aborted`);
    const compact = storeOptions.archive === false ? undefined : compactProjectState(state, storeOptions.archive);
    const bytes = serializeProjectState(compact ? compact.state : state);
    try {
      await mkdir(projectsDir, { recursive: true });
    } catch (e) {
      throw fsError(e, 'cannot create', projectsDir);
    }
    const release = await acquireFileLock(path + '.lock', options?.signal ? { ...lockOptions, signal: options.signal } : lockOptions);
    try {
      const current = await readDoc(path);
      if (expectedVersion === null) {
        if (current) throw new SyncError('conflict', `state of project ${projectId} already exists (expected to create it)`);
      } else if (!current) {
        throw new SyncError('conflict', `state of project ${projectId} does not exist (expected version ${expectedVersion})`);
      } else {
        const version = stateVersionOf(current);
        if (version !== expectedVersion) {
          throw new SyncError('conflict', `state of project ${projectId} is at version ${version.slice(0, 12)}, not ${expectedVersion.slice(0, 12)}`);
        }
      }
      if (compact) {
        // The chunk first: a crash between the two leaves the runs in both places, and readers keep the document's.
        const dir = archiveDir(projectId);
        try {
          await mkdir(dir, { recursive: true });
          await writeFileAtomic(join(dir, `${compact.name}.json`), JSON.stringify(compact.chunk) + '\n');
        } catch (e) {
          throw fsError(e, 'cannot write the run archive in', dir);
        }
      }
      try {
        await writeFileAtomic(path, bytes);
      } catch (e) {
        throw fsError(e, 'cannot write', path);
      }
      return stateVersionOf(bytes);
    } finally {
      await release();
    }
  };

  const list = async (options?: CallOptions): Promise<string[]> => {
    if (options?.signal?.aborted) throw new SyncError('aborted', 'listing projects was aborted');
    let names: string[];
    try {
      names = await readdir(projectsDir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw fsError(e, 'cannot list', projectsDir);
    }
    return names
      .filter((n) => n.endsWith('.json'))
      .map((n) => n.slice(0, -'.json'.length))
      .filter((id) => PROJECT_ID.test(id))
      .sort();
  };

  async function* archivedRuns(projectId: string, options?: CallOptions): AsyncIterable<RunArchiveChunk> {
    const dir = archiveDir(projectId);
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw fsError(e, 'cannot list', dir);
    }
    for (const name of names) {
      if (options?.signal?.aborted) throw new SyncError('aborted', `reading the run archive of ${projectId} was aborted`);
      const path = join(dir, name);
      const bytes = await readDoc(path);
      if (bytes) yield parseArchiveChunk(bytes, path);
    }
  }

  return { get, put, list, archivedRuns };
}

function fsError(e: unknown, what: string, path: string): SyncError {
  if (e instanceof SyncError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  const message = `${what} ${path}: ${(e as Error).message}`;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return new SyncError('access_denied', message, { cause: e });
  if (code === 'ENOSPC' || code === 'EIO' || code === 'EMFILE' || code === 'ENFILE' || code === 'EAGAIN') return new SyncError('unavailable', message, { cause: e });
  return new SyncError('internal', message, { cause: e });
}
