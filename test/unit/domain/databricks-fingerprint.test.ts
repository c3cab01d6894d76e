import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { databricksFingerprintOf, databricksReferencedObjects } from '../../../src/domain/databricks-fingerprint.js';

const job = (): Record<string, unknown> => JSON.parse(readFileSync(new URL('../../fixtures/databricks/multi-task-job.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const etags = { 'dbfs:/etl/orders/aggregate.py': '"a1"', 'dbfs:/etl/wheels/orders-1.4.0-py3-none-any.whl': '"w1"' };

test('databricksReferencedObjects: the python file and wheel the tasks name, not the init script or notebooks', () => {
  // In the order of the task's fields, sorted (libraries before spark_python_task).
  assert.equal(databricksReferencedObjects(job()), ['dbfs:/etl/wheels/orders-1.4.0-py3-none-any.whl', 'dbfs:/etl/orders/aggregate.py']);
  const j = job();
  (j.tasks as Record<string, unknown>[])[1]!.spark_python_task = { python_file: 's3a://code/agg.py', parameters: ['--py-files=s3://code/a.zip,/Volumes/main/etl/code/b.zip'] };
  assert.equal(databricksReferencedObjects(j), ['dbfs:/etl/wheels/orders-1.4.0-py3-none-any.whl', 's3://code/a.zip', '/Volumes/main/etl/code/b.zip', 's3://code/agg.py']);
});

test('databricksFingerprintOf: the cluster is not the code; tasks, code objects and git_source are', () => {
  const base = databricksFingerprintOf(job(), etags);
  assert.match(base, /^sha256:[0-9a-f]{32}$/);
  const resized = job();
  const cluster = (resized.job_clusters as { new_cluster: Record<string, unknown> }[])[0]!.new_cluster;
  cluster.node_type_id = 'r5.2xlarge';
  cluster.num_workers = 4;
  assert.is(databricksFingerprintOf(resized, etags), base, 'a new cluster is the same code');
  assert.is.not(databricksFingerprintOf(job(), { ...etags, 'dbfs:/etl/orders/aggregate.py': '"a2"' }), base, 'new bytes in the python file');
  assert.is.not(databricksFingerprintOf(job(), {}), base, 'a code object gone');
  const params = job();
  ((params.tasks as Record<string, unknown>[])[1]!.spark_python_task as { parameters: string[] }).parameters.push('--full');
  assert.is.not(databricksFingerprintOf(params, etags), base, 'new task parameters');
  assert.is.not(databricksFingerprintOf({ ...job(), git_source: { git_url: 'https://github.com/acme/etl', git_commit: 'abc123' } }, etags), base, 'a git_source');
});

test.run();
