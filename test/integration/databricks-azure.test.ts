// The same on Azure Databricks: Standard_* node types, azure_attributes kept, a dbfs:/ log destination
// read back through the DBFS API, the run priced with the Azure VM price and Azure $/DBU.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import type { ResultEntry } from '../../src/queues/results.js';
import { applyPrediction, startDatabricksAgent, type DatabricksAgent } from '../support/databricks-agent.js';
import type { DatabricksServer } from '../../src/sandbox/databricks-server.js';
import type { DatabricksJob } from '../../src/domain/databricks-job.js';
import type { Run } from '../../src/domain/types.js';

const TOKEN = 'dapi-azure-test-9e1d77c0a5b34f21';
const fixture = (): DatabricksJob => JSON.parse(readFileSync(new URL('../fixtures/databricks/multi-task-job.json', import.meta.url), 'utf8')) as DatabricksJob;
let server: DatabricksServer;
let logs: string[] = [];
let env: DatabricksAgent;

test.before(async () => {
  env = await startDatabricksAgent({ name: 'azure', token: TOKEN, prefix: 'dbxaz', cloud: 'azure', projectLocation: 'dbfs:/sync/azure-runs' });
  ({ server, logs } = env);
});
test.after(async () => {
  await env?.close();
});

const request = (name: string, data: unknown, idempotencyKey?: string, timeoutMs = 60_000, answeredAs?: string): Promise<ResultEntry> => env.request(name, data, idempotencyKey, timeoutMs, answeredAs);
const runsOf = (projectId: string): Promise<Run[]> => env.runsOf(projectId);

function azureJob(): DatabricksJob {
  const job = fixture();
  const c = (job.job_clusters as { new_cluster: Record<string, unknown> }[])[0]!.new_cluster;
  delete c.aws_attributes;
  c.azure_attributes = { availability: 'ON_DEMAND_AZURE', first_on_demand: 1, spot_bid_max_price: -1 };
  c.node_type_id = 'Standard_E8ds_v4';
  c.driver_node_type_id = 'Standard_E4ds_v4';
  c.num_workers = 6;
  return job;
}

test('Azure: run.start and run.record with Standard_* node types and a dbfs:/ log destination read through the DBFS API', async () => {
  const created = await request('project.create', { projectId: 'orders-az', name: 'orders on azure', platform: 'databricks', job: azureJob() });
  assert.is(created.status, 'completed', JSON.stringify(created.error));
  const started = await request('run.start', { projectId: 'orders-az' }, 'orders-az-1');
  assert.is(started.status, 'completed', JSON.stringify(started.error));
  const { runId, location } = started.result as { runId: string; location: string };
  const submitted = server.runs()[0]!;
  const cluster = (submitted.body.job_clusters as { new_cluster: Record<string, unknown> }[])[0]!.new_cluster;
  assert.is(cluster.node_type_id, 'Standard_E8ds_v4');
  assert.equal(cluster.azure_attributes, { availability: 'ON_DEMAND_AZURE', first_on_demand: 1, spot_bid_max_price: -1 });
  assert.equal(cluster.cluster_log_conf, { dbfs: { destination: `${location}cluster-logs` } });
  const recorded = await request('run.record', { projectId: 'orders-az', runId }, undefined, 90_000);
  assert.is(recorded.status, 'completed', JSON.stringify(recorded.error));
  const run = (await runsOf('orders-az')).find((r) => r.id === runId)!;
  assert.is(run.status, 'recorded');
  assert.ok(run.eventLogUrl?.startsWith(`${location}cluster-logs/${submitted.clusterId}/eventlog/`));
  assert.ok(server.requests().some((r) => r.path === '/api/2.0/dbfs/list'), 'listed through the DBFS API');
  assert.ok(server.requests().some((r) => r.path === '/api/2.0/dbfs/get-status'), 'looked at the delivered file through the DBFS API');
  const report = JSON.parse(server.files().get(run.reportUrl!.slice('dbfs:'.length))!.bytes.toString('utf8')) as { Cloud: string; Cluster: { cluster_id: string } };
  assert.is(report.Cloud, 'azure');
  assert.is(report.Cluster.cluster_id, submitted.clusterId);
  // Azure prices: E8ds_v4 is 2 DBU/h and $0.576/h (eastus), Premium Jobs $0.30/DBU (data/databricks-catalog.json).
  assert.ok((run.costBreakdown?.vmUsd ?? 0) > 0 && (run.costBreakdown?.dbuUsd ?? 0) > 0, JSON.stringify(run.costBreakdown));
  const hours = (Date.parse(run.endedAt!) - Date.parse(submitted.submittedAt ? new Date(submitted.submittedAt).toISOString() : run.startedAt!)) / 3_600_000;
  const expectedVm = (0.576 * 6 + vmOf('Standard_E4ds_v4')) * hours;
  assert.ok(Math.abs((run.costBreakdown?.vmUsd ?? 0) - expectedVm) < 0.01 + expectedVm * 0.01, `vm ${run.costBreakdown?.vmUsd} vs ${expectedVm}`);
  assert.not.ok(logs.some((l) => l.includes(TOKEN)));
});

test('Azure: prediction.create recommends Standard_* node types with runtime and VM + DBU cost; prediction.apply submits it with everything else unchanged', async () => {
  const predicted = await request('prediction.create', { projectId: 'orders-az' }, 'orders-az-predict-1', 90_000);
  assert.is(predicted.status, 'completed', JSON.stringify(predicted.error));
  const prediction = predicted.result as { predictionId: string; solutions: Record<string, { configuration: Record<string, unknown>; estimate: { runtimeSeconds: number; costUsd: number }; explanation: string }> };
  const offered = new Set(catalogNodeTypes());
  for (const [pref, s] of Object.entries(prediction.solutions)) {
    assert.ok(s.estimate.runtimeSeconds > 0 && s.estimate.costUsd > 0, `${pref}: ${JSON.stringify(s.estimate)}`);
    assert.match(String(s.configuration.node_type_id), /^Standard_/, pref);
    assert.ok(offered.has(String(s.configuration.node_type_id)), `${pref}: ${String(s.configuration.node_type_id)} is an Azure Databricks node type`);
    assert.match(String(s.configuration.driver_node_type_id), /^Standard_/, pref);
    assert.type(s.configuration.num_workers, 'number');
    assert.match(s.explanation, /VM \$[\d.]+ \+ DBUs \$[\d.]+/, `${pref}: ${s.explanation}`);
  }
  const { body, cluster, chosen, mine } = await applyPrediction(env, { projectId: 'orders-az', prediction, preference: 'economy', idempotencyKey: 'orders-az-apply-1', original: azureJob() });
  assert.is(cluster.driver_node_type_id, chosen.driver_node_type_id);
  const conf = cluster.spark_conf as Record<string, string>;
  for (const [k, v] of Object.entries(mine.spark_conf as Record<string, string>)) assert.is(conf[k], v, k);
  for (const k of Object.keys(conf)) assert.ok(k in (mine.spark_conf as object) || k.startsWith('spark.executor.'), k);
  assert.equal(body.tasks, azureJob().tasks);
});

function catalogNodeTypes(): string[] {
  const catalog = JSON.parse(readFileSync(new URL('../../data/databricks-catalog.json', import.meta.url), 'utf8')) as { azure: { nodeTypes: { nodeTypeId: string }[] } };
  return catalog.azure.nodeTypes.map((n) => n.nodeTypeId);
}

function vmOf(type: string): number {
  const catalog = JSON.parse(readFileSync(new URL('../../data/databricks-catalog.json', import.meta.url), 'utf8')) as { azure: { nodeTypes: { nodeTypeId: string; vmUsdPerHour?: number }[] } };
  return catalog.azure.nodeTypes.find((n) => n.nodeTypeId === type)?.vmUsdPerHour ?? NaN;
}

test.run();
