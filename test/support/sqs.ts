import { createSqsServer } from 'local-aws-sqs';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createAwsClients } from '../../src/adapters/aws-clients.js';
import type { AddressInfo } from 'node:net';

/** Dummy credentials for the local SQS server (it does not check them). */
export const SQS_TEST_CREDENTIALS = { accessKeyId: 'AKIDSANDBOXSQS000000', secretAccessKey: 'sandbox-secret' };

/** A local-aws-sqs server on loopback with a real SQSClient (built by createAwsClients) pointed at it. */
export type TestSqs = {
  endpoint: string;
  region: string;
  client: SQSClient;
  /**
   * Creates a queue; with `dlq`, first creates `<name>-dlq` and sets a redrive policy moving a
   * message there after `maxReceiveCount` receives.
   */
  createQueue(
    name: string,
    options?: { dlq?: { maxReceiveCount: number }; attributes?: Record<string, string> },
  ): Promise<{ url: string; arn: string; dlqUrl?: string; dlqArn?: string }>;
  /** Closes the client and the server; safe to call twice. */
  stop(): Promise<void>;
};

/** Starts local-aws-sqs on a free loopback port (no 60 s queue re-creation delay). */
export async function startSqs(opts: { region?: string; accountId?: string } = {}): Promise<TestSqs> {
  const region = opts.region ?? 'us-east-1';
  const server = await createSqsServer({
    port: 0,
    hostname: '127.0.0.1',
    region,
    accountId: opts.accountId ?? '123456789012',
    emulateQueueCreationLifecycle: false,
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const { sqs: client, s3, emr } = createAwsClients({ region, endpoints: { sqs: endpoint }, s3ForcePathStyle: true, credentials: SQS_TEST_CREDENTIALS });
  s3.destroy();
  emr.destroy();

  const create = async (name: string, attributes: Record<string, string>) => {
    const out = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    if (!out.QueueUrl) throw new Error(`CreateQueue ${name} returned no QueueUrl`);
    const attrs = await client.send(new GetQueueAttributesCommand({ QueueUrl: out.QueueUrl, AttributeNames: ['QueueArn'] }));
    const arn = attrs.Attributes?.QueueArn;
    if (!arn) throw new Error(`GetQueueAttributes ${name} returned no QueueArn`);
    return { url: out.QueueUrl, arn };
  };

  let stopped: Promise<void> | undefined;
  return {
    endpoint,
    region,
    client,
    async createQueue(name, options = {}) {
      if (!options.dlq) return create(name, options.attributes ?? {});
      const dlq = await create(`${name}-dlq`, {});
      const main = await create(name, {
        ...options.attributes,
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: options.dlq.maxReceiveCount }),
      });
      return { ...main, dlqUrl: dlq.url, dlqArn: dlq.arn };
    },
    stop() {
      stopped ??= (async () => {
        client.destroy();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return stopped;
    },
  };
}
