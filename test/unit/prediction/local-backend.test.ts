import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLocalPredictionBackend } from '../../../src/adapters/prediction/local-backend.js';
import { isSyncError } from '../../../src/domain/errors.js';
import { PREFERENCES } from '../../../src/domain/types.js';

const log = fileURLToPath(new URL('../../fixtures/eventlogs/apache-spark/application_1506645932520_24630151', import.meta.url));

const input = {
  projectId: 'p1',
  basisRunId: 'r1',
  eventLogUrl: pathToFileURL(log).href,
  report: {
    Cluster: { InstanceCollectionType: 'INSTANCE_GROUP' },
    Instances: [],
    InstanceGroups: [
      { InstanceGroupType: 'MASTER', InstanceType: 'm5.xlarge', RunningInstanceCount: 1 },
      { InstanceGroupType: 'CORE', InstanceType: 'm5.xlarge', RunningInstanceCount: 2 },
    ],
    Steps: [],
    BootstrapActions: [],
    Region: 'us-east-1',
  },
  history: [],
  predictionId: 'pred-9',
  createdAt: new Date('2024-05-01T10:00:00Z'),
};

test('the local backend reads the event log and returns a prediction in the stored shape', async () => {
  const backend = createLocalPredictionBackend();
  assert.is(backend.name, 'local');
  const p = await backend.predict(input);
  assert.is(p.predictionId, 'pred-9');
  assert.is(p.projectId, 'p1');
  assert.is(p.basisRunId, 'r1');
  assert.is(p.createdAt, '2024-05-01T10:00:00.000Z');
  assert.ok((p.candidates ?? 0) >= 200);
  // Observed duration of this log: 106.4 s (see the fixtures' PROVENANCE.md).
  assert.ok(Math.abs(p.basis.runtimeSeconds - 106.4) < 0.1, String(p.basis.runtimeSeconds));
  for (const pref of PREFERENCES) {
    assert.ok(p.solutions[pref].estimate.runtimeSeconds > 0);
    assert.ok('InstanceGroups' in (p.solutions[pref].configuration.Instances as object));
  }
  assert.ok(JSON.parse(JSON.stringify(p)));
});

test('a missing event log is a SyncError, not a crash', async () => {
  const backend = createLocalPredictionBackend();
  try {
    await backend.predict({ ...input, eventLogUrl: pathToFileURL('/nonexistent/eventlog').href });
    assert.unreachable();
  } catch (e) {
    assert.ok(isSyncError(e), String(e));
  }
});

test.run();
