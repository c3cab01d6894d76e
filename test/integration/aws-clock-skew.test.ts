// A host whose clock is off: the SDK corrects its clock offset from the server's Date header and
// re-signs once; every other error still reaches withRetry after one SDK attempt.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ListClustersCommand } from '@aws-sdk/client-emr';
import { createAwsClients } from '../../src/adapters/aws-clients.js';
import { createEmrPlatform } from '../../src/adapters/emr-platform.js';
import { mapAwsError } from '../../src/adapters/aws-errors.js';
import { createEmrServer } from '../../src/sandbox/emr-server.js';
import type { EmrServer } from '../../src/sandbox/emr-server.js';
import { EMR_TEST_CREDENTIALS } from '../support/emr.js';
import { rejection } from '../support/async.js';

const SKEW_MS = 20 * 60_000;
const held = { startingMs: Infinity, bootstrappingMs: Infinity, runningMs: Infinity, terminatingMs: Infinity };
const test = suite('aws clock skew');
const servers: EmrServer[] = [];
test.after(async () => {
  for (const s of servers) await s.close();
});

// The server's time runs 20 minutes ahead of this host, as AWS's does for a host whose clock is behind.
const skewedServer = async () => {
  const server = await createEmrServer({ timeline: held, clock: { now: () => Date.now() + SKEW_MS }, maxClockSkewMs: 5 * 60_000 });
  servers.push(server);
  return server;
};
const clientsFor = (server: EmrServer, maxAttempts?: number) =>
  createAwsClients({ region: server.region, endpoints: { emr: server.url }, s3ForcePathStyle: true, credentials: EMR_TEST_CREDENTIALS, ...(maxAttempts ? { maxAttempts } : {}) });

test('a signature-expired answer (clock skew) is corrected by the SDK: the second, re-signed call succeeds', async () => {
  const server = await skewedServer();
  const { emr, s3, sqs } = clientsFor(server);
  try {
    const out = await emr.send(new ListClustersCommand({}));
    assert.equal(out.Clusters ?? [], []);
    assert.equal(
      server.calls().map((c) => c.status),
      [400, 200],
      'first call refused as skewed, the re-signed one accepted',
    );
    // The offset sticks: later calls are signed right the first time.
    await emr.send(new ListClustersCommand({}));
    assert.equal(server.calls().map((c) => c.status), [400, 200, 200]);
  } finally {
    emr.destroy();
    s3.destroy();
    sqs.destroy();
  }
});

test('through the EMR platform adapter a skewed host describes clusters instead of failing with access_denied', async () => {
  const server = await skewedServer();
  const { emr, s3, sqs } = clientsFor(server);
  try {
    const platform = createEmrPlatform({ client: emr, region: server.region, retry: { retries: 0 } });
    const { clusterId } = await platform.startCluster({ Name: 'skew', ReleaseLabel: 'emr-7.1.0', Instances: { MasterInstanceType: 'm5.xlarge', InstanceCount: 1 } });
    const info = await platform.describeCluster(clusterId);
    assert.is(info.id, clusterId);
  } finally {
    emr.destroy();
    s3.destroy();
    sqs.destroy();
  }
});

test('with SDK retries fully off (the old default) the same skew is a permanent access_denied', async () => {
  const server = await skewedServer();
  const { emr, s3, sqs } = clientsFor(server, 1);
  try {
    const e = await rejection(emr.send(new ListClustersCommand({})));
    assert.is(mapAwsError(e, 'EMR ListClusters').code, 'access_denied');
    assert.equal(server.calls().length, 1);
  } finally {
    emr.destroy();
    s3.destroy();
    sqs.destroy();
  }
});

test('other errors are not retried by the SDK (withRetry is the one retry policy): one call each', async () => {
  const server = await createEmrServer({ timeline: held });
  servers.push(server);
  const { emr, s3, sqs } = clientsFor(server);
  try {
    server.inject({ op: 'ListClusters', kind: 'throttle', times: 1 });
    const throttled = await rejection(emr.send(new ListClustersCommand({})));
    assert.is(mapAwsError(throttled, 'EMR ListClusters').code, 'throttled');
    server.inject({ op: 'ListClusters', kind: 'error', type: 'InvalidSignatureException', message: 'Signature expired: 20200101T000000Z is now earlier than ...', times: 1 });
    const unsigned = await rejection(emr.send(new ListClustersCommand({})));
    // No skew between this host and the server: nothing to correct, so no second attempt.
    assert.is(mapAwsError(unsigned, 'EMR ListClusters').code, 'access_denied');
    assert.is(server.calls().length, 2);
  } finally {
    emr.destroy();
    s3.destroy();
    sqs.destroy();
  }
});

test.run();
