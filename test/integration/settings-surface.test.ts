// Issue 13 on the public surfaces of a real agent on the EMR sandbox: a prediction's evidence in words in
// the HTTP API's JSON, on the dashboard's project page (chromium) and in `sync-agent projects show`
// (bin/sync-agent.js); and prediction.apply never changes a key of policy.pinned, even one the
// prediction set (the policy pinned it after the prediction was made).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { startTuningEnvironment, type TuningEnvironment } from '../../src/demo/environment.js';
import { demoProject } from '../../src/demo/run-demo.js';
import type { Prediction } from '../../src/domain/types.js';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'surface-token-8d2e61c0a4';
const PROJECT = 'settings-etl';
const USER_CONF = { 'spark.executor.memory': '10g', 'spark.executor.cores': '4', 'spark.speculation': 'true' };

type Ctx = { dir: string; env: TuningEnvironment; base: string; prediction: Prediction };
const s = suite<Ctx>('settings surfaces');

s.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'sync-surface-'));
  ctx.env = await startTuningEnvironment({ dir: ctx.dir, timeScale: 1200, seed: 7, http: { token: TOKEN } });
  ctx.base = ctx.env.agent.httpUrl!;
  const code = join(ctx.dir, 'etl-shuffle.py');
  writeFileSync(code, '# v1\n');
  const project = demoProject(pathToFileURL(code).href) as { jobFlow: Record<string, unknown> };
  const created = await ctx.env.request('project.create', {
    ...project,
    jobFlow: { ...project.jobFlow, Configurations: [{ Classification: 'spark-defaults', Properties: USER_CONF }] },
    projectId: PROJECT,
    name: 'Settings ETL',
    mode: 'recommend',
  });
  assert.is(created.status, 'completed', JSON.stringify(created.error));
  const run = await ctx.env.request('run.start', { projectId: PROJECT }, { idempotencyKey: 'surface-run-1', timeoutMs: 90_000 });
  assert.is(run.status, 'completed', JSON.stringify(run.error));
  await ctx.env.waitForRun(PROJECT, (run.result as { runId: string }).runId, { timeoutMs: 90_000 });
});

s.after(async (ctx) => {
  await ctx.env?.close();
  rmSync(ctx.dir, { recursive: true, force: true });
});

s('the HTTP API: prediction.create answers every recommendation with its evidence in words', async (ctx) => {
  const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
  const posted = await fetch(`${ctx.base}/v1/requests`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'prediction.create', data: { projectId: PROJECT }, idempotencyKey: 'surface-pred-1' }) });
  assert.is(posted.status, 202);
  const { id } = (await posted.json()) as { id: string };
  let entry: { status: string; result?: Prediction; error?: unknown } | undefined;
  for (let i = 0; i < 6 && entry?.status !== 'completed' && entry?.status !== 'failed'; i += 1) {
    entry = (await (await fetch(`${ctx.base}/v1/requests/${encodeURIComponent(id)}?wait=20`, { headers: auth })).json()) as typeof entry;
  }
  assert.is(entry?.status, 'completed', JSON.stringify(entry));
  ctx.prediction = entry!.result!;
  for (const [pref, sol] of Object.entries(ctx.prediction.solutions)) {
    const evidence = sol.evidence ?? [];
    // The cluster shape's evidence: what the basis run measured, in words.
    assert.match(evidence[0] ?? '', /the basis run's \d+ tasks kept its \d+ task slots \d+% busy over [\d.]+ s/, `${pref}: ${JSON.stringify(evidence)}`);
    // Each Spark setting the solution writes has its own sentence.
    for (const setting of sol.settings ?? []) assert.ok(evidence.includes(`${setting.key}=${setting.value}: ${setting.evidence}`), `${pref}: ${setting.key}`);
  }
  for (const x of ctx.prediction.unchangedSettings ?? []) assert.ok(x.evidence.length > 20, `${x.key}: ${x.evidence}`);
});

s('the dashboard lists the evidence on the project page; projects show prints it', async (ctx) => {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update'] });
  try {
    const page = await browser.newPage();
    await page.goto(`${ctx.base}/ui/`);
    await page.getByLabel('HTTP token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${ctx.base}/ui/`);
    await page.goto(`${ctx.base}/ui/projects/${PROJECT}`);
    await page.getByRole('heading', { name: 'Evidence' }).waitFor();
    for (const pref of ['performance', 'balanced', 'economy'] as const) {
      const items = await page.getByRole('list', { name: `Evidence for ${pref}` }).getByRole('listitem').allTextContents();
      assert.equal(items, ctx.prediction.solutions[pref].evidence, pref);
    }
    // Settings considered and left as they are (pinned, no evidence, or not chosen) say why, too.
    const left = (ctx.prediction.unchangedSettings ?? []).map((x) => `${x.key} ${x.value === '(unset)' ? 'left unset' : `left at ${x.value}`}: ${x.evidence}`);
    if (left.length > 0) assert.equal(await page.getByRole('list', { name: 'Settings left as they are' }).getByRole('listitem').allTextContents(), left);
    // A project with a declared input and no run: the cold-start guess, marked as one.
    const project = demoProject(pathToFileURL(join(ctx.dir, 'etl-shuffle.py')).href);
    const cold = await ctx.env.request('project.create', { ...project, projectId: 'cold-etl', name: 'Cold ETL', mode: 'recommend', policy: { declaredInput: { bytes: 50 * 1024 ** 3, type: 'sql' } } });
    assert.is(cold.status, 'completed', JSON.stringify(cold.error));
    const guess = await ctx.env.request('prediction.create', { projectId: 'cold-etl' }, { idempotencyKey: 'cold-pred-1' });
    assert.is(guess.status, 'completed', JSON.stringify(guess.error));
    await page.goto(`${ctx.base}/ui/projects/cold-etl`);
    assert.match((await page.locator('caption', { hasText: 'Prediction' }).textContent()) ?? '', 'a cold-start GUESS from the declared input');
    const balanced = page.getByRole('row', { name: /^balanced/ });
    assert.match((await balanced.textContent()) ?? '', /4 x m5\.2xlarge.*guess.*guess.*no estimate \(cold start\).*GUESS \(cold start, no estimate\)/);
  } finally {
    await browser.close();
  }
  const configPath = join(ctx.dir, 'cli-config.json');
  writeFileSync(configPath, JSON.stringify({ tenant: { id: 'sandbox', state: ctx.env.config.tenant.state, projectLocation: ctx.env.config.tenant.projectLocation } }));
  const cli = spawnSync(process.execPath, ['bin/sync-agent.js', 'projects', 'show', PROJECT, '--config', configPath], { encoding: 'utf8', timeout: 60_000 });
  assert.is(cli.status, 0, cli.stderr);
  assert.match(cli.stdout, `latest prediction ${ctx.prediction.predictionId}`);
  for (const sol of Object.values(ctx.prediction.solutions)) for (const e of sol.evidence ?? []) assert.ok(cli.stdout.includes(`evidence: ${e}`), e);
});

s('prediction.apply on EMR: keys pinned after the prediction keep the user value in spark-defaults', async (ctx) => {
  // The prediction sets executor sizing (the user's request set it), so an unpinned apply would change it.
  const performance = ctx.prediction.solutions.performance.configuration as { Configurations?: { Classification: string; Properties: Record<string, string> }[] };
  const recommended = performance.Configurations?.find((c) => c.Classification === 'spark-defaults')?.Properties ?? {};
  assert.ok(recommended['spark.executor.memory'] !== undefined && recommended['spark.executor.memory'] !== USER_CONF['spark.executor.memory'], JSON.stringify(recommended));
  const updated = await ctx.env.request('project.update', { projectId: PROJECT, policy: { pinned: ['spark.executor.memory', 'spark.executor.cores'] } });
  assert.is(updated.status, 'completed', JSON.stringify(updated.error));
  const applied = await ctx.env.request('prediction.apply', { projectId: PROJECT, predictionId: ctx.prediction.predictionId, preference: 'performance' }, { idempotencyKey: 'surface-apply-1', timeoutMs: 90_000 });
  assert.is(applied.status, 'completed', JSON.stringify(applied.error));
  const cluster = ctx.env.sandbox.server.cluster((applied.result as { clusterId: string }).clusterId)!;
  const props = (cluster.configurations as { Classification: string; Properties: Record<string, string> }[]).find((c) => c.Classification === 'spark-defaults')!.Properties;
  assert.is(props['spark.executor.memory'], '10g');
  assert.is(props['spark.executor.cores'], '4');
  assert.is(props['spark.speculation'], 'true', 'the user key nobody recommended stays');
  // The recommended settings that are not pinned are written.
  for (const [k, v] of Object.entries(recommended)) if (k !== 'spark.executor.memory' && k !== 'spark.executor.cores') assert.is(props[k], v, k);
});

s.run();
