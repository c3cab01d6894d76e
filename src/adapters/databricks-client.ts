// The Databricks REST client: one place that authenticates (personal access token or OAuth M2M with a
// cached token), sends JSON, and maps Databricks' error envelope `{ error_code, message }` to SyncError.
import { SyncError } from '../domain/errors.js';
import type { CallOptions } from '../domain/ports.js';
import { sleep } from '../domain/sleep.js';

/** How the client authenticates: a personal access token, or OAuth machine-to-machine (client credentials). */
export type DatabricksAuth = { kind: 'pat'; token: string } | { kind: 'oauth'; clientId: string; clientSecret: string };

export type DatabricksClientOptions = {
  /** The workspace URL, e.g. `https://dbc-1234.cloud.databricks.com` (no path). */
  host: string;
  auth: DatabricksAuth;
  /** Per-call timeout; default 60000. */
  timeoutMs?: number;
  /** Attempts of an idempotent call on 429/5xx/connection errors, in this client; default 3. */
  attempts?: number;
  /** Longest Retry-After honoured in this client (longer waits go back to the queue); default 30000. */
  maxRetryAfterMs?: number;
  /** Base of the exponential backoff between attempts; default 250. */
  backoffMs?: number;
  now?: () => number;
};

/** One call: JSON `body` or raw `bytes`, `query` parameters, `idempotent` (GETs are) allows retries here. */
export type DatabricksRequest = CallOptions & {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  bytes?: Uint8Array;
  headers?: Record<string, string>;
  idempotent?: boolean;
};

export type DatabricksClient = {
  readonly host: string;
  /** Sends a request and parses the JSON answer (an empty body is `{}`). */
  json<T = Record<string, unknown>>(method: string, path: string, request?: DatabricksRequest): Promise<T>;
  /** Sends a request and returns the raw response (status 2xx only; errors are thrown as SyncError). */
  raw(method: string, path: string, request?: DatabricksRequest): Promise<Response>;
};

/** Databricks error codes that mean "wait and try again", whatever the HTTP status. */
const RETRYABLE_CODES = new Set(['TEMPORARILY_UNAVAILABLE', 'REQUEST_LIMIT_EXCEEDED', 'RESOURCE_EXHAUSTED', 'DEADLINE_EXCEEDED', 'INTERNAL_ERROR', 'UNAVAILABLE']);

/** Milliseconds of a Retry-After header (seconds or an HTTP date), or undefined. */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The SyncError for a Databricks error answer: 400 -> invalid_request, 401/403 -> access_denied, 404 ->
 * not_found, 409 -> already_exists (RESOURCE_ALREADY_EXISTS) or conflict, 429 -> throttled (with
 * `details.retryAfterMs`), 501 -> unsupported, other 5xx -> unavailable; retryable exactly for 409-conflict,
 * 429, 5xx except 501, and the error codes Databricks documents as transient.
 */
export function databricksError(status: number, body: unknown, what: string, retryAfter?: number): SyncError {
  const envelope = typeof body === 'object' && body !== null ? (body as { error_code?: unknown; message?: unknown }) : {};
  const errorCode = typeof envelope.error_code === 'string' ? envelope.error_code : undefined;
  const remote = typeof envelope.message === 'string' ? envelope.message.slice(0, 500) : typeof body === 'string' ? body.slice(0, 200) : '';
  const details: Record<string, unknown> = { status, ...(errorCode ? { errorCode } : {}), ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}) };
  const message = `Databricks ${what} answered ${status}${errorCode ? ` ${errorCode}` : ''}${remote ? `: ${remote}` : ''}`;
  if (status === 429) return new SyncError('throttled', message, { retryable: true, details });
  if (errorCode !== undefined && RETRYABLE_CODES.has(errorCode) && status !== 501) return new SyncError('unavailable', message, { retryable: true, details });
  if (status === 400) return new SyncError('invalid_request', message, { retryable: false, details });
  if (status === 401) return new SyncError('access_denied', `${message} (check DATABRICKS_TOKEN or DATABRICKS_CLIENT_ID/SECRET)`, { retryable: false, details });
  if (status === 403) return new SyncError('access_denied', message, { retryable: false, details });
  if (status === 404) return new SyncError('not_found', message, { retryable: false, details });
  if (status === 409) {
    return errorCode === 'RESOURCE_ALREADY_EXISTS' ? new SyncError('already_exists', message, { retryable: false, details }) : new SyncError('conflict', message, { retryable: true, details });
  }
  if (status === 501) return new SyncError('unsupported', message, { retryable: false, details });
  if (status >= 500) return new SyncError('unavailable', message, { retryable: true, details });
  return new SyncError('remote_error', message, { retryable: false, details });
}

async function readBody(res: Response): Promise<unknown> {
  const text = await res.text();
  if (text === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function describeNetworkError(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
}

/**
 * Creates a client for one workspace. Secrets stay in the Authorization header: no message, detail or
 * log line carries a token. With OAuth, the access token from `POST {host}/oidc/v1/token`
 * (client_credentials, scope all-apis) is cached until a minute before it expires and fetched once
 * for concurrent callers; a 401 drops it and the call is tried once more with a fresh token.
 */
export function createDatabricksClient(options: DatabricksClientOptions): DatabricksClient {
  let origin: string;
  try {
    origin = new URL(options.host).origin;
  } catch {
    throw new SyncError('invalid_config', `Databricks host '${options.host}' is not a URL`);
  }
  const timeoutMs = options.timeoutMs ?? 60_000;
  const attempts = Math.max(1, options.attempts ?? 3);
  const maxRetryAfter = options.maxRetryAfterMs ?? 30_000;
  const backoff = options.backoffMs ?? 250;
  const now = options.now ?? Date.now;
  let cached: { token: string; expiresAt: number } | undefined;
  let inflight: Promise<string> | undefined;

  const fetchOAuthToken = async (auth: Extract<DatabricksAuth, { kind: 'oauth' }>, signal?: AbortSignal): Promise<string> => {
    const basic = Buffer.from(`${encodeURIComponent(auth.clientId)}:${encodeURIComponent(auth.clientSecret)}`).toString('base64');
    let res: Response;
    try {
      res = await fetch(`${origin}/oidc/v1/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: 'grant_type=client_credentials&scope=all-apis',
        signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      if (signal?.aborted) throw new SyncError('aborted', 'the Databricks OAuth token request was aborted', { cause: e });
      throw new SyncError('unavailable', `could not reach ${origin}/oidc/v1/token (${describeNetworkError(e)})`, { retryable: true });
    }
    const body = await readBody(res);
    if (!res.ok) {
      // OAuth errors are `{ error, error_description }`; never echo the request (it carries the secret).
      const o = typeof body === 'object' && body !== null ? (body as { error?: unknown; error_description?: unknown }) : {};
      const err = databricksError(res.status, { error_code: typeof o.error === 'string' ? o.error : undefined, message: typeof o.error_description === 'string' ? o.error_description : undefined }, 'OAuth token endpoint');
      throw err;
    }
    const o = body as { access_token?: unknown; expires_in?: unknown };
    if (typeof o.access_token !== 'string' || o.access_token === '') throw new SyncError('remote_error', 'the Databricks OAuth token endpoint answered without an access_token');
    const lifetime = typeof o.expires_in === 'number' && o.expires_in > 0 ? o.expires_in * 1000 : 3_600_000;
    cached = { token: o.access_token, expiresAt: now() + Math.max(lifetime - 60_000, lifetime / 2) };
    return o.access_token;
  };

  const bearer = async (signal?: AbortSignal): Promise<string> => {
    const auth = options.auth;
    if (auth.kind === 'pat') return auth.token;
    if (cached && cached.expiresAt > now()) return cached.token;
    inflight ??= fetchOAuthToken(auth, signal).finally(() => {
      inflight = undefined;
    });
    return inflight;
  };

  const raw = async (method: string, path: string, request: DatabricksRequest = {}): Promise<Response> => {
    const url = new URL(path, origin);
    for (const [k, v] of Object.entries(request.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const what = `${method} ${url.pathname}`;
    const idempotent = request.idempotent ?? (method === 'GET' || method === 'HEAD');
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      if (request.signal?.aborted) throw new SyncError('aborted', `${what} was aborted`);
      const token = await bearer(request.signal);
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json', 'user-agent': 'sync-agent', ...request.headers };
      let body: string | Uint8Array | undefined;
      if (request.bytes !== undefined) {
        body = request.bytes;
        headers['content-type'] ??= 'application/octet-stream';
      } else if (request.body !== undefined) {
        body = JSON.stringify(request.body);
        headers['content-type'] = 'application/json';
      }
      const signal = request.signal ? AbortSignal.any([request.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
      let res: Response | undefined;
      let failure: SyncError;
      try {
        res = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }), signal });
      } catch (e) {
        if (request.signal?.aborted) throw new SyncError('aborted', `${what} was aborted`, { cause: e });
        res = undefined;
        failure = new SyncError('unavailable', `Databricks ${what} failed: ${describeNetworkError(e)}`, { retryable: true });
      }
      if (res?.ok) return res;
      let wait: number | undefined;
      if (res) {
        const answer = await readBody(res);
        wait = retryAfterMs(res.headers.get('retry-after'), now());
        failure = databricksError(res.status, answer, what, wait);
        if (res.status === 401 && options.auth.kind === 'oauth' && !refreshed) {
          // The cached token may have been revoked or expired early: fetch a new one once.
          cached = undefined;
          refreshed = true;
          attempt--;
          continue;
        }
      }
      // TS cannot see that failure is assigned on both paths above.
      const err = failure!;
      if (!err.retryable || !idempotent || attempt >= attempts) throw err;
      const delay = wait ?? Math.round(backoff * 2 ** (attempt - 1) * (0.5 + Math.random()));
      if (delay > maxRetryAfter) throw err;
      await sleep(delay, request.signal);
    }
  };

  return {
    host: origin,
    raw,
    async json<T>(method: string, path: string, request?: DatabricksRequest): Promise<T> {
      const res = await raw(method, path, request);
      const body = await readBody(res);
      if (typeof body !== 'object' || body === null) throw new SyncError('remote_error', `Databricks ${method} ${path} answered with something other than JSON`);
      return body as T;
    },
  };
}

/** The client's auth from Credentials: a personal access token wins over OAuth M2M; 'invalid_config' when neither. */
export function databricksAuthFrom(c: { databricksToken?: string; databricksClientId?: string; databricksClientSecret?: string }): DatabricksAuth {
  if (c.databricksToken) return { kind: 'pat', token: c.databricksToken };
  if (c.databricksClientId && c.databricksClientSecret) return { kind: 'oauth', clientId: c.databricksClientId, clientSecret: c.databricksClientSecret };
  throw new SyncError(
    'invalid_config',
    'site.databricks is set but no Databricks credentials were found: set DATABRICKS_TOKEN, or DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET, or put databricks-token in $CREDENTIALS_DIRECTORY, or databricks_token in ~/.sync/credentials',
  );
}
