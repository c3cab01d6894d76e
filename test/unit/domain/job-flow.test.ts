import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { mergeJobFlow, planJobFlow } from '../../../src/domain/job-flow.js';
import type { JobFlow, Project } from '../../../src/domain/types.js';

const project: Project = {
  id: 'p1',
  name: 'nightly etl',
  platform: 'emr',
  tenantId: 'acme',
  createdAt: '2022-11-15T00:00:00.000Z',
  updatedAt: '2022-11-15T00:00:00.000Z',
};
const runUrl = 's3://runs-bucket/sync/p1/2022-11-15T13:51:29Z/r-1/';
const sparkDir = 's3a://runs-bucket/sync/p1/2022-11-15T13:51:29Z/r-1/eventlog/';

function plan(request: JobFlow | undefined, predictionId?: string) {
  return planJobFlow({ request, project, runId: 'r-1', runUrl, tenantId: 'acme', predictionId });
}

test('an empty request gets spark-defaults, tags, LogUri and Name', () => {
  const { jobFlow, warnings } = plan({});
  assert.equal(jobFlow, {
    Configurations: [{ Classification: 'spark-defaults', Properties: { 'spark.eventLog.enabled': 'true', 'spark.eventLog.dir': sparkDir } }],
    Tags: [
      { Key: 'sync:tenant-id', Value: 'acme' },
      { Key: 'sync:project-id', Value: 'p1' },
      { Key: 'sync:run-id', Value: 'r-1' },
    ],
    LogUri: `${runUrl}emr-logs/`,
    Name: 'nightly etl',
  });
  assert.equal(warnings, []);
});

test("the user's spark-defaults keeps its keys and order; ours override in place with a warning", () => {
  const request: JobFlow = {
    Name: 'mine',
    LogUri: 's3://my-logs/x/',
    Configurations: [
      { Classification: 'spark-env', Configurations: [{ Classification: 'export', Properties: { PYSPARK_PYTHON: 'python3' } }] },
      { Classification: 'spark-defaults', Properties: { 'spark.executor.memory': '4g', 'spark.eventLog.dir': 'hdfs:///logs', 'spark.sql.shuffle.partitions': '400' } },
    ],
    Tags: [{ Key: 'team', Value: 'data' }, { Key: 'sync:run-id', Value: 'old' }, { Key: 'cost', Value: 'c1' }],
    Steps: [{ Name: 's1' }],
  };
  const before = structuredClone(request);
  const { jobFlow, warnings } = plan(request, 'pred-9');
  assert.equal(request, before, 'the input is not mutated');
  assert.is(jobFlow.Name, 'mine');
  assert.is(jobFlow.LogUri, 's3://my-logs/x/');
  assert.equal(jobFlow.Steps, [{ Name: 's1' }]);
  const confs = jobFlow.Configurations as { Classification: string; Properties?: Record<string, string> }[];
  assert.equal(confs[0], before.Configurations && (before.Configurations as unknown[])[0]);
  assert.equal(Object.keys(confs[1]?.Properties ?? {}), ['spark.executor.memory', 'spark.eventLog.dir', 'spark.sql.shuffle.partitions', 'spark.eventLog.enabled']);
  assert.is(confs[1]?.Properties?.['spark.eventLog.dir'], sparkDir);
  assert.is(confs.length, 2);
  assert.equal(jobFlow.Tags, [
    { Key: 'team', Value: 'data' },
    { Key: 'sync:run-id', Value: 'r-1' },
    { Key: 'cost', Value: 'c1' },
    { Key: 'sync:tenant-id', Value: 'acme' },
    { Key: 'sync:project-id', Value: 'p1' },
    { Key: 'sync:prediction-id', Value: 'pred-9' },
  ]);
  assert.is(warnings.length, 2);
  assert.ok(warnings.some((w) => w.includes('hdfs:///logs')));
  assert.ok(warnings.some((w) => w.includes('sync:run-id')));
});

test('a file:// run gets no LogUri default (EMR cannot write there) and keeps file:// for Spark', () => {
  const { jobFlow } = planJobFlow({ request: {}, project, runId: 'r-1', runUrl: 'file:///tmp/runs/p1/ts/r-1/', tenantId: 'acme' });
  assert.is(jobFlow.LogUri, undefined);
  const props = (jobFlow.Configurations as { Properties: Record<string, string> }[])[0]?.Properties;
  assert.is(props?.['spark.eventLog.dir'], 'file:///tmp/runs/p1/ts/r-1/eventlog/');
});

test('the project jobFlow is used when the request has none; malformed fields are named', () => {
  const { jobFlow } = planJobFlow({ request: undefined, project: { ...project, jobFlow: { ReleaseLabel: 'emr-6.9.0' } }, runId: 'r-1', runUrl, tenantId: 'acme' });
  assert.is(jobFlow.ReleaseLabel, 'emr-6.9.0');
  assert.throws(() => plan({ Configurations: { Classification: 'x' } }), /jobFlow.Configurations must be an array/);
  assert.throws(() => plan({ Tags: [{ Value: 'x' }] }), /jobFlow.Tags\[0\]/);
});

// Integer-like keys are left out: JavaScript objects (and so JSON.parse) always list them first, so no
// object-based merge can keep them in the user's order. Spark and Hadoop property names are never integers.
const key = fc
  .string({ minLength: 1, maxLength: 12 })
  .filter((k) => !k.startsWith('sync:') && !k.startsWith('spark.eventLog.') && !/^(0|[1-9]\d*)$/.test(k) && k !== '__proto__');
// fast-check may build null-prototype objects; requests come from JSON.parse, so use plain ones.
const userTags = fc.uniqueArray(fc.record({ Key: key, Value: fc.string({ maxLength: 8 }) }).map((t) => ({ ...t })), { selector: (t) => t.Key, maxLength: 8 });
const props = fc.dictionary(key, fc.string({ maxLength: 8 }), { maxKeys: 6 }).map((d) => ({ ...d }));
const classification = fc
  .record({ Classification: fc.constantFrom('spark-defaults', 'spark-env', 'yarn-site', 'core-site', 'hive-site'), Properties: props })
  .map((c) => ({ ...c }));
const userConfs = fc.array(classification, { maxLength: 5 });

test('property: every user tag, configuration and property survives, in order', () => {
  fc.assert(
    fc.property(userTags, userConfs, fc.dictionary(fc.constantFrom('ReleaseLabel', 'Steps', 'Applications', 'VisibleToAllUsers', 'JobFlowRole'), fc.jsonValue(), { maxKeys: 5 }).map((d) => JSON.parse(JSON.stringify(d)) as Record<string, unknown>), (tags, confs, extra) => {
      const request: JobFlow = { ...structuredClone(extra), Tags: structuredClone(tags), Configurations: structuredClone(confs) };
      const { jobFlow } = plan(request);
      for (const [k, v] of Object.entries(extra)) assert.equal(jobFlow[k], v);
      const outTags = jobFlow.Tags as { Key: string; Value: string }[];
      assert.equal(outTags.filter((t) => !t.Key.startsWith('sync:')), tags);
      assert.equal(outTags.filter((t) => t.Key.startsWith('sync:')).map((t) => t.Key), ['sync:tenant-id', 'sync:project-id', 'sync:run-id']);
      const outConfs = jobFlow.Configurations as { Classification: string; Properties: Record<string, string> }[];
      assert.equal(outConfs.slice(0, confs.length).map((c) => c.Classification), confs.map((c) => c.Classification));
      confs.forEach((c, i) => {
        const out = outConfs[i]?.Properties ?? {};
        // The user's keys come first, in their order, with their values.
        assert.equal(Object.keys(out).slice(0, Object.keys(c.Properties).length), Object.keys(c.Properties));
        for (const [k, v] of Object.entries(c.Properties)) assert.is(out[k], v);
      });
      const sd = outConfs.filter((c) => c.Classification === 'spark-defaults');
      assert.ok(sd.length >= 1);
      for (const c of sd) {
        assert.is(c.Properties['spark.eventLog.enabled'], 'true');
        assert.is(c.Properties['spark.eventLog.dir'], sparkDir);
      }
    }),
    { numRuns: 300 },
  );
});

test('property: planning is idempotent (planning a planned request changes nothing)', () => {
  fc.assert(
    fc.property(userTags, userConfs, (tags, confs) => {
      const once = plan({ Tags: tags, Configurations: confs }).jobFlow;
      const twice = plan(once);
      assert.equal(twice.jobFlow, once);
      assert.equal(twice.warnings, []);
    }),
    { numRuns: 200 },
  );
});

const base: JobFlow = {
  Name: 'etl',
  ReleaseLabel: 'emr-6.9.0',
  Applications: [{ Name: 'Spark' }],
  LogUri: 's3://logs-bucket/x/',
  ServiceRole: 'EMR_DefaultRole',
  JobFlowRole: 'EMR_EC2_DefaultRole',
  VisibleToAllUsers: true,
  Steps: [{ Name: 'step-1', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', 'a.py'] } }],
  BootstrapActions: [{ Name: 'ba', ScriptBootstrapAction: { Path: 's3://b-bucket/ba.sh' } }],
  Tags: [{ Key: 'team', Value: 'data' }],
  Instances: {
    Ec2SubnetId: 'subnet-1',
    Ec2KeyName: 'key',
    KeepJobFlowAliveWhenNoSteps: false,
    InstanceGroups: [
      { Name: 'master', InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 },
      { Name: 'core', InstanceRole: 'CORE', InstanceType: 'm5.xlarge', InstanceCount: 2, EbsConfiguration: { EbsBlockDeviceConfigs: [{ VolumeSpecification: { SizeInGB: 64, VolumeType: 'gp3' } }] } },
      { Name: 'task', InstanceRole: 'TASK', InstanceType: 'm5.xlarge', InstanceCount: 4 },
    ],
  },
  Configurations: [
    { Classification: 'spark-defaults', Properties: { 'spark.executor.memory': '4g', 'spark.dynamicAllocation.enabled': 'false' } },
    { Classification: 'yarn-site', Properties: { 'yarn.nodemanager.vmem-check-enabled': 'false' } },
  ],
};

test('mergeJobFlow applies the overlay shape and configurations, keeping everything else', () => {
  const overlay: JobFlow = {
    Instances: {
      InstanceGroups: [
        { InstanceRole: 'MASTER', InstanceType: 'm5.2xlarge', InstanceCount: 1 },
        { InstanceRole: 'CORE', InstanceType: 'r5.2xlarge', InstanceCount: 6 },
      ],
    },
    Configurations: [{ Classification: 'spark-defaults', Properties: { 'spark.executor.memory': '12g', 'spark.executor.cores': '4' } }],
    Name: 'ignored',
  };
  const merged = mergeJobFlow(base, overlay);
  for (const k of ['Name', 'ReleaseLabel', 'Applications', 'LogUri', 'ServiceRole', 'JobFlowRole', 'VisibleToAllUsers', 'Steps', 'BootstrapActions', 'Tags']) {
    assert.equal(merged[k], base[k], k);
  }
  const inst = merged.Instances as Record<string, unknown>;
  assert.is(inst.Ec2SubnetId, 'subnet-1');
  assert.is(inst.Ec2KeyName, 'key');
  assert.is(inst.KeepJobFlowAliveWhenNoSteps, false);
  assert.equal(inst.InstanceGroups, [
    { Name: 'master', InstanceRole: 'MASTER', InstanceType: 'm5.2xlarge', InstanceCount: 1 },
    { Name: 'core', InstanceRole: 'CORE', InstanceType: 'r5.2xlarge', InstanceCount: 6, EbsConfiguration: { EbsBlockDeviceConfigs: [{ VolumeSpecification: { SizeInGB: 64, VolumeType: 'gp3' } }] } },
  ]);
  assert.equal(merged.Configurations, [
    { Classification: 'spark-defaults', Properties: { 'spark.executor.memory': '12g', 'spark.dynamicAllocation.enabled': 'false', 'spark.executor.cores': '4' } },
    { Classification: 'yarn-site', Properties: { 'yarn.nodemanager.vmem-check-enabled': 'false' } },
  ]);
  assert.is((base.Instances as { InstanceGroups: unknown[] }).InstanceGroups.length, 3, 'base not mutated');
});

test('mergeJobFlow with a fleet overlay replaces groups; an overlay without a shape keeps the base shape', () => {
  const fleets = mergeJobFlow(base, { Instances: { InstanceFleets: [{ InstanceFleetType: 'CORE', TargetOnDemandCapacity: 4 }] } });
  const inst = fleets.Instances as Record<string, unknown>;
  assert.is(inst.InstanceGroups, undefined);
  assert.equal(inst.InstanceFleets, [{ InstanceFleetType: 'CORE', TargetOnDemandCapacity: 4 }]);
  assert.is(inst.Ec2SubnetId, 'subnet-1');
  const confOnly = mergeJobFlow(base, { Configurations: [{ Classification: 'hive-site', Properties: { a: '1' } }] });
  assert.equal(confOnly.Instances, base.Instances);
  assert.is((confOnly.Configurations as unknown[]).length, 3);
});

test('property: mergeJobFlow keeps every base field except the shape and every base property key in order', () => {
  fc.assert(
    fc.property(userConfs, userConfs, (baseConfs, overConfs) => {
      const merged = mergeJobFlow({ ...base, Configurations: baseConfs }, { Configurations: overConfs });
      const out = merged.Configurations as { Classification: string; Properties: Record<string, string> }[];
      assert.equal(out.slice(0, baseConfs.length).map((c) => c.Classification), baseConfs.map((c) => c.Classification));
      baseConfs.forEach((c, i) => {
        const keys = Object.keys(out[i]?.Properties ?? {});
        assert.equal(keys.slice(0, Object.keys(c.Properties).length), Object.keys(c.Properties));
      });
      // In the first entry of each classification, a key's value is the overlay's last value for it, else the base's.
      const expected = new Map<string, Record<string, string>>();
      for (const c of [...baseConfs.filter((b, i) => baseConfs.findIndex((x) => x.Classification === b.Classification) === i), ...overConfs]) {
        expected.set(c.Classification, { ...(expected.get(c.Classification) ?? {}), ...c.Properties });
      }
      for (const [cls, want] of expected) assert.equal(out.find((c) => c.Classification === cls)?.Properties, want);
      assert.equal(merged.Steps, base.Steps);
      assert.equal(merged.Tags, base.Tags);
    }),
    { numRuns: 200 },
  );
});

test.run();
