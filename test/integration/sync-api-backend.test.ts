// The sync-api backend against a local HTTP server that follows Sync's contract: token auth with
// expiry, 401 on stale tokens, prediction create -> status polling -> fetch, and error envelopes.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../src/adapters/logger.js';
import { createSyncApiBackend } from '../../src/adapters/prediction/sync-api-backend.js';
import { isSyncError } from '../../src/domain/errors.js';
import type { PredictionInput } from '../../src/domain/ports.js';
import { createMemoryObjectStore } from '../support/memory-object-store.js';
import { rejection } from '../support/async.js';

const KEY_ID = 'key-id-123';
const KEY_SECRET = 'super-secret-value-456';

type Scenario = {
  tokenTtlMs: number;
  pendingPolls: number;
  finalStatus: 'SUCCESS' | 'FAILURE';
  createError?: { status: number; code: string; message: string };
  /** Invalidate every token once the prediction has been created (server-side revocation). */
  revokeAfterCreate: boolean;
};

type State = {
  scenario: Scenario;
  tokens: Map<string, number>;
  issued: number;
  unauthorized: number;
  polls: number;
  created: Record<string, unknown>[];
  requests: string[];
};

const state: State = { scenario: defaults(), tokens: new Map(), issued: 0, unauthorized: 0, polls: 0, created: [], requests: [] };

function defaults(): Scenario {
  return { tokenTtlMs: 3600_000, pendingPolls: 2, finalStatus: 'SUCCESS', revokeAfterCreate: false };
}

function reset(s: Partial<Scenario> = {}) {
  Object.assign(state, { scenario: { ...defaults(), ...s }, tokens: new Map(), issued: 0, unauthorized: 0, polls: 0, created: [], requests: [] });
}

const SOLUTIONS = {
  performance: { configuration: { Instances: { InstanceGroups: [{ InstanceRole: 'CORE', InstanceType: 'r5.2xlarge', InstanceCount: 8 }] } }, runtime_seconds: 600, cost_usd: 4.2 },
  balanced: { configuration: { Instances: { InstanceGroups: [{ InstanceRole: 'CORE', InstanceType: 'r5.xlarge', InstanceCount: 8 }] } }, runtime_seconds: 900, cost_usd: 3.1 },
  economy: { configuration: { Instances: { InstanceGroups: [{ InstanceRole: 'CORE', InstanceType: 'm5.xlarge', InstanceCount: 4 }] } }, runtime_seconds: 1800, cost_usd: 2.0 },
};

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

function send(res: ServerResponse, status: number, doc: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(doc));
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', 'http://x');
  state.requests.push(`${req.method} ${url.pathname}`);
  if (req.method === 'POST' && url.pathname === '/v1/auth/token') {
    const b = (await body(req)) as { key_id?: string; key_secret?: string };
    if (b?.key_id !== KEY_ID || b?.key_secret !== KEY_SECRET) return send(res, 401, { error: { code: 'Unauthorized', message: 'invalid API key' } });
    const token = `tok-${++state.issued}`;
    const expires = Date.now() + state.scenario.tokenTtlMs;
    state.tokens.set(token, expires);
    return send(res, 200, { result: { access_token: token, expires_at_utc: new Date(expires).toISOString() } });
  }
  const auth = req.headers.authorization ?? '';
  const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
  const exp = state.tokens.get(token);
  if (exp === undefined || exp < Date.now()) {
    state.unauthorized++;
    return send(res, 401, { error: { code: 'Unauthorized', message: 'token expired or unknown' } });
  }
  if (req.method === 'POST' && url.pathname === '/v1/autotuner/predictions') {
    const b = (await body(req)) as Record<string, unknown>;
    if (state.scenario.createError) {
      const e = state.scenario.createError;
      return send(res, e.status, { error: { code: e.code, message: e.message } });
    }
    if (b.product_code !== 'aws-emr' || typeof b.eventlog_url !== 'string' || !/^https?:/.test(b.eventlog_url) || typeof b.configs !== 'object' || !b.project_id) {
      return send(res, 400, { error: { code: 'Invalid Request', message: 'missing project_id, product_code, eventlog_url or configs' } });
    }
    state.created.push(b);
    if (state.scenario.revokeAfterCreate) state.tokens.clear();
    return send(res, 200, { result: { prediction_id: 'pred-1' } });
  }
  if (req.method === 'GET' && url.pathname === '/v1/autotuner/predictions/pred-1/status') {
    state.polls++;
    const status = state.polls <= state.scenario.pendingPolls ? 'PENDING' : state.scenario.finalStatus;
    return send(res, 200, { result: { status } });
  }
  if (req.method === 'GET' && url.pathname === '/v1/autotuner/predictions/pred-1') {
    return send(res, 200, { result: { prediction_id: 'pred-1', solutions: SOLUTIONS } });
  }
  return send(res, 404, { error: { code: 'Not Found', message: `${req.method} ${url.pathname}` } });
}

const api = suite('sync-api backend');
let server: Server;
let apiUrl = '';
const logLines: string[] = [];

api.before(async () => {
  server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => send(res, 500, { error: { code: 'Internal', message: String(e) } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

api.after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const presigned: string[] = [];
function backend(overrides: { apiKeySecret?: string } = {}) {
  return createSyncApiBackend({
    apiUrl,
    credentials: { apiKeyId: KEY_ID, apiKeySecret: overrides.apiKeySecret ?? KEY_SECRET },
    presign: async (u) => {
      presigned.push(u);
      return `${apiUrl}/presigned?src=${encodeURIComponent(u)}`;
    },
    pollMs: 1,
    timeoutMs: 10_000,
    logger: createLogger({ level: 'debug', sink: (l) => logLines.push(l) }),
  });
}

const input: PredictionInput = {
  projectId: 'proj-1',
  basisRunId: 'run-1',
  eventLogUrl: 's3://bucket/proj-1/2024-01-01T00:00:00Z/run-1/eventlog/',
  report: { Cluster: { Id: 'j-1' }, Instances: [], Steps: [], BootstrapActions: [], Region: 'us-east-1' },
  history: [],
  predictionId: 'local-pred-1',
  createdAt: new Date('2024-01-02T00:00:00Z'),
};


api('creates, polls until SUCCESS and maps the three solutions; the event log URL is presigned', async () => {
  reset({ pendingPolls: 3 });
  const p = await backend().predict(input);
  assert.is(state.polls, 4);
  assert.is(state.issued, 1);
  assert.is(state.created.length, 1);
  assert.equal(presigned.at(-1), input.eventLogUrl);
  assert.match(String(state.created[0]!.eventlog_url), /^http:\/\/127\.0\.0\.1:\d+\/presigned\?src=s3/);
  assert.equal(state.created[0]!.configs, input.report);
  assert.is(state.created[0]!.project_id, 'proj-1');
  assert.is(p.predictionId, 'local-pred-1');
  assert.is(p.basisRunId, 'run-1');
  assert.is(p.solutions.balanced.source, 'sync-api');
  assert.equal(p.solutions.performance.estimate, { runtimeSeconds: 600, costUsd: 4.2 });
  assert.equal(p.solutions.economy.configuration, SOLUTIONS.economy.configuration);
});

api('a token about to expire is renewed before use (no request is refused)', async () => {
  reset({ tokenTtlMs: 5_000, pendingPolls: 1 });
  await backend().predict(input);
  // create + 2 status + fetch = 4 calls, each with a fresh token, none refused.
  assert.is(state.issued, 4);
  assert.is(state.unauthorized, 0);
});

api('a 401 on a stale token re-authenticates once and carries on', async () => {
  reset({ revokeAfterCreate: true, pendingPolls: 0 });
  const p = await backend().predict(input);
  assert.is(state.unauthorized, 1);
  assert.is(state.issued, 2);
  assert.is(p.solutions.performance.estimate.runtimeSeconds, 600);
});

api('error envelopes become SyncErrors that name the remote code and message', async () => {
  reset({ createError: { status: 400, code: 'Invalid Event Log', message: 'eventlog_url could not be read' } });
  const e = await rejection(backend().predict(input));
  assert.ok(isSyncError(e, 'remote_error'), String(e));
  assert.match((e as Error).message, /Invalid Event Log: eventlog_url could not be read/);
  assert.is((e as { retryable: boolean }).retryable, false);
  reset({ createError: { status: 503, code: 'Unavailable', message: 'try later' } });
  const u = await rejection(backend().predict(input));
  assert.ok(isSyncError(u, 'unavailable'));
  assert.is((u as { retryable: boolean }).retryable, true);
});

api('a FAILURE status and bad credentials are reported', async () => {
  reset({ finalStatus: 'FAILURE', pendingPolls: 1 });
  const f = await rejection(backend().predict(input));
  assert.ok(isSyncError(f, 'remote_error'));
  assert.match((f as Error).message, /pred-1 failed/);
  reset();
  const d = await rejection(backend({ apiKeySecret: 'wrong-secret-value' }).predict(input));
  assert.ok(isSyncError(d, 'access_denied'));
  assert.match((d as Error).message, /invalid API key/);
});

api('neither the key secret nor a token ever reaches the logs or an error', async () => {
  assert.ok(logLines.length > 0);
  const all = logLines.join('\n');
  assert.not.match(all, KEY_SECRET);
  assert.not.match(all, /tok-\d+/);
});

api('a run directory is resolved to its one event log file before presigning', async () => {
  reset({ pendingPolls: 0 });
  const store = createMemoryObjectStore();
  await store.put(`${input.eventLogUrl}application_1700000000000_0001`, '{"Event":"SparkListenerLogStart"}\n');
  const b = createSyncApiBackend({ apiUrl, credentials: { apiKeyId: KEY_ID, apiKeySecret: KEY_SECRET }, presign: async (u) => `${apiUrl}/p?u=${encodeURIComponent(u)}`, pollMs: 1, objectStore: store });
  await b.predict(input);
  assert.is(decodeURIComponent(String(state.created[0]!.eventlog_url).split('?u=')[1]!), `${input.eventLogUrl}application_1700000000000_0001`);
});

api('the server is really refusing stale tokens (sanity check of the fake)', async () => {
  const res = await fetch(`${apiUrl}/v1/autotuner/predictions/pred-1/status`, { headers: { authorization: 'Bearer nope' } });
  assert.is(res.status, 401);
  assert.equal(await res.json(), { error: { code: 'Unauthorized', message: 'token expired or unknown' } });
});

api.run();
