import { fingerprintOf, referencedObjects } from '../domain/fingerprint.js';
import type { ObjectStore } from '../domain/ports.js';
import type { JobFlow } from '../domain/types.js';

/** The application fingerprint of `jobFlow`, reading the ETag of each code object its steps reference. */
export async function applicationFingerprint(objects: ObjectStore, jobFlow: JobFlow | undefined, signal?: AbortSignal): Promise<string> {
  const etags: Record<string, string> = {};
  for (const url of referencedObjects(jobFlow)) {
    try {
      const info = await objects.head(url, signal ? { signal } : {});
      etags[url] = info?.etag ?? 'missing';
    } catch {
      // Unreadable (no access, unknown scheme): the fingerprint still covers the step definitions.
      etags[url] = 'unreadable';
    }
  }
  return fingerprintOf(jobFlow, etags);
}
