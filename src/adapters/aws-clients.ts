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
   * SDK-level attempts per call. Default: the SDK retries nothing but a clock-skew correction (one
   * immediate re-signed attempt, see clockSkewRetryStrategy); withRetry does every other retry, so
   * the retry policy is ours, observable in logs and cancellable between attempts.
   */
  maxAttempts?: number | undefined;
  /** The host clock's offset from AWS in ms as the SDK starts (tests simulate a skewed host; default 0). */
  systemClockOffsetMs?: number | undefined;
  /** Socket idle timeout in ms (default 60000: above SQS's 20 s long poll). */
  requestTimeoutMs?: number | undefined;
  /** TCP connect timeout in ms (default 5000). */
  connectionTimeoutMs?: number | undefined;
};

// The SDK's retry strategy types, taken from the client's own config (no direct @smithy/types dependency).
type RetryStrategyV2 = Extract<NonNullable<EMRClientConfig['retryStrategy']>, { refreshRetryTokenForRetry: unknown }>;
type RetryToken = Awaited<ReturnType<RetryStrategyV2['acquireInitialRetryToken']>>;
type RetryErrorInfo = Parameters<RetryStrategyV2['refreshRetryTokenForRetry']>[1];

/** Re-signed attempts a clock-skew correction may add to one call. */
const SKEW_RETRIES = 1;

/**
 * The SDK retry strategy the agent uses: it retries only an error after which the SDK corrected its
 * clock offset from the server's Date header (RequestTimeTooSkewed, InvalidSignatureException
 * "Signature expired", ...), once and at once. Without it a host whose clock drifts gets a
 * permanent access_denied; every other error goes straight to withRetry, so attempts never multiply.
 */
export function clockSkewRetryStrategy(): RetryStrategyV2 {
  const token = (count: number): RetryToken => ({ getRetryCount: () => count, getRetryDelay: () => 0 });
  return {
    acquireInitialRetryToken: () => Promise.resolve(token(0)),
    refreshRetryTokenForRetry(previous: RetryToken, info: RetryErrorInfo): Promise<RetryToken> {
      const err = info.error as { $metadata?: { clockSkewCorrected?: boolean } } | undefined;
      if (err?.$metadata?.clockSkewCorrected === true && previous.getRetryCount() < SKEW_RETRIES) return Promise.resolve(token(previous.getRetryCount() + 1));
      return Promise.reject(new Error('no SDK-level retry: withRetry decides'));
    },
    recordSuccess: () => undefined,
  };
}

/** The three AWS SDK clients the agent uses. */
export type AwsClients = { emr: EMRClient; s3: S3Client; sqs: SQSClient };

/**
 * Builds EMR, S3 and SQS clients for one region. Endpoints are set only when configured (local
 * servers); S3 computes and checks checksums only when an operation requires them, so local S3
 * servers store plain bodies; the SDK retries only clock-skew corrections (see `maxAttempts`).
 */
export function createAwsClients(cfg: AwsClientsConfig): AwsClients {
  const common = {
    region: cfg.region,
    ...(cfg.maxAttempts !== undefined ? { maxAttempts: cfg.maxAttempts } : { maxAttempts: 1 + SKEW_RETRIES, retryStrategy: clockSkewRetryStrategy() }),
    ...(cfg.systemClockOffsetMs !== undefined ? { systemClockOffset: cfg.systemClockOffsetMs } : {}),
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
