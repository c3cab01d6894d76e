import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SyncError } from '../../../src/domain/errors.js';
import { assertSafeId, deriveRunId, isSafeId, newId } from '../../../src/domain/ids.js';
import { thrownSyncError as errorOf } from '../../support/async.js';

test('assertSafeId accepts ordinary ids and returns them', () => {
  for (const id of ['a', 'proj-1', 'A.b_c-9', 'j-2AXXXXXXGAPLF', 'x'.repeat(128)]) assert.is(assertSafeId('projectId', id), id);
});

test('assertSafeId rejects path traversal, separators, leading dots and overlong ids', () => {
  for (const id of ['x/../y', '..', 'a..b', '.hidden', '-x', 'a/b', 'a\\b', '', ' a', 'a b', 'é', 'x'.repeat(129), 'a\u0000b']) {
    const e = errorOf(() => assertSafeId('projectId', id));
    assert.is(e.code, 'invalid_request', id);
    assert.ok(e.message.startsWith(`projectId '${id.slice(0, 140)}`), e.message);
    assert.ok(e.message.includes('is not a safe id'), e.message);
    assert.is(isSafeId(id), false);
  }
});

test('assertSafeId names the kind and rejects non-strings', () => {
  const e = errorOf(() => assertSafeId('runId', 42));
  assert.is(e.code, 'invalid_request');
  assert.match(e.message, /^runId must be a string, got number/);
});

test('newId is safe, prefixed, unique, and sorts by time', () => {
  const a = newId('p', new Date('2022-01-01T00:00:00Z'));
  const b = newId('p', new Date('2022-01-01T00:00:00.001Z'));
  const c = newId('p', new Date('2030-06-01T00:00:00Z'));
  for (const id of [a, b, c]) {
    assert.ok(isSafeId(id), id);
    assert.ok(id.startsWith('p-'), id);
  }
  assert.ok(a < b && b < c, `${a} ${b} ${c}`);
  const many = new Set(Array.from({ length: 2000 }, () => newId('x', new Date(0))));
  assert.is(many.size, 2000);
  assert.ok(isSafeId(newId()));
});

test('deriveRunId is deterministic per (project, key) and differs otherwise', () => {
  assert.is(deriveRunId('p1', 'job:1'), deriveRunId('p1', 'job:1'));
  assert.is.not(deriveRunId('p1', 'job:1'), deriveRunId('p1', 'job:2'));
  assert.is.not(deriveRunId('p1', 'job:1'), deriveRunId('p2', 'job:1'));
  // The separator keeps ('a', 'bc') and ('ab', 'c') apart.
  assert.is.not(deriveRunId('a', 'bc'), deriveRunId('ab', 'c'));
  assert.ok(isSafeId(deriveRunId('p', 'any key / with ../ junk')));
});

test.run();
