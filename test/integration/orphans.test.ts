// Orphan clusters against the project's EMR server (real EMR client) and a file state store: a cluster
// tagged for this tenant whose run ended, or whose run does not exist, is reported once past the grace
// period and terminated when enabled; a cluster of a live run, a cluster without our tags and one of
// another tenant are never touched. Then the same through the daemon (its reconciler pass, its log,
// /metrics and GET /v1/orphans) and through `sync-agent orphans`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createEmrPlatform } from '../../src/adapters/emr-platform.js';
import { createFileStateStore } from '../../src/adapters/state-file.js';
import { silentLogger } from '../../src/adapters/logger.js';
import type { Platform, StateStore } from '../../src/domain/ports.js';
import { syncTags } from '../../src/domain/tags.js';
import type { Run, RunStatus } from '../../src/domain/types.js';
import { createOrphanSweeper, type Orphan } from '../../src/queues/orphans.js';
import { startAgent, writeConfig, eventually, type AgentProcess } from '../support/agent-process.js';
import { EMR_TEST_CREDENTIALS, startEmr, type TestEmr } from '../support/emr.js';
import { freePort, startRedis, type TestRedis } from '../support/redis.js';

const TOKEN = 'orphans-token-5d1e8a';
const HOUR = 3_600_000;
type Ctx = { dir: string; stateUrl: string; emr: TestEmr; platform: Platform; state: StateStore; redis?: TestRedis; agent?: AgentProcess };
const O = suite<Ctx>('orphan clusters');

O.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'sync-orphans-'));
  ctx.stateUrl = pathToFileURL(join(ctx.dir, 'state')).href;
  // Clusters stay up until terminated (steps never end by themselves).
  ctx.emr = await startEmr({ timeline: { startingMs: 10, bootstrappingMs: 10, runningMs: Infinity, terminatingMs: 10 } });
  ctx.platform = createEmrPlatform({ client: ctx.emr.client, region: 'us-east-1', retry: { retries: 0 } });
  ctx.state = createFileStateStore(ctx.stateUrl);
});

O.after(async (ctx) => {
  if (ctx.agent && ctx.agent.child.exitCode === null) await ctx.agent.stop();
  await ctx.redis?.stop();
  await ctx.emr.stop();
  rmSync(ctx.dir, { recursive: true, force: true });
});

const launch = async (ctx: Ctx, name: string, tags: { Key: string; Value: string }[]) => {
  const id = (
    await ctx.platform.startCluster({
      Name: name,
      ReleaseLabel: 'emr-7.1.0',
      Instances: { MasterInstanceType: 'm5.xlarge', InstanceCount: 1, KeepJobFlowAliveWhenNoSteps: true },
      ...(tags.length > 0 ? { Tags: tags } : {}),
    })
  ).clusterId;
  await ctx.emr.server.waitForState(id, ['RUNNING', 'WAITING'], 5000);
  return id;
};
const run = (projectId: string, id: string, status: RunStatus, extra: Partial<Run> = {}): Run => ({
  id,
  projectId,
  status,
  location: `file:///runs/${projectId}/${id}/`,
  createdAt: new Date(Date.now() - 2 * HOUR).toISOString(),
  requestKey: `k-${id}`,
  ...extra,
});
const putProject = (ctx: Ctx, projectId: string, runs: Run[]) =>
  ctx.state.put(projectId, { project: { id: projectId, name: projectId, platform: 'emr', tenantId: 'acme', createdAt: 'c', updatedAt: 'c', jobFlow: {} }, runs, predictions: [] }, null);
const terminations = (ctx: Ctx) => ctx.emr.server.calls().filter((c) => c.op === 'TerminateJobFlows').length;
const stateOf = (ctx: Ctx, id: string) => ctx.emr.server.cluster(id)!.state;
// The CLI as a child process; asynchronously, since the EMR server it talks to lives in this process.
const cliRun = (args: string[], env: NodeJS.ProcessEnv) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/sync-agent.js', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
const ids = (orphans: Orphan[]) => orphans.map((o) => o.clusterId).sort();

O('reported past the grace period, terminated when enabled; live runs, untagged clusters and other tenants are never touched', async (ctx) => {
  const ended = await launch(ctx, 'ended', syncTags({ tenantId: 'acme', projectId: 'p1', runId: 'r-ended' }));
  const live = await launch(ctx, 'live', syncTags({ tenantId: 'acme', projectId: 'p1', runId: 'r-live' }));
  const noRun = await launch(ctx, 'no-run', syncTags({ tenantId: 'acme', projectId: 'p1', runId: 'r-never-written' }));
  const untagged = await launch(ctx, 'untagged', [{ Key: 'team', Value: 'data' }]);
  const otherTenant = await launch(ctx, 'other-tenant', syncTags({ tenantId: 'globex', projectId: 'p1', runId: 'r-ended' }));
  const tenantOnly = await launch(ctx, 'tenant-only', [{ Key: 'sync:tenant-id', Value: 'acme' }]);
  // A second cluster with the live run's tag (the run names another one): not the run's cluster.
  const relaunch = await launch(ctx, 'second-launch', syncTags({ tenantId: 'acme', projectId: 'p1', runId: 'r-live' }));
  await putProject(ctx, 'p1', [
    run('p1', 'r-ended', 'recorded', { clusterId: ended, endedAt: new Date(Date.now() - 10 * 60_000).toISOString() }),
    run('p1', 'r-live', 'running', { clusterId: live }),
  ]);

  let clock = Date.now();
  const reported: string[] = [];
  const sweeper = createOrphanSweeper({
    tenantId: 'acme',
    platform: ctx.platform,
    readProject: async (id) => (await ctx.state.get(id))?.value,
    settings: { graceMs: HOUR, terminate: false, maxDescribesPerPass: 4, lookbackMs: 24 * HOUR },
    logger: silentLogger,
    now: () => clock,
    onOrphan: (action, o) => reported.push(`${action}:${o.clusterId}`),
  });

  // Within the grace period (the run ended 10 min ago, the clusters are seconds old): nothing yet. The
  // describe budget (4) leaves 3 of the 7 clusters for the next pass.
  const describes = () => ctx.emr.server.calls().filter((c) => c.op === 'DescribeCluster').length;
  let before = describes();
  const first = await sweeper.pass();
  assert.is(first.listed, 7);
  assert.is(first.described, 4);
  assert.is(first.unseen, 3);
  assert.is(describes() - before, 4, 'at most maxDescribesPerPass DescribeCluster calls');
  assert.equal(first.orphans, []);

  // Two hours on: the ended run's cluster, the cluster of a run that does not exist and the live run's
  // second cluster are orphans.
  clock = Date.now() + 2 * HOUR;
  before = describes();
  const second = await sweeper.pass();
  assert.is(second.unseen, 0);
  assert.is(describes() - before, 3, 'only the clusters not seen before are described');
  assert.is(second.ours, 4, 'four clusters carry our tenant and run tags');
  assert.equal(ids(second.orphans), [ended, noRun, relaunch].sort());
  const byId = new Map(second.orphans.map((o) => [o.clusterId, o]));
  assert.equal(byId.get(ended), { clusterId: ended, state: stateOf(ctx, ended), projectId: 'p1', runId: 'r-ended', reason: 'run_ended', runStatus: 'recorded', since: byId.get(ended)!.since, terminated: false });
  assert.is(byId.get(noRun)!.reason, 'no_run');
  assert.equal([byId.get(relaunch)!.reason, byId.get(relaunch)!.runStatus], ['other_cluster', 'running']);
  assert.equal(reported.sort(), [`reported:${ended}`, `reported:${noRun}`, `reported:${relaunch}`].sort());
  assert.is(terminations(ctx), 0, 'report only: nothing terminated');

  // A third pass reports the same orphans again but counts them once; still no describes (tags known).
  before = describes();
  assert.equal(ids((await sweeper.pass()).orphans), [ended, noRun, relaunch].sort());
  assert.is(describes() - before, 0);
  assert.is(reported.length, 3);

  // Terminate enabled: the three orphans go, and only they.
  const third = await sweeper.pass({ terminate: true });
  assert.equal(third.orphans.filter((o) => o.terminated).map((o) => o.clusterId).sort(), [ended, noRun, relaunch].sort());
  for (const id of [ended, noRun, relaunch]) await ctx.emr.server.waitForState(id, 'TERMINATED', 5000);
  assert.is(terminations(ctx), 3);
  for (const id of [live, untagged, otherTenant, tenantOnly]) assert.ok(['RUNNING', 'WAITING'].includes(stateOf(ctx, id)), `cluster ${id} is still up`);
  assert.equal(reported.filter((r) => r.startsWith('terminated:')).sort(), [`terminated:${ended}`, `terminated:${noRun}`, `terminated:${relaunch}`].sort());

  // The live run ends; its cluster is an orphan only once the grace period after its end has passed.
  const doc = (await ctx.state.get('p1'))!;
  const endedAt = new Date(clock - 30 * 60_000).toISOString();
  await ctx.state.put('p1', { ...doc.value, runs: doc.value.runs.map((r) => (r.id === 'r-live' ? { ...r, status: 'cancelled' as const, endedAt } : r)) }, doc.version);
  assert.equal((await sweeper.pass({ terminate: true })).orphans, [], 'ended 30 min ago: within the grace period');
  clock += HOUR;
  const last = await sweeper.pass({ terminate: true });
  assert.equal(last.orphans.map((o) => [o.clusterId, o.reason, o.runStatus, o.terminated]), [[live, 'run_ended', 'cancelled', true]]);
  await ctx.emr.server.waitForState(live, 'TERMINATED', 5000);
  for (const id of [untagged, otherTenant, tenantOnly]) assert.ok(['RUNNING', 'WAITING'].includes(stateOf(ctx, id)), `cluster ${id} is still up`);
});

O('the daemon reports and terminates orphans on its reconciler pass; sync-agent orphans and GET /v1/orphans show them', async (ctx) => {
  const orphan = await launch(ctx, 'agent-orphan', syncTags({ tenantId: 'acme', projectId: 'p2', runId: 'r-done' }));
  const live = await launch(ctx, 'agent-live', syncTags({ tenantId: 'acme', projectId: 'p2', runId: 'r-going' }));
  const foreign = await launch(ctx, 'agent-foreign', syncTags({ tenantId: 'globex', projectId: 'p2', runId: 'r-done' }));
  const untagged = await launch(ctx, 'agent-untagged', []);
  await putProject(ctx, 'p2', [
    run('p2', 'r-done', 'failed', { clusterId: orphan, endedAt: new Date(Date.now() - 60_000).toISOString() }),
    run('p2', 'r-going', 'running', { clusterId: live }),
  ]);
  ctx.redis = await startRedis();
  const httpPort = await freePort();
  const site = {
    id: 'orphans-host',
    redis: { url: ctx.redis.url },
    queues: { prefix: 'orph' },
    aws: { region: 'us-east-1', endpoints: { emr: ctx.emr.url } },
    http: { port: httpPort, ui: false },
    reconcile: { intervalMs: 1000 },
  };
  const tenant = { id: 'acme', state: ctx.stateUrl, projectLocation: pathToFileURL(join(ctx.dir, 'runs')).href };
  const env = { ...process.env, AWS_ACCESS_KEY_ID: EMR_TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: EMR_TEST_CREDENTIALS.secretAccessKey };

  // The CLI: a read-only sweep with the site's grace period (30 s here: the failed run ended a minute ago).
  const reportOnly = writeConfig(ctx.dir, { site: { ...site, orphans: { graceMs: 30_000 } }, tenant }, 'report.config.mjs');
  const cli = await cliRun(['orphans', '--json', '--config', reportOnly], env);
  assert.is(cli.status, 0, cli.stderr);
  const cliReport = JSON.parse(cli.stdout) as { orphans: Orphan[]; terminate: boolean };
  assert.equal(cliReport.orphans.map((o) => [o.clusterId, o.runId, o.reason, o.terminated]), [[orphan, 'r-done', 'run_ended', false]]);
  const table = await cliRun(['orphans', '--config', reportOnly], env);
  assert.is(table.status, 0, table.stderr);
  assert.match(table.stdout, new RegExp(`${orphan}\\s+\\S+\\s+p2\\s+r-done\\s+run failed`));
  assert.ok(!table.stdout.includes(live) && !table.stdout.includes(foreign) && !table.stdout.includes(untagged), table.stdout);
  const usage = await cliRun(['orphans', '--bogus'], env);
  assert.is(usage.status, 2);
  assert.match(usage.stderr, /usage: sync-agent orphans/);
  assert.ok(['RUNNING', 'WAITING'].includes(stateOf(ctx, orphan)), 'the CLI never terminates');

  // The daemon with terminate on.
  const configPath = writeConfig(ctx.dir, { site: { ...site, orphans: { graceMs: 30_000, terminate: true } }, tenant });
  ctx.agent = startAgent({ configPath, httpPort, env: { SYNC_AGENT_TOKEN: TOKEN, AWS_ACCESS_KEY_ID: EMR_TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: EMR_TEST_CREDENTIALS.secretAccessKey } });
  await ctx.agent.ready();
  await ctx.emr.server.waitForState(orphan, 'TERMINATED', 30_000);
  const agent = ctx.agent;
  await eventually(() => agent.logs.find((l) => l.msg === 'terminated orphan cluster' && l.clusterId === orphan), 10_000);
  const reportLine = agent.logs.find((l) => l.msg === 'orphan cluster: tagged for this tenant, no live run owns it' && l.clusterId === orphan);
  assert.ok(reportLine, 'a structured report line');
  assert.is(reportLine.runId, 'r-done');
  assert.is(reportLine.reason, 'run_ended');

  const metrics = await (await fetch(`${agent.httpUrl}/metrics`)).text();
  assert.match(metrics, /sync_orphan_clusters_total\{action="reported"\} 1\b/);
  assert.match(metrics, /sync_orphan_clusters_total\{action="terminated"\} 1\b/);
  assert.is((await fetch(`${agent.httpUrl}/v1/orphans`)).status, 401, 'the report needs the token');
  const res = await fetch(`${agent.httpUrl}/v1/orphans`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.is(res.status, 200);
  const body = (await res.json()) as { orphans: Orphan[]; terminate: boolean; graceMs: number };
  assert.is(body.terminate, true);
  assert.is(body.graceMs, 30_000);
  // The last pass: the orphan is terminating or gone (no longer live), or still listed as terminated.
  assert.ok(body.orphans.every((o) => o.clusterId === orphan), JSON.stringify(body));
  for (const id of [live, foreign, untagged]) assert.ok(['RUNNING', 'WAITING'].includes(stateOf(ctx, id)), `cluster ${id} is still up`);
});

O.run();
