import type { EMRClient } from '@aws-sdk/client-emr';
import { createAwsClients } from '../../src/adapters/aws-clients.js';
import { createEmrServer } from '../../src/sandbox/emr-server.js';
import type { EmrServer, EmrServerOptions } from '../../src/sandbox/emr-server.js';

/** Dummy credentials the simulated EMR accepts (it checks only that requests are signed). */
export const EMR_TEST_CREDENTIALS = { accessKeyId: 'AKIDSANDBOXEMR000000', secretAccessKey: 'sandbox-secret' };

/** A simulated EMR on loopback plus a real EMRClient (built by createAwsClients) pointed at it. */
export type TestEmr = { server: EmrServer; url: string; client: EMRClient; stop(): Promise<void> };

/** Starts the project's EMR server and an EMRClient for it; `stop()` closes both and is safe twice. */
export async function startEmr(opts: EmrServerOptions & { maxAttempts?: number } = {}): Promise<TestEmr> {
  const { maxAttempts, ...serverOpts } = opts;
  const server = await createEmrServer({ pageSize: 2, ...serverOpts });
  const { emr: client, s3, sqs } = createAwsClients({
    region: server.region,
    endpoints: { emr: server.url },
    s3ForcePathStyle: true,
    credentials: EMR_TEST_CREDENTIALS,
    maxAttempts: maxAttempts ?? 1,
  });
  s3.destroy();
  sqs.destroy();
  let stopped: Promise<void> | undefined;
  return {
    server,
    url: server.url,
    client,
    stop() {
      stopped ??= (async () => {
        client.destroy();
        await server.close();
      })();
      return stopped;
    },
  };
}
