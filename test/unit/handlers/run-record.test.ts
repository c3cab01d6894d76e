import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lastValueFrom } from 'rxjs';
import { SyncError } from '../../../src/domain/errors.js';
import { type EventLogStatus, eventLogOf, eventLogStatus, eventLogWarning, logArrivalFor } from '../../../src/domain/eventlog-status.js';
import type { RunRecordData } from '../../../src/domain/requests.js';
import { decideRecord } from '../../../src/handlers/run-record.js';
import { runRecord } from '../../../src/handlers/run-record.js';
import { runStart } from '../../../src/handlers/run-start.js';
import { createFakeDeps, rejection, testContext, type FakeDeps } from '../../support/fakes.js';

async function started(deps: FakeDeps): Promise<{ runId: string; clusterId: string; location: string }> {
  const project = { id: 'p1', name: 'etl', platform: 'emr' as const, tenantId: 'acme', createdAt: 'c', updatedAt: 'c', jobFlow: { Name: 'etl' } };
  await deps.state.put('p1', { project, runs: [], predictions: [] }, null);
  return lastValueFrom(runStart({ projectId: 'p1' }, deps, testContext('start-1', 'k1')));
}

const record = (deps: FakeDeps, data: RunRecordData) => lastValueFrom(runRecord(data, deps, testContext('rec-1')));

test('waits (not_ready, retryable) while the cluster is still running', async () => {
  const deps = createFakeDeps();
  const r = await started(deps);
  deps.platform.advance(r.clusterId, 'RUNNING');
  const e = (await rejection(record(deps, { projectId: 'p1', clusterId: r.clusterId }))) as SyncError;
  assert.is(e.code, 'not_ready');
  assert.is(e.retryable, true);
  assert.is(e.details?.waitingFor, 'cluster');
  assert.is(deps.state.read('p1')?.runs[0]?.status, 'running');
});

test('a TERMINATED cluster with a complete event log: writes the report and records the run', async () => {
  const deps = createFakeDeps();
  const r = await started(deps);
  deps.platform.advance(r.clusterId, 'RUNNING', { readyAt: new Date('2022-11-15T13:55:00Z') });
  deps.clock.set('2022-11-15T14:56:00Z');
  deps.platform.advance(r.clusterId, 'TERMINATED', { endedAt: new Date('2022-11-15T14:55:00Z') });
  await deps.objects.put(`${r.location}eventlog/application_1668520800000_0001`, '{"Event":"SparkListenerLogStart"}\n');
  const result = await record(deps, { clusterId: r.clusterId });
  const reportUrl = `${r.location}emr-cluster-report.json`;
  assert.equal(result, { runId: r.runId, status: 'recorded', reportUrl, eventLog: 'complete' });
  const report = JSON.parse(deps.objects.objects.get(reportUrl)?.body.toString() ?? '{}') as { Cluster: { Id: string }; Region: string };
  assert.is(report.Cluster.Id, r.clusterId);
  assert.is(report.Region, 'us-east-1');
  const run = deps.state.read('p1')?.runs[0];
  assert.is(run?.status, 'recorded');
  assert.is(run?.clusterState, 'TERMINATED');
  assert.is(run?.endedAt, '2022-11-15T14:55:00.000Z');
  assert.is(run?.runtimeSeconds, 3600);
  assert.is(run?.eventLogUrl, `${r.location}eventlog/`);
  assert.equal(run?.eventLog, { status: 'complete' });
  assert.is(run?.reportUrl, reportUrl);
  assert.is(run?.recordedAt, '2022-11-15T14:56:00.000Z');
});

// Fails on the code before this change: run.record answered not_ready (waitingFor 'eventlog') for
// site.eventLog.waitTimeoutMs (15 min by default) after an EMR cluster ended without a complete log.
test('EMR: a TERMINATED cluster without an event log is recorded at once as missing, with a warning, whatever eventLog.waitTimeoutMs', async () => {
  const deps = createFakeDeps({ waitTimeoutMs: 15 * 60_000 });
  const r = await started(deps);
  deps.clock.set('2022-11-15T14:55:00Z');
  deps.platform.advance(r.clusterId, 'TERMINATED', { endedAt: new Date('2022-11-15T14:55:00Z'), reason: { code: 'ALL_STEPS_COMPLETED', message: 'Steps completed' } });
  const result = await record(deps, { clusterId: r.clusterId });
  assert.is(result.status, 'recorded');
  assert.is(result.eventLog, 'missing');
  assert.is(result.warnings?.length, 1);
  assert.match(result.warnings?.[0] ?? '', new RegExp(`run ${r.runId} has no event log: no event log was written under ${r.location}eventlog/`));
  assert.match(result.warnings?.[0] ?? '', /no prediction can be based on it/);
  const run = deps.state.read('p1')?.runs[0];
  assert.is(run?.status, 'recorded');
  assert.is(run?.eventLogUrl, undefined);
  assert.is(run?.eventLog?.status, 'missing');
  assert.ok(deps.objects.objects.has(`${r.location}emr-cluster-report.json`), 'the cluster report is written');
  // A replay (the reconciler, a duplicate SQS event) answers the same, warning included.
  assert.equal(await record(deps, { projectId: 'p1', runId: r.runId }), result);
});

test('EMR: an .inprogress event log at a final state is recorded at once as unfinished, usable, with a warning', async () => {
  const deps = createFakeDeps();
  const r = await started(deps);
  deps.platform.advance(r.clusterId, 'TERMINATED');
  await deps.objects.put(`${r.location}eventlog/application_1668520800000_0001.inprogress`, '{"Event":"SparkListenerLogStart"}\n');
  const result = await record(deps, { clusterId: r.clusterId });
  assert.is(result.status, 'recorded');
  assert.is(result.eventLog, 'unfinished');
  assert.match(result.warnings?.[0] ?? '', /has an unfinished event log: .*application_1668520800000_0001\.inprogress/);
  const run = deps.state.read('p1')?.runs[0];
  assert.is(run?.eventLogUrl, `${r.location}eventlog/`, 'an unfinished log stays readable for predictions');
  assert.is(run?.eventLog?.status, 'unfinished');
});

test('recording again answers the same and writes nothing', async () => {
  const deps = createFakeDeps();
  const r = await started(deps);
  deps.platform.advance(r.clusterId, 'TERMINATED');
  await deps.objects.put(`${r.location}eventlog/app-1`, 'x');
  const first = await record(deps, { projectId: 'p1', runId: r.runId });
  const puts = deps.state.puts;
  const report = deps.objects.objects.get(first.reportUrl ?? '')?.info.etag;
  deps.clock.advance(3_600_000);
  assert.equal(await record(deps, { clusterId: r.clusterId }), first);
  assert.equal(await record(deps, { projectId: 'p1', runId: r.runId, clusterId: r.clusterId }), first);
  assert.is(deps.state.puts, puts);
  assert.is(deps.objects.objects.get(first.reportUrl ?? '')?.info.etag, report);
});

test('a cluster that ended with errors is recorded failed at once, with its report', async () => {
  const deps = createFakeDeps();
  const r = await started(deps);
  deps.platform.advance(r.clusterId, 'TERMINATED_WITH_ERRORS', { reason: { code: 'BOOTSTRAP_FAILURE', message: 'bootstrap action 1 failed' } });
  const result = await record(deps, { projectId: 'p1', clusterId: r.clusterId });
  assert.is(result.status, 'failed');
  assert.ok(deps.objects.objects.has(`${r.location}emr-cluster-report.json`));
  const run = deps.state.read('p1')?.runs[0];
  assert.is(run?.status, 'failed');
  assert.equal(run?.error, { code: 'BOOTSTRAP_FAILURE', message: 'bootstrap action 1 failed' });
  assert.is(run?.stateChangeReason, 'bootstrap action 1 failed');
  assert.is(run?.eventLogUrl, undefined);
});

test('a cluster the state never heard of is adopted through its sync:run-id tag', async () => {
  const deps = createFakeDeps();
  await deps.state.put('p1', { project: { id: 'p1', name: 'etl', platform: 'emr', tenantId: 'acme', createdAt: 'c', updatedAt: 'c', jobFlow: {} }, runs: [], predictions: [] }, null);
  deps.state.beforePut = (_id, s) => {
    if (s.runs.some((x) => x.clusterId !== undefined)) throw new SyncError('unavailable', 'process died');
  };
  await rejection(lastValueFrom(runStart({ projectId: 'p1' }, deps, testContext('s', 'k'))));
  delete deps.state.beforePut;
  const [clusterId] = [...deps.platform.clusters.keys()];
  deps.platform.advance(clusterId as string, 'TERMINATED');
  const run = deps.state.read('p1')?.runs[0];
  await deps.objects.put(`${run?.location}eventlog/app-1`, 'x');
  const result = await record(deps, { clusterId: clusterId as string });
  assert.is(result.runId, run?.id);
  assert.is(deps.state.read('p1')?.runs[0]?.clusterId, clusterId);
});

test('a cluster without a sync:project-id tag, an unknown run, and a run that is not the cluster', async () => {
  const deps = createFakeDeps();
  const r = await started(deps);
  const { clusterId: foreign } = await deps.platform.startCluster({ Tags: [{ Key: 'team', Value: 'x' }] });
  assert.match(((await rejection(record(deps, { clusterId: foreign }))) as SyncError).message, /has no sync:project-id tag/);
  assert.is(((await rejection(record(deps, { projectId: 'p1', runId: 'r-nope' }))) as SyncError).code, 'not_found');
  assert.is(((await rejection(record(deps, { projectId: 'p1', runId: r.runId, clusterId: foreign }))) as SyncError).code, 'invalid_request');
  assert.is(((await rejection(record(deps, { runId: r.runId }))) as SyncError).code, 'invalid_request');
});

const dir = 's3://b/p/r/eventlog/';

test('eventLogStatus: missing, complete, unfinished single files, markers and rolling directories', () => {
  assert.is(eventLogStatus([], dir).status, 'missing');
  assert.is(eventLogStatus([dir, `${dir}_$folder$`, `${dir}.app-1.crc`], dir).status, 'missing');
  assert.match(eventLogStatus([dir], dir).reason ?? '', /no event log was written under s3:\/\/b\/p\/r\/eventlog\//);
  const one = eventLogStatus([dir, `${dir}app-1`], dir);
  assert.equal(one, { status: 'complete', files: [`${dir}app-1`], unfinished: [] });
  const inprogress = eventLogStatus([`${dir}app-2.lz4.inprogress`], dir);
  assert.is(inprogress.status, 'unfinished');
  assert.equal(inprogress.unfinished, [`${dir}app-2.lz4.inprogress`]);
  assert.match(inprogress.reason ?? '', /never closed by Spark: app-2\.lz4\.inprogress/);
  // One application closed, another not: unfinished (the log is not all there).
  assert.is(eventLogStatus([`${dir}app-1`, `${dir}app-2.inprogress`], dir).status, 'unfinished');
  const rolling = [`${dir}eventlog_v2_app-1/events_1_app-1.zstd`];
  assert.equal(eventLogStatus(rolling, dir).unfinished, [`${dir}eventlog_v2_app-1/`]);
  assert.is(eventLogStatus([...rolling, `${dir}eventlog_v2_app-1/appstatus_app-1.inprogress`], dir).status, 'unfinished');
  assert.is(eventLogStatus([`${dir}eventlog_v2_app-1/appstatus_app-1`, ...rolling], dir).status, 'complete');
});

const complete: EventLogStatus = { status: 'complete', files: ['a'], unfinished: [] };
const missing: EventLogStatus = { status: 'missing', files: [], unfinished: [], reason: 'no event log was written' };
const now = new Date('2022-11-15T15:00:00Z');
const ended = { id: 'j-1', state: 'TERMINATED', tags: {}, endedAt: new Date('2022-11-15T14:59:59Z') };

test('decideRecord: WAITING clusters need no end time; a cluster still running waits', () => {
  const cluster = { id: 'j-1', state: 'WAITING', tags: {} };
  const d = decideRecord({ cluster, eventLog: complete, now, arrival: { graceMs: 0 } });
  assert.equal(d, { kind: 'record', status: 'recorded', endedAt: now, eventLog: { status: 'complete' } });
  assert.is(decideRecord({ cluster: { ...cluster, state: 'TERMINATING' }, eventLog: complete, now, arrival: { graceMs: 0 } }).kind, 'wait');
});

test('decideRecord: EMR (no grace) records a missing or unfinished log at once; a late-delivering platform waits out its grace', () => {
  assert.is(logArrivalFor('emr', { waitTimeoutMs: 900_000 }).graceMs, 0);
  const emr = decideRecord({ cluster: ended, eventLog: missing, now, arrival: logArrivalFor('emr', { waitTimeoutMs: 900_000 }) });
  assert.equal(emr, { kind: 'record', status: 'recorded', endedAt: ended.endedAt, eventLog: { status: 'missing', reason: 'no event log was written' } });
  const late = logArrivalFor('databricks', { waitTimeoutMs: 60_000 });
  assert.is(late.graceMs, 60_000);
  const waiting = decideRecord({ cluster: ended, eventLog: missing, now, arrival: late });
  assert.is(waiting.kind, 'wait');
  assert.is(waiting.kind === 'wait' && waiting.waitingFor, 'eventlog');
  assert.is(decideRecord({ cluster: ended, eventLog: complete, now, arrival: late }).kind, 'record', 'a complete log needs no grace');
  const after = decideRecord({ cluster: ended, eventLog: missing, now: new Date(ended.endedAt.getTime() + 60_000), arrival: late });
  assert.is(after.kind === 'record' && after.eventLog.status, 'missing');
  const failed = decideRecord({ cluster: { ...ended, state: 'TERMINATED_WITH_ERRORS' }, eventLog: missing, now, arrival: late });
  assert.is(failed.kind === 'record' && failed.status, 'failed', 'a failed cluster is recorded at once on any platform');
});

test('eventLogOf / eventLogWarning: runs recorded before the status was kept', () => {
  const base = { id: 'r-1', projectId: 'p1', location: 'file:///x/', createdAt: 'c', requestKey: 'k', clusterId: 'j-1' };
  assert.is(eventLogOf({ ...base, status: 'running' }), undefined);
  assert.is(eventLogOf({ id: 'r-0', projectId: 'p1', location: 'file:///x/', createdAt: 'c', requestKey: 'k', status: 'failed' }), undefined, 'no cluster, no log to speak of');
  assert.equal(eventLogOf({ ...base, status: 'recorded', eventLogUrl: 'file:///x/eventlog/' }), { status: 'complete' });
  assert.is(eventLogOf({ ...base, status: 'recorded' })?.status, 'missing');
  assert.is(eventLogWarning({ ...base, status: 'recorded', eventLogUrl: 'file:///x/eventlog/' }), undefined);
  assert.match(eventLogWarning({ ...base, status: 'recorded' }) ?? '', /run r-1 has no event log: the run was recorded without a complete event log/);
});

test.run();
