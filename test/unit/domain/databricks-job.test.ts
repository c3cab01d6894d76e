import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  checkDatabricksJob,
  clusterLogConf,
  cloudOfHost,
  databricksIdempotencyToken,
  jobClusterOf,
  mergeDatabricksJob,
  planRunsSubmit,
  type DatabricksJob,
} from '../../../src/domain/databricks-job.js';
import { validateRequest } from '../../../src/queues/validate-request.js';
import { thrownSyncError as errorOf } from '../../support/async.js';

const fixture = (): DatabricksJob => JSON.parse(readFileSync(new URL('../../fixtures/databricks/multi-task-job.json', import.meta.url), 'utf8')) as DatabricksJob;
const runUrl = 's3://runs-bucket/sync/p1/2022-11-15T13:51:29Z/r-1/';
const plan = (job: DatabricksJob, extra: { predictionId?: string; runUrl?: string; cloud?: 'aws' | 'azure' } = {}) =>
  planRunsSubmit({ job, project: { id: 'p1', name: 'orders' }, runId: 'r-1', runUrl: extra.runUrl ?? runUrl, tenantId: 'acme', cloud: extra.cloud ?? 'aws', region: 'us-east-1', predictionId: extra.predictionId });

test('a multi-task job on one job cluster is accepted and its cluster found', () => {
  const job = fixture();
  assert.equal(checkDatabricksJob(job), { kind: 'job_cluster', index: 0, key: 'etl' });
  assert.is(jobClusterOf(job).node_type_id, 'm5.4xlarge');
  const single = { tasks: [{ task_key: 'only', spark_jar_task: { main_class_name: 'A' }, new_cluster: { num_workers: 2 } }] };
  assert.equal(checkDatabricksJob(single), { kind: 'task', index: 0 });
});

test('two clusters in one job are refused, naming the task', () => {
  const job = fixture();
  (job.job_clusters as unknown[]).push({ job_cluster_key: 'other', new_cluster: { num_workers: 1 } });
  ((job.tasks as Record<string, unknown>[])[1]!).job_cluster_key = 'other';
  const e = errorOf(() => checkDatabricksJob(job));
  assert.is(e.code, 'invalid_request');
  assert.match(e.message, /job\.tasks\[1\] runs on job cluster 'other' but job\.tasks\[0\] on job cluster 'etl': a project is one cluster/);
  const twoNew = { tasks: [1, 2].map((i) => ({ task_key: `t${i}`, notebook_task: { notebook_path: '/x' }, new_cluster: { num_workers: 2 } })) };
  assert.match(errorOf(() => checkDatabricksJob(twoNew)).message, /job\.tasks\[1\] runs on its own new_cluster/);
});

test('each malformed task is named', () => {
  const cases: [unknown, RegExp][] = [
    [{ tasks: [] }, /job\.tasks must be a non-empty array/],
    [{ tasks: [{ task_key: 'a', job_cluster_key: 'nope', notebook_task: {} }] }, /job\.tasks\[0\]\.job_cluster_key 'nope' names no entry of job\.job_clusters/],
    [{ tasks: [{ task_key: 'a', new_cluster: {} }] }, /job\.tasks\[0\] must have exactly one of spark_python_task/],
    [{ tasks: [{ task_key: 'a', new_cluster: {}, notebook_task: {}, spark_jar_task: {} }] }, /\(it has spark_jar_task and notebook_task\)/],
    [{ tasks: [{ task_key: 'a', existing_cluster_id: '0101-abc', notebook_task: {} }] }, /job\.tasks\[0\]\.existing_cluster_id is not supported/],
    [{ tasks: [{ task_key: 'a', notebook_task: {} }] }, /exactly one of new_cluster and job_cluster_key/],
  ];
  for (const [job, re] of cases) assert.match(errorOf(() => checkDatabricksJob(job)).message, re);
});

test('the request schema refuses two clusters and names the field', () => {
  const job = fixture();
  (job.tasks as Record<string, unknown>[])[1] = { task_key: 'b', new_cluster: { num_workers: 1 }, notebook_task: { notebook_path: '/b' } };
  const e = errorOf(() => validateRequest({ name: 'project.create', data: { name: 'orders', platform: 'databricks', job } }));
  assert.is(e.code, 'invalid_request');
  assert.match(e.message, /^data\.job\.tasks\[1\]: runs on its own new_cluster but data\.job\.tasks\[0\] on job cluster 'etl'/);
  const noTasks = errorOf(() => validateRequest({ name: 'project.create', data: { name: 'o', platform: 'databricks', job: { run_name: 'x' } } }));
  assert.match(noTasks.message, /data\.job\.tasks: is required/);
  const onEmr = errorOf(() => validateRequest({ name: 'project.create', data: { name: 'o', platform: 'emr', job: fixture() } }));
  assert.match(onEmr.message, /data\.job: is only for platform 'databricks'/);
  const ok = validateRequest({ name: 'project.create', data: { name: 'orders', platform: 'databricks', job: fixture() } });
  assert.equal((ok.data as { job: unknown }).job, fixture());
});

test('the planner adds token, tags and log destination and keeps every user field', () => {
  const job = fixture();
  const { body, warnings } = plan(job, { predictionId: 'pr-9' });
  assert.equal(warnings, []);
  assert.is(body.idempotency_token, 'sync-r-1');
  const cluster = (body.job_clusters as { new_cluster: Record<string, unknown> }[])[0]!.new_cluster;
  assert.equal(cluster.custom_tags, { team: 'orders', 'sync:tenant-id': 'acme', 'sync:project-id': 'p1', 'sync:run-id': 'r-1', 'sync:prediction-id': 'pr-9' });
  assert.equal(cluster.cluster_log_conf, { s3: { destination: `${runUrl}cluster-logs`, region: 'us-east-1' } });
  // Everything else is exactly the user's.
  const expected = fixture();
  const expectedCluster = (expected.job_clusters as { new_cluster: Record<string, unknown> }[])[0]!.new_cluster;
  expectedCluster.custom_tags = cluster.custom_tags;
  expectedCluster.cluster_log_conf = cluster.cluster_log_conf;
  expected.idempotency_token = 'sync-r-1';
  assert.equal(body, expected);
  assert.equal(job, fixture(), 'the input is not changed');
});

test("a user's sync: tags, token and log conf are replaced with a warning", () => {
  const job = fixture();
  const c = (job.job_clusters as { new_cluster: Record<string, unknown> }[])[0]!.new_cluster;
  c.custom_tags = { 'sync:run-id': 'old', 'sync:stale': 'x', team: 'orders' };
  c.cluster_log_conf = { dbfs: { destination: 'dbfs:/cluster-logs' } };
  job.idempotency_token = 'mine';
  const { body, warnings } = plan(job);
  const tags = (body.job_clusters as { new_cluster: Record<string, unknown> }[])[0]!.new_cluster.custom_tags;
  assert.equal(tags, { 'sync:run-id': 'r-1', team: 'orders', 'sync:tenant-id': 'acme', 'sync:project-id': 'p1' });
  assert.is(warnings.length, 4);
  assert.ok(warnings.some((w) => w.includes("sync:stale='x' was removed")));
  assert.ok(warnings.some((w) => w.startsWith('cluster_log_conf')));
});

test('the log destination follows the location scheme and the cloud', () => {
  assert.equal(clusterLogConf('dbfs:/sync/runs/p1/t/r-1/', 'azure', undefined), { dbfs: { destination: 'dbfs:/sync/runs/p1/t/r-1/cluster-logs' } });
  assert.equal(clusterLogConf('/Volumes/main/etl/runs/p1/t/r-1/', 'aws', 'us-east-1'), { volumes: { destination: '/Volumes/main/etl/runs/p1/t/r-1/cluster-logs' } });
  assert.equal(clusterLogConf('dbfs:/Volumes/main/etl/runs/r/', 'azure', undefined), { volumes: { destination: '/Volumes/main/etl/runs/r/cluster-logs' } });
  assert.is(errorOf(() => clusterLogConf(runUrl, 'azure', undefined)).code, 'invalid_config');
  assert.is(errorOf(() => clusterLogConf('file:///tmp/runs/r/', 'aws', 'us-east-1')).code, 'invalid_config');
  assert.is(cloudOfHost('https://adb-1234567890123456.7.azuredatabricks.net'), 'azure');
  assert.is(cloudOfHost('https://dbc-a1b2c3d4-e5f6.cloud.databricks.com'), 'aws');
});

test('idempotency tokens are at most 64 characters and differ per run id', () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/), fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/), (a, b) => {
      const ta = databricksIdempotencyToken(a);
      assert.ok(ta.length <= 64);
      assert.is(ta, databricksIdempotencyToken(a));
      if (a !== b) assert.is.not(ta, databricksIdempotencyToken(b));
    }),
  );
});

test('a fragment replaces the shape and merges spark_conf, keeping everything else', () => {
  const job = fixture();
  const merged = mergeDatabricksJob(job, { node_type_id: 'r5.2xlarge', driver_node_type_id: 'r5.xlarge', num_workers: 6, spark_conf: { 'spark.executor.memory': '40g', 'spark.sql.shuffle.partitions': '200' } });
  const c = (merged.job_clusters as { new_cluster: Record<string, unknown> }[])[0]!.new_cluster;
  assert.is(c.node_type_id, 'r5.2xlarge');
  assert.is(c.num_workers, 6);
  assert.equal(c.spark_conf, { 'spark.sql.shuffle.partitions': '200', 'spark.speculation': 'true', 'spark.executor.memory': '40g' });
  const rest = structuredClone(merged);
  const restCluster = (rest.job_clusters as { new_cluster: Record<string, unknown> }[])[0]!.new_cluster;
  const orig = (job.job_clusters as { new_cluster: Record<string, unknown> }[])[0]!.new_cluster;
  for (const k of ['node_type_id', 'driver_node_type_id', 'num_workers', 'spark_conf']) restCluster[k] = orig[k];
  assert.equal(rest, job);
  const autoscaled = mergeDatabricksJob(merged, { autoscale: { min_workers: 2, max_workers: 8 } });
  const a = (autoscaled.job_clusters as { new_cluster: Record<string, unknown> }[])[0]!.new_cluster;
  assert.equal(a.autoscale, { min_workers: 2, max_workers: 8 });
  assert.is(a.num_workers, undefined);
});

test('property: planning keeps every user field outside the ones it owns', () => {
  const value = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.dictionary(fc.string({ minLength: 1 }), fc.string(), { noNullPrototype: true }));
  const key = fc.stringMatching(/^[a-z][a-z_]{0,12}$/).filter((k) => !['custom_tags', 'cluster_log_conf'].includes(k));
  fc.assert(
    fc.property(fc.dictionary(key, value, { noNullPrototype: true }), fc.dictionary(key.filter((k) => !['tasks', 'job_clusters', 'idempotency_token', 'run_name'].includes(k)), value, { noNullPrototype: true }), (clusterExtra, jobExtra) => {
      const job: DatabricksJob = { ...jobExtra, run_name: 'r', tasks: [{ task_key: 't', spark_python_task: { python_file: 'x.py' }, new_cluster: clusterExtra }] };
      const { body } = plan(job, { runUrl: 'dbfs:/runs/p1/t/r-1/' });
      const c = (body.tasks as { new_cluster: Record<string, unknown> }[])[0]!.new_cluster;
      for (const [k, v] of Object.entries(clusterExtra)) assert.equal(c[k], v);
      for (const [k, v] of Object.entries(jobExtra)) assert.equal(body[k], v);
      assert.equal(c.cluster_log_conf, { dbfs: { destination: 'dbfs:/runs/p1/t/r-1/cluster-logs' } });
    }),
  );
});

test.run();
