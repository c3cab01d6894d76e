import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lastValueFrom } from 'rxjs';
import { SyncError } from '../../../src/domain/errors.js';
import type { ObjectInfo } from '../../../src/domain/ports.js';
import type { RunRecordData } from '../../../src/domain/requests.js';
import { decideRecord, eventLogStatus } from '../../../src/handlers/run-record.js';
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

test('waits for an .inprogress event log, then writes the report and records the run', async () => {
  const deps = createFakeDeps();
  const r = await started(deps);
  deps.platform.advance(r.clusterId, 'RUNNING', { readyAt: new Date('2022-11-15T13:55:00Z') });
  deps.clock.set('2022-11-15T14:55:00Z');
  deps.platform.advance(r.clusterId, 'TERMINATED', { endedAt: new Date('2022-11-15T14:55:00Z') });
  const log = `${r.location}eventlog/application_1668520800000_0001.inprogress`;
  await deps.objects.put(log, '{"Event":"SparkListenerLogStart"}\n');
  const e = (await rejection(record(deps, { clusterId: r.clusterId }))) as SyncError;
  assert.is(e.code, 'not_ready');
  assert.is(e.details?.waitingFor, 'eventlog');
  assert.match(e.message, /application_1668520800000_0001\.inprogress/);
  assert.is(deps.state.read('p1')?.runs[0]?.status, 'recording');
  assert.is(deps.objects.objects.has(`${r.location}emr-cluster-report.json`), false);

  await deps.objects.delete(log);
  await deps.objects.put(`${r.location}eventlog/application_1668520800000_0001`, '{"Event":"SparkListenerLogStart"}\n');
  deps.clock.advance(60_000);
  const result = await record(deps, { clusterId: r.clusterId });
  const reportUrl = `${r.location}emr-cluster-report.json`;
  assert.equal(result, { runId: r.runId, status: 'recorded', reportUrl });
  const report = JSON.parse(deps.objects.objects.get(reportUrl)?.body.toString() ?? '{}') as { Cluster: { Id: string }; Region: string };
  assert.is(report.Cluster.Id, r.clusterId);
  assert.is(report.Region, 'us-east-1');
  const run = deps.state.read('p1')?.runs[0];
  assert.is(run?.status, 'recorded');
  assert.is(run?.clusterState, 'TERMINATED');
  assert.is(run?.endedAt, '2022-11-15T14:55:00.000Z');
  assert.is(run?.runtimeSeconds, 3600);
  assert.is(run?.eventLogUrl, `${r.location}eventlog/`);
  assert.is(run?.reportUrl, reportUrl);
  assert.is(run?.recordedAt, '2022-11-15T14:56:00.000Z');
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

test('after the wait timeout the run is recorded without an event log, with a warning', async () => {
  const deps = createFakeDeps({ waitTimeoutMs: 60_000 });
  const r = await started(deps);
  deps.platform.advance(r.clusterId, 'TERMINATED');
  assert.is(((await rejection(record(deps, { clusterId: r.clusterId }))) as SyncError).code, 'not_ready');
  deps.clock.advance(60_000);
  const result = await record(deps, { clusterId: r.clusterId });
  assert.is(result.status, 'recorded');
  assert.is(result.warnings?.length, 1);
  assert.match(result.warnings?.[0] ?? '', /no files yet 60 s after the cluster ended/);
  assert.is(deps.state.read('p1')?.runs[0]?.eventLogUrl, undefined);
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

const info = (url: string): ObjectInfo => ({ url, size: 1, etag: '"e"', lastModified: new Date(0) });
const dir = 's3://b/p/r/eventlog/';

test('eventLogStatus: single files, markers, and rolling directories', () => {
  assert.is(eventLogStatus([info(dir)], dir).complete, false);
  assert.is(eventLogStatus([info(dir), info(`${dir}app-1`)], dir).complete, true);
  assert.equal(eventLogStatus([info(`${dir}app-1`), info(`${dir}app-2.inprogress`)], dir).inProgress, [`${dir}app-2.inprogress`]);
  const rolling = [info(`${dir}eventlog_v2_app-1/events_1_app-1.zstd`)];
  assert.equal(eventLogStatus(rolling, dir).inProgress, [`${dir}eventlog_v2_app-1/`]);
  assert.is(eventLogStatus([...rolling, info(`${dir}eventlog_v2_app-1/appstatus_app-1.inprogress`)], dir).complete, false);
  assert.is(eventLogStatus([info(`${dir}eventlog_v2_app-1/appstatus_app-1`), ...rolling], dir).complete, true);
});

test('decideRecord: WAITING clusters need no end time and do not wait for the timeout', () => {
  const now = new Date('2022-11-15T15:00:00Z');
  const cluster = { id: 'j-1', state: 'WAITING', tags: {} };
  const complete = { complete: true, files: ['a'], inProgress: [] };
  const d = decideRecord({ cluster, eventLog: complete, now, waitTimeoutMs: 1000 });
  assert.equal(d, { kind: 'record', status: 'recorded', endedAt: now, eventLogComplete: true, warnings: [] });
  assert.is(decideRecord({ cluster: { ...cluster, state: 'TERMINATING' }, eventLog: complete, now, waitTimeoutMs: 1000 }).kind, 'wait');
});

test.run();
