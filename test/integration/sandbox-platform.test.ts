// The sandbox platform end to end: a real EMRClient (through createEmrPlatform) starts clusters on
// it, event logs land in a real S3 peer (s3rver) at spark.eventLog.dir, EventBridge events arrive
// in order, and the cluster's timestamps agree with the ground truth the sandbox reports.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { EMRClient } from '@aws-sdk/client-emr';
import { createAwsClients } from '../../src/adapters/aws-clients.js';
import { createEmrPlatform } from '../../src/adapters/emr-platform.js';
import { loadApplicationModel } from '../../src/adapters/eventlog-source.js';
import { createS3ObjectStore } from '../../src/adapters/s3-object-store.js';
import type { ObjectStore, Platform } from '../../src/domain/ports.js';
import type { ClusterStateChangeDetail, EventBridgeEvent } from '../../src/sandbox/emr-events.js';
import { runWorkload } from '../../src/sandbox/ground-truth.js';
import { readInstanceFacts } from '../../src/sandbox/instance-facts.js';
import { createSandboxPlatform } from '../../src/sandbox/sandbox-platform.js';
import type { SandboxPlatform } from '../../src/sandbox/sandbox-platform.js';
import { shippedWorkloads } from '../../src/sandbox/shipped-workloads.js';
import { startS3 } from '../support/s3.js';
import type { S3Harness } from '../support/s3.js';

const BUCKET = 'sandbox-runs';
const FINAL = ['TERMINATED', 'TERMINATED_WITH_ERRORS'] as const;

function jobFlow(runId: string, opts: { type?: string; core?: number; task?: number; conf?: Record<string, string>; steps?: { name: string; args: string[] }[]; tags?: Record<string, string> } = {}) {
  const type = opts.type ?? 'm5.xlarge';
  return {
    Name: `nightly ${runId}`,
    ReleaseLabel: 'emr-6.15.0',
    Applications: [{ Name: 'Spark' }],
    Instances: {
      InstanceGroups: [
        { InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 },
        { InstanceRole: 'CORE', InstanceType: type, InstanceCount: opts.core ?? 3 },
        ...(opts.task ? [{ InstanceRole: 'TASK', InstanceType: type, InstanceCount: opts.task, Market: 'SPOT' }] : []),
      ],
    },
    Steps: (opts.steps ?? [{ name: 'etl', args: ['spark-submit', 's3://code/etl.py'] }]).map((s) => ({
      Name: s.name,
      ActionOnFailure: 'TERMINATE_CLUSTER',
      HadoopJarStep: { Jar: 'command-runner.jar', Args: s.args },
    })),
    Configurations: [
      { Classification: 'spark-defaults', Properties: { 'spark.eventLog.enabled': 'true', 'spark.eventLog.dir': `s3a://${BUCKET}/p1/${runId}/eventlog/`, ...opts.conf } },
    ],
    Tags: Object.entries({ 'sync:project-id': 'p1', 'sync:run-id': runId, ...opts.tags }).map(([Key, Value]) => ({ Key, Value })),
    ServiceRole: 'EMR_DefaultRole',
    JobFlowRole: 'EMR_EC2_DefaultRole',
  };
}

const it = suite('sandbox platform');
let s3: S3Harness;
let objects: ObjectStore;
let sandbox: SandboxPlatform;
let emr: EMRClient;
let platform: Platform;
const events: EventBridgeEvent<ClusterStateChangeDetail>[] = [];
const errors: string[] = [];

it.before(async () => {
  s3 = await startS3({ buckets: [BUCKET] });
  objects = createS3ObjectStore({ client: s3.client, retry: { retries: 2, baseMs: 20 } });
  sandbox = await createSandboxPlatform({
    objects,
    workloads: shippedWorkloads(),
    timeScale: 800,
    seed: 42,
    onEvent: (e) => void events.push(e),
    onError: (e, where) => void errors.push(`${where}: ${String(e)}`),
  });
  const clients = createAwsClients({ region: 'us-east-1', endpoints: { emr: sandbox.url }, s3ForcePathStyle: true, credentials: { accessKeyId: 'AKIDSANDBOX', secretAccessKey: 'x' }, maxAttempts: 1 });
  clients.s3.destroy();
  clients.sqs.destroy();
  emr = clients.emr;
  platform = createEmrPlatform({ client: emr, region: 'us-east-1' });
});

it.after(async () => {
  emr?.destroy();
  await sandbox?.close();
  await s3?.stop();
});

async function keys(prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of objects.list(prefix)) out.push(o.url);
  return out;
}

it('a run: event log at spark.eventLog.dir (in progress first), TERMINATED, events in order, times that agree', async () => {
  const started = Date.now();
  const { clusterId } = await platform.startCluster(jobFlow('run-1', { core: 3, task: 1 }) as never);
  const prefix = `s3://${BUCKET}/p1/run-1/eventlog/`;
  // Watch the log directory while the cluster runs: Spark writes <appId>.inprogress first.
  const seen = new Set<string>();
  const watching = (async () => {
    for (;;) {
      for (const k of await keys(prefix)) seen.add(k.slice(prefix.length));
      const c = sandbox.server.cluster(clusterId);
      if (!c || FINAL.includes(c.state as (typeof FINAL)[number])) return;
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  await sandbox.server.waitForState(clusterId, [...FINAL], 20_000);
  await watching;
  const realSeconds = (Date.now() - started) / 1000;

  const summary = sandbox.runs().find((r) => r.clusterId === clusterId)!;
  assert.is(summary.state, 'TERMINATED');
  assert.is(summary.instanceType, 'm5.xlarge');
  assert.is(summary.nodes, 4);
  assert.is(summary.applications.length, 1);
  const app = summary.applications[0]!;
  assert.is(app.workload, 'etl-shuffle');
  assert.match(app.appId, /^application_\d{13}_0001$/);
  assert.is(app.eventLogUrl, `${prefix}${app.appId}`);
  assert.ok(seen.has(`${app.appId}.inprogress`), `saw ${[...seen].join(', ')}`);
  assert.equal(await keys(prefix), [`${prefix}${app.appId}`]);
  assert.equal(errors, []);

  // The event log is complete and describes the run the sandbox says it simulated.
  const model = await loadApplicationModel(prefix, { objectStore: objects });
  assert.ok(model.complete);
  assert.is(model.appId, app.appId);
  assert.is(model.durationMs / 1000, app.applicationSeconds);
  const sim = sandbox.simulatedRuns(clusterId)[0]!;
  assert.is(model.executors.length, app.executorsStarted);
  assert.is(model.executors.length, sim.executors.length);
  assert.is(model.maxConcurrentExecutors, app.executors);
  assert.is(model.stages.reduce((n, s) => n + s.tasks.count, 0), sim.tasks.length);
  // The cluster ended exactly when the ground truth planned it to (the clock holds at each event).
  assert.is(summary.endedAt, sim.timeline.endedAt);
  assert.is(summary.readyAt, sim.timeline.readyAt);
  // ...and it is the very run runWorkload gives offline for this cluster and seed.
  const offline = runWorkload(shippedWorkloads()['etl-shuffle']!, sim.cluster, { seed: summary.seed, startedAt: summary.createdAt, instances: readInstanceFacts(), world: summary.world });
  assert.equal(offline.timeline, sim.timeline);
  assert.is(offline.totals.clusterSeconds, summary.clusterSeconds);

  // Cluster timestamps follow simulated time: minutes of EMR in a few real seconds.
  const info = await platform.describeCluster(clusterId);
  assert.is(info.state, 'TERMINATED');
  assert.is(info.stateChangeReason?.code, 'ALL_STEPS_COMPLETED');
  assert.is(info.readyAt!.getTime(), summary.readyAt);
  assert.is(info.endedAt!.getTime(), summary.endedAt);
  assert.is(info.createdAt!.getTime(), summary.createdAt);
  const provisioning = (summary.readyAt! - summary.createdAt) / 1000;
  assert.ok(provisioning > 180, `provisioning ${provisioning} s`);
  assert.ok(summary.clusterSeconds! > app.applicationSeconds && summary.clusterSeconds! < app.applicationSeconds + 200);
  assert.ok(summary.runtimeSeconds! / realSeconds > 100, `${summary.runtimeSeconds} simulated s in ${realSeconds} real s`);
  // The application lies inside the cluster's RUNNING period.
  assert.ok(app.appStartedAt > summary.readyAt! && app.appEndedAt < summary.endedAt!);

  // The report the agent saves is consistent with the request and the step's timeline.
  const report = await platform.clusterReport(clusterId);
  const groups = report.InstanceGroups!.map((g) => [g.InstanceGroupType, g.InstanceType, g.RequestedInstanceCount]);
  assert.equal(groups, [['MASTER', 'm5.xlarge', 1], ['CORE', 'm5.xlarge', 3], ['TASK', 'm5.xlarge', 1]]);
  const step = report.Steps[0] as { Status: { State: string; Timeline: { StartDateTime: string; EndDateTime: string } } };
  assert.is(step.Status.State, 'COMPLETED');
  assert.ok(Date.parse(step.Status.Timeline.StartDateTime) <= app.appStartedAt);
  assert.ok(Date.parse(step.Status.Timeline.EndDateTime) >= app.appEndedAt);

  // EventBridge: every state once, in order, stamped with the cluster's own times.
  await new Promise((r) => setTimeout(r, 20));
  const mine = events.filter((e) => e.detail.clusterId === clusterId);
  assert.equal(mine.map((e) => e.detail.state), ['STARTING', 'BOOTSTRAPPING', 'RUNNING', 'TERMINATING', 'TERMINATED']);
  assert.ok(mine.every((e) => e['detail-type'] === 'EMR Cluster State Change' && e.source === 'aws.emr'));
  const second = (ms: number) => new Date(ms).toISOString().slice(0, 19) + 'Z';
  assert.is(mine[2]!.time, second(summary.readyAt!));
  assert.is(mine[4]!.time, second(summary.endedAt!));
  assert.equal(JSON.parse(mine[4]!.detail.stateChangeReason), { code: 'ALL_STEPS_COMPLETED', message: 'Steps completed' });
});

it('more nodes: the same workload runs faster on the ground truth', async () => {
  const a = await platform.startCluster(jobFlow('run-small', { core: 2 }) as never);
  const b = await platform.startCluster(jobFlow('run-big', { core: 8 }) as never);
  await Promise.all([a, b].map((x) => sandbox.server.waitForState(x.clusterId, [...FINAL], 20_000)));
  const [small, big] = [a, b].map((x) => sandbox.runs().find((r) => r.clusterId === x.clusterId)!);
  assert.ok(big!.applications[0]!.applicationSeconds < small!.applications[0]!.applicationSeconds * 0.6, `${big!.applications[0]!.applicationSeconds} vs ${small!.applications[0]!.applicationSeconds}`);
  assert.ok(big!.clusterSeconds! < small!.clusterSeconds!);
});

it('two steps: one application each, the workload picked by name, logged as _0001 and _0002', async () => {
  const { clusterId } = await platform.startCluster(
    jobFlow('run-2', { steps: [{ name: 'first', args: ['spark-submit', 'skewed-etl.py'] }, { name: 'second', args: ['spark-submit', 'etl-shuffle.py'] }] }) as never,
  );
  await sandbox.server.waitForState(clusterId, [...FINAL], 20_000);
  const s = sandbox.runs().find((r) => r.clusterId === clusterId)!;
  assert.is(s.state, 'TERMINATED');
  assert.equal(s.applications.map((a) => [a.workload, a.appId.slice(-5)]), [['skewed-etl', '_0001'], ['etl-shuffle', '_0002']]);
  assert.ok(s.applications[1]!.appStartedAt > s.applications[0]!.appEndedAt);
  const report = await platform.clusterReport(clusterId);
  const steps = report.Steps as { Name: string; Status: { State: string; Timeline: { StartDateTime: string; EndDateTime: string } } }[];
  const second = steps.find((x) => x.Name === 'second')!;
  const first = steps.find((x) => x.Name === 'first')!;
  assert.is(first.Status.State, 'COMPLETED');
  assert.is(second.Status.State, 'COMPLETED');
  assert.ok(Date.parse(first.Status.Timeline.EndDateTime) <= Date.parse(second.Status.Timeline.StartDateTime));
  assert.ok(Date.parse(second.Status.Timeline.StartDateTime) <= s.applications[1]!.appStartedAt);
  assert.is((await keys(`s3://${BUCKET}/p1/run-2/eventlog/`)).length, 2);
});

it('instance fleets: the workers are the fleet instances EMR provisioned', async () => {
  const request = {
    ...jobFlow('run-fleet'),
    Instances: {
      InstanceFleets: [
        { InstanceFleetType: 'MASTER', TargetOnDemandCapacity: 1, InstanceTypeConfigs: [{ InstanceType: 'm5.xlarge' }] },
        { InstanceFleetType: 'CORE', TargetOnDemandCapacity: 2, InstanceTypeConfigs: [{ InstanceType: 'r5.2xlarge' }] },
        { InstanceFleetType: 'TASK', TargetSpotCapacity: 2, InstanceTypeConfigs: [{ InstanceType: 'r5.2xlarge' }] },
      ],
    },
  };
  const { clusterId } = await platform.startCluster(request as never);
  await sandbox.server.waitForState(clusterId, [...FINAL], 20_000);
  const s = sandbox.runs().find((r) => r.clusterId === clusterId)!;
  assert.is(s.state, 'TERMINATED');
  assert.is(s.instanceType, 'r5.2xlarge');
  assert.is(s.nodes, 4);
  // r5.2xlarge: 8 vCPUs, two 4-core executors per node (EMR's default size leaves room for the AM).
  assert.is(s.applications[0]!.executorCores, 4);
  assert.is(s.applications[0]!.executors, 8);
});

it('the tag sync:sandbox-workload picks the workload', async () => {
  const { clusterId } = await platform.startCluster(jobFlow('run-3', { tags: { 'sync:sandbox-workload': 'skewed-etl' } }) as never);
  await sandbox.server.waitForState(clusterId, [...FINAL], 20_000);
  assert.is(sandbox.runs().find((r) => r.clusterId === clusterId)!.applications[0]!.workload, 'skewed-etl');
});

it('an executor larger than the instance: the step fails, TERMINATED_WITH_ERRORS, no event log', async () => {
  const { clusterId } = await platform.startCluster(jobFlow('run-bad', { conf: { 'spark.executor.memory': '64g' } }) as never);
  const c = await sandbox.server.waitForState(clusterId, [...FINAL], 20_000);
  assert.is(c.state, 'TERMINATED_WITH_ERRORS');
  assert.is(c.reason.Code, 'STEP_FAILURE');
  assert.match(c.reason.Message ?? '', /above the max threshold/);
  assert.equal(await keys(`s3://${BUCKET}/p1/run-bad/eventlog/`), []);
  await new Promise((r) => setTimeout(r, 20));
  const last = events.filter((e) => e.detail.clusterId === clusterId).at(-1)!;
  assert.is(last.detail.state, 'TERMINATED_WITH_ERRORS');
  assert.is(last.detail.severity, 'CRITICAL');
});

it('terminated by the user while running: USER_REQUEST, the log stays in progress, the clock moves on', async () => {
  const { clusterId } = await platform.startCluster(jobFlow('run-kill', { core: 2 }) as never);
  await sandbox.server.waitForState(clusterId, 'RUNNING', 20_000);
  const prefix = `s3://${BUCKET}/p1/run-kill/eventlog/`;
  const deadline = Date.now() + 10_000;
  while ((await keys(prefix)).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await platform.terminateCluster(clusterId);
  const c = await sandbox.server.waitForState(clusterId, [...FINAL], 20_000);
  assert.is(c.state, 'TERMINATED');
  assert.is(c.reason.Code, 'USER_REQUEST');
  const left = await keys(prefix);
  assert.is(left.length, 1);
  assert.match(left[0]!, /\.inprogress$/);
  assert.is(sandbox.clock.pending(), 0);
});

it.run();
