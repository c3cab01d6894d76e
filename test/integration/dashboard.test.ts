// The dashboard in a real browser (Debian's chromium through playwright-core) against a real agent on the
// sandbox: sign in, read every page, act, sign out; and every page and action refused before sign-in.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startTuningEnvironment, type TuningEnvironment } from '../../src/demo/environment.js';
import { demoProject } from '../../src/demo/run-demo.js';
import { eventually } from '../support/async.js';

const CHROMIUM = '/usr/bin/chromium';
// Screenshots of every page at desktop and phone width (the README names this folder).
const SHOTS = join(process.cwd(), 'test-output', 'dashboard');
const TOKEN = 'dash-token-5f1c9a2e7b';
const PROJECT = 'nightly-etl';

type Ctx = { dir: string; env: TuningEnvironment; base: string; browser: Browser; logs: string[] };
const ui = suite<Ctx>('dashboard');

ui.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'sync-ui-'));
  ctx.logs = [];
  ctx.env = await startTuningEnvironment({ dir: ctx.dir, timeScale: 1200, seed: 11, http: { token: TOKEN }, logSink: (l) => ctx.logs.push(l) });
  ctx.base = ctx.env.agent.httpUrl!;
  const code = join(ctx.dir, 'etl-shuffle.py');
  writeFileSync(code, '# v1\n');
  const created = await ctx.env.request('project.create', { ...demoProject(pathToFileURL(code).href), projectId: PROJECT, name: 'Nightly ETL', mode: 'recommend', policy: { maxRuntimeSeconds: 900 } });
  assert.is(created.status, 'completed', JSON.stringify(created.error));
  // Three recorded runs, the later ones applying predictions, then a prediction from the last.
  for (let i = 1; i <= 3; i += 1) {
    const res = await ctx.env.request(i === 1 ? 'run.start' : 'prediction.apply', { projectId: PROJECT }, { idempotencyKey: `ui-run-${i}`, timeoutMs: 90_000 });
    assert.is(res.status, 'completed', JSON.stringify(res.error));
    await ctx.env.waitForRun(PROJECT, (res.result as { runId: string }).runId, { timeoutMs: 90_000 });
    const p = await ctx.env.request('prediction.create', { projectId: PROJECT }, { idempotencyKey: `ui-pred-${i}`, timeoutMs: 60_000 });
    assert.is(p.status, 'completed', JSON.stringify(p.error));
  }
  ctx.browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  mkdirSync(SHOTS, { recursive: true });
});

ui.after(async (ctx) => {
  await ctx.browser?.close();
  await ctx.env?.close();
  rmSync(ctx.dir, { recursive: true, force: true });
});

async function shoot(page: Page, name: string): Promise<void> {
  for (const [label, size] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 390, height: 844 }]] as const) {
    await page.setViewportSize(size);
    await page.screenshot({ path: join(SHOTS, `${name}-${label}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

ui('every page and action answers the sign-in page or 403, with no data, before sign-in', async (ctx) => {
  const runId = (await ctx.env.project(PROJECT)).runs[0]!.id;
  for (const path of ['/ui/', '/ui', '/ui/queue', `/ui/projects/${PROJECT}`, `/ui/projects/${PROJECT}/runs/${runId}`, '/ui/nowhere']) {
    const res = await fetch(`${ctx.base}${path}`, { redirect: 'manual' });
    const body = await res.text();
    assert.is(res.status, 401, `${path} answers 401`);
    assert.match(body, 'name="token"', `${path} shows the sign-in form`);
    assert.not.match(body, PROJECT, `${path} shows no project`);
    assert.not.match(body, runId, `${path} shows no run`);
  }
  for (const action of ['apply', 'predict', 'mode', 'sla', 'rollback']) {
    const res = await fetch(`${ctx.base}/ui/projects/${PROJECT}/${action}`, { method: 'POST', body: new URLSearchParams({ mode: 'auto', csrf: 'x' }), redirect: 'manual' });
    assert.is(res.status, 403, `POST ${action} is refused`);
  }
  const signOut = await fetch(`${ctx.base}/ui/sign-out`, { method: 'POST', redirect: 'manual' });
  assert.is(signOut.status, 403);
  // Nothing was enqueued by those posts: the project is unchanged.
  assert.is((await ctx.env.project(PROJECT)).project.mode, 'recommend');
  // A forged session cookie is no session.
  const forged = await fetch(`${ctx.base}/ui/`, { headers: { cookie: 'sync_ui=aaaaaaaaaaaaaaaaaaaaaaaa.99999999999999.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' } });
  assert.is(forged.status, 401);
});

ui('sign in, read every page, apply a prediction from the page, sign out; no console errors', async (ctx) => {
  const context = await ctx.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));

  await page.goto(`${ctx.base}/ui/`);
  assert.is(await page.getByRole('heading', { level: 1 }).textContent(), 'Sign in');
  await shoot(page, 'sign-in');
  await page.getByLabel('HTTP token').fill('not-the-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').waitFor();
  assert.match((await page.getByRole('alert').textContent()) ?? '', 'not right', await page.content());
  // The 401 of the wrong token is the one expected console error; it is not counted.
  problems.length = 0;
  await page.getByLabel('HTTP token').fill(TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${ctx.base}/ui/`);
  const cookie = (await context.cookies()).find((c) => c.name === 'sync_ui');
  assert.ok(cookie, 'a session cookie');
  assert.ok(cookie!.httpOnly, 'HttpOnly');
  assert.is(cookie!.sameSite, 'Strict');
  assert.ok(cookie!.expires > Date.now() / 1000, 'it expires');

  // Projects.
  assert.is(await page.getByRole('heading', { level: 1 }).textContent(), 'Projects');
  const row = page.getByRole('row', { name: /Nightly ETL/ });
  assert.match((await row.textContent()) ?? '', /\$\d+\.\d\d/);
  assert.match((await row.textContent()) ?? '', /[-+]\d+%|0%/, 'the cost change is shown');
  await shoot(page, 'projects');
  // 200% zoom on a 1280-pixel screen is a 640-pixel-wide layout: the page itself must not scroll sideways
  // (wide tables scroll inside their own box).
  await page.setViewportSize({ width: 640, height: 450 });
  assert.ok((await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth + 1')) === true, 'no sideways scrolling at 200% zoom');
  await page.setViewportSize({ width: 1280, height: 900 });

  // Project: chart drawn, runs table, scatter with picks.
  await page.getByRole('link', { name: 'Nightly ETL' }).click();
  await page.waitForURL(`${ctx.base}/ui/projects/${PROJECT}`);
  assert.ok((await page.locator('svg.chart circle.dot').count()) >= 6, 'runtime and cost points for 3 runs');
  assert.ok((await page.locator('svg.scatter circle.candidate').count()) > 10, 'the candidates are plotted');
  assert.is(await page.locator('svg.scatter circle.pick.current').count(), 1, 'the current configuration is marked');
  const runRows = page.locator('section:has(h2:text("Runs")) tbody tr');
  assert.is(await runRows.count(), 3);
  await shoot(page, 'project');
  await page.setViewportSize({ width: 640, height: 450 });
  assert.ok((await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth + 1')) === true, 'the project page has no sideways scrolling at 200% zoom');
  await page.setViewportSize({ width: 1280, height: 900 });

  // Keyboard: the first action's button can be reached with Tab alone.
  await page.keyboard.press('Tab');
  let reached = false;
  for (let i = 0; i < 80 && !reached; i += 1) {
    reached = (await page.evaluate('document.activeElement && document.activeElement.textContent')) === 'Apply the latest prediction';
    if (!reached) await page.keyboard.press('Tab');
  }
  assert.ok(reached, 'the apply button is keyboard reachable');

  // Run page.
  await runRows.last().getByRole('link').first().click();
  await page.getByRole('heading', { name: 'Cluster report' }).waitFor();
  assert.ok((await page.getByRole('heading', { name: 'Event log' }).count()) === 1);
  assert.match((await page.locator('main').textContent()) ?? '', 'Biggest stages');
  await shoot(page, 'run');
  await page.goBack();
  // A later run's page shows what changed against the run before it.
  await runRows.first().getByRole('link').first().click();
  await page.getByRole('heading', { name: 'Configuration against the previous run' }).waitFor();
  assert.match((await page.locator('main').textContent()) ?? '', /Changed against run|The same configuration/);
  await shoot(page, 'run-diff');

  // Queue.
  await page.getByRole('link', { name: 'Queue' }).click();
  await page.getByRole('heading', { name: 'Queue' }).waitFor();
  assert.match((await page.locator('main').textContent()) ?? '', 'Reconciler');
  await shoot(page, 'queue');

  // Apply the latest prediction from the page: a new run appears.
  await page.goto(`${ctx.base}/ui/projects/${PROJECT}`);
  const before = (await ctx.env.project(PROJECT)).runs.length;
  await page.getByRole('button', { name: 'Apply the latest prediction' }).click();
  await page.waitForURL(/sent=/);
  assert.match((await page.getByRole('status').textContent()) ?? '', 'prediction.apply');
  await eventually(async () => ((await ctx.env.project(PROJECT)).runs.length === before + 1 ? true : undefined), 60_000, 'the applied run');
  await page.reload();
  assert.is(await runRows.count(), before + 1, 'the new run is on the page');
  const newest = (await ctx.env.project(PROJECT)).runs.at(-1)!;
  assert.ok(newest.predictionId, 'the new run applies a prediction');

  // A wrong CSRF token is refused, with the session.
  const forged = await page.request.post(`${ctx.base}/ui/projects/${PROJECT}/mode`, { form: { csrf: 'wrong', mode: 'auto', nonce: 'n1' }, maxRedirects: 0 });
  assert.is(forged.status(), 403);
  // A right one switches the mode.
  await page.getByLabel('Mode').selectOption('track');
  await page.getByRole('button', { name: 'Switch mode' }).click();
  await page.waitForURL(/sent=/);
  await eventually(async () => ((await ctx.env.project(PROJECT)).project.mode === 'track' ? true : undefined), 30_000, 'mode track');

  // Sign out: the session no longer opens pages.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(`${ctx.base}/ui/sign-in`);
  const after = await page.request.get(`${ctx.base}/ui/`);
  assert.is(after.status(), 401);
  assert.equal(problems, [], problems.join('\n'));
  await context.close();
});

ui('wrong tokens are rate-limited and never logged; the token is in no log line', async (ctx) => {
  let last = 0;
  for (let i = 0; i < 7; i += 1) {
    const res = await fetch(`${ctx.base}/ui/sign-in`, { method: 'POST', body: new URLSearchParams({ token: `guess-${i}-${TOKEN.slice(0, 4)}` }), redirect: 'manual' });
    last = res.status;
  }
  assert.is(last, 429, 'the sixth and later wrong tokens are refused outright');
  const all = ctx.logs.join('\n');
  assert.match(all, 'ui sign-in refused');
  assert.not.match(all, 'guess-', 'the attempted token is not logged');
  assert.not.match(all, TOKEN, 'the real token is not logged');
});

ui('a one-time sign-in link works once', async (ctx) => {
  const link = ctx.env.agent.dashboardSignInUrl()!;
  const first = await fetch(link, { redirect: 'manual' });
  assert.is(first.status, 303);
  assert.match(first.headers.get('set-cookie') ?? '', 'HttpOnly');
  const again = await fetch(link, { redirect: 'manual' });
  assert.is(again.status, 401);
});

ui.run();
