import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SyncError } from '../../../src/domain/errors.js';
import type { ProjectState } from '../../../src/domain/types.js';
import { updateProjectState } from '../../../src/handlers/update-project.js';
import { createFakeStateStore, rejection } from '../../support/fakes.js';

function doc(name: string): ProjectState {
  return { project: { id: 'p1', name, platform: 'emr', tenantId: 't', createdAt: 'x', updatedAt: 'x' }, runs: [], predictions: [] };
}

test('applies fn and writes at the read version', async () => {
  const state = createFakeStateStore();
  await state.put('p1', doc('a'), null);
  const r = await updateProjectState(state, 'p1', (s) => ({ ...s, project: { ...s.project, name: 'b' } }));
  assert.is(r.written, true);
  assert.is(state.read('p1')?.project.name, 'b');
  assert.is(r.version, state.docs.get('p1')?.version);
});

test('retries after conflicts, re-reading and re-applying fn, and loses no concurrent write', async () => {
  const state = createFakeStateStore();
  await state.put('p1', doc('a'), null);
  let concurrent = 0;
  state.beforePut = () => {
    // Another writer appends a prediction between our read and our write, twice.
    if (concurrent >= 2) return;
    concurrent += 1;
    const current = state.docs.get('p1');
    if (current) state.docs.set('p1', { value: { ...current.value, predictions: [...current.value.predictions, { id: `x${concurrent}`, url: 'u', createdAt: 'c' }] }, version: `other-${concurrent}` });
  };
  let calls = 0;
  const r = await updateProjectState(state, 'p1', (s) => (calls++, { ...s, project: { ...s.project, name: 'b' } }), { baseDelayMs: 1 });
  assert.is(calls, 3);
  assert.is(r.written, true);
  const final = state.read('p1');
  assert.is(final?.project.name, 'b');
  assert.equal(final?.predictions.map((p) => p.id), ['x1', 'x2']);
});

test('gives up with a retryable conflict after the attempts', async () => {
  const state = createFakeStateStore();
  await state.put('p1', doc('a'), null);
  state.conflictsToInject = 10;
  const e = await rejection(updateProjectState(state, 'p1', (s) => s, { attempts: 3, baseDelayMs: 1 }));
  assert.instance(e, SyncError);
  assert.is((e as SyncError).code, 'conflict');
  assert.is((e as SyncError).retryable, true);
  assert.is(state.conflictsToInject, 7);
});

test('undefined from fn writes nothing; a missing project is not_found; fn errors propagate', async () => {
  const state = createFakeStateStore();
  await state.put('p1', doc('a'), null);
  const before = state.puts;
  const r = await updateProjectState(state, 'p1', () => undefined);
  assert.is(r.written, false);
  assert.is(state.puts, before);
  assert.is(((await rejection(updateProjectState(state, 'nope', (s) => s))) as SyncError).code, 'not_found');
  const boom = new SyncError('invalid_request', 'boom');
  assert.is(await rejection(updateProjectState(state, 'p1', () => { throw boom; })), boom);
});

test('an aborted signal stops before reading', async () => {
  const state = createFakeStateStore();
  await state.put('p1', doc('a'), null);
  const c = new AbortController();
  c.abort();
  assert.is(((await rejection(updateProjectState(state, 'p1', (s) => s, { signal: c.signal }))) as SyncError).code, 'aborted');
});

test.run();
