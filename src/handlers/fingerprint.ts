import { fingerprintOf, referencedObjects } from '../domain/fingerprint.js';
import { toSyncError } from '../domain/errors.js';
import type { ObjectStore } from '../domain/ports.js';
import { databricksFingerprintOf, databricksReferencedObjects } from '../domain/databricks-fingerprint.js';
import type { JobFlow, Project } from '../domain/types.js';

/** How long one code object's ETag may take to read before it counts as unreadable. */
export const FINGERPRINT_HEAD_TIMEOUT_MS = 3_000;

/**
 * An application fingerprint, or why it is unknown: a code object that could not be read (an S3
 * outage, no access, too slow) leaves the fingerprint unknown, never "changed".
 */
export type ApplicationFingerprint = { value: string; warning?: undefined } | { value?: undefined; warning: string };

/** The application fingerprint of `jobFlow`, reading the ETag of each code object its steps reference. */
export function applicationFingerprint(objects: ObjectStore, jobFlow: JobFlow | undefined, signal?: AbortSignal): Promise<ApplicationFingerprint> {
  return codeFingerprint(objects, referencedObjects(jobFlow), (etags) => fingerprintOf(jobFlow, etags), signal);
}

/** The application fingerprint of a project: its Databricks job's code, or its EMR steps'. */
export function projectFingerprint(objects: ObjectStore, project: Project, signal?: AbortSignal): Promise<ApplicationFingerprint> {
  if (project.platform === 'databricks') {
    const job = project.job as Record<string, unknown> | undefined;
    return codeFingerprint(objects, databricksReferencedObjects(job), (etags) => databricksFingerprintOf(job, etags), signal);
  }
  return applicationFingerprint(objects, project.jobFlow, signal);
}

/** A fingerprint over code objects' ETags (read each within FINGERPRINT_HEAD_TIMEOUT_MS), or why it is unknown. */
export async function codeFingerprint(objects: ObjectStore, urls: readonly string[], digest: (etags: Record<string, string>) => string, signal?: AbortSignal): Promise<ApplicationFingerprint> {
  const etags: Record<string, string> = {};
  const unreadable: string[] = [];
  for (const url of urls) {
    // Bounded: an unreachable bucket must not hold up run.start with a full retry policy.
    const timeout = AbortSignal.timeout(FINGERPRINT_HEAD_TIMEOUT_MS);
    try {
      const info = await objects.head(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
      // Absent is an answer (the code was removed or moved), so it is part of the fingerprint.
      etags[url] = info?.etag ?? 'missing';
    } catch (e) {
      // The request itself was cancelled: stop, rather than fingerprint a half-read application.
      if (signal?.aborted) throw e;
      const err = toSyncError(e);
      unreadable.push(`${url} (${timeout.aborted ? `no answer within ${FINGERPRINT_HEAD_TIMEOUT_MS} ms` : `${err.code}: ${err.message}`})`);
    }
  }
  if (unreadable.length > 0) {
    return { warning: `the application fingerprint is unknown: could not read ${unreadable.join(', ')}; the code-change guard neither trips nor clears on this run` };
  }
  return { value: digest(etags) };
}
