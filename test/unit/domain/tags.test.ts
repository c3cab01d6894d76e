import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readSyncTags, syncTags } from '../../../src/domain/tags.js';

test('syncTags lists tenant, project, run and only then a prediction', () => {
  assert.equal(syncTags({ tenantId: 't', projectId: 'p', runId: 'r' }), [
    { Key: 'sync:tenant-id', Value: 't' },
    { Key: 'sync:project-id', Value: 'p' },
    { Key: 'sync:run-id', Value: 'r' },
  ]);
  assert.equal(syncTags({ tenantId: 't', projectId: 'p', runId: 'r', predictionId: 'x' })[3], { Key: 'sync:prediction-id', Value: 'x' });
});

test('readSyncTags reads EMR tag lists and maps, ignoring other tags', () => {
  assert.equal(readSyncTags([{ Key: 'team', Value: 'a' }, { Key: 'sync:project-id', Value: 'p' }, { Key: 'sync:run-id', Value: 'r' }]), { projectId: 'p', runId: 'r' });
  assert.equal(readSyncTags({ 'sync:tenant-id': 't', 'sync:prediction-id': 'x', other: 'y' }), { tenantId: 't', predictionId: 'x' });
  assert.equal(readSyncTags(undefined), {});
  assert.equal(readSyncTags(syncTags({ tenantId: 't', projectId: 'p', runId: 'r', predictionId: 'x' })), { tenantId: 't', projectId: 'p', runId: 'r', predictionId: 'x' });
});

test.run();
