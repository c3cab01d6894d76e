import { createHash, randomBytes } from 'node:crypto';
import { SyncError } from './errors.js';

/** A safe path segment: starts with a letter or digit, at most 128 characters of `A-Za-z0-9._-`. */
export const SAFE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Returns `id` when it is a safe path segment (see SAFE_ID_PATTERN, and no `..`); else SyncError 'invalid_request'. */
export function assertSafeId(kind: string, id: unknown): string {
  if (typeof id !== 'string') {
    throw new SyncError('invalid_request', `${kind} must be a string, got ${id === null ? 'null' : typeof id}`);
  }
  const shown = id.length > 140 ? `${id.slice(0, 140)}...` : id;
  if (!SAFE_ID_PATTERN.test(id)) {
    throw new SyncError(
      'invalid_request',
      `${kind} '${shown}' is not a safe id: it must be 1-128 characters of A-Z a-z 0-9 . _ - and start with a letter or digit`,
    );
  }
  if (id.includes('..')) {
    throw new SyncError('invalid_request', `${kind} '${shown}' is not a safe id: it must not contain '..'`);
  }
  return id;
}

/** True when `id` would pass assertSafeId. */
export function isSafeId(id: unknown): id is string {
  return typeof id === 'string' && SAFE_ID_PATTERN.test(id) && !id.includes('..');
}

/**
 * A new unique safe id that sorts by creation time: `{prefix}-{13 base36 chars of ms}{10 random base32 chars}`
 * (lowercase), e.g. `p-0001lqx3k2a9fhz4mbc7qd2`.
 */
export function newId(prefix?: string, now: Date = new Date()): string {
  const time = now.getTime().toString(36).padStart(13, '0');
  const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';
  const bytes = randomBytes(10);
  let rand = '';
  for (const b of bytes) rand += alphabet[b & 31];
  const id = prefix ? `${assertSafeId('id prefix', prefix)}-${time}${rand}` : `${time}${rand}`;
  return id;
}

/** The run id for a request: the same (projectId, requestKey) always gives the same id, `r-` + 24 hex chars. */
export function deriveRunId(projectId: string, requestKey: string): string {
  return `r-${shortHash(`${projectId}\u0000${requestKey}`, 24)}`;
}

/** The first `length` hex characters of the SHA-256 of `text`. */
export function shortHash(text: string, length = 12): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, length);
}
