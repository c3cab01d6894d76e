// A Databricks project through the agent's public interface (requests on its Redis inbox, results,
// state, objects) against the sandbox Databricks workspace: project.create with a realistic multi-task
// job, run.start twice with one key -> one Databricks run, the submitted cluster keeps every user field
// and carries the tags and log destination, run.record after log delivery writes
// databricks-cluster-report.json and prices the run (VM + DBU), and the token appears nowhere.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { ResultEntry } from '../../src/queues/results.js';
import { applyPrediction, startDatabricksAgent, type DatabricksAgent } from '../support/databricks-agent.js';
import type { DatabricksServer } from '../../src/sandbox/databricks-server.js';
import type { DatabricksJob } from '../../src/domain/databricks-job.js';
import type { Run } from '../../src/domain/types.js';

const TOKEN = 'dapi-agent-test-5f0c2b9e7d1a4c3b';
const fixture = (): DatabricksJob => JSON.parse(readFileSync(new URL('../fixtures/databricks/multi-task-job.json', import.meta.url), 'utf8')) as DatabricksJob;
let dir: string;
let server: DatabricksServer;
let redis: Redis;
let logs: string[] = [];
let env: DatabricksAgent;

test.before(async () => {
  env = await startDatabricksAgent({ name: 'agent', token: TOKEN, prefix: 'dbx', cloud: 'aws', projectLocation: 'dbfs:/sync/runs' });
  ({ dir, server, redis, logs } = env);
});
test.after(async () => {
  await env?.close();
});

const request = (name: string, data: unknown, idempotencyKey?: string, timeoutMs = 60_000, answeredAs?: string): Promise<ResultEntry> => env.request(name, data, idempotencyKey, timeoutMs, answeredAs);
const runsOf = (projectId: string): Promise<Run[]> => env.runsOf(projectId);

test('project.create, run.start twice with one key, run.record after log delivery: one run, every user field kept, report and cost', async () => {
  const created = await request('project.create', { projectId: 'orders', name: 'nightly orders', platform: 'databricks', job: fixture() });
  assert.is(created.status, 'completed', JSON.stringify(created.error));
  const first = await request('run.start', { projectId: 'orders' }, 'orders-2026-12-04');
  const second = await request('run.start', { projectId: 'orders' }, 'orders-2026-12-04', 60_000, first.id);
  assert.is(first.status, 'completed', JSON.stringify(first.error));
  assert.equal(second.result, first.result);
  const started = first.result as { runId: string; databricksRunId: number; clusterId?: string; location: string };
  assert.ok(started.location.startsWith('dbfs:/sync/runs/orders/'));
  assert.is(server.runs().length, 1, 'one Databricks run');
  const submitted = server.runs()[0]!;
  assert.is(submitted.runId, started.databricksRunId);
  // clusterId is the job cluster runs/get names, not the run id.
  assert.is(started.clusterId, submitted.clusterId);
  assert.is.not(started.clusterId, String(started.databricksRunId));
  // The submitted cluster: the user's fields exactly, plus tags and the log destination.
  const cluster = (submitted.body.job_clusters as { new_cluster: Record<string, unknown> }[])[0]!.new_cluster;
  const mine = (fixture().job_clusters as { new_cluster: Record<string, unknown> }[])[0]!.new_cluster;
  for (const [k, v] of Object.entries(mine)) if (k !== 'custom_tags') assert.equal(cluster[k], v, k);
  assert.equal(cluster.custom_tags, { team: 'orders', 'sync:tenant-id': 'acme', 'sync:project-id': 'orders', 'sync:run-id': started.runId });
  assert.equal(cluster.cluster_log_conf, { dbfs: { destination: `${started.location}cluster-logs` } });
  assert.equal(submitted.body.tasks, fixture().tasks);
  // runs-submit.json is the exact body sent.
  const written = server.files().get(`${started.location.slice('dbfs:'.length)}runs-submit.json`);
  assert.ok(written, 'runs-submit.json written');
  assert.equal(JSON.parse(written!.bytes.toString('utf8')), submitted.body);

  const recorded = await request('run.record', { projectId: 'orders', runId: started.runId }, undefined, 90_000);
  assert.is(recorded.status, 'completed', JSON.stringify(recorded.error));
  const result = recorded.result as { status: string; reportUrl: string; warnings?: string[] };
  assert.is(result.status, 'recorded');
  assert.is(result.warnings, undefined, 'recorded after log delivery, not on a timeout');
  const report = JSON.parse(server.files().get(result.reportUrl.slice('dbfs:'.length))!.bytes.toString('utf8')) as { Cluster: { cluster_id: string }; ClusterEvents: unknown[]; Run: { run_id: number }; Cloud: string };
  const run = (await runsOf('orders')).find((r) => r.id === started.runId)!;
  assert.is(report.Cluster.cluster_id, run.databricksClusterId);
  assert.is(report.Cluster.cluster_id, submitted.clusterId);
  assert.is(report.Run.run_id, started.databricksRunId);
  assert.ok(report.ClusterEvents.length >= 4);
  assert.is(report.Cloud, 'aws');
  // The event log the run points at is the delivered one, modified after the run ended.
  assert.ok(run.eventLogUrl?.startsWith(`${started.location}cluster-logs/${submitted.clusterId}/eventlog/`), run.eventLogUrl);
  const delivered = server.files().get(`${run.eventLogUrl!.slice('dbfs:'.length)}eventlog`)!;
  assert.ok(delivered.modifiedAt > Date.parse(run.endedAt!), 'the final delivery came after the end');
  assert.ok((run.costUsd ?? 0) > 0 && (run.costBreakdown?.dbuUsd ?? 0) > 0 && (run.costBreakdown?.vmUsd ?? 0) > 0, JSON.stringify(run.costBreakdown));
  // The result names the cost VM and DBU apart, as the run keeps it.
  assert.equal((recorded.result as { cost?: unknown }).cost, { totalUsd: run.costUsd, ...run.costBreakdown });
  assert.is(run.cluster?.instanceType, 'm5.4xlarge');
  assert.is(run.cluster?.nodes, 12);
});

test('prediction.create gives Databricks fragments with runtime and cost; prediction.apply submits the solution with everything else unchanged', async () => {
  const predicted = await request('prediction.create', { projectId: 'orders' }, 'orders-predict-1', 90_000);
  assert.is(predicted.status, 'completed', JSON.stringify(predicted.error));
  const prediction = predicted.result as { predictionId: string; solutions: Record<string, { configuration: Record<string, unknown>; estimate: { runtimeSeconds: number; costUsd: number }; explanation: string }> };
  for (const [pref, s] of Object.entries(prediction.solutions)) {
    assert.ok(s.estimate.runtimeSeconds > 0 && s.estimate.costUsd > 0, `${pref}: ${JSON.stringify(s.estimate)}`);
    assert.type(s.configuration.node_type_id, 'string');
    assert.type(s.configuration.num_workers, 'number');
    assert.not.ok('Instances' in s.configuration, 'a Databricks fragment, not an EMR one');
    assert.match(s.explanation, /VM \$[\d.]+ \+ DBUs \$[\d.]+/, `${pref}: ${s.explanation} ${JSON.stringify((predicted.result as { warnings?: string[] }).warnings)}`);
    const split = (s as { costBreakdown?: { vmUsd: number; dbuUsd: number } }).costBreakdown;
    assert.ok(split && split.vmUsd > 0 && split.dbuUsd > 0 && Math.abs(split.vmUsd + split.dbuUsd - s.estimate.costUsd) < 0.001, `${pref}: ${JSON.stringify(split)}`);
  }
  const { body, cluster, chosen, mine } = await applyPrediction(env, { projectId: 'orders', prediction, preference: 'economy', idempotencyKey: 'orders-apply-1', original: fixture() });
  // The user's Spark settings stay but for those the solution recommends (its spark_conf), which are written.
  const conf = cluster.spark_conf as Record<string, string>;
  const recommended = (chosen.spark_conf ?? {}) as Record<string, string>;
  for (const [k, v] of Object.entries({ ...(mine.spark_conf as Record<string, string>), ...recommended })) assert.is(conf[k], v, k);
  for (const k of Object.keys(conf)) assert.ok(k in (mine.spark_conf as object) || k in recommended, k);
  assert.equal(body.tasks, fixture().tasks);
});

test('the poller hands run.record for a finished run: recorded with no run.record sent', async () => {
  const started = await request('run.start', { projectId: 'orders' }, 'orders-2026-12-05');
  assert.is(started.status, 'completed', JSON.stringify(started.error));
  const { runId } = started.result as { runId: string };
  const deadline = Date.now() + 90_000;
  let run: Run | undefined;
  while (Date.now() < deadline) {
    run = (await runsOf('orders')).find((r) => r.id === runId);
    if (run?.status === 'recorded' || run?.status === 'failed') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.is(run?.status, 'recorded', `run ${runId} is ${run?.status}`);
  assert.ok(run?.reportUrl?.endsWith('databricks-cluster-report.json'));
  assert.ok(logs.some((l) => l.includes('"component":"reconciler"') && l.includes(runId)), 'handed over by the poller');
});

test('runs/submit answers lost: the client resends with the same token, then the next attempt finds the run by its tags; exactly one Databricks run', async () => {
  const before = server.runs().length;
  const submitsBefore = server.requests().filter((r) => r.path === '/api/2.1/jobs/runs/submit').length;
  // Three lost answers use up the client's attempts, so the request's first attempt fails with its launch claim taken.
  server.inject({ path: '/api/2.1/jobs/runs/submit', status: 500, times: 3, afterHandling: true });
  const started = await request('run.start', { projectId: 'orders' }, 'orders-2026-12-06', 90_000);
  assert.is(started.status, 'completed', JSON.stringify(started.error));
  const { runId, databricksRunId } = started.result as { runId: string; databricksRunId: number };
  const mine = server.runs().filter((r) => r.customTags['sync:run-id'] === runId);
  assert.is(mine.length, 1);
  assert.is(mine[0]!.runId, databricksRunId);
  assert.is(server.runs().length, before + 1);
  assert.ok(server.requests().filter((r) => r.path === '/api/2.1/jobs/runs/submit').length - submitsBefore >= 3, 'resent with the same token');
  assert.ok(server.requests().some((r) => r.path === '/api/2.1/jobs/runs/list'), 'the next attempt looked the run up by its tags');
});

test('run.cancel on a Databricks run: runs/cancel, recorded cancelled, idempotent, not recorded by the poller', async () => {
  // Real time while the run is cancelled: at 3000x it could end before the cancel reaches it on a busy machine.
  server.clock.setTimeScale(1);
  let runId: string;
  try {
    runId = await cancelOnce();
  } finally {
    server.clock.setTimeScale(3000);
  }
  // The poller leaves a cancelled run alone (it is not running), even once Databricks ends it.
  await new Promise((r) => setTimeout(r, 1500));
  const run = (await runsOf('orders')).find((r) => r.id === runId)!;
  assert.is(run.status, 'cancelled');
  assert.is(run.reportUrl, undefined);
});

async function cancelOnce(): Promise<string> {
  const started = await request('run.start', { projectId: 'orders' }, 'orders-2026-12-07');
  assert.is(started.status, 'completed', JSON.stringify(started.error));
  const { runId, databricksRunId, clusterId } = started.result as { runId: string; databricksRunId: number; clusterId?: string };
  const cancelsBefore = server.requests().filter((r) => r.path === '/api/2.1/jobs/runs/cancel').length;
  const first = await request('run.cancel', { projectId: 'orders', runId, by: 'alice', reason: 'wrong input' });
  assert.is(first.status, 'completed', JSON.stringify(first.error));
  const answer = first.result as { status: string; databricksRunId?: number; clusterId?: string; cancelledSteps?: string[] };
  assert.is(answer.status, 'cancelled');
  assert.is(answer.databricksRunId, databricksRunId);
  assert.is(answer.clusterId, clusterId);
  assert.equal(answer.cancelledSteps, (fixture().tasks as { task_key: string }[]).map((t) => t.task_key), 'the tasks that had not finished');
  assert.is(server.requests().filter((r) => r.path === '/api/2.1/jobs/runs/cancel').length, cancelsBefore + 1, 'POST /api/2.1/jobs/runs/cancel');
  const ours = server.runs().find((r) => r.runId === databricksRunId)!;
  assert.is(ours.resultState, 'CANCELED');
  const second = await request('run.cancel', { projectId: 'orders', runId, by: 'bob' });
  assert.is(second.status, 'completed', JSON.stringify(second.error));
  assert.is((second.result as { status: string }).status, 'cancelled');
  const run = (await runsOf('orders')).find((r) => r.id === runId)!;
  assert.is(run.status, 'cancelled');
  assert.is(run.cancelled?.by, 'alice', 'the first cancel is kept');
  return runId;
}

test('the code-change guard: a prediction learnt before the task code changed is not applied', async () => {
  const runs = await runsOf('orders');
  assert.ok(runs.every((r) => r.fingerprint?.startsWith('sha256:')), 'every run keeps the fingerprint of the code it ran');
  assert.is(new Set(runs.map((r) => r.fingerprint)).size, 1, 'one code, one fingerprint, whatever the cluster');
  const predicted = await request('prediction.create', { projectId: 'orders' }, 'orders-predict-guard', 90_000);
  assert.is(predicted.status, 'completed', JSON.stringify(predicted.error));
  const { predictionId } = predicted.result as { predictionId: string };
  // A new version of the aggregate task's python file lands on DBFS.
  server.files().set('/etl/orders/aggregate.py', { bytes: Buffer.from('# v2\n'), modifiedAt: server.clock.now() });
  const before = server.runs().length;
  const refused = await request('prediction.apply', { projectId: 'orders', predictionId, preference: 'economy' }, 'orders-apply-guard', 60_000);
  assert.is(refused.status, 'failed', JSON.stringify(refused.result));
  assert.match(refused.error?.message ?? '', /application changed since/);
  assert.is(server.runs().length, before, 'nothing submitted');
});

test('the token never appears in logs, Redis, objects or state', async () => {
  assert.ok(logs.length > 0);
  assert.not.ok(logs.some((l) => l.includes(TOKEN)), 'logs');
  const keys = await redis.keys('*');
  for (const k of keys) {
    const type = await redis.type(k);
    const dump = type === 'string' ? await redis.get(k) : type === 'hash' ? JSON.stringify(await redis.hgetall(k)) : type === 'stream' ? JSON.stringify(await redis.xrange(k, '-', '+')) : type === 'list' ? JSON.stringify(await redis.lrange(k, 0, -1)) : type === 'zset' ? JSON.stringify(await redis.zrange(k, 0, -1)) : '';
    assert.not.ok((dump ?? '').includes(TOKEN), `redis key ${k}`);
  }
  for (const [path, f] of server.files()) assert.not.ok(f.bytes.includes(TOKEN), path);
  const walk = (d: string): string[] => readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]));
  for (const file of walk(join(dir, 'state'))) assert.not.ok(readFileSync(file).includes(TOKEN), file);
});

test.run();
