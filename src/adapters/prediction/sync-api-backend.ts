// The 'sync-api' prediction backend: Sync's hosted autotuner. Contract: POST /v1/auth/token with the
// key id/secret -> `{result: {access_token, expires_at_utc?}}`; POST /v1/autotuner/predictions
// `{project_id, product_code: 'aws-emr', eventlog_url, configs}` -> `{result: {prediction_id}}`;
// poll GET /v1/autotuner/predictions/{id}/status -> `{result: {status}}` until SUCCESS or FAILURE;
// GET /v1/autotuner/predictions/{id} -> `{result: {solutions: {<preference>: {configuration, ...}}}}`.
// Errors come as `{error: {code, message}}`. A 401 re-authenticates once; the key secret and the
// token never reach a log, an error message or the result.
import { sleep as abortableSleep } from '../../domain/sleep.js';
import type { CallOptions, Logger, ObjectStore, PredictionBackend, PredictionInput } from '../../domain/ports.js';
import type { Prediction, Preference, Solution } from '../../domain/types.js';
import { PREFERENCES } from '../../domain/types.js';
import { SyncError } from '../../domain/errors.js';
import { resolveEventLog } from '../eventlog-source.js';
import { silentLogger } from '../logger.js';

export type SyncApiBackendOptions = {
  apiUrl: string;
  credentials: { apiKeyId: string; apiKeySecret: string };
  /** Turns the event log URL (s3://...) into a presigned HTTPS GET URL. */
  presign: (url: string) => Promise<string>;
  /** When given, a run's event log directory is resolved to its single log file before presigning. */
  objectStore?: ObjectStore;
  fetch?: typeof fetch;
  /** Delay between status polls (default 10 s). */
  pollMs?: number;
  /** Give up waiting for the prediction after this long (default 15 min). */
  timeoutMs?: number;
  logger?: Logger;
  /** Sleeps; injectable for tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
};

type Envelope = { result?: unknown; error?: { code?: unknown; message?: unknown } };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return abortableSleep(ms, signal, 'the prediction wait');
}

function firstNumber(...values: unknown[]): number | undefined {
  for (const v of values) if (typeof v === 'number' && Number.isFinite(v)) return v;
  return undefined;
}

/** Maps one of the API's solutions onto ours (estimate fields are read under the names the API has used). */
function toSolution(pref: Preference, raw: unknown, warnings: string[]): Solution {
  if (!isRecord(raw) || !isRecord(raw.configuration)) {
    throw new SyncError('remote_error', `Sync API prediction has no configuration for the '${pref}' solution`);
  }
  const nested = [raw, isRecord(raw.prediction) ? raw.prediction : {}, isRecord(raw.estimate) ? raw.estimate : {}];
  const runtime = firstNumber(...nested.flatMap((o) => [o.runtime_seconds, o.runtimeSeconds, o.runtime]));
  const cost = firstNumber(...nested.flatMap((o) => [o.cost_usd, o.costUsd, o.cost]));
  if (runtime === undefined || cost === undefined) warnings.push(`Sync API '${pref}' solution carries no runtime or cost estimate`);
  return {
    configuration: raw.configuration,
    estimate: { runtimeSeconds: runtime ?? 0, costUsd: cost ?? 0 },
    source: 'sync-api',
    explanation: typeof raw.explanation === 'string' ? raw.explanation : `Sync autotuner '${pref}' recommendation.`,
  };
}

/** A PredictionBackend that asks Sync's hosted autotuner. */
export function createSyncApiBackend(opts: SyncApiBackendOptions): PredictionBackend {
  const doFetch = opts.fetch ?? fetch;
  const base = opts.apiUrl.replace(/\/+$/, '');
  const pollMs = opts.pollMs ?? 10_000;
  const timeoutMs = opts.timeoutMs ?? 15 * 60_000;
  const sleep = opts.sleep ?? defaultSleep;
  const log = (opts.logger ?? silentLogger).child({ backend: 'sync-api' });
  let token: { value: string; expiresAt: number } | undefined;

  const send = async (method: string, path: string, body: unknown, headers: Record<string, string>, signal?: AbortSignal) => {
    try {
      const init: RequestInit = { method, headers: { accept: 'application/json', ...headers } };
      if (body !== undefined) {
        init.body = JSON.stringify(body);
        (init.headers as Record<string, string>)['content-type'] = 'application/json';
      }
      if (signal) init.signal = signal;
      return await doFetch(`${base}${path}`, init);
    } catch (e) {
      if (signal?.aborted) throw new SyncError('aborted', `${method} ${path} was aborted`, { cause: e });
      throw new SyncError('unavailable', `Sync API ${method} ${path}: ${(e as Error).message}`, { cause: e });
    }
  };

  const readEnvelope = async (res: Response, what: string): Promise<unknown> => {
    let doc: Envelope | undefined;
    const text = await res.text();
    try {
      doc = text ? (JSON.parse(text) as Envelope) : undefined;
    } catch {
      doc = undefined;
    }
    if (res.ok && isRecord(doc) && 'result' in doc) return doc.result;
    const err = isRecord(doc) && isRecord(doc.error) ? doc.error : undefined;
    const detail = err ? `${String(err.code ?? 'error')}: ${String(err.message ?? '')}` : `HTTP ${res.status}`;
    const code =
      res.status === 401 || res.status === 403
        ? 'access_denied'
        : res.status === 404
          ? 'not_found'
          : res.status === 429
            ? 'throttled'
            : res.status >= 500
              ? 'unavailable'
              : 'remote_error';
    throw new SyncError(code, `Sync API ${what} failed (${detail})`, { details: { status: res.status } });
  };

  const authenticate = async (signal?: AbortSignal): Promise<string> => {
    const res = await send('POST', '/v1/auth/token', { key_id: opts.credentials.apiKeyId, key_secret: opts.credentials.apiKeySecret }, {}, signal);
    const result = await readEnvelope(res, 'authentication');
    if (!isRecord(result) || typeof result.access_token !== 'string') throw new SyncError('remote_error', 'Sync API authentication answered without an access_token');
    const expiresRaw = result.expires_at_utc ?? result.expires_at;
    const expiresIn = typeof result.expires_in === 'number' ? Date.now() + result.expires_in * 1000 : undefined;
    const expiresAt = typeof expiresRaw === 'string' && !Number.isNaN(Date.parse(expiresRaw)) ? Date.parse(expiresRaw) : (expiresIn ?? Infinity);
    token = { value: result.access_token, expiresAt };
    log.debug('authenticated with the Sync API', { expiresAt: Number.isFinite(expiresAt) ? new Date(expiresAt).toISOString() : 'unknown' });
    return token.value;
  };

  const call = async (method: string, path: string, body: unknown, what: string, signal?: AbortSignal): Promise<unknown> => {
    // Renew a token that expires within 30 s rather than wait for the 401.
    const current = token && token.expiresAt - 30_000 > Date.now() ? token.value : await authenticate(signal);
    let res = await send(method, path, body, { authorization: `Bearer ${current}` }, signal);
    if (res.status === 401) {
      await res.body?.cancel();
      log.info('Sync API token rejected; authenticating again');
      const fresh = await authenticate(signal);
      res = await send(method, path, body, { authorization: `Bearer ${fresh}` }, signal);
    }
    return readEnvelope(res, what);
  };

  return {
    name: 'sync-api',
    async predict(input: PredictionInput, options: CallOptions = {}): Promise<Prediction> {
      const signal = options.signal;
      let source = input.eventLogUrl;
      if (opts.objectStore && source.endsWith('/')) {
        const layout = await resolveEventLog(source, { objectStore: opts.objectStore, ...(signal ? { signal } : {}) });
        if (layout.parts.length !== 1) {
          throw new SyncError('unsupported', `the Sync API takes one event log file; ${source} holds ${layout.parts.length} parts (a rolled log)`);
        }
        source = layout.parts[0]!.location;
      }
      const eventlogUrl = /^https?:\/\//.test(source) ? source : await opts.presign(source);
      const created = await call(
        'POST',
        '/v1/autotuner/predictions',
        { project_id: input.projectId, product_code: 'aws-emr', eventlog_url: eventlogUrl, configs: input.report },
        'prediction request',
        signal,
      );
      const id = isRecord(created) ? created.prediction_id : undefined;
      if (typeof id !== 'string' || id.length === 0) throw new SyncError('remote_error', 'Sync API answered the prediction request without a prediction_id');
      log.info('Sync API prediction requested', { remotePredictionId: id, projectId: input.projectId });
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const status = await call('GET', `/v1/autotuner/predictions/${encodeURIComponent(id)}/status`, undefined, 'prediction status', signal);
        const s = isRecord(status) ? status.status : status;
        if (s === 'SUCCESS') break;
        if (s === 'FAILURE') throw new SyncError('remote_error', `Sync API prediction ${id} failed`);
        if (Date.now() + pollMs > deadline) throw new SyncError('unavailable', `Sync API prediction ${id} not ready after ${Math.round(timeoutMs / 1000)} s`);
        await sleep(pollMs, signal);
      }
      const result = await call('GET', `/v1/autotuner/predictions/${encodeURIComponent(id)}`, undefined, 'prediction fetch', signal);
      if (!isRecord(result) || !isRecord(result.solutions)) throw new SyncError('remote_error', `Sync API prediction ${id} has no solutions`);
      const warnings: string[] = [];
      const solutions = {} as Record<Preference, Solution>;
      for (const pref of PREFERENCES) solutions[pref] = toSolution(pref, result.solutions[pref], warnings);
      const basisRaw = isRecord(result.basis) ? result.basis : isRecord(result.prediction) ? result.prediction : {};
      const prediction: Prediction = {
        predictionId: input.predictionId,
        projectId: input.projectId,
        basisRunId: input.basisRunId,
        createdAt: input.createdAt.toISOString(),
        solutions,
        basis: {
          runtimeSeconds: firstNumber(basisRaw.runtime_seconds, basisRaw.runtimeSeconds, basisRaw.runtime) ?? 0,
          costUsd: firstNumber(basisRaw.cost_usd, basisRaw.costUsd, basisRaw.cost) ?? 0,
        },
      };
      if (warnings.length > 0) prediction.warnings = warnings;
      return prediction;
    },
  };
}
