// POST /v1/hooks/databricks on the agent's HTTP port: authenticated with the request-ingress token (Bearer,
// or as the Basic password Databricks webhook destinations send), it hands a finished run to run.record as
// the poller would (here the poller's interval is an hour, so only the webhook can record the run), once;
// a run not finished, not ours, or a body naming no run is answered without a hand-off. The run.record
// result read back through the HTTP API names the cost VM and DBU apart.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { startDatabricksAgent, type DatabricksAgent } from '../support/databricks-agent.js';
import type { DatabricksJob } from '../../src/domain/databricks-job.js';
import type { Run } from '../../src/domain/types.js';

const TOKEN = 'dapi-hook-test-0c1d2e3f4a5b6c7d';
const HTTP_TOKEN = 'agent-http-token-5d4c3b2a19';
const fixture = (): DatabricksJob => JSON.parse(readFileSync(new URL('../fixtures/databricks/multi-task-job.json', import.meta.url), 'utf8')) as DatabricksJob;
let env: DatabricksAgent;

test.before(async () => {
  env = await startDatabricksAgent({ name: 'hook', token: TOKEN, prefix: 'dbxhook', cloud: 'aws', projectLocation: 'dbfs:/sync/hook-runs', httpToken: HTTP_TOKEN, pollIntervalMs: 3_600_000 });
});
test.after(async () => {
  await env?.close();
});

const hook = (body: unknown, auth: string | undefined) =>
  fetch(`${env.httpUrl!}/v1/hooks/databricks`, { method: 'POST', headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) }, body: typeof body === 'string' ? body : JSON.stringify(body) });
const notification = (runId: number | string) => ({ event_type: 'jobs.on_success', workspace_id: '1234567890', run: { run_id: runId }, job: { job_id: 1, name: 'nightly orders' } });
const bearer = `Bearer ${HTTP_TOKEN}`;
const basic = `Basic ${Buffer.from(`databricks:${HTTP_TOKEN}`).toString('base64')}`;

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('the webhook records a finished run once, as the poller would; unauthenticated or unusable notifications hand nothing off', async () => {
  assert.ok(env.httpUrl, 'the agent serves HTTP');
  const created = await env.request('project.create', { projectId: 'orders', name: 'nightly orders', platform: 'databricks', job: fixture() });
  assert.is(created.status, 'completed', JSON.stringify(created.error));
  const started = await env.request('run.start', { projectId: 'orders' }, 'orders-hook-1');
  assert.is(started.status, 'completed', JSON.stringify(started.error));
  const { runId, databricksRunId } = started.result as { runId: string; databricksRunId: number };

  // Not authenticated: nothing is read or handed off.
  assert.is((await hook(notification(databricksRunId), undefined)).status, 401);
  assert.is((await hook(notification(databricksRunId), 'Bearer wrong-token')).status, 401);
  const wrongBasic = await hook(notification(databricksRunId), `Basic ${Buffer.from('databricks:wrong').toString('base64')}`);
  assert.is(wrongBasic.status, 401);
  // Said in the webhook's terms (a notification destination's password), not as a bad bearer token.
  assert.match(((await wrongBasic.json()) as { error: { message: string } }).error.message, /^wrong password in Basic auth: the webhook takes the agent's request-ingress token \(SYNC_AGENT_TOKEN\)/);
  // A body naming no run: 400 naming the field.
  const bad = await hook({ event_type: 'jobs.on_success', run: { run_id: 'abc' } }, bearer);
  assert.is(bad.status, 400);
  assert.match(((await bad.json()) as { error: { message: string } }).error.message, /run\.run_id/);
  assert.is((await hook('not json', bearer)).status, 400);
  // A run Databricks does not know, and a run still going: answered, nothing handed off.
  const unknown = (await (await hook(notification(999_999_999), bearer)).json()) as { outcome: string };
  assert.is(unknown.outcome, 'ignored');
  const early = await hook({ ...notification(databricksRunId), event_type: 'jobs.on_start' }, basic);
  assert.is(early.status, 202);
  // The sandbox runs fast, so the run may have ended already (test/unit/queues/databricks-hook.test.ts pins the not-finished case).
  const earlyBody = (await early.json()) as { outcome: string; reason?: string };
  if (earlyBody.outcome === 'ignored') assert.match(earlyBody.reason ?? '', /is (STARTING|RUNNING|TERMINATING), not finished/);

  await until('the Databricks run to end', async () => (env.server.runs().find((r) => r.runId === databricksRunId)?.endedAt !== undefined ? true : undefined));
  const first = await hook(notification(databricksRunId), basic);
  assert.is(first.status, 202);
  const handed = (await first.json()) as { outcome: string; requestId: string; duplicate: boolean; runId: string; projectId: string };
  assert.is(handed.outcome, 'handed-off', JSON.stringify(handed));
  assert.is(handed.runId, runId);
  assert.is(handed.projectId, 'orders');
  // Delivered twice (Databricks retries): the same hand-off.
  const again = (await (await hook(notification(String(databricksRunId)), bearer)).json()) as { requestId: string; duplicate: boolean };
  assert.is(again.requestId, handed.requestId);
  assert.is(again.duplicate, true);

  const run = await until('the run to be recorded', async () => {
    const r = (await env.runsOf('orders')).find((x: Run) => x.id === runId);
    return r?.status === 'recorded' ? r : undefined;
  });
  assert.ok(run.reportUrl?.endsWith('databricks-cluster-report.json'));
  assert.ok(env.logs.some((l) => l.includes('"component":"databricks-hook"') && l.includes(String(databricksRunId))), 'handed off by the webhook');
  assert.not.ok(env.logs.some((l) => l.includes('"component":"reconciler"') && l.includes(runId)), 'not by the poller');

  // The HTTP API: the run.record result names the cost VM and DBU apart.
  const res = await fetch(`${env.httpUrl!}/v1/requests/${handed.requestId}?wait=20`, { headers: { authorization: bearer } });
  assert.is(res.status, 200);
  const entry = (await res.json()) as { status: string; result: { status: string; cost: { totalUsd: number; vmUsd: number; dbuUsd: number; dbus: number } } };
  assert.is(entry.status, 'completed');
  assert.ok(entry.result.cost.vmUsd > 0 && entry.result.cost.dbuUsd > 0 && entry.result.cost.dbus > 0, JSON.stringify(entry.result.cost));
  assert.is(entry.result.cost.totalUsd, run.costUsd);
  // A late notification for the recorded run: handed off again under the same key, and the run is left as it was.
  const late = (await (await hook(notification(databricksRunId), bearer)).json()) as { requestId: string };
  assert.is(late.requestId, handed.requestId);
  const after = (await env.runsOf('orders')).find((x: Run) => x.id === runId)!;
  assert.is(after.recordedAt, run.recordedAt);
  for (const l of env.logs) assert.not.ok(l.includes(HTTP_TOKEN) || l.includes(TOKEN), 'no token in the logs');
});

test.run();
