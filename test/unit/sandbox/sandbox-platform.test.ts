import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createAddressPool, createClusterRecord } from '../../../src/sandbox/emr-cluster.js';
import { eventLogStoreUrl, parseMemoryMb, sandboxClusterOf, sparkConfOf, workerNodesOf } from '../../../src/sandbox/sandbox-platform.js';

const record = (instances: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  createClusterRecord({ Name: 'c', ReleaseLabel: 'emr-6.15.0', Instances: instances, ...extra }, { region: 'us-east-1', account: '1', now: 0, pool: createAddressPool() });

test('parseMemoryMb reads Spark memory strings in MiB', () => {
  assert.is(parseMemoryMb('4g'), 4096);
  assert.is(parseMemoryMb('4096m'), 4096);
  assert.is(parseMemoryMb('9397M'), 9397);
  assert.is(parseMemoryMb('2048'), 2048);
  assert.is(parseMemoryMb('1t'), 1024 * 1024);
  assert.is(parseMemoryMb('lots'), undefined);
});

test('eventLogStoreUrl maps s3a:// to s3://, keeps file://, refuses hdfs://', () => {
  assert.is(eventLogStoreUrl('s3a://b/p/run/eventlog'), 's3://b/p/run/eventlog/');
  assert.is(eventLogStoreUrl('s3://b/x/'), 's3://b/x/');
  assert.is(eventLogStoreUrl('file:///tmp/logs'), 'file:///tmp/logs/');
  assert.is(eventLogStoreUrl('hdfs:///var/log/spark/apps'), undefined);
  assert.is(eventLogStoreUrl(undefined), undefined);
});

test('workers: the most common core/task type and every worker node; a lone master is a single-node cluster', () => {
  const groups = record({
    InstanceGroups: [
      { InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 },
      { InstanceRole: 'CORE', InstanceType: 'r5.xlarge', InstanceCount: 3 },
      { InstanceRole: 'TASK', InstanceType: 'r5.xlarge', InstanceCount: 2 },
    ],
  });
  assert.equal(workerNodesOf(groups), { instanceType: 'r5.xlarge', nodes: 5, masterType: 'm5.xlarge' });
  const single = record({ MasterInstanceType: 'c5.2xlarge', InstanceCount: 1 });
  assert.equal(workerNodesOf(single), { instanceType: 'c5.2xlarge', nodes: 1, masterType: 'c5.2xlarge' });
});

test('Spark settings: spark-defaults, then the step\'s --conf and --executor-* flags win', () => {
  const c = record(
    { InstanceGroups: [{ InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 }, { InstanceRole: 'CORE', InstanceType: 'm5.2xlarge', InstanceCount: 2 }] },
    {
      Configurations: [
        {
          Classification: 'spark-defaults',
          Properties: { 'spark.executor.cores': '2', 'spark.executor.memory': '6g', 'spark.eventLog.dir': 's3a://b/e/', 'spark.dynamicAllocation.maxExecutors': '5', 'spark.executor.memoryOverhead': '1g' },
        },
      ],
      Steps: [
        {
          Name: 's',
          HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', '--executor-memory', '3g', '--conf', 'spark.dynamicAllocation.enabled=false', '--num-executors', '3', 'job.py'] },
        },
      ],
    },
  );
  const conf = sparkConfOf(c, c.steps[0]);
  assert.is(conf['spark.executor.memory'], '3g');
  assert.is(conf['spark.eventLog.dir'], 's3a://b/e/');
  assert.equal(sandboxClusterOf(c, conf), {
    instanceType: 'm5.2xlarge',
    nodes: 2,
    bootstrapActions: 0,
    masterType: 'm5.xlarge',
    executorCores: 2,
    executorMemoryMb: 3072,
    executorInstances: 3,
    maxExecutors: 5,
    executorMemoryOverheadMb: 1024,
    dynamicAllocation: false,
  });
});

test.run();
