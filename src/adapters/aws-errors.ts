// Turns AWS SDK v3 errors into SyncError and owns the retry policy for AWS calls.
import { sleep as abortableSleep } from '../domain/sleep.js';
import { SyncError } from '../domain/errors.js';
import type { ErrorCode } from '../domain/errors.js';

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'SlowDown',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'ProvisionedThroughputExceededException',
  'BandwidthLimitExceeded',
  'PriorRequestNotComplete',
  'AWS.SimpleQueueService.RequestThrottled',
]);
const UNAVAILABLE = new Set([
  'InternalServerError',
  'InternalServerException',
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'ServiceException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'NetworkingError',
  'AWS.SimpleQueueService.ServiceUnavailable',
]);
const ACCESS_DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidAccessKeyId',
  'InvalidClientTokenId',
  'InvalidToken',
  'MissingAuthenticationToken',
  'MissingAuthenticationTokenException',
  'IncompleteSignature',
  'IncompleteSignatureException',
  'AuthFailure',
  'CredentialsProviderError',
  'AllAccessDisabled',
]);
const NOT_FOUND = new Set([
  'NoSuchKey',
  'NoSuchBucket',
  'NoSuchUpload',
  'NotFound',
  'ResourceNotFoundException',
  'QueueDoesNotExist',
  'AWS.SimpleQueueService.NonExistentQueue',
]);
const CONFLICT = new Set(['PreconditionFailed', 'ConditionalRequestConflict', 'ConflictException', 'OperationAborted']);
const INVALID = new Set([
  'ValidationException',
  'ValidationError',
  'InvalidRequestException',
  'InvalidRequest',
  'InvalidArgument',
  'InvalidParameterValue',
  'InvalidParameterValueException',
  'InvalidParameterException',
  'InvalidParameterCombination',
  'MissingParameter',
  'InvalidInput',
  'SerializationException',
  'InvalidAttributeName',
  'InvalidAttributeValue',
  'InvalidBatchEntryId',
  'MalformedXML',
]);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_HTTP2_STREAM_ERROR',
]);

type AwsLike = {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  Code?: unknown;
  $fault?: unknown;
  $retryable?: { throttling?: boolean } | undefined;
  $metadata?: { httpStatusCode?: number; requestId?: string; extendedRequestId?: string } | undefined;
  cause?: unknown;
};

/** Longest AWS message we repeat; signature errors otherwise echo whole canonical requests. */
const MAX_MESSAGE = 400;

/**
 * Strips anything credential-like from an AWS message: access key ids, `Credential=` scopes,
 * session tokens and signatures, and the canonical-request dump that SignatureDoesNotMatch appends.
 */
export function scrubAwsMessage(message: string): string {
  let m = message.split(/\n\s*\n/)[0] ?? '';
  m = m
    .replace(/\b(A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{12,}\b/g, '[redacted]')
    .replace(/(Credential=)[^,\s]+/gi, '$1[redacted]')
    .replace(/(Signature=)[0-9a-f]+/gi, '$1[redacted]')
    .replace(/(x-amz-security-token[=:]\s*)[^\s&,]+/gi, '$1[redacted]');
  return m.length > MAX_MESSAGE ? m.slice(0, MAX_MESSAGE) + '...' : m;
}

function classify(e: AwsLike): { code: ErrorCode; awsCode: string | undefined } {
  const name = typeof e.name === 'string' ? e.name : undefined;
  const errno = typeof e.code === 'string' ? e.code : typeof e.Code === 'string' ? e.Code : undefined;
  const awsCode = name && name !== 'Error' ? name : errno;
  const status = e.$metadata?.httpStatusCode;
  const is = (set: Set<string>) => (name !== undefined && set.has(name)) || (errno !== undefined && set.has(errno));

  if (is(THROTTLING) || e.$retryable?.throttling === true || status === 429) return { code: 'throttled', awsCode };
  if (is(ACCESS_DENIED)) return { code: 'access_denied', awsCode };
  if (is(NOT_FOUND)) return { code: 'not_found', awsCode };
  if (is(CONFLICT)) return { code: 'conflict', awsCode };
  if (is(INVALID)) return { code: 'invalid_request', awsCode };
  if (is(UNAVAILABLE) || (errno !== undefined && NETWORK_CODES.has(errno))) return { code: 'unavailable', awsCode };
  // The service itself marked the error retryable (a modeled retryable error).
  if (e.$retryable !== undefined) return { code: 'unavailable', awsCode };
  if (status !== undefined && status >= 500) return { code: 'unavailable', awsCode };
  if (status === 401 || status === 403) return { code: 'access_denied', awsCode };
  if (status === 404) return { code: 'not_found', awsCode };
  if (status === 409 || status === 412) return { code: 'conflict', awsCode };
  if (status === 400) return { code: 'invalid_request', awsCode };
  if (e.$fault === 'server') return { code: 'unavailable', awsCode };
  // The SDK wraps socket errors; the errno often sits one level down.
  if (e.cause && typeof e.cause === 'object' && status === undefined) {
    const inner = classify(e.cause as AwsLike);
    if (inner.code === 'unavailable') return { code: 'unavailable', awsCode: awsCode ?? inner.awsCode };
  }
  return { code: 'remote_error', awsCode };
}

/**
 * Maps anything an AWS SDK v3 call threw to a SyncError whose code says what to do next
 * (throttled/unavailable retry, the rest do not). `context` names the operation, e.g.
 * `'EMR DescribeCluster j-123'`; the message never carries credentials.
 */
export function mapAwsError(e: unknown, context: string): SyncError {
  if (e instanceof SyncError) return e;
  if (e === null || typeof e !== 'object') return new SyncError('remote_error', `${context} failed: ${String(e)}`, { retryable: false });
  const err = e as AwsLike;
  if (err.name === 'AbortError') return new SyncError('aborted', `${context} was aborted`, { cause: e });
  const { code, awsCode } = classify(err);
  const raw = typeof err.message === 'string' && err.message !== '' ? err.message : awsCode ?? 'unknown error';
  const status = err.$metadata?.httpStatusCode;
  const details: Record<string, unknown> = { operation: context };
  if (awsCode !== undefined) details.awsCode = awsCode;
  if (status !== undefined) details.httpStatus = status;
  if (err.$metadata?.requestId) details.requestId = err.$metadata.requestId;
  const prefix = awsCode && !raw.startsWith(awsCode) ? `${awsCode}: ` : '';
  return new SyncError(code, `${context} failed: ${prefix}${scrubAwsMessage(raw)}`, {
    cause: e,
    details,
    retryable: code === 'throttled' || code === 'unavailable' || code === 'conflict',
  });
}

/** How withRetry backs off. */
export type RetryOptions = {
  /** Retries after the first attempt (default 5, so at most 6 calls). */
  retries: number;
  /** First backoff ceiling in ms (default 200); doubles per attempt. */
  baseMs: number;
  /** Largest backoff ceiling in ms (default 20000). */
  maxMs: number;
  signal?: AbortSignal | undefined;
  /** Uniform [0, 1) source for the jitter (default Math.random). */
  random: () => number;
  /** Waits `ms`, rejecting when `signal` aborts (default: a timer). */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Called before each backoff with the error, the attempt that failed (1-based) and the delay. */
  onRetry?: ((e: SyncError, attempt: number, delayMs: number) => void) | undefined;
  /**
   * Which errors are worth another identical call. Default: retryable SyncErrors except 'aborted'
   * (cancellation must propagate) and 'conflict' (the same conditional request loses again; the
   * caller re-reads and the queue retries).
   */
  shouldRetry: (e: SyncError) => boolean;
};

/** withRetry's default test for retrying an error. */
export function isRetryableCall(e: SyncError): boolean {
  return e.retryable && e.code !== 'aborted' && e.code !== 'conflict';
}

function abortedError(signal: AbortSignal): SyncError {
  return new SyncError('aborted', 'the operation was aborted', { cause: signal.reason });
}

/** A timer that rejects with SyncError 'aborted' as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return abortableSleep(ms, signal);
}

/** The backoff before retry number `attempt` (1-based): full jitter under an exponential ceiling. */
export function backoffDelay(attempt: number, opts: Pick<RetryOptions, 'baseMs' | 'maxMs' | 'random'>): number {
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.floor(opts.random() * ceiling);
}

/**
 * Calls `fn(attempt)` (attempt 1, 2, ...) until it succeeds, retrying only SyncErrors that pass
 * `shouldRetry` (retryable, not aborted/conflict), at most `retries` times, with exponential backoff
 * and full jitter. When `signal` aborts, it stops at once with SyncError 'aborted'.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: Partial<RetryOptions> = {}): Promise<T> {
  const opts: RetryOptions = {
    retries: options.retries ?? 5,
    baseMs: options.baseMs ?? 200,
    maxMs: options.maxMs ?? 20_000,
    random: options.random ?? Math.random,
    sleep: options.sleep ?? sleep,
    signal: options.signal,
    onRetry: options.onRetry,
    shouldRetry: options.shouldRetry ?? isRetryableCall,
  };
  const { signal } = opts;
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw abortedError(signal);
    try {
      return await fn(attempt);
    } catch (e) {
      if (signal?.aborted) throw e instanceof SyncError && e.code === 'aborted' ? e : abortedError(signal);
      if (!(e instanceof SyncError) || !opts.shouldRetry(e) || attempt > opts.retries) throw e;
      const delay = backoffDelay(attempt, opts);
      opts.onRetry?.(e, attempt, delay);
      await opts.sleep(delay, signal);
    }
  }
}
