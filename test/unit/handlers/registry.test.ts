import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SyncError } from '../../../src/domain/errors.js';
import type { CallOptions } from '../../../src/domain/ports.js';
import type { JobFlow } from '../../../src/domain/types.js';
import { createDispatcher } from '../../../src/handlers/registry.js';
import { createFakeDeps, rejection, testContext } from '../../support/fakes.js';

test('dispatches project.create, run.start and run.record by name', async () => {
  const deps = createFakeDeps();
  const dispatch = createDispatcher(deps);
  const project = (await dispatch('project.create', { projectId: 'p1', name: 'etl', platform: 'emr', jobFlow: { Name: 'etl' } }, testContext('a'))) as { id: string };
  assert.is(project.id, 'p1');
  const run = (await dispatch('run.start', { projectId: 'p1' }, testContext('b', 'key'))) as { clusterId: string; runId: string };
  assert.is(deps.platform.clusters.size, 1);
  deps.platform.advance(run.clusterId, 'RUNNING');
  const e = (await rejection(dispatch('run.record', { clusterId: run.clusterId }, testContext('c')))) as SyncError;
  assert.is(e.code, 'not_ready');
});

test('path-traversal ids are rejected before anything is read or written', async () => {
  const deps = createFakeDeps();
  const dispatch = createDispatcher(deps);
  for (const [name, data] of [
    ['project.create', { projectId: '../etc', name: 'x', platform: 'emr' }],
    ['run.start', { projectId: 'x/../y' }],
    ['run.record', { projectId: 'p1', runId: '..' }],
    ['run.start', { projectId: 'p1', predictionId: '../../secrets' }],
  ] as const) {
    const e = (await rejection(dispatch(name, data, testContext()))) as SyncError;
    assert.is(e.code, 'invalid_request', `${name} ${JSON.stringify(data)}`);
    assert.is(e.retryable, false);
  }
  assert.is(deps.state.docs.size, 0);
  assert.is(deps.objects.objects.size, 0);
  assert.is(deps.platform.clusters.size, 0);
});

test('unknown names fail without retry; prediction requests say what is missing', async () => {
  const dispatch = createDispatcher(createFakeDeps());
  assert.is(((await rejection(dispatch('cluster.nuke', {}, testContext()))) as SyncError).code, 'unknown_request');
  const noBackend = (await rejection(dispatch('prediction.create', { projectId: 'p1' }, testContext()))) as SyncError;
  assert.is(noBackend.code, 'unsupported');
  assert.match(noBackend.message, /site\.predictions\.backend/);
  assert.is(noBackend.retryable, false);
  const noProject = (await rejection(dispatch('prediction.apply', { projectId: 'p1' }, testContext()))) as SyncError;
  assert.is(noProject.code, 'not_found');
  assert.is(noProject.retryable, false);
});

test('aborting the context cancels the in-flight call and rejects with a retryable aborted', async () => {
  const deps = createFakeDeps();
  const dispatch = createDispatcher(deps);
  await dispatch('project.create', { projectId: 'p1', name: 'etl', platform: 'emr' }, testContext());
  let seen: AbortSignal | undefined;
  deps.platform.startCluster = (_req: JobFlow, options?: CallOptions) =>
    new Promise((_resolve, reject) => {
      seen = options?.signal;
      options?.signal?.addEventListener('abort', () => reject(new SyncError('aborted', 'aborted in flight')));
    });
  const controller = new AbortController();
  const pending = dispatch('run.start', { projectId: 'p1' }, { requestId: 'r', signal: controller.signal });
  for (let i = 0; i < 50 && !seen; i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(seen, 'startCluster was reached');
  assert.is(seen?.aborted, false);
  controller.abort();
  const e = (await rejection(pending)) as SyncError;
  assert.is(e.code, 'aborted');
  assert.is(e.retryable, true);
  assert.is(seen?.aborted, true);
  assert.is(deps.state.read('p1')?.runs[0]?.status, 'starting', 'an aborted start is not marked failed');
});

test.run();
