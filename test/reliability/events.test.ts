// Scenario 4, completion events as EventBridge really delivers them: duplicated, reordered and late
// events, events for clusters that do not exist or belong to no project, and poison messages. Each
// run is recorded once; poison messages land in the DLQ after the configured receives; the daemon
// stays ready. The reconciler is slowed down so that only the SQS path records runs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ReceiveMessageCommand, SendMessageCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { RunJobFlowCommand } from '@aws-sdk/client-emr';
import type { AgentProcess } from '../support/agent-process.js';
import { metric, pick, projectCreate, report, sleep, startWorld, stopDaemon } from './harness.js';

const RUNS = pick(6, 40);
const MAX_RECEIVES = 3;

test(`events: ${RUNS} runs under duplicated, reordered, late, unknown and poison events; one record per run`, async () => {
  const started = Date.now();
  const captured = new Map<string, Record<string, unknown>[]>();
  const world = await startWorld({
    prefix: 'ev',
    maxReceiveCount: MAX_RECEIVES,
    // Keep every event; the test decides what SQS sees and in which order.
    onEvent: (event, cluster) => captured.set(cluster.id, [...(captured.get(cluster.id) ?? []), event]),
    site: { reconcile: { intervalMs: 3_600_000 } },
  });
  let agent: AgentProcess | undefined;
  const sqs = world.sqs!;
  const send = (body: string) => sqs.client.send(new SendMessageCommand({ QueueUrl: world.queueUrl!, MessageBody: body }));
  try {
    agent = await world.daemon('ev-host', { site: { sqs: { completionQueueUrl: world.queueUrl!, waitTimeSeconds: 1, visibilityTimeoutSeconds: 1 } } });
    await world.send(projectCreate('p1'));
    await world.waitResults(['create-p1'], 30_000);
    const ids = Array.from({ length: RUNS }, (_, i) => `start-${i}`);
    for (const id of ids) await world.send({ id, name: 'run.start', data: { projectId: 'p1' }, idempotencyKey: id });
    const starts = await world.waitResults(ids, 60_000);
    const clusterIds = [...starts.values()].map((s) => (s.result as { clusterId: string }).clusterId);
    for (const c of clusterIds) await world.emr.server.waitForState(c, 'TERMINATED', 30_000);
    // A cluster that belongs to no project (no sync tags) and one EMR has never heard of.
    const foreign = await world.emr.client.send(new RunJobFlowCommand({ Name: 'not-ours', ReleaseLabel: 'emr-6.10.0', Instances: { InstanceCount: 1, MasterInstanceType: 'm5.xlarge' } } as never));
    await world.emr.server.waitForState(foreign.JobFlowId!, ['TERMINATED', 'WAITING', 'TERMINATED_WITH_ERRORS'], 30_000);

    let sent = 0;
    const poison = [
      'not json at all',
      '{"source":"aws.emr","detail-type":"EMR Cluster State Change","detail":{"clusterId":"j-1"', // truncated
      JSON.stringify({ source: 'aws.emr', 'detail-type': 'EMR Cluster State Change', id: 'e1', time: 'yesterday', detail: { clusterId: 'j-1', state: 'TERMINATED' } }),
      JSON.stringify({ source: 'aws.emr', 'detail-type': 'EMR Cluster State Change', id: 'e2', time: '2026-11-22T00:00:00Z', detail: { clusterId: 'j-1', state: 'TERMINATED', stateChangeReason: '{"code":' } }),
      JSON.stringify({ source: 'aws.ec2', 'detail-type': 'EC2 Instance State-change Notification', id: 'e3', time: '2026-11-22T00:00:00Z', detail: {} }),
      JSON.stringify([1, 2, 3]),
    ];
    for (const p of poison) await send(p);
    sent += poison.length;

    for (const [i, clusterId] of clusterIds.entries()) {
      const events = captured.get(clusterId) ?? [];
      const terminated = events.find((e) => (e.detail as { state: string }).state === 'TERMINATED');
      assert.ok(terminated, `the EMR server announced TERMINATED for ${clusterId}`);
      // Reordered: the final state first, then the older ones; duplicated: the final one three times.
      const order = i % 2 === 0 ? [terminated, ...events.filter((e) => e !== terminated), terminated, terminated] : [...events, terminated, terminated];
      for (const e of order) await send(JSON.stringify(e));
      sent += order.length;
    }
    const foreignEvents = captured.get(foreign.JobFlowId!) ?? [];
    for (const e of foreignEvents) await send(JSON.stringify(e));
    const ghost = { ...foreignEvents.at(-1)!, id: 'ghost-event', detail: { ...(foreignEvents.at(-1)!.detail as object), clusterId: 'j-DOESNOTEXIST0' } };
    await send(JSON.stringify(ghost));
    sent += foreignEvents.length + 1;

    // Every run recorded once.
    const deadline = Date.now() + 60_000;
    let runs: Record<string, unknown>[] = [];
    while (Date.now() < deadline) {
      runs = world.states().p1?.runs ?? [];
      if (runs.length === RUNS && runs.every((r) => r.status === 'recorded')) break;
      await sleep(250);
    }
    assert.equal(runs.filter((r) => r.status !== 'recorded').map((r) => r.id), [], 'every run recorded');

    // Late: the final event again, well after the run was recorded.
    for (const clusterId of clusterIds) {
      const terminated = captured.get(clusterId)!.find((e) => (e.detail as { state: string }).state === 'TERMINATED')!;
      await send(JSON.stringify({ ...terminated, id: `${String(terminated.id)}-late` }));
      sent += 1;
    }

    // Poison messages end in the DLQ after MAX_RECEIVES receives; everything else is deleted.
    const dlqBodies: string[] = [];
    const dlqDeadline = Date.now() + 60_000;
    while (dlqBodies.length < poison.length && Date.now() < dlqDeadline) {
      const out = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: world.dlqUrl!, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 600 }));
      for (const m of out.Messages ?? []) dlqBodies.push(m.Body ?? '');
    }
    assert.equal([...dlqBodies].sort(), [...poison].sort(), 'exactly the poison messages are in the DLQ');
    const mainDeadline = Date.now() + 30_000;
    let left = -1;
    while (Date.now() < mainDeadline) {
      const attrs = await sqs.client.send(new GetQueueAttributesCommand({ QueueUrl: world.queueUrl!, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
      left = Number(attrs.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(attrs.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
      if (left === 0) break;
      await sleep(500);
    }
    assert.is(left, 0, 'the main queue drains');

    const stream = await world.r.xrange(`${world.prefix}:results`, '-', '+');
    const records = new Map<string, number>();
    for (const [, f] of stream) {
      const o: Record<string, string> = {};
      for (let i = 0; i < f.length; i += 2) o[f[i]!] = f[i + 1]!;
      if (o.name !== 'run.record') continue;
      assert.is(o.status, 'completed', JSON.stringify(o));
      const runId = (JSON.parse(o.result!) as { runId: string }).runId;
      records.set(runId, (records.get(runId) ?? 0) + 1);
    }
    assert.is(records.size, RUNS, 'one run.record per run');
    assert.equal([...records].filter(([, n]) => n !== 1), [], 'no run recorded twice');
    assert.is(world.states().p1!.runs.length, RUNS, 'no run for the foreign or unknown cluster');

    const unparseable = await metric(agent.httpUrl, 'sync_completion_events_total\\{outcome="unparseable"\\}');
    const duplicates = await metric(agent.httpUrl, 'sync_completion_events_total\\{outcome="duplicate"\\}');
    assert.ok((unparseable ?? 0) >= poison.length * MAX_RECEIVES, `each poison message was received ${MAX_RECEIVES} times (${unparseable})`);
    assert.is((await fetch(`${agent.httpUrl}/readyz`)).status, 200);
    assert.is(await agent.stop(), 0);
    report('events', {
      runs: RUNS,
      messagesSent: sent,
      poison: poison.length,
      poisonInDlq: dlqBodies.length,
      unparseableReceives: unparseable,
      duplicateEventsDropped: duplicates,
      runRecordsPerRun: 1,
      recordedTwice: [...records].filter(([, n]) => n > 1).length,
      lost: RUNS - runs.filter((r) => r.status === 'recorded').length,
      durationS: Math.round((Date.now() - started) / 1000),
    });
  } finally {
    await stopDaemon(agent);
    await world.stop();
  }
});

test.run();
