// The dashboard under /ui/: sign-in, pages and CSRF-checked actions. Every action is enqueued as the same
// request a client would send (with an idempotency key), so the results stream is the audit trail.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { toSyncError } from '../domain/errors.js';
import type { Logger, ObjectStore, StateStore } from '../domain/ports.js';
import { configurationOf, lastGoodRun } from '../domain/tuning-policy.js';
import type { Prediction, ProjectState } from '../domain/types.js';
import type { Enqueue } from '../queues/requests-queue.js';
import { UI_CSS, UI_JS } from './assets.js';
import { createUiAuth, type Session } from './auth.js';
import { mergeRuns } from '../domain/run-archive.js';
import type { RunArchiveChunk } from '../domain/run-archive.js';
import { jsonDiff, projectRow } from './model.js';
import { messagePage, projectPage, projectsPage, queuePage, runPage, signInPage, type QueueView } from './pages.js';

export type UiDeps = {
  /** The HTTP token (a getter: a reload that changes it signs everyone out). */
  token: () => string | undefined;
  /** Add `Secure` to the session cookie (false only on loopback). */
  secureCookies: boolean;
  state: StateStore;
  objects: ObjectStore;
  enqueue: Enqueue;
  queue: () => Promise<QueueView>;
  /** The `analyze` summary of an event log (cached by the caller or here). */
  analyze?: (eventLogUrl: string, signal: AbortSignal) => Promise<Record<string, unknown>>;
  logger: Logger;
  region: string;
  defaultPreference: string;
  databricksHost?: string;
  /** Runs per page on a project page; default 50. */
  pageSize?: number;
  now?: () => number;
};

export type Ui = {
  /** Answers a request whose path is /ui or starts with /ui/. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** A path that signs one browser in once (the demo prints it): `/ui/sign-in?once=CODE`. */
  oneTimeSignInPath(): string;
};

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on form posts, which the origin check refuses.
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
};

const MAX_FORM_BYTES = 16 * 1024;
const ACTIONS = new Set(['apply', 'predict', 'mode', 'sla', 'rollback']);

function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_FORM_BYTES) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

/** Creates the dashboard handler. */
export function createUi(deps: UiDeps): Ui {
  const log = deps.logger.child({ component: 'ui' });
  const auth = createUiAuth({ token: deps.token, secure: deps.secureCookies, ...(deps.now ? { now: deps.now } : {}) });
  const pageSize = deps.pageSize ?? 50;
  const analyses = new Map<string, Promise<Record<string, unknown>>>();

  const send = (res: ServerResponse, status: number, html: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(html), ...SECURITY_HEADERS, ...headers });
    res.end(html);
  };
  const redirect = (res: ServerResponse, to: string, headers: Record<string, string> = {}) => {
    res.writeHead(303, { location: to, 'cache-control': 'no-store', 'content-length': 0, ...SECURITY_HEADERS, ...headers });
    res.end();
  };
  const asset = (res: ServerResponse, type: string, body: string) => {
    res.writeHead(200, { 'content-type': type, 'cache-control': 'public, max-age=300', 'content-length': Buffer.byteLength(body), ...SECURITY_HEADERS });
    res.end(body);
  };
  const notFound = (res: ServerResponse, session: Session, what: string) => send(res, 404, messagePage({ csrf: session.csrf, title: 'Not found' }, 'Not found', `${what} was not found.`));
  const forbidden = (res: ServerResponse, message: string, session?: Session) =>
    send(res, 403, messagePage({ ...(session ? { csrf: session.csrf } : {}), title: 'Forbidden' }, 'Forbidden', message));

  // A cross-site form post is refused even before the CSRF token is looked at.
  const sameOrigin = (req: IncomingMessage): boolean => {
    const origin = req.headers.origin;
    if (origin === undefined || origin === 'null') return origin === undefined;
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  };

  const loadState = async (projectId: string): Promise<ProjectState | undefined> => (await deps.state.get(projectId))?.value;

  // A project's document keeps its recent runs; older ones are archived beside it (run-archive.ts).
  const archived = async (state: ProjectState, all: boolean): Promise<RunArchiveChunk[]> => {
    if (!state.archive || !deps.state.archivedRuns) return [];
    const chunks: RunArchiveChunk[] = [];
    for await (const c of deps.state.archivedRuns(state.project.id)) {
      chunks.push(c);
      if (!all) break;
    }
    return chunks;
  };
  /** The state with its oldest archived chunk's runs in front (for "last run against the first"), or every run. */
  const withArchive = async (state: ProjectState, all: boolean): Promise<ProjectState> => {
    const chunks = await archived(state, all).catch((e: unknown) => {
      log.warn('could not read archived runs', { projectId: state.project.id, error: toSyncError(e).toJSON() });
      return [];
    });
    return chunks.length === 0 ? state : { ...state, runs: mergeRuns(chunks, state.runs) };
  };

  const latestPrediction = async (state: ProjectState): Promise<Prediction | undefined> => {
    const last = state.predictions[state.predictions.length - 1];
    if (!last) return undefined;
    try {
      return JSON.parse((await deps.objects.get(last.url)).body.toString('utf8')) as Prediction;
    } catch (e) {
      log.warn('could not read the latest prediction', { projectId: state.project.id, predictionId: last.id, error: toSyncError(e).toJSON() });
      return undefined;
    }
  };

  const readJson = async (url: string): Promise<Record<string, unknown>> => JSON.parse((await deps.objects.get(url)).body.toString('utf8')) as Record<string, unknown>;

  const analysisOf = (url: string): Promise<Record<string, unknown>> => {
    let p = analyses.get(url);
    if (!p) {
      const signal = AbortSignal.timeout(60_000);
      p = deps.analyze!(url, signal);
      analyses.set(url, p);
      p.catch(() => analyses.delete(url));
      while (analyses.size > 16) analyses.delete(analyses.keys().next().value!);
    }
    return p;
  };

  const pageProjects = async (res: ServerResponse, session: Session, notice?: string) => {
    const rows = [];
    for (const id of await deps.state.list()) {
      const s = await loadState(id);
      if (s) rows.push(projectRow(await withArchive(s, false), deps.defaultPreference));
    }
    rows.sort((a, b) => a.name.localeCompare(b.name));
    send(res, 200, projectsPage(rows, { csrf: session.csrf, title: 'Projects', ...(notice ? { notice } : {}) }));
  };

  const pageProject = async (res: ServerResponse, session: Session, projectId: string, query: URLSearchParams) => {
    const doc = await loadState(projectId);
    if (!doc) return notFound(res, session, `Project ${JSON.stringify(projectId)}`);
    const page = Number(query.get('page') ?? 1) || 1;
    // Pages past the document's own runs read the whole archive; the first pages read only its oldest chunk.
    const state = await withArchive(doc, page * pageSize > doc.runs.length);
    const prediction = await latestPrediction(state);
    const notice = query.get('sent') ? `Sent ${query.get('what') ?? 'the request'} as request ${query.get('sent')}. Its result is in the results stream; a new run appears here when it starts.` : undefined;
    const html = projectPage(
      {
        state,
        row: projectRow(state, deps.defaultPreference),
        region: deps.region,
        ...(deps.databricksHost ? { databricksHost: deps.databricksHost } : {}),
        ...(prediction ? { prediction } : {}),
        page,
        totalRuns: doc.runs.length + (doc.archive?.runs ?? 0),
        chartRuns: doc.runs,
        pageSize,
        nonce: randomBytes(12).toString('base64url'),
      },
      { csrf: session.csrf, title: state.project.name, ...(notice ? { notice } : {}) },
    );
    send(res, 200, html);
  };

  const pageRun = async (res: ServerResponse, session: Session, projectId: string, runId: string) => {
    const doc = await loadState(projectId);
    const state = doc && !doc.runs.some((r) => r.id === runId) ? await withArchive(doc, true) : doc;
    const i = state ? state.runs.findIndex((r) => r.id === runId) : -1;
    if (!state || i < 0) return notFound(res, session, `Run ${JSON.stringify(runId)}`);
    const run = state.runs[i]!;
    const previous = i > 0 ? state.runs[i - 1] : undefined;
    const requestFile = state.project.platform === 'databricks' ? 'runs-submit.json' : 'job-flow.json';
    let diff;
    let diffNote: string | undefined;
    if (previous) {
      try {
        const [a, b] = await Promise.all([readJson(`${previous.location}${requestFile}`), readJson(`${run.location}${requestFile}`)]);
        // What differs by construction (run ids, per-run log locations) is not a configuration change.
        diff = jsonDiff(a, b, (path) => /sync:run-id|sync:prediction-id|eventLog\.dir|LogUri|cluster_log_conf|idempotency_token|\.Name$|^Name$|run_name/.test(path));
      } catch (e) {
        diffNote = `The requests of these runs could not be read: ${toSyncError(e).message}`;
      }
    }
    let report;
    let reportNote: string | undefined;
    if (run.reportUrl) {
      try {
        report = await readJson(run.reportUrl);
      } catch (e) {
        reportNote = `The cluster report could not be read: ${toSyncError(e).message}`;
      }
    }
    let analysis;
    let analysisNote: string | undefined;
    if (run.eventLogUrl && deps.analyze) {
      try {
        analysis = await analysisOf(run.eventLogUrl);
      } catch (e) {
        analysisNote = `The event log could not be read: ${toSyncError(e).message}`;
      }
    }
    send(
      res,
      200,
      runPage(
        {
          state,
          run,
          ...(previous ? { previous } : {}),
          ...(diff ? { diff } : {}),
          ...(diffNote ? { diffNote } : {}),
          ...(report ? { report } : {}),
          ...(reportNote ? { reportNote } : {}),
          ...(analysis ? { analysis } : {}),
          ...(analysisNote ? { analysisNote } : {}),
          region: deps.region,
          ...(deps.databricksHost ? { databricksHost: deps.databricksHost } : {}),
        },
        { csrf: session.csrf, title: `Run ${runId}` },
      ),
    );
  };

  /** The request an action sends; undefined with a message when the form is not usable. */
  const requestFor = async (action: string, projectId: string, form: URLSearchParams): Promise<{ name: string; data: Record<string, unknown> } | { refused: string }> => {
    switch (action) {
      case 'apply': {
        const predictionId = form.get('predictionId') ?? undefined;
        const preference = form.get('preference') ?? undefined;
        return { name: 'prediction.apply', data: { projectId, ...(predictionId ? { predictionId } : {}), ...(preference ? { preference } : {}) } };
      }
      case 'predict':
        return { name: 'prediction.create', data: { projectId } };
      case 'mode':
        return { name: 'project.update', data: { projectId, mode: form.get('mode') ?? '' } };
      case 'sla': {
        const state = await loadState(projectId);
        if (!state) return { refused: `Project ${JSON.stringify(projectId)} was not found.` };
        const raw = (form.get('maxRuntimeSeconds') ?? '').trim();
        const policy: Record<string, unknown> = { ...(state.project.policy ?? {}) };
        if (raw === '') delete policy['maxRuntimeSeconds'];
        else if (!/^\d+$/.test(raw) || Number(raw) < 1) return { refused: `The SLA must be a whole number of seconds (got ${JSON.stringify(raw)}).` };
        else policy['maxRuntimeSeconds'] = Number(raw);
        return { name: 'project.update', data: { projectId, policy: Object.keys(policy).length > 0 ? policy : null } };
      }
      case 'rollback': {
        const state = await loadState(projectId);
        const latest = state?.runs[state.runs.length - 1];
        if (!state || !latest) return { refused: 'There is no run to roll back from.' };
        const good = latest.status === 'recorded' && latest.regressed === undefined ? latest : lastGoodRun(state, latest);
        if (!good) return { refused: 'No earlier run was recorded without a regression: there is no last good configuration.' };
        const next = configurationOf(good);
        return 'predictionId' in next
          ? { name: 'prediction.apply', data: { projectId, predictionId: next.predictionId, preference: next.preference } }
          : { name: 'run.start', data: { projectId } };
      }
      default:
        return { refused: `Unknown action ${JSON.stringify(action)}.` };
    }
  };

  const act = async (req: IncomingMessage, res: ServerResponse, session: Session, projectId: string, action: string) => {
    const form = await readForm(req);
    if (!form) return send(res, 413, signInPage('That form was too large.'));
    if (!auth.csrfMatches(session, form.get('csrf') ?? undefined)) {
      log.warn('ui action refused: bad CSRF token', { action, projectId });
      return forbidden(res, 'The form was stale or not from this dashboard (CSRF token). Reload the page and try again.', session);
    }
    const request = await requestFor(action, projectId, form);
    const back = `/ui/projects/${encodeURIComponent(projectId)}`;
    if ('refused' in request) return send(res, 400, messagePage({ csrf: session.csrf, title: 'Not done' }, 'Not done', request.refused, back));
    const nonce = (form.get('nonce') ?? '').replace(/[^A-Za-z0-9_-]/g, '').slice(0, 32) || randomBytes(12).toString('base64url');
    try {
      const answer = await deps.enqueue({ name: request.name, data: request.data, idempotencyKey: `ui:${action}:${projectId}:${nonce}` });
      log.info('ui action enqueued', { action, projectId, requestId: answer.id, name: request.name, duplicate: answer.duplicate });
      redirect(res, `/ui/projects/${encodeURIComponent(projectId)}?sent=${encodeURIComponent(answer.id)}&what=${encodeURIComponent(request.name)}`);
    } catch (e) {
      const err = toSyncError(e);
      log.warn('ui action could not be enqueued', { action, projectId, error: err.toJSON() });
      send(res, err.code === 'invalid_request' ? 400 : 503, messagePage({ csrf: session.csrf, title: 'Not sent' }, 'Not sent', `Could not send ${request.name}: ${err.message}`, back));
    }
  };

  return {
    oneTimeSignInPath: () => `/ui/sign-in?once=${auth.oneTimeCode()}`,
    async handle(req, res) {
      const url = new URL(req.url ?? '/ui/', 'http://ui.invalid');
      const path = url.pathname.replace(/\/+$/, '') || '/';
      const method = req.method ?? 'GET';
      if (path === '/ui/assets/app.css') return asset(res, 'text/css; charset=utf-8', UI_CSS);
      if (path === '/ui/assets/app.js') return asset(res, 'text/javascript; charset=utf-8', UI_JS);
      if (path === '/ui/sign-in' && method === 'POST') {
        const client = req.socket.remoteAddress ?? 'unknown';
        if (!sameOrigin(req)) return send(res, 403, signInPage('Sign-in refused: the form did not come from this dashboard.'));
        const form = await readForm(req);
        const result = auth.signIn(form?.get('token') ?? '', client);
        if (result.ok) {
          log.info('ui sign-in', { client });
          return redirect(res, '/ui/', { 'set-cookie': result.cookie });
        }
        // The attempt itself is never logged.
        log.warn('ui sign-in refused', { client, reason: result.reason });
        if (result.reason === 'rate-limited') return send(res, 429, signInPage(`Too many wrong tokens: try again in ${result.retryAfterSeconds} s.`), { 'retry-after': String(result.retryAfterSeconds) });
        if (result.reason === 'no-token') return send(res, 503, signInPage('The dashboard is disabled until an HTTP token is configured (SYNC_AGENT_TOKEN or the http-token credential).'));
        return send(res, 401, signInPage('That token is not right.'));
      }
      if (path === '/ui/sign-in' && url.searchParams.has('once')) {
        const result = auth.redeem(url.searchParams.get('once') ?? '');
        if (result.ok) return redirect(res, '/ui/', { 'set-cookie': result.cookie });
        log.warn('ui one-time sign-in refused', { reason: result.reason });
        return send(res, 401, signInPage('That sign-in link was used already or has expired: sign in with the token.'));
      }
      if (path === '/ui/sign-in') return send(res, 200, signInPage());
      const session = auth.session(req.headers.cookie);
      if (!session) {
        // Nothing but the sign-in page before sign-in: pages answer it with 401, actions 403.
        if (method === 'POST') return send(res, 403, signInPage('Sign in first.'));
        return send(res, 401, signInPage());
      }
      if (method === 'POST') {
        if (!sameOrigin(req)) return forbidden(res, 'Cross-site form posts are refused.', session);
        if (path === '/ui/sign-out') {
          const form = await readForm(req);
          if (!auth.csrfMatches(session, form?.get('csrf') ?? undefined)) return forbidden(res, 'The form was stale (CSRF token). Reload the page and try again.', session);
          return redirect(res, '/ui/sign-in', { 'set-cookie': auth.signOut(session) });
        }
        const m = /^\/ui\/projects\/([^/]+)\/([a-z]+)$/.exec(path);
        if (m && ACTIONS.has(m[2]!)) return act(req, res, session, decodeURIComponent(m[1]!), m[2]!);
        return notFound(res, session, 'That action');
      }
      if (method !== 'GET' && method !== 'HEAD') return send(res, 405, messagePage({ csrf: session.csrf, title: 'Not allowed' }, 'Not allowed', `${method} is not allowed here.`), { allow: 'GET, POST' });
      if (path === '/ui') return pageProjects(res, session);
      if (path === '/ui/queue') return send(res, 200, queuePage(await deps.queue(), { csrf: session.csrf, title: 'Queue' }));
      const run = /^\/ui\/projects\/([^/]+)\/runs\/([^/]+)$/.exec(path);
      if (run) return pageRun(res, session, decodeURIComponent(run[1]!), decodeURIComponent(run[2]!));
      const project = /^\/ui\/projects\/([^/]+)$/.exec(path);
      if (project) return pageProject(res, session, decodeURIComponent(project[1]!), url.searchParams);
      return notFound(res, session, 'That page');
    },
  };
}
