// A child process for the contention tests: appends `count` runs named `<writer>-<i>` to one project
// through updateProjectState on a file (or S3) state store, retrying a call that ends in 'conflict' as
// the request queue would, and prints {"acknowledged": n, "conflicts": n} as its last line.
// Usage: node --import tsx test/reliability/state-writer.ts <stateUrl> <projectId> <writer> <count> [s3Endpoint]
import { createFileObjectStore } from '../../src/adapters/file-object-store.js';
import { createObjectStoreRouter } from '../../src/adapters/object-store-router.js';
import { createS3ObjectStore } from '../../src/adapters/s3-object-store.js';
import { createStateStore } from '../../src/adapters/state-store.js';
import { isSyncError } from '../../src/domain/errors.js';
import { updateProjectState } from '../../src/handlers/update-project.js';
import { createTestS3Client } from '../support/s3.js';

const [stateUrl, projectId, writer, countText, s3Endpoint] = process.argv.slice(2);
const count = Number(countText);
const objects = createObjectStoreRouter({
  file: createFileObjectStore(),
  ...(s3Endpoint ? { s3: createS3ObjectStore({ client: createTestS3Client(s3Endpoint), retry: { baseMs: 5, maxMs: 100 } }) } : {}),
});
const store = createStateStore(stateUrl!, { objectStore: objects });
let acknowledged = 0;
let conflicts = 0;
for (let i = 0; i < count; i++) {
  const id = `${writer}-${i}`;
  for (;;) {
    try {
      await updateProjectState(store, projectId!, (s) => ({
        ...s,
        runs: [...s.runs, { id, projectId: projectId!, status: 'starting', location: 'file:///x/', createdAt: new Date().toISOString(), requestKey: id }],
      }));
      acknowledged += 1;
      break;
    } catch (e) {
      if (!isSyncError(e, 'conflict') && !isSyncError(e, 'unavailable')) throw e;
      conflicts += 1;
    }
  }
}
console.log(JSON.stringify({ acknowledged, conflicts }));
