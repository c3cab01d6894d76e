import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lastValueFrom } from 'rxjs';
import type { SyncError } from '../../../src/domain/errors.js';
import { projectUpdate } from '../../../src/handlers/project-update.js';
import { validateRequest } from '../../../src/queues/validate-request.js';
import { createFakeDeps, rejection, testContext, type FakeDeps } from '../../support/fakes.js';

async function withProject(deps: FakeDeps): Promise<void> {
  const project = { id: 'p1', name: 'nightly', platform: 'emr' as const, tenantId: 'acme', createdAt: 'c', updatedAt: 'c', mode: 'recommend' as const, policy: { maxRuntimeSeconds: 900 }, jobFlow: { Name: 'n', Steps: [] } };
  await deps.state.put('p1', { project, runs: [], predictions: [] }, null);
}
const update = (deps: FakeDeps, data: Record<string, unknown>) => lastValueFrom(projectUpdate({ projectId: 'p1', ...data }, deps, testContext()));

test('given fields replace, null removes, the rest stays', async () => {
  const deps = createFakeDeps();
  await withProject(deps);
  const p = await update(deps, { mode: 'auto', policy: null, location: 's3://bucket/new/' });
  assert.is(p.mode, 'auto');
  assert.is(p.policy, undefined);
  assert.is(p.location, 's3://bucket/new');
  assert.is(p.name, 'nightly');
  assert.equal(p.jobFlow, { Name: 'n', Steps: [] });
  assert.is.not(p.updatedAt, 'c');
  assert.equal(deps.state.read('p1')!.project, p);
});

test('an update that changes nothing writes nothing', async () => {
  const deps = createFakeDeps();
  await withProject(deps);
  const before = (await deps.state.get('p1'))!.version;
  await update(deps, { mode: 'recommend' });
  assert.is((await deps.state.get('p1'))!.version, before);
});

test('a missing project is not_found', async () => {
  const deps = createFakeDeps();
  const e = (await rejection(update(deps, { mode: 'auto' }))) as SyncError;
  assert.is(e.code, 'not_found');
});

test('the schema: at least one field, no unknown fields, valid values', () => {
  const check = (data: unknown) => {
    try {
      validateRequest({ name: 'project.update', data });
      return 'ok';
    } catch (e) {
      return (e as SyncError).message;
    }
  };
  assert.is(check({ projectId: 'p1', mode: 'auto', policy: { maxRuntimeSeconds: 600 } }), 'ok');
  assert.is(check({ projectId: 'p1', policy: null }), 'ok');
  assert.match(check({ projectId: 'p1' }), /data/);
  assert.match(check({ projectId: 'p1', platform: 'databricks' }), /platform/);
  assert.match(check({ projectId: 'p1', mode: 'yolo' }), /mode/);
  assert.match(check({ projectId: '../p1', mode: 'auto' }), /projectId/);
});

test.run();
