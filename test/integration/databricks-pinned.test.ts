// Issue 13 on Databricks through the agent (sandbox workspace): prediction.apply writes the recommended
// settings into the job cluster's spark_conf and never changes a key of policy.pinned, even one the
// prediction set (the policy pinned it after the prediction was made); the user's other keys stay.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import type { DatabricksJob } from '../../src/domain/databricks-job.js';
import type { Prediction } from '../../src/domain/types.js';
import { startDatabricksAgent, type DatabricksAgent } from '../support/databricks-agent.js';

const TOKEN = 'dapi-pinned-test-2c7e9a41b0d35f86';
const USER_CONF = { 'spark.sql.shuffle.partitions': '400', 'spark.speculation': 'true', 'spark.executor.memory': '24g', 'spark.executor.cores': '8' };
const job = (): DatabricksJob => {
  const j = JSON.parse(readFileSync(new URL('../fixtures/databricks/multi-task-job.json', import.meta.url), 'utf8')) as DatabricksJob;
  (j.job_clusters as { new_cluster: Record<string, unknown> }[])[0]!.new_cluster.spark_conf = { ...USER_CONF };
  return j;
};
let env: DatabricksAgent;

test.before(async () => {
  env = await startDatabricksAgent({ name: 'pinned', token: TOKEN, prefix: 'dbxpin', cloud: 'aws', projectLocation: 'dbfs:/sync/pinned' });
});
test.after(async () => {
  await env?.close();
});

test('prediction.apply on Databricks: recommended keys go into spark_conf, pinned keys keep the user value', async () => {
  const created = await env.request('project.create', { projectId: 'orders', name: 'nightly orders', platform: 'databricks', job: job() });
  assert.is(created.status, 'completed', JSON.stringify(created.error));
  const started = await env.request('run.start', { projectId: 'orders' }, 'pin-run-1');
  assert.is(started.status, 'completed', JSON.stringify(started.error));
  const recorded = await env.request('run.record', { projectId: 'orders', runId: (started.result as { runId: string }).runId }, undefined, 90_000);
  assert.is(recorded.status, 'completed', JSON.stringify(recorded.error));
  assert.is((recorded.result as { status: string }).status, 'recorded');
  const predicted = await env.request('prediction.create', { projectId: 'orders' }, 'pin-predict-1', 90_000);
  assert.is(predicted.status, 'completed', JSON.stringify(predicted.error));
  const prediction = predicted.result as Prediction;
  const fragment = prediction.solutions.performance.configuration as { spark_conf?: Record<string, string> };
  const recommended = fragment.spark_conf ?? {};
  // The user set executor sizing, so the solution sets it too: an unpinned apply would change it.
  assert.ok(recommended['spark.executor.memory'] !== undefined && recommended['spark.executor.memory'] !== USER_CONF['spark.executor.memory'], JSON.stringify(recommended));
  // The solution carries its evidence, its dollar figures named as EC2 + EMR beside the Databricks price.
  assert.match(prediction.solutions.performance.evidence?.[0] ?? '', /^the basis run's \d+ tasks kept its \d+ task slots .*\(EC2 \+ EMR prices; on Databricks \$[\d.]+\)$/);

  const updated = await env.request('project.update', { projectId: 'orders', policy: { pinned: ['spark.executor.memory', 'spark.executor.cores'] } });
  assert.is(updated.status, 'completed', JSON.stringify(updated.error));
  const applied = await env.request('prediction.apply', { projectId: 'orders', predictionId: prediction.predictionId, preference: 'performance' }, 'pin-apply-1', 60_000);
  assert.is(applied.status, 'completed', JSON.stringify(applied.error));
  const submitted = env.server.runs().find((r) => r.runId === (applied.result as { databricksRunId: number }).databricksRunId)!;
  const conf = (submitted.body.job_clusters as { new_cluster: { spark_conf: Record<string, string> } }[])[0]!.new_cluster.spark_conf;
  assert.is(conf['spark.executor.memory'], '24g');
  assert.is(conf['spark.executor.cores'], '8');
  assert.is(conf['spark.speculation'], 'true');
  for (const [k, v] of Object.entries(recommended)) if (k !== 'spark.executor.memory' && k !== 'spark.executor.cores') assert.is(conf[k], v, k);
  // Only spark.* settings the recommendation carries or the user had are there (no executor counts: Databricks sizes by workers).
  for (const k of Object.keys(conf)) assert.ok(k in USER_CONF || k in recommended, k);
  assert.not.ok(Object.keys(conf).some((k) => k.startsWith('spark.dynamicAllocation.') || k === 'spark.executor.instances'));
});

test('a cold start on Databricks: the guess goes into the cluster as node type, workers and spark_conf, pinned keys kept', async () => {
  const created = await env.request('project.create', {
    projectId: 'fresh',
    name: 'fresh orders',
    platform: 'databricks',
    job: job(),
    policy: { declaredInput: { bytes: 5 * 1024 ** 3, type: 'sql' }, pinned: ['spark.executor.memory'] },
  });
  assert.is(created.status, 'completed', JSON.stringify(created.error));
  const predicted = await env.request('prediction.create', { projectId: 'fresh' }, 'fresh-predict-1');
  assert.is(predicted.status, 'completed', JSON.stringify(predicted.error));
  const prediction = predicted.result as Prediction;
  assert.is(prediction.coldStart?.guess, true);
  const applied = await env.request('prediction.apply', { projectId: 'fresh', predictionId: prediction.predictionId }, 'fresh-apply-1', 60_000);
  assert.is(applied.status, 'completed', JSON.stringify(applied.error));
  const submitted = env.server.runs().find((r) => r.runId === (applied.result as { databricksRunId: number }).databricksRunId)!;
  const cluster = (submitted.body.job_clusters as { new_cluster: Record<string, unknown> }[])[0]!.new_cluster;
  assert.is(cluster.node_type_id, 'm5.xlarge');
  assert.is(cluster.num_workers, 2);
  const conf = cluster.spark_conf as Record<string, string>;
  assert.is(conf['spark.executor.memory'], '24g', 'pinned: the user value');
  assert.is(conf['spark.sql.shuffle.partitions'], '64', "the table's value for 5 GiB of sql (the user had 400)");
  assert.is(conf['spark.executor.cores'], '4');
  const run = (await env.runsOf('fresh')).find((r) => r.id === (applied.result as { runId: string }).runId)!;
  assert.is(run.expected, undefined, 'a guess is no estimate');
});

test.run();
