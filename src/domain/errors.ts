/** What went wrong, as a stable string a client can switch on. */
export type ErrorCode =
  | 'invalid_request' // the request or its data failed validation (never retried)
  | 'unknown_request' // no handler for the request name (never retried)
  | 'invalid_config' // configuration is missing or wrong (never retried)
  | 'not_found' // a project, run, prediction, object or cluster does not exist
  | 'conflict' // an optimistic write lost the race (412); retry after re-reading
  | 'already_exists' // a create found the thing already there
  | 'throttled' // the remote asked us to slow down (always retried)
  | 'unavailable' // 5xx, connection refused, timeout: transient (retried)
  | 'access_denied' // credentials or permissions (never retried)
  | 'aborted' // the work was cancelled by shutdown (retried by the queue)
  | 'not_ready' // a precondition is not met yet (e.g. event log still in progress); retried later
  | 'corrupt_data' // an input file or document could not be decoded
  | 'unsupported' // a feature or format we do not handle
  | 'remote_error' // the remote answered with an error we do not classify
  | 'internal'; // a bug

const RETRYABLE_BY_DEFAULT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'conflict',
  'throttled',
  'unavailable',
  'aborted',
  'not_ready',
]);

/** The one error type of sync-agent: a code, a retry decision, and the detail that explains it. */
export class SyncError extends Error {
  override readonly name = 'SyncError';
  readonly code: ErrorCode;
  readonly retryable: boolean;
  /** Extra facts for logs and results (never secrets). */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { retryable?: boolean; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? RETRYABLE_BY_DEFAULT.has(code);
    this.details = options.details;
  }

  /** The JSON shape put on the results stream: `{ code, message }` plus details when present. */
  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details ? { code: this.code, message: this.message, details: { ...this.details } } : { code: this.code, message: this.message };
  }
}

/** True when `e` is a SyncError (optionally with one of the given codes). */
export function isSyncError(e: unknown, ...codes: ErrorCode[]): e is SyncError {
  return e instanceof SyncError && (codes.length === 0 || codes.includes(e.code));
}

/** Wraps anything thrown into a SyncError, keeping SyncErrors as they are. */
export function toSyncError(e: unknown, fallback: ErrorCode = 'internal'): SyncError {
  if (e instanceof SyncError) return e;
  if (e instanceof Error && e.name === 'AbortError') return new SyncError('aborted', 'the operation was aborted', { cause: e });
  const message = e instanceof Error ? e.message : String(e);
  return new SyncError(fallback, message, { cause: e });
}
