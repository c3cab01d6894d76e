import { fingerprintOf, referencedObjects } from '../domain/fingerprint.js';
import type { ObjectStore } from '../domain/ports.js';
import type { JobFlow } from '../domain/types.js';

/** How long one code object's ETag may take to read before it counts as unreadable. */
export const FINGERPRINT_HEAD_TIMEOUT_MS = 3_000;

/** The application fingerprint of `jobFlow`, reading the ETag of each code object its steps reference. */
export async function applicationFingerprint(objects: ObjectStore, jobFlow: JobFlow | undefined, signal?: AbortSignal): Promise<string> {
  const etags: Record<string, string> = {};
  for (const url of referencedObjects(jobFlow)) {
    // Bounded: an unreachable bucket must not hold up run.start with a full retry policy.
    const timeout = AbortSignal.timeout(FINGERPRINT_HEAD_TIMEOUT_MS);
    try {
      const info = await objects.head(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
      etags[url] = info?.etag ?? 'missing';
    } catch (e) {
      // The request itself was cancelled: stop, rather than fingerprint a half-read application.
      if (signal?.aborted) throw e;
      // Unreadable (no access, unknown scheme, too slow): the fingerprint still covers the step definitions.
      etags[url] = 'unreadable';
    }
  }
  return fingerprintOf(jobFlow, etags);
}
