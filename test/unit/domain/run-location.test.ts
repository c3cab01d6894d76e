import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SyncError } from '../../../src/domain/errors.js';
import {
  clusterReportUrl,
  emrLogUri,
  eventLogDir,
  jobFlowUrl,
  predictionUrl,
  runLocation,
  runTimestamp,
  toSparkEventLogDir,
} from '../../../src/domain/run-location.js';

const at = new Date(Date.UTC(2022, 10, 15, 13, 51, 29, 456));

test('runLocation builds {location}/{project}/{UTC ts}/{run}/ with one trailing slash', () => {
  assert.is(runLocation('s3://bucket/prefix', 'p1', at, 'r-1'), 's3://bucket/prefix/p1/2022-11-15T13:51:29Z/r-1/');
  assert.is(runLocation('s3://bucket/prefix///', 'p1', at, 'r-1'), 's3://bucket/prefix/p1/2022-11-15T13:51:29Z/r-1/');
  assert.is(runLocation('s3://bucket', 'p1', at, 'r-1'), 's3://bucket/p1/2022-11-15T13:51:29Z/r-1/');
  assert.is(runLocation('file:///var/data/', 'p1', at, 'r-1'), 'file:///var/data/p1/2022-11-15T13:51:29Z/r-1/');
});

test('the timestamp is UTC whatever the input zone, without milliseconds', () => {
  assert.is(runTimestamp(new Date('2022-11-15T15:51:29.999+02:00')), '2022-11-15T13:51:29Z');
});

test('runLocation refuses unsafe ids and foreign schemes', () => {
  for (const [loc, p, r] of [
    ['s3://bucket/x', 'a/../b', 'r'],
    ['s3://bucket/x', 'p', '..'],
    ['http://bucket/x', 'p', 'r'],
    ['s3://bucket/../x', 'p', 'r'],
    ['/tmp/x', 'p', 'r'],
  ] as const) {
    try {
      runLocation(loc, p, at, r);
      assert.unreachable(`${loc} ${p} ${r}`);
    } catch (e) {
      assert.instance(e, SyncError);
      assert.ok(['invalid_request', 'invalid_config'].includes((e as SyncError).code));
    }
  }
});

test('files of a run sit beside each other in the run directory', () => {
  const run = 's3://b/p/p1/2022-11-15T13:51:29Z/r-1/';
  assert.is(eventLogDir(run), `${run}eventlog/`);
  assert.is(jobFlowUrl(run), `${run}job-flow.json`);
  assert.is(clusterReportUrl(run), `${run}emr-cluster-report.json`);
  assert.is(emrLogUri(run), `${run}emr-logs/`);
  assert.is(eventLogDir(run.slice(0, -1)), `${run}eventlog/`);
});

test('predictionUrl and the Spark scheme', () => {
  assert.is(predictionUrl('s3://bkt/pre/', 'p1', 'pred-1'), 's3://bkt/pre/p1/predictions/pred-1.json');
  assert.throws(() => predictionUrl('s3://bkt/pre', 'p1', '../x'), /not a safe id/);
  assert.is(toSparkEventLogDir('s3://b/x/eventlog/'), 's3a://b/x/eventlog/');
  assert.is(toSparkEventLogDir('file:///tmp/x/eventlog/'), 'file:///tmp/x/eventlog/');
});

test.run();
