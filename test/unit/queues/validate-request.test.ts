import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { SyncError } from '../../../src/domain/errors.js';
import { MAX_REQUEST_BYTES, decodeRequest, parseRequestJson, validateRequest } from '../../../src/queues/validate-request.js';
import { thrownSyncError as errorOf } from '../../support/async.js';

test('valid requests of every name pass and come back typed', () => {
  const ok = [
    { name: 'project.create', data: { name: 'Nightly ETL', platform: 'emr', location: 's3://runs-bucket/sync', preference: 'economy', autoApply: true, mode: 'auto', jobFlow: { Name: 'x' } } },
    { name: 'run.start', data: { projectId: 'p1', jobFlow: { Steps: [] }, predictionId: 'pr-1', preference: 'performance' }, idempotencyKey: 'nightly 2022-11-15', id: 'req-7' },
    { name: 'run.record', data: { clusterId: 'j-2AXXXXXXGAPLF' } },
    { name: 'run.record', data: { projectId: 'p1', runId: 'r-1' } },
    { name: 'prediction.create', data: { projectId: 'p1', runId: 'r-1' } },
    { name: 'prediction.apply', data: { projectId: 'p1', predictionId: 'x', preference: 'balanced' } },
    { name: 'project.iterate', data: { projectId: 'p1' } },
  ];
  for (const r of ok) {
    const v = validateRequest(r);
    assert.is(v.name, r.name);
    assert.equal(v.data, r.data);
    assert.is(v.idempotencyKey, r.idempotencyKey);
    assert.is(v.id, r.id);
  }
});

test('unknown names are unknown_request, listing the known ones', () => {
  const e = errorOf(() => validateRequest({ name: 'run.explode', data: {} }));
  assert.is(e.code, 'unknown_request');
  assert.is(e.retryable, false);
  assert.match(e.message, /run\.explode/);
  assert.match(e.message, /project\.create/);
});

test('the message names every failing field', () => {
  const e = errorOf(() => validateRequest({ name: 'project.create', data: { name: 5, platform: 'gcp', extra: true, autoApply: 'yes' } }));
  assert.is(e.code, 'invalid_request');
  assert.is(e.retryable, false);
  for (const part of ['data.name: must be string', 'data.platform: must be one of "emr", "databricks"', 'data.extra: is not an allowed field', 'data.autoApply: must be boolean']) {
    assert.ok(e.message.includes(part), `${part} in ${e.message}`);
  }
  assert.is((e.details?.errors as unknown[]).length, 4);
});

test('missing fields, bad ids and run.record without an id', () => {
  assert.match(errorOf(() => validateRequest({ name: 'run.start', data: {} })).message, /data\.projectId: is required/);
  const bad = errorOf(() => validateRequest({ name: 'run.start', data: { projectId: 'x/../y' } }));
  assert.match(bad.message, /^data\.projectId: must match pattern/);
  assert.match(errorOf(() => validateRequest({ name: 'run.start', data: { projectId: 'a..b' } })).message, /data\.projectId/);
  assert.is(errorOf(() => validateRequest({ name: 'run.record', data: { projectId: 'p1' } })).message, 'data: must have at least one of clusterId, runId');
  assert.match(errorOf(() => validateRequest({ name: 'project.create', data: { name: 'n', platform: 'emr', location: 'http://x/y' } })).message, /data\.location/);
  assert.match(errorOf(() => validateRequest({ name: 'project.create', data: { name: 'n', platform: 'emr', location: 's3://bkt/a/../b' } })).message, /data\.location/);
});

test('envelope problems are named too', () => {
  assert.match(errorOf(() => validateRequest({ name: 'run.start' })).message, /request\.data: is required/);
  assert.match(errorOf(() => validateRequest({ name: 'run.start', data: { projectId: 'p' }, when: 1 })).message, /request\.when: is not an allowed field/);
  assert.match(errorOf(() => validateRequest({ name: 'run.start', data: { projectId: 'p' }, idempotencyKey: '' })).message, /request\.idempotencyKey/);
  assert.match(errorOf(() => validateRequest('run.start')).message, /^request: must be object/);
  assert.match(errorOf(() => validateRequest(null)).message, /^request: must be object/);
});

test('oversized fields are refused', () => {
  assert.match(errorOf(() => validateRequest({ name: 'project.create', data: { name: 'x'.repeat(257), platform: 'emr' } })).message, /data\.name: must NOT have more than 256 characters/);
  assert.match(errorOf(() => validateRequest({ name: 'run.start', data: { projectId: 'p'.repeat(129) } })).message, /data\.projectId/);
  const big = { name: 'run.start', data: { projectId: 'p', jobFlow: { Steps: ['y'.repeat(MAX_REQUEST_BYTES)] } } };
  const e = errorOf(() => validateRequest(big));
  assert.is(e.code, 'invalid_request');
  assert.match(e.message, /the limit is 262144/);
});

test('__proto__, constructor and prototype keys are refused anywhere, with their path', () => {
  const viaJson = JSON.parse('{"name":"run.start","data":{"projectId":"p","jobFlow":{"Steps":[{"__proto__":{"polluted":true}}]}}}') as unknown;
  const e = errorOf(() => validateRequest(viaJson));
  assert.is(e.code, 'invalid_request');
  assert.match(e.message, /request\.data\.jobFlow\.Steps\[0\]\.__proto__: the key '__proto__' is not allowed/);
  assert.is(({} as Record<string, unknown>).polluted, undefined);
  assert.match(errorOf(() => validateRequest({ name: 'run.start', data: { projectId: 'p', jobFlow: { constructor: 1 } } })).message, /constructor/);
  assert.match(errorOf(() => decodeRequest('{"name":"run.start","data":{"projectId":"p","jobFlow":{"a":{"prototype":{}}}}}')).message, /prototype/);
});

test('parseRequestJson: malformed JSON names the byte, line and column', () => {
  const e = errorOf(() => parseRequestJson('{"name":"run.start",\n "data":{"projectId": }}'));
  assert.is(e.code, 'invalid_request');
  assert.match(e.message, /unexpected "\}" at byte 43 \(line 2, column 23\)/);
  assert.match(errorOf(() => parseRequestJson('{"name":"x"')).message, /unexpected end of input at byte 11 \(line 1, column 12\)/);
  assert.match(errorOf(() => parseRequestJson('')).message, /end of input at byte 0/);
  // Multi-byte characters before the error count as their UTF-8 bytes.
  assert.match(errorOf(() => parseRequestJson('{"é":tru}')).message, /at byte 9 \(line 1, column 9\)/);
  assert.match(errorOf(() => parseRequestJson('{"a":1} x')).message, /unexpected "x" at byte 8/);
});

test('parseRequestJson refuses text over the limit before parsing it', () => {
  const text = JSON.stringify({ name: 'run.start', data: { projectId: 'p', jobFlow: { pad: 'z'.repeat(MAX_REQUEST_BYTES) } } });
  const e = errorOf(() => parseRequestJson(text));
  assert.match(e.message, new RegExp(`request is ${Buffer.byteLength(text)} bytes; the limit is ${MAX_REQUEST_BYTES}`));
  assert.equal(parseRequestJson('{"name":"run.start","data":{"projectId":"p"}}'), { name: 'run.start', data: { projectId: 'p' } });
});

test('the published schema is valid JSON with a definition for every request', () => {
  const schema = JSON.parse(readFileSync(new URL('../../../schema/requests.schema.json', import.meta.url), 'utf8')) as { $defs: Record<string, unknown> };
  for (const n of ['project.create', 'run.start', 'run.record', 'prediction.create', 'prediction.apply', 'project.iterate']) assert.ok(schema.$defs[n], n);
});


test('run.step needs projectId and clusterId, takes runId and stepId, and nothing else', () => {
  const v = validateRequest({ name: 'run.step', data: { projectId: 'p1', clusterId: 'j-1', runId: 'r-1', stepId: 's-1' } });
  assert.equal(v.data, { projectId: 'p1', clusterId: 'j-1', runId: 'r-1', stepId: 's-1' });
  const missing = errorOf(() => validateRequest({ name: 'run.step', data: { projectId: 'p1' } }));
  assert.is(missing.code, 'invalid_request');
  assert.match(missing.message, /clusterId/);
  const extra = errorOf(() => validateRequest({ name: 'run.step', data: { projectId: 'p1', clusterId: 'j-1', state: 'FAILED' } }));
  assert.match(extra.message, /state/);
});

test('run.logs: projectId and runId required; stream one of stdout, stderr, controller; offset a non-negative integer', () => {
  const ok = { projectId: 'p1', runId: 'r-1', stepId: 's-1', stream: 'stderr', offset: 1024, maxBytes: 4096 };
  assert.equal(validateRequest({ name: 'run.logs', data: ok }).data, ok);
  assert.match(errorOf(() => validateRequest({ name: 'run.logs', data: { projectId: 'p1' } })).message, /runId/);
  assert.match(errorOf(() => validateRequest({ name: 'run.logs', data: { projectId: 'p1', runId: 'r', stream: 'syslog' } })).message, /stream/);
  assert.match(errorOf(() => validateRequest({ name: 'run.logs', data: { projectId: 'p1', runId: 'r', offset: -1 } })).message, /offset/);
});

test('run.cancel: projectId and runId required; terminate a boolean; by and reason strings', () => {
  const ok = { projectId: 'p1', runId: 'r-1', terminate: false, by: 'airflow', reason: 'task killed' };
  assert.equal(validateRequest({ name: 'run.cancel', data: ok }).data, ok);
  assert.match(errorOf(() => validateRequest({ name: 'run.cancel', data: { projectId: 'p1' } })).message, /runId/);
  assert.match(errorOf(() => validateRequest({ name: 'run.cancel', data: { projectId: 'p1', runId: 'r', terminate: 'yes' } })).message, /terminate/);
});

test.run();
