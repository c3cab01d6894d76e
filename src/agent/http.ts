import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SyncError, isSyncError, toSyncError } from '../domain/errors.js';
import type { Logger } from '../domain/ports.js';
import { requestLabel } from './metrics.js';
import type { Metrics } from './metrics.js';
import type { Enqueue, PendingState, Validate } from '../queues/requests-queue.js';
import type { Results } from '../queues/results.js';
import type { DatabricksHookAnswer } from '../queues/databricks-hook.js';
import type { Ui } from '../ui/server.js';
import type { Run } from '../domain/types.js';
import { WAIT_UNTIL, runView, startedRun, waitForRun, FINAL_RUN_STATUSES, type WaitUntil } from '../queues/run-wait.js';

/** What `/readyz` reports: overall readiness and each check (true, false, or a reason). */
export type Readiness = { ok: boolean; checks: Record<string, boolean | string> };

export type HttpServerOptions = {
  /** Default 127.0.0.1: the request ingress is not exposed unless the operator says so. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** Bearer token for /v1/requests; without one, request ingress answers 503. */
  token?: string;
  enqueue: Enqueue;
  results: Results;
  /** Where a request without a final result stands (BullMQ job state). */
  state: (id: string) => Promise<PendingState | undefined>;
  ready: () => Promise<Readiness>;
  metrics: Metrics;
  logger: Logger;
  parse: (text: string) => unknown;
  validate: Validate;
  /** Request body limit; default 256 KiB. */
  maxBodyBytes?: number;
  /** How long GET /v1/runs/:projectId/:runId/logs waits for its run.logs result; default 25000. */
  logsWaitMs?: number;
  /** A project's run (also when archived), for GET /v1/requests/:id?until=recorded; absent: until=recorded is refused. */
  readRun?: (projectId: string, runId: string) => Promise<Run | undefined>;
  /** The last orphan-cluster report (GET /v1/orphans); undefined before the first pass. */
  orphans?: () => Promise<unknown>;
  /** The dashboard, served under /ui/ (absent: /ui/ answers 404). */
  ui?: Ui;
  /** POST /v1/hooks/databricks: a Databricks job notification (absent: 404, no workspace configured). See src/queues/databricks-hook.ts. */
  databricksHook?: (payload: unknown, signal: AbortSignal) => Promise<DatabricksHookAnswer>;
};

export type HttpServer = {
  /** Starts listening; resolves with the base URL (e.g. `http://127.0.0.1:8080`). */
  listen(): Promise<{ url: string }>;
  /** Stops accepting connections and closes idle ones; waits for requests in progress. Safe to call twice. */
  close(): Promise<void>;
};

type Reply = { status: number; body: unknown; headers?: Record<string, string> };

const REALM = 'Bearer realm="sync-agent"';
const NO_TOKEN_MESSAGE =
  'request ingress is disabled because no HTTP token is configured: set SYNC_AGENT_TOKEN, or provide $CREDENTIALS_DIRECTORY/http-token (systemd LoadCredential=), or "http_token" in ~/.sync/credentials, then restart the agent';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** True when the Authorization header carries exactly `Bearer <token>`; compares in constant time. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  // Hashing both sides makes the comparison constant-time whatever the lengths.
  return timingSafeEqual(digest(m?.[1] ?? ''), digest(token)) && m !== null;
}

/**
 * True when the Authorization header is `Basic base64(user:<token>)` (any user name): Databricks webhook
 * destinations authenticate with a user name and password only. Constant-time on the password.
 */
export function basicPasswordMatches(header: string | undefined, token: string): boolean {
  const m = /^Basic[ ]+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  return timingSafeEqual(digest(colon < 0 ? '' : decoded.slice(colon + 1)), digest(token)) && m !== null && colon >= 0;
}

/** The agent's HTTP endpoint: health, readiness, metrics and the authenticated request ingress. */
export function createHttpServer(opts: HttpServerOptions): HttpServer {
  const host = opts.host ?? '127.0.0.1';
  const maxBody = opts.maxBodyBytes ?? 256 * 1024;
  const log = opts.logger.child({ component: 'http' });
  let closing: Promise<void> | undefined;

  const error = (status: number, code: string, message: string, extra: Record<string, unknown> = {}, headers?: Record<string, string>): Reply => ({
    status,
    body: { ...extra, error: { code, message } },
    ...(headers ? { headers } : {}),
  });

  const authorize = (req: IncomingMessage): Reply | undefined => {
    if (!opts.token) return error(503, 'unavailable', NO_TOKEN_MESSAGE);
    const header = req.headers.authorization;
    if (header === undefined) return error(401, 'access_denied', 'missing Authorization: Bearer <token>', {}, { 'www-authenticate': REALM });
    if (!bearerMatches(header, opts.token)) return error(401, 'access_denied', 'invalid bearer token', {}, { 'www-authenticate': `${REALM}, error="invalid_token"` });
    return undefined;
  };

  // The webhook takes the request ingress token as a bearer token, or as the password of Basic auth.
  const authorizeHook = (req: IncomingMessage): Reply | undefined => {
    if (opts.token && basicPasswordMatches(req.headers.authorization, opts.token)) return undefined;
    const header = req.headers.authorization;
    // A notification destination sends Basic auth: say what it should hold, not 'bearer token'.
    if (opts.token && (header === undefined || /^basic\s/i.test(header))) {
      const what = header === undefined ? 'missing Authorization' : 'wrong password in Basic auth';
      return error(401, 'access_denied', `${what}: the webhook takes the agent's request-ingress token (SYNC_AGENT_TOKEN) as the Basic auth password (any user name) or as a Bearer token`, {}, { 'www-authenticate': REALM });
    }
    return authorize(req);
  };

  const readBody = (req: IncomingMessage): Promise<string | Reply> =>
    new Promise((resolve, reject) => {
      const declared = Number(req.headers['content-length'] ?? NaN);
      if (declared > maxBody) {
        resolve(error(413, 'invalid_request', `request body is ${declared} bytes; the limit is ${maxBody}`, {}, { connection: 'close' }));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let over = false;
      req.on('data', (chunk: Buffer) => {
        if (over) return;
        size += chunk.length;
        if (size > maxBody) {
          over = true;
          chunks.length = 0;
          resolve(error(413, 'invalid_request', `request body exceeds the limit of ${maxBody} bytes`, {}, { connection: 'close' }));
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => {
        if (!over) resolve(Buffer.concat(chunks).toString('utf8'));
      });
      req.on('error', reject);
    });

  const postRequest = async (req: IncomingMessage): Promise<Reply> => {
    const denied = authorize(req);
    if (denied) return { ...denied, headers: { ...denied.headers, connection: 'close' } };
    const body = await readBody(req);
    if (typeof body !== 'string') return body;
    let id: string | undefined;
    let name = '';
    try {
      const raw = opts.parse(body);
      if (raw !== null && typeof raw === 'object') {
        const r = raw as { id?: unknown; name?: unknown };
        if (typeof r.id === 'string' && r.id !== '') id = r.id;
        if (typeof r.name === 'string') name = r.name;
      }
      const valid = opts.validate(raw);
      const answer = await opts.enqueue({
        ...(valid.id !== undefined ? { id: valid.id } : {}),
        name: valid.name,
        data: valid.data,
        ...(valid.idempotencyKey !== undefined ? { idempotencyKey: valid.idempotencyKey } : {}),
      });
      log.info('request accepted', { requestId: answer.id, name: valid.name, duplicate: answer.duplicate });
      return { status: 202, body: answer };
    } catch (e) {
      const err = isSyncError(e) ? e : toSyncError(e, 'invalid_request');
      if (err.code !== 'invalid_request' && err.code !== 'unknown_request') {
        log.warn('request could not be enqueued', { name, error: err.toJSON() });
        return error(503, err.code, err.message, {}, { 'retry-after': '5' });
      }
      let rejectedId = id ?? randomUUID();
      try {
        // The id of a finished request is never overwritten: answer the rejection under a fresh one.
        if (!(await opts.results.publish({ id: rejectedId, name, status: 'rejected', error: err.toJSON() }))) {
          rejectedId = randomUUID();
          await opts.results.publish({ id: rejectedId, name, status: 'rejected', error: err.toJSON() });
        }
      } catch (pe) {
        log.warn('could not publish a rejected result', { error: pe });
      }
      opts.metrics.requests.inc({ name: requestLabel(name, err.code), outcome: 'rejected' });
      return { status: 400, body: { id: rejectedId, error: err.toJSON() } };
    }
  };

  // POST /v1/hooks/databricks: 202 with what was handed off (or why nothing was); 400 for a body naming no run.
  const postDatabricksHook = async (req: IncomingMessage): Promise<Reply> => {
    if (!opts.databricksHook) return error(404, 'not_found', 'no Databricks workspace is configured (site.databricks), so there is no Databricks webhook');
    const denied = authorizeHook(req);
    if (denied) return { ...denied, headers: { ...denied.headers, connection: 'close' } };
    const body = await readBody(req);
    if (typeof body !== 'string') return body;
    let payload: unknown;
    try {
      payload = JSON.parse(body);
    } catch {
      return error(400, 'invalid_request', 'the webhook body is not JSON');
    }
    try {
      const answer = await opts.databricksHook(payload, AbortSignal.timeout(20_000));
      if (answer.outcome === 'ignored') log.info('Databricks webhook ignored', { databricksRunId: answer.databricksRunId, reason: answer.reason });
      return { status: 202, body: answer };
    } catch (e) {
      const err = toSyncError(e);
      if (err.code === 'invalid_request') return error(400, err.code, err.message);
      log.warn('Databricks webhook not handled; the poller still hands the run off', { error: err.toJSON() });
      return error(503, err.code, err.message, {}, { 'retry-after': '5' });
    }
  };

  const getRequest = async (req: IncomingMessage, id: string): Promise<Reply> => {
    const denied = authorize(req);
    if (denied) return denied;
    const params = new URL(req.url ?? '/', 'http://agent').searchParams;
    // ?until=recorded: for a run.start, answer once the run it started is recorded (or failed, or cancelled).
    const untilParam = params.get('until');
    if (untilParam !== null && !(WAIT_UNTIL as readonly string[]).includes(untilParam)) {
      return error(400, 'invalid_request', `until must be one of ${WAIT_UNTIL.join(', ')}, not ${JSON.stringify(untilParam)}`);
    }
    const until = (untilParam ?? 'started') as WaitUntil;
    if (until === 'recorded' && !opts.readRun) return error(400, 'invalid_request', 'until=recorded is not available on this server (it cannot read project state)');
    let entry = await opts.results.get(id);
    // ?wait=SECONDS: hold the answer until the request has its result (at most 25 s, under the server's timeouts).
    const waitParam = params.get('wait');
    let deadline = Date.now();
    if (waitParam !== null) {
      if (!/^\d{1,4}(\.\d+)?$/.test(waitParam)) return error(400, 'invalid_request', `wait must be a number of seconds, not ${JSON.stringify(waitParam)}`);
      deadline += Math.min(Number(waitParam), 25) * 1000;
    }
    while (!entry && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      entry = await opts.results.get(id);
    }
    if (entry && until === 'recorded' && entry.status === 'completed') {
      const target = startedRun(entry);
      if (!target) return error(400, 'invalid_request', `until=recorded waits for the run a run.start started; request ${id} (${entry.name}) started none`, { id });
      // Within the same wait: the run's status is read until it is final or the wait is over.
      const run = await waitForRun(() => opts.readRun!(target.projectId, target.runId), { deadline, pollMs: 200 });
      const view = run ? runView(run) : { id: target.runId, projectId: target.projectId, status: 'unknown' };
      return { status: 200, body: { ...entry, run: view, recorded: run !== undefined && FINAL_RUN_STATUSES.has(run.status) } };
    }
    if (entry) return { status: 200, body: entry };
    const state = await opts.state(id);
    if (state) return { status: 200, body: { id, status: state } };
    return error(404, 'not_found', `no request with id ${JSON.stringify(id)} (unknown, or its result expired)`);
  };

  // GET /v1/runs/:projectId/:runId/logs?step=&stream=&offset=: a run.logs request through the queue,
  // answered when its result is in (bounded wait), so any agent of the site can serve it.
  const getLogs = async (req: IncomingMessage, projectId: string, runId: string): Promise<Reply> => {
    const denied = authorize(req);
    if (denied) return denied;
    const query = new URL(req.url ?? '/', 'http://agent').searchParams;
    const data: Record<string, unknown> = { projectId, runId };
    const step = query.get('step');
    const stream = query.get('stream');
    const offset = query.get('offset');
    if (step) data.stepId = step;
    if (stream) data.stream = stream;
    if (offset !== null) {
      if (!/^\d{1,15}$/.test(offset)) return error(400, 'invalid_request', `offset must be a non-negative integer, not ${JSON.stringify(offset)}`);
      data.offset = Number(offset);
    }
    let valid;
    try {
      valid = opts.validate({ name: 'run.logs', data });
    } catch (e) {
      const err = toSyncError(e, 'invalid_request');
      return error(400, err.code, err.message);
    }
    const { id } = await opts.enqueue({ name: valid.name, data: valid.data });
    const deadline = Date.now() + (opts.logsWaitMs ?? 25_000);
    for (let i = 0; Date.now() < deadline && i < 10_000; i++) {
      const entry = await opts.results.get(id);
      if (entry?.status === 'completed') return { status: 200, body: entry.result };
      if (entry) {
        const code = entry.error?.code ?? 'internal';
        return error(code === 'not_found' ? 404 : code === 'invalid_request' ? 400 : 502, code, entry.error?.message ?? 'run.logs failed', { id });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return error(504, 'timeout', `run.logs ${id} has no answer yet; read it later with GET /v1/requests/${id}`, { id });
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<Reply | undefined> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    const only = (allowed: string): Reply | undefined =>
      method === allowed || (allowed === 'GET' && method === 'HEAD') ? undefined : error(405, 'invalid_request', `${method} is not allowed on ${path}`, {}, { allow: allowed });
    if (path === '/healthz') return only('GET') ?? { status: 200, body: { status: 'ok' } };
    if (path === '/ui' || path.startsWith('/ui/')) {
      if (!opts.ui) return error(404, 'not_found', 'the dashboard is turned off (site.http.ui: false)');
      await opts.ui.handle(req, res);
      return undefined;
    }
    if (path === '/readyz') {
      const notAllowed = only('GET');
      if (notAllowed) return notAllowed;
      const r = await opts.ready().catch((e: unknown): Readiness => ({ ok: false, checks: { ready: toSyncError(e).message } }));
      return { status: r.ok ? 200 : 503, body: r };
    }
    if (path === '/metrics') {
      const notAllowed = only('GET');
      if (notAllowed) return notAllowed;
      const text = await opts.metrics.render();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) });
      res.end(method === 'HEAD' ? undefined : text);
      return undefined;
    }
    if (path === '/v1/requests') return only('POST') ?? postRequest(req);
    if (path === '/v1/orphans') {
      const notAllowed = only('GET') ?? authorize(req);
      if (notAllowed) return notAllowed;
      const report = opts.orphans ? await opts.orphans() : undefined;
      // Before the first sweep (or on an agent without one): an empty report that says so.
      return { status: 200, body: report ?? { orphans: [], note: 'no orphan sweep has run yet (it runs at the end of each reconciler pass, site.reconcile.intervalMs)' } };
    }
    if (path === '/v1/hooks/databricks') return only('POST') ?? postDatabricksHook(req);
    const logs = /^\/v1\/runs\/([^/]+)\/([^/]+)\/logs$/.exec(path);
    if (logs) {
      try {
        return only('GET') ?? (await getLogs(req, decodeURIComponent(logs[1]!), decodeURIComponent(logs[2]!)));
      } catch (e) {
        if (e instanceof URIError) return error(400, 'invalid_request', 'the run in the path is not valid percent-encoding');
        throw e;
      }
    }
    const m = /^\/v1\/requests\/([^/]+)$/.exec(path);
    if (m) {
      let id: string;
      try {
        id = decodeURIComponent(m[1]!);
      } catch {
        return error(400, 'invalid_request', 'the request id in the path is not valid percent-encoding');
      }
      return only('GET') ?? getRequest(req, id);
    }
    return error(404, 'not_found', `no route ${method} ${path}`);
  };

  const server = createServer((req, res) => {
    const started = Date.now();
    const finish = (reply: Reply) => {
      const text = JSON.stringify(reply.body);
      res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...reply.headers });
      res.end(req.method === 'HEAD' ? undefined : text);
    };
    route(req, res)
      .then((reply) => {
        if (reply) finish(reply);
      })
      .catch((e: unknown) => {
        const err = toSyncError(e);
        log.error('http handler failed', { error: err.toJSON(), path: (req.url ?? '').split('?')[0] });
        if (!res.headersSent) finish(error(500, 'internal', 'internal error'));
        else res.destroy();
      })
      .finally(() => {
        // Method, path and status only: never headers (Authorization) or bodies.
        log.debug('http', { method: req.method, path: (req.url ?? '').split('?')[0], status: res.statusCode, ms: Date.now() - started });
      });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 15_000;

  return {
    listen() {
      return new Promise((resolve, reject) => {
        server.once('error', (e) => reject(new SyncError('unavailable', `cannot listen on ${host}:${opts.port}: ${e.message}`, { cause: e })));
        server.listen(opts.port, host, () => {
          const a = server.address() as AddressInfo;
          const h = a.family === 'IPv6' ? `[${a.address}]` : a.address;
          const url = `http://${h}:${a.port}`;
          log.info('http listening', { url, ingress: opts.token ? 'enabled' : 'disabled (no token)' });
          resolve({ url });
        });
      });
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
