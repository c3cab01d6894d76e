import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createEmrPlatform } from '../../src/adapters/emr-platform.js';
import { SyncError } from '../../src/domain/errors.js';
import type { Platform } from '../../src/domain/ports.js';
import type { ClusterState } from '../../src/sandbox/emr-server.js';
import { startEmr } from '../support/emr.js';
import type { TestEmr } from '../support/emr.js';
import { rejection } from '../support/async.js';


const FAST = { startingMs: 40, bootstrappingMs: 40, runningMs: 40, terminatingMs: 40 };
const HELD = { startingMs: Infinity, bootstrappingMs: Infinity, runningMs: Infinity, terminatingMs: Infinity };

function jobFlow(runId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Name: `nightly ${runId}`,
    ReleaseLabel: 'emr-6.15.0',
    LogUri: 's3://logs/emr/',
    Applications: [{ Name: 'Spark' }],
    Instances: {
      InstanceGroups: [
        { Name: 'Driver', InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1, Market: 'ON_DEMAND' },
        { InstanceRole: 'CORE', InstanceType: 'r5.2xlarge', InstanceCount: 4, Market: 'ON_DEMAND' },
        { InstanceRole: 'TASK', InstanceType: 'r5.2xlarge', InstanceCount: 2, Market: 'SPOT', BidPrice: '0.30' },
      ],
      Ec2SubnetId: 'subnet-123',
    },
    Steps: [
      { Name: 'extract', ActionOnFailure: 'TERMINATE_CLUSTER', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', 'extract.py'] } },
      { Name: 'transform', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', 'transform.py'], Properties: [{ Key: 'a', Value: 'b' }] } },
      { Name: 'load', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', 'load.py'] } },
    ],
    BootstrapActions: [
      { Name: 'one', ScriptBootstrapAction: { Path: 's3://b/one.sh', Args: ['x'] } },
      { Name: 'two', ScriptBootstrapAction: { Path: 's3://b/two.sh' } },
      { Name: 'three', ScriptBootstrapAction: { Path: 's3://b/three.sh' } },
    ],
    Configurations: [{ Classification: 'spark-defaults', Properties: { 'spark.eventLog.enabled': 'true' } }],
    Tags: [
      { Key: 'sync:project-id', Value: 'p1' },
      { Key: 'sync:run-id', Value: runId },
    ],
    ServiceRole: 'EMR_DefaultRole',
    JobFlowRole: 'EMR_EC2_DefaultRole',
    ...extra,
  };
}

const noSleep = { sleep: async () => {}, random: () => 0 };

// ---------------------------------------------------------------------------------------------
const basics = suite('EMR platform: start, find, describe');
let emr: TestEmr;
let platform: Platform;
basics.before(async () => {
  emr = await startEmr({ timeline: HELD, pageSize: 2 });
  platform = createEmrPlatform({ client: emr.client, region: 'us-east-1', retry: noSleep });
});
basics.after(async () => {
  await emr.stop();
});

basics('startCluster sends the request as given and describeCluster reads it back', async () => {
  const request = jobFlow('run-a');
  const { clusterId } = await platform.startCluster(request);
  assert.match(clusterId, /^j-[0-9A-Z]{13}$/);
  const stored = emr.server.cluster(clusterId);
  assert.equal(stored?.request, request);
  const info = await platform.describeCluster(clusterId);
  assert.is(info.id, clusterId);
  assert.is(info.state, 'STARTING');
  assert.equal(info.tags, { 'sync:project-id': 'p1', 'sync:run-id': 'run-a' });
  assert.instance(info.createdAt, Date);
  assert.ok(Math.abs(info.createdAt!.getTime() - Date.now()) < 5_000);
  assert.is(info.autoTerminate, true);
  assert.is(info.readyAt, undefined);
});

basics('findClusterByTag walks every ListClusters page, then describes until the tag matches', async () => {
  await new Promise((r) => setTimeout(r, 5));
  const since = new Date(); // after run-a of the previous test
  const ids: string[] = [];
  for (const run of ['p-1', 'p-2', 'p-3', 'p-4', 'p-5']) ids.push((await platform.startCluster(jobFlow(run))).clusterId);
  const before = emr.server.calls().length;
  const found = await platform.findClusterByTag({ tags: { 'sync:run-id': 'p-1' }, createdAfter: since });
  assert.is(found?.id, ids[0]);
  const calls = emr.server.calls().slice(before);
  // 5 clusters created after `since`, 2 per page: 3 pages, newest first.
  assert.is(calls.filter((c) => c.op === 'ListClusters').length, 3);
  // p-1 is the oldest of the five, so every one was described (4 at a time, then 1).
  assert.is(calls.filter((c) => c.op === 'DescribeCluster').length, 5);
  const newest = emr.server.calls().length;
  assert.is((await platform.findClusterByTag({ tags: { 'sync:run-id': 'p-5' }, createdAfter: since }))?.id, ids[4]);
  // p-5 is the newest: the first batch of four holds it, so no further describes.
  assert.is(emr.server.calls().slice(newest).filter((c) => c.op === 'DescribeCluster').length, 4);

  assert.is(await platform.findClusterByTag({ tags: { 'sync:run-id': 'nope' }, createdAfter: since }), undefined);
  const mark = emr.server.calls().length;
  assert.is(await platform.findClusterByTag({ tags: { 'sync:run-id': 'p-1' }, createdAfter: new Date(Date.now() + 60_000) }), undefined);
  assert.equal(emr.server.calls().slice(mark).map((c) => c.op), ['ListClusters', 'ListClusters'], 'alive clusters, then ended ones; nothing to describe');
});

basics('an unknown cluster is not_found; a bad request is invalid_request naming the field; neither is retried', async () => {
  const mark = emr.server.calls().length;
  const e1 = (await rejection(platform.describeCluster('j-DOESNOTEXIST1'))) as SyncError;
  assert.instance(e1, SyncError);
  assert.is(e1.code, 'not_found');
  assert.is(e1.retryable, false);
  assert.ok(e1.message.includes('j-DOESNOTEXIST1'), e1.message);

  const bad = jobFlow('bad');
  delete bad.ReleaseLabel;
  const e2 = (await rejection(platform.startCluster(bad))) as SyncError;
  assert.is(e2.code, 'invalid_request');
  assert.ok(e2.message.includes('releaseLabel'), e2.message);
  assert.ok(e2.message.startsWith('EMR RunJobFlow'), e2.message);
  assert.equal(emr.server.calls().slice(mark).map((c) => [c.op, c.status]), [
    ['DescribeCluster', 400],
    ['RunJobFlow', 400],
  ]);
});

basics('throttling, 5xx and dropped connections are retried until the call succeeds', async () => {
  const { clusterId } = await platform.startCluster(jobFlow('retry'));
  const retries: [string, number][] = [];
  const p = createEmrPlatform({ client: emr.client, region: 'us-east-1', retry: { ...noSleep, onRetry: (e, a) => retries.push([e.code, a]) } });
  emr.server.inject({ op: 'DescribeCluster', kind: 'throttle', times: 2 });
  emr.server.inject({ op: 'DescribeCluster', kind: '5xx', times: 1 });
  emr.server.inject({ op: 'DescribeCluster', kind: 'reset', times: 1 });
  const mark = emr.server.calls().length;
  const info = await p.describeCluster(clusterId);
  assert.is(info.id, clusterId);
  assert.equal(retries, [
    ['throttled', 1],
    ['throttled', 2],
    ['unavailable', 3],
    ['unavailable', 4],
  ]);
  assert.equal(emr.server.calls().slice(mark).map((c) => c.status), [400, 400, 500, 0, 200]);
});

basics('retries end after the configured count with the last error, still classified', async () => {
  const { clusterId } = await platform.startCluster(jobFlow('exhaust'));
  const p = createEmrPlatform({ client: emr.client, region: 'us-east-1', retry: { ...noSleep, retries: 2 } });
  emr.server.inject({ op: 'DescribeCluster', kind: 'throttle', times: 10 });
  const mark = emr.server.calls().length;
  const e = (await rejection(p.describeCluster(clusterId))) as SyncError;
  assert.is(e.code, 'throttled');
  assert.is(e.retryable, true);
  assert.is(emr.server.calls().slice(mark).length, 3);
  emr.server.inject({ op: 'TerminateJobFlows', kind: 'error', type: 'AccessDeniedException', message: 'not allowed', times: 1 });
  const denied = (await rejection(p.terminateCluster(clusterId))) as SyncError;
  assert.is(denied.code, 'access_denied');
  assert.ok(denied.message.includes('not allowed'));
  emr.server.clearFaults();
  assert.is((await p.describeCluster(clusterId)).id, clusterId);
});

basics('a RunJobFlow that took effect but whose answer was lost is not repeated on retry', async () => {
  emr.server.inject({ op: 'RunJobFlow', kind: '5xx', times: 1, afterHandling: true });
  const before = emr.server.clusters().length;
  const { clusterId } = await platform.startCluster(jobFlow('lost-answer'));
  const after = emr.server.clusters();
  assert.is(after.length, before + 1, 'exactly one cluster was created');
  assert.is(after.find((c) => c.tags['sync:run-id'] === 'lost-answer')?.id, clusterId);
});

basics('an abort ends a slow call at once with "aborted"', async () => {
  const { clusterId } = await platform.startCluster(jobFlow('slow'));
  emr.server.inject({ op: 'DescribeCluster', kind: 'delay', delayMs: 5_000, times: 1 });
  const ac = new AbortController();
  const started = Date.now();
  setTimeout(() => ac.abort(), 50);
  const e = (await rejection(platform.describeCluster(clusterId, { signal: ac.signal }))) as SyncError;
  assert.is(e.code, 'aborted');
  assert.ok(Date.now() - started < 2_000, `took ${Date.now() - started} ms`);
});

basics.run();

// ---------------------------------------------------------------------------------------------
const life = suite('EMR platform: lifecycle and reports');
let live: TestEmr;
let lp: Platform;
const seen = new Map<string, ClusterState[]>();
life.before(async () => {
  live = await startEmr({
    timeline: FAST,
    pageSize: 2,
    onStateChange: (c) => seen.set(c.id, [...(seen.get(c.id) ?? []), c.state]),
  });
  lp = createEmrPlatform({ client: live.client, region: 'eu-west-1', retry: noSleep });
});
life.after(async () => {
  await live.stop();
});

life('a cluster runs its steps and terminates; describe and the state events follow', async () => {
  const { clusterId } = await lp.startCluster(jobFlow('life'));
  await live.server.waitForState(clusterId, 'TERMINATED', 5_000);
  assert.equal(seen.get(clusterId), ['STARTING', 'BOOTSTRAPPING', 'RUNNING', 'TERMINATING', 'TERMINATED']);
  const info = await lp.describeCluster(clusterId);
  assert.is(info.state, 'TERMINATED');
  assert.equal(info.stateChangeReason, { code: 'ALL_STEPS_COMPLETED', message: 'Steps completed' });
  assert.ok(info.createdAt! <= info.readyAt! && info.readyAt! <= info.endedAt!);
  // Three steps of 40 ms after two 40 ms phases: the run took at least 120 ms after ready.
  assert.ok(info.endedAt!.getTime() - info.readyAt!.getTime() >= 100);
});

life('a long-lived cluster waits after its steps until terminated by the user', async () => {
  const { clusterId } = await lp.startCluster(jobFlow('keep', { Steps: [] , Instances: { InstanceCount: 3, MasterInstanceType: 'm5.xlarge', SlaveInstanceType: 'm5.2xlarge', KeepJobFlowAliveWhenNoSteps: true } }));
  await live.server.waitForState(clusterId, 'WAITING', 5_000);
  assert.is(live.server.advance(clusterId), 0, 'WAITING ends only by a terminate');
  assert.is((await lp.describeCluster(clusterId)).autoTerminate, false);
  await lp.terminateCluster(clusterId);
  await live.server.waitForState(clusterId, 'TERMINATED', 5_000);
  const info = await lp.describeCluster(clusterId);
  assert.equal(info.stateChangeReason, { code: 'USER_REQUEST', message: 'Terminated by user request' });
  assert.equal(seen.get(clusterId), ['STARTING', 'BOOTSTRAPPING', 'RUNNING', 'WAITING', 'TERMINATING', 'TERMINATED']);
  const report = await lp.clusterReport(clusterId);
  assert.equal(
    report.InstanceGroups?.map((g) => [g.InstanceGroupType, g.InstanceType, g.RequestedInstanceCount]).sort(),
    [
      ['CORE', 'm5.2xlarge', 2],
      ['MASTER', 'm5.xlarge', 1],
    ],
  );
});

life('clusterReport for instance groups gathers every page of every list, JSON-safe', async () => {
  const { clusterId } = await lp.startCluster(jobFlow('report-groups'));
  await live.server.waitForState(clusterId, 'TERMINATED', 5_000);
  const mark = live.server.calls().length;
  const report = await lp.clusterReport(clusterId);
  assert.equal(Object.keys(report), ['Cluster', 'Instances', 'InstanceGroups', 'Steps', 'BootstrapActions', 'Region']);
  assert.is(report.Region, 'eu-west-1');
  assert.is(report.Cluster.Id, clusterId);
  assert.is(report.Cluster.InstanceCollectionType, 'INSTANCE_GROUP');
  assert.is(report.Instances.length, 7);
  assert.is(new Set(report.Instances.map((i) => i.Id)).size, 7, 'no instance twice across pages');
  assert.equal(report.InstanceGroups?.map((g) => [g.InstanceGroupType, g.RequestedInstanceCount, g.Market]), [
    ['MASTER', 1, 'ON_DEMAND'],
    ['CORE', 4, 'ON_DEMAND'],
    ['TASK', 2, 'SPOT'],
  ]);
  assert.equal(report.Steps.map((s) => s.Name), ['load', 'transform', 'extract']);
  assert.equal(report.Steps.map((s) => (s.Status as { State: string }).State), ['COMPLETED', 'COMPLETED', 'COMPLETED']);
  assert.equal((report.Steps[1]!.Config as { Properties: unknown }).Properties, { a: 'b' });
  assert.equal(report.BootstrapActions.map((b) => b.Name), ['one', 'two', 'three']);
  const timeline = (report.Cluster.Status as { Timeline: Record<string, unknown> }).Timeline;
  assert.type(timeline.CreationDateTime, 'string');
  assert.match(String(timeline.EndDateTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(JSON.parse(JSON.stringify(report)), report, 'survives a JSON round trip unchanged');
  const ops = live.server.calls().slice(mark).map((c) => c.op);
  // 7 instances at 2 per page = 4 pages; 3 groups, steps and actions = 2 pages each.
  assert.is(ops.filter((o) => o === 'ListInstances').length, 4);
  assert.is(ops.filter((o) => o === 'ListInstanceGroups').length, 2);
  assert.is(ops.filter((o) => o === 'ListSteps').length, 2);
  assert.is(ops.filter((o) => o === 'ListBootstrapActions').length, 2);
  assert.not.ok(ops.includes('ListInstanceFleets'));
});

life('clusterReport for instance fleets lists fleets and the instances their capacity needs', async () => {
  const request = jobFlow('report-fleets', {
    Instances: {
      InstanceFleets: [
        { Name: 'Primary', InstanceFleetType: 'MASTER', TargetOnDemandCapacity: 1, InstanceTypeConfigs: [{ InstanceType: 'm5.xlarge' }] },
        {
          Name: 'Workers',
          InstanceFleetType: 'CORE',
          TargetSpotCapacity: 8,
          InstanceTypeConfigs: [
            { InstanceType: 'r5.2xlarge', WeightedCapacity: 4 },
            { InstanceType: 'r5.4xlarge', WeightedCapacity: 8 },
          ],
        },
      ],
    },
  });
  const { clusterId } = await lp.startCluster(request);
  await live.server.waitForState(clusterId, 'TERMINATED', 5_000);
  const report = await lp.clusterReport(clusterId);
  assert.equal(Object.keys(report), ['Cluster', 'Instances', 'InstanceFleets', 'Steps', 'BootstrapActions', 'Region']);
  assert.is(report.Cluster.InstanceCollectionType, 'INSTANCE_FLEET');
  assert.equal(report.InstanceFleets?.map((f) => [f.Name, f.InstanceFleetType, f.TargetOnDemandCapacity, f.TargetSpotCapacity]), [
    ['Primary', 'MASTER', 1, 0],
    ['Workers', 'CORE', 0, 8],
  ]);
  // 8 spot units at weight 4 = two r5.2xlarge, plus the primary.
  assert.equal(report.Instances.map((i) => [i.InstanceType, i.Market]).sort(), [
    ['m5.xlarge', 'ON_DEMAND'],
    ['r5.2xlarge', 'SPOT'],
    ['r5.2xlarge', 'SPOT'],
  ]);
  const fleetIds = new Set(report.InstanceFleets!.map((f) => f.Id));
  assert.ok(report.Instances.every((i) => fleetIds.has(i.InstanceFleetId)));
});

life.run();
