import { EMRClient } from '@aws-sdk/client-emr';
import type { EMRClientConfig } from '@aws-sdk/client-emr';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';

/** Static credentials (`{ accessKeyId, secretAccessKey, sessionToken? }`) or a provider function. */
export type AwsCredentials = NonNullable<EMRClientConfig['credentials']>;

/** What createAwsClients needs: the `site.aws` section of Config plus optional explicit credentials. */
export type AwsClientsConfig = {
  region: string;
  endpoints: { emr?: string | undefined; s3?: string | undefined; sqs?: string | undefined };
  s3ForcePathStyle: boolean;
  /** Explicit credentials (tests, local servers); default: the standard AWS provider chain. */
  credentials?: AwsCredentials | undefined;
  /**
   * SDK-level attempts per call (default 1: the SDK does not retry, withRetry does, so that the
   * retry policy is ours, observable in logs and cancellable between attempts).
   */
  maxAttempts?: number | undefined;
  /** Socket idle timeout in ms (default 60000: above SQS's 20 s long poll). */
  requestTimeoutMs?: number | undefined;
  /** TCP connect timeout in ms (default 5000). */
  connectionTimeoutMs?: number | undefined;
};

/** The three AWS SDK clients the agent uses. */
export type AwsClients = { emr: EMRClient; s3: S3Client; sqs: SQSClient };

/**
 * Builds EMR, S3 and SQS clients for one region. Endpoints are set only when configured (local
 * servers); S3 computes and checks checksums only when an operation requires them, so local S3
 * servers store plain bodies; the SDK does not retry on its own (see `maxAttempts`).
 */
export function createAwsClients(cfg: AwsClientsConfig): AwsClients {
  const common = {
    region: cfg.region,
    maxAttempts: cfg.maxAttempts ?? 1,
    requestHandler: {
      // socketTimeout is the idle timeout; the SDK's requestTimeout only logs a warning unless told to throw.
      socketTimeout: cfg.requestTimeoutMs ?? 60_000,
      connectionTimeout: cfg.connectionTimeoutMs ?? 5_000,
    },
    ...(cfg.credentials !== undefined ? { credentials: cfg.credentials } : {}),
  };
  const emr = new EMRClient({ ...common, ...(cfg.endpoints.emr ? { endpoint: cfg.endpoints.emr } : {}) });
  const s3 = new S3Client({
    ...common,
    ...(cfg.endpoints.s3 ? { endpoint: cfg.endpoints.s3 } : {}),
    forcePathStyle: cfg.s3ForcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const sqs = new SQSClient({ ...common, ...(cfg.endpoints.sqs ? { endpoint: cfg.endpoints.sqs } : {}) });
  return { emr, s3, sqs };
}
