// Chooses the tenant StateStore for `tenant.state`.
import { SyncError } from '../domain/errors.js';
import type { ObjectStore, StateStore } from '../domain/ports.js';
import { createFileStateStore } from './state-file.js';
import { createS3StateStore } from './state-s3.js';

/** `file:///dir` or a path -> the locked file store; `s3://bucket/prefix` -> the ETag-conditional store over `objectStore`. */
export function createStateStore(stateUrl: string, deps: { objectStore: ObjectStore }): StateStore {
  if (typeof stateUrl !== 'string' || stateUrl.trim() === '') throw new SyncError('invalid_config', 'tenant.state is empty: use file:///path or s3://bucket/prefix');
  if (stateUrl.startsWith('s3://')) return createS3StateStore({ objectStore: deps.objectStore, rootUrl: stateUrl });
  if (stateUrl.startsWith('file:') || stateUrl.startsWith('/') || !/^[a-z][a-z0-9+.-]*:/i.test(stateUrl)) return createFileStateStore(stateUrl);
  throw new SyncError('invalid_config', `tenant.state ${JSON.stringify(stateUrl)} is not supported: use file:///path or s3://bucket/prefix`);
}
