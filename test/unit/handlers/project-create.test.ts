import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lastValueFrom } from 'rxjs';
import type { SyncError } from '../../../src/domain/errors.js';
import { isSafeId } from '../../../src/domain/ids.js';
import type { ProjectCreateData } from '../../../src/domain/requests.js';
import { projectCreate, projectIdFor, slugify } from '../../../src/handlers/project-create.js';
import { createFakeDeps, rejection, testContext } from '../../support/fakes.js';

const data: ProjectCreateData = { projectId: 'etl', name: 'Nightly ETL', platform: 'emr', jobFlow: { ReleaseLabel: 'emr-6.9.0', Name: 'n' }, location: 's3://runs-bucket/x/' };

test('creates the project document with no runs', async () => {
  const deps = createFakeDeps();
  const project = await lastValueFrom(projectCreate(data, deps, testContext()));
  assert.is(project.id, 'etl');
  assert.is(project.tenantId, 'acme');
  assert.is(project.location, 's3://runs-bucket/x');
  assert.is(project.createdAt, '2022-11-15T13:51:29.000Z');
  const stored = deps.state.read('etl');
  assert.equal(stored?.project, project);
  assert.equal(stored?.runs, []);
});

test('the same definition again answers the stored project; key order in jobFlow does not matter', async () => {
  const deps = createFakeDeps();
  const first = await lastValueFrom(projectCreate(data, deps, testContext('a')));
  deps.clock.advance(60_000);
  const again = await lastValueFrom(projectCreate({ ...data, jobFlow: { Name: 'n', ReleaseLabel: 'emr-6.9.0' } }, deps, testContext('b')));
  assert.equal(again, first);
  assert.is(deps.state.puts, 1);
});

test('a different definition is already_exists and changes nothing', async () => {
  const deps = createFakeDeps();
  await lastValueFrom(projectCreate(data, deps, testContext()));
  const before = deps.state.read('etl');
  const e = await rejection(lastValueFrom(projectCreate({ ...data, preference: 'economy' }, deps, testContext())));
  assert.is((e as SyncError).code, 'already_exists');
  assert.equal(deps.state.read('etl'), before);
});

test('without projectId the id is a slug plus a suffix fixed by the request key', async () => {
  assert.is(slugify('  Nightly ETL (v2)!! '), 'nightly-etl-v2');
  assert.is(slugify('***'), 'project');
  const d: ProjectCreateData = { name: 'Nightly ETL', platform: 'emr' };
  const id = projectIdFor(d, 'job:1');
  assert.match(id, /^nightly-etl-[0-9a-f]{6}$/);
  assert.ok(isSafeId(id));
  assert.is(projectIdFor(d, 'job:1'), id);
  assert.is.not(projectIdFor(d, 'job:2'), id);
  const deps = createFakeDeps();
  const p1 = await lastValueFrom(projectCreate(d, deps, testContext('r', 'key-1')));
  const p2 = await lastValueFrom(projectCreate(d, deps, testContext('r-retry', 'key-1')));
  assert.is(p1.id, p2.id);
  assert.equal(await deps.state.list(), [p1.id]);
});

test('a create that loses the race to an identical create answers the winner', async () => {
  const deps = createFakeDeps();
  let raced = false;
  deps.state.beforePut = (id, s) => {
    if (raced) return;
    raced = true;
    deps.state.docs.set(id, { value: structuredClone(s), version: 'other' });
  };
  const p = await lastValueFrom(projectCreate(data, deps, testContext()));
  assert.is(p.id, 'etl');
  assert.is(deps.state.docs.get('etl')?.version, 'other');
});

test.run();
