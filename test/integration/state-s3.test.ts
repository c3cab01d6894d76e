import { createHash } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SyncError } from '../../src/domain/errors.js';
import type { StateStore } from '../../src/domain/ports.js';
import type { ProjectState } from '../../src/domain/types.js';
import { createS3ObjectStore } from '../../src/adapters/s3-object-store.js';
import { createS3StateStore } from '../../src/adapters/state-s3.js';
import { createStateStore } from '../../src/adapters/state-store.js';
import { createTestS3Client, startS3, type S3Harness } from '../support/s3.js';
import { syncRejection as rejection } from '../support/async.js';


function stateWith(id: string, counter: number, writers: string[] = []): ProjectState {
  return {
    project: { id, name: `project ${id}`, platform: 'emr', tenantId: 't1', createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z' },
    runs: [],
    predictions: writers.map((w, i) => ({ id: `${w}-${i}`, url: 's3://x/y', createdAt: '2026-01-01T00:00:00Z' })),
    requests: { counter: { at: String(counter) } },
  };
}
const counterOf = (s: ProjectState) => Number(s.requests?.counter?.at);

const t = suite<{ s3: S3Harness }>('state-s3');
t.before(async (ctx) => {
  ctx.s3 = await startS3({ buckets: ['state-bucket'] });
});
t.after(async (ctx) => {
  await ctx.s3?.stop();
});

const fastRetry = { baseMs: 1, maxMs: 5 };
const storeFor = (s3: S3Harness, rootUrl = 's3://state-bucket/tenant-a') =>
  createS3StateStore({ objectStore: createS3ObjectStore({ client: s3.client, retry: fastRetry }), rootUrl });

t('create, read, update: the version is the object ETag and the key is <prefix>/projects/<id>.json', async ({ s3 }) => {
  const objectStore = createS3ObjectStore({ client: s3.client, retry: fastRetry });
  const store = createS3StateStore({ objectStore, rootUrl: 's3://state-bucket/tenant-a/' });
  assert.is(await store.get('p1'), undefined);
  const v1 = await store.put('p1', stateWith('p1', 1), null);
  const raw = await objectStore.get('s3://state-bucket/tenant-a/projects/p1.json');
  assert.is(v1, raw.info.etag);
  assert.is(v1, `"${createHash('md5').update(raw.body).digest('hex')}"`);
  assert.equal(JSON.parse(raw.body.toString()), stateWith('p1', 1));
  const got = await store.get('p1');
  assert.equal(got, { value: stateWith('p1', 1), version: v1 });
  const v2 = await store.put('p1', stateWith('p1', 2), v1);
  assert.is.not(v2, v1);
  assert.is(counterOf((await store.get('p1'))!.value), 2);
});

t('stale version, create-over-existing and update-of-missing are conflicts', async ({ s3 }) => {
  const store = storeFor(s3, 's3://state-bucket/tenant-b');
  const v1 = await store.put('p1', stateWith('p1', 1), null);
  await store.put('p1', stateWith('p1', 2), v1);
  assert.is((await rejection(store.put('p1', stateWith('p1', 99), v1))).code, 'conflict');
  assert.is((await rejection(store.put('p1', stateWith('p1', 98), null))).code, 'conflict');
  assert.is((await rejection(store.put('p2', stateWith('p2', 1), v1))).code, 'conflict');
  assert.is(counterOf((await store.get('p1'))!.value), 2);
  assert.is(await store.get('p2'), undefined);
});

t('list returns this tenant’s project ids only; bad ids are refused without a request', async ({ s3 }) => {
  const store = storeFor(s3, 's3://state-bucket/tenant-c');
  const other = storeFor(s3, 's3://state-bucket/tenant-c2');
  for (const id of ['b', 'a', 'c.1']) await store.put(id, stateWith(id, 0), null);
  await other.put('zz', stateWith('zz', 0), null);
  const objectStore = createS3ObjectStore({ client: s3.client, retry: fastRetry });
  await objectStore.put('s3://state-bucket/tenant-c/projects/notes.txt', 'x');
  await objectStore.put('s3://state-bucket/tenant-c/projects/nested/d.json', '{}');
  assert.equal(await store.list(), ['a', 'b', 'c.1']);
  const before = s3.requests().length;
  for (const id of ['..', '../x', 'a/b', '']) assert.is((await rejection(store.get(id))).code, 'invalid_request', id);
  assert.is(s3.requests().length, before);
});

t('a corrupt document is corrupt_data', async ({ s3 }) => {
  const store = storeFor(s3, 's3://state-bucket/tenant-d');
  await createS3ObjectStore({ client: s3.client }).put('s3://state-bucket/tenant-d/projects/bad.json', 'not json');
  const e = await rejection(store.get('bad'));
  assert.is(e.code, 'corrupt_data');
  assert.ok(e.message.includes('s3://state-bucket/tenant-d/projects/bad.json'), e.message);
});

t('4 agents x 25 concurrent increments with retry-on-conflict lose nothing', async ({ s3 }) => {
  const rootUrl = 's3://state-bucket/tenant-e';
  // Each agent has its own client and connections, as separate daemons would.
  const agents: StateStore[] = Array.from({ length: 4 }, () =>
    createStateStore(rootUrl, { objectStore: createS3ObjectStore({ client: createTestS3Client(s3.endpoint), retry: fastRetry }) }),
  );
  await agents[0]!.put('shared', stateWith('shared', 0), null);
  let conflicts = 0;
  await Promise.all(
    agents.map(async (store, a) => {
      for (let i = 0; i < 25; i++) {
        for (;;) {
          const cur = (await store.get('shared'))!;
          const writers = cur.value.predictions.map((p) => p.id.split('-')[0]!);
          try {
            await store.put('shared', stateWith('shared', counterOf(cur.value) + 1, [...writers, `agent${a}`]), cur.version);
            break;
          } catch (e) {
            if (!(e instanceof SyncError) || e.code !== 'conflict') throw e;
            conflicts += 1;
          }
        }
      }
    }),
  );
  const final = (await agents[1]!.get('shared'))!.value;
  assert.is(counterOf(final), 100);
  const perAgent = [0, 1, 2, 3].map((a) => final.predictions.filter((p) => p.id.startsWith(`agent${a}-`)).length);
  assert.equal(perAgent, [25, 25, 25, 25]);
  assert.ok(conflicts > 0, 'the agents did race');
  console.log(`  conflicts retried: ${conflicts}`);
});

t('createStateStore refuses a root that is not a bucket URL', () => {
  const objectStore = createS3ObjectStore({ client: createTestS3Client('http://127.0.0.1:9') });
  for (const bad of ['s3://', 's3:///x']) {
    let code: string | undefined;
    try {
      createStateStore(bad, { objectStore });
    } catch (e) {
      code = (e as SyncError).code;
    }
    assert.is(code, 'invalid_config', bad);
  }
});

t.run();
