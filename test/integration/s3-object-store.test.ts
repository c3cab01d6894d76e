import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { SyncError } from '../../src/domain/errors.js';
import type { ObjectInfo } from '../../src/domain/ports.js';
import { createS3ObjectStore } from '../../src/adapters/s3-object-store.js';
import { createFileObjectStore } from '../../src/adapters/file-object-store.js';
import { createObjectStoreRouter } from '../../src/adapters/object-store-router.js';
import { startS3, type S3Harness } from '../support/s3.js';
import { syncRejection as rejection } from '../support/async.js';


async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function pool<T>(items: T[], width: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: width }, async () => {
    for (let x = queue.shift(); x !== undefined; x = queue.shift()) await fn(x);
  }));
}

const md5 = (b: string | Uint8Array) => `"${createHash('md5').update(b).digest('hex')}"`;
const B = 's3://test-bucket';
const fastRetry = { baseMs: 1, maxMs: 5 };

const t = suite<{ s3: S3Harness }>('s3-object-store');
t.before(async (ctx) => {
  ctx.s3 = await startS3({ buckets: ['test-bucket'] });
});
t.after(async (ctx) => {
  await ctx.s3?.stop();
});
t.after.each((ctx) => ctx.s3.clearFaults());

t('put, head, get and delete round-trip with MD5 etags', async ({ s3 }) => {
  const store = createS3ObjectStore({ client: s3.client, retry: fastRetry });
  const url = `${B}/rt/a b+c.json`;
  const info = await store.put(url, '{"a":1}', { contentType: 'application/json' });
  assert.is(info.etag, md5('{"a":1}'));
  assert.is(info.size, 7);
  const head = await store.head(url);
  assert.is(head?.etag, md5('{"a":1}'));
  assert.is(head?.size, 7);
  assert.instance(head?.lastModified, Date);
  const got = await store.get(url);
  assert.is(got.body.toString(), '{"a":1}');
  assert.is(got.info.etag, info.etag);
  await store.delete(url);
  assert.is(await store.head(url), undefined);
  assert.is((await rejection(store.get(url))).code, 'not_found');
  await store.delete(url);
});

t('bad URLs are invalid_request before any request', async ({ s3 }) => {
  const store = createS3ObjectStore({ client: s3.client, retry: fastRetry });
  const before = s3.requests().length;
  for (const url of ['s3://test-bucket', 's3://test-bucket/', 's3://B/x', 'file:///x', 's3:/test-bucket/x']) {
    assert.is((await rejection(store.get(url))).code, 'invalid_request', url);
  }
  assert.is(s3.requests().length, before);
});

t('list pages through every key with a small page size, in key order, with full URLs', async ({ s3 }) => {
  const store = createS3ObjectStore({ client: s3.client, listPageSize: 7, retry: fastRetry });
  const keys = Array.from({ length: 50 }, (_, i) => `pg/k${String(i).padStart(3, '0')}`);
  await pool(keys, 8, (k) => store.put(`${B}/${k}`, k));
  await store.put(`${B}/pg-outside`, 'x');
  await store.put(`${B}/other/pg/k1`, 'x');
  const before = s3.requests().length;
  const listed = await collect(store.list(`${B}/pg/`));
  const pages = s3.requests().slice(before).filter((r) => r.method === 'GET' && r.path.includes('list-type=2')).length;
  assert.equal(listed.map((o) => o.url), keys.map((k) => `${B}/${k}`));
  assert.equal(listed.map((o) => o.size), keys.map((k) => k.length));
  assert.equal(listed.map((o) => o.etag), keys.map((k) => md5(k)));
  assert.is(pages, Math.ceil(50 / 7));
  // s3rver walks its folders rather than sorting keys, so across pages it misorders `pg-outside`
  // against `pg/...`; one page is enough to check that a prefix need not end in '/'.
  const onePage = createS3ObjectStore({ client: s3.client, retry: fastRetry });
  assert.equal((await collect(onePage.list(`${B}/pg`))).length, 51, 'a prefix need not end in /');
  assert.equal(await collect(store.list(`${B}/nothing-here/`)), []);
});

t('list with the default page size crosses S3 1000-key pages', async ({ s3 }) => {
  const store = createS3ObjectStore({ client: s3.client, retry: fastRetry });
  const keys = Array.from({ length: 1005 }, (_, i) => `big/${String(i).padStart(5, '0')}`);
  await pool(keys, 16, (k) => store.put(`${B}/${k}`, ''));
  const before = s3.requests().length;
  const listed = await collect(store.list(`${B}/big/`));
  assert.is(listed.length, 1005);
  assert.is(listed[1004]?.url, `${B}/big/01004`);
  assert.is(s3.requests().slice(before).filter((r) => r.path.includes('list-type=2')).length, 2);
});

t('stream yields a multi-MB object in many chunks, byte for byte', async ({ s3 }) => {
  const store = createS3ObjectStore({ client: s3.client, retry: fastRetry });
  const big = Buffer.alloc(6 * 1024 * 1024 + 3);
  for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, Math.min(i, big.length - 4));
  await store.put(`${B}/stream/big.bin`, big);
  const hash = createHash('sha256');
  let chunks = 0;
  let largest = 0;
  let total = 0;
  for await (const c of store.stream(`${B}/stream/big.bin`)) {
    hash.update(c);
    chunks += 1;
    total += c.byteLength;
    largest = Math.max(largest, c.byteLength);
  }
  assert.is(total, big.length);
  assert.is(hash.digest('hex'), createHash('sha256').update(big).digest('hex'));
  assert.ok(chunks > 10, `chunks: ${chunks}`);
  assert.ok(largest < 1024 * 1024, `largest chunk ${largest} bytes: the body was not buffered whole`);
  // Stopping early releases the connection instead of draining the object.
  let seen = 0;
  for await (const c of store.stream(`${B}/stream/big.bin`)) {
    seen += c.byteLength;
    break;
  }
  assert.ok(seen > 0 && seen < big.length);
  // Aborting mid-stream ends the iteration with 'aborted'.
  const ac = new AbortController();
  let got = 0;
  const aborted = await (async () => {
    try {
      for await (const c of store.stream(`${B}/stream/big.bin`, { signal: ac.signal })) {
        got += c.byteLength;
        if (got > 1024 * 1024) ac.abort();
      }
    } catch (err) {
      return err as SyncError;
    }
    return undefined;
  })();
  assert.is(aborted?.code, 'aborted');
  assert.ok(got < big.length, `read ${got} of ${big.length} bytes before the abort took effect`);
  const e = await (async () => {
    try {
      for await (const _ of store.stream(`${B}/stream/absent`)) void _;
    } catch (err) {
      return err as SyncError;
    }
    return undefined;
  })();
  assert.is(e?.code, 'not_found');
});

t('conditional puts: 412 and If-Match on a missing key are conflict; matching writes pass', async ({ s3 }) => {
  const store = createS3ObjectStore({ client: s3.client, retry: fastRetry });
  const url = `${B}/cond/doc.json`;
  const v1 = await store.put(url, 'v1', { ifNoneMatch: '*' });
  assert.is(v1.etag, md5('v1'));
  const e1 = await rejection(store.put(url, 'again', { ifNoneMatch: '*' }));
  assert.is(e1.code, 'conflict');
  assert.ok(e1.message.includes(url), e1.message);
  assert.is((await rejection(store.put(url, 'v2', { ifMatch: md5('not it') }))).code, 'conflict');
  const v2 = await store.put(url, 'v2', { ifMatch: v1.etag });
  assert.is((await rejection(store.put(url, 'v3', { ifMatch: v1.etag }))).code, 'conflict');
  assert.is((await rejection(store.put(`${B}/cond/missing`, 'x', { ifMatch: v1.etag }))).code, 'conflict');
  assert.is((await store.get(url)).info.etag, v2.etag);
  assert.is((await store.get(url)).body.toString(), 'v2');
});

t('throttling and 500s are retried; retries exhausted end as throttled / unavailable', async ({ s3 }) => {
  const retried: string[] = [];
  const store = createS3ObjectStore({ client: s3.client, retry: { ...fastRetry, retries: 3, onRetry: (e) => retried.push(e.code) } });
  await store.put(`${B}/flaky/x`, 'ok');
  s3.inject({ kind: 'slowdown', times: 2, method: 'GET', pathIncludes: '/flaky/x' });
  s3.inject({ kind: 'internal', times: 1, method: 'GET', pathIncludes: '/flaky/x' });
  assert.is((await store.get(`${B}/flaky/x`)).body.toString(), 'ok');
  assert.equal(retried, ['throttled', 'throttled', 'unavailable']);
  s3.inject({ kind: 'slowdown', times: 10, method: 'GET' });
  const e = await rejection(store.get(`${B}/flaky/x`));
  assert.is(e.code, 'throttled');
  assert.ok(e.retryable);
  s3.clearFaults();
  // A HEAD error has no body, so a 503 SlowDown arrives without its code: still retried, as unavailable.
  s3.inject({ kind: 'slowdown', times: 10, method: 'HEAD' });
  const h = await rejection(store.head(`${B}/flaky/x`));
  assert.ok(h.code === 'unavailable' || h.code === 'throttled', h.code);
  assert.ok(h.retryable);
  s3.clearFaults();
  s3.inject({ kind: 'reset', times: 1, method: 'PUT' });
  await store.put(`${B}/flaky/y`, 'after reset');
  assert.is((await store.get(`${B}/flaky/y`)).body.toString(), 'after reset');
});

t('a conditional put whose answer was lost is not reported as a conflict with itself', async ({ s3 }) => {
  const store = createS3ObjectStore({ client: s3.client, retry: fastRetry });
  const url = `${B}/lost/doc`;
  const v1 = await store.put(url, 'v1');
  // The write lands, the client sees a 500 and retries; the retry then meets its own write (412).
  s3.inject({ kind: 'lost-answer', times: 1, method: 'PUT', pathIncludes: '/lost/doc' });
  const v2 = await store.put(url, 'v2', { ifMatch: v1.etag });
  assert.is(v2.etag, md5('v2'));
  const statuses = s3.requests().filter((r) => r.method === 'PUT' && r.path.includes('/lost/doc')).map((r) => r.status);
  assert.equal(statuses.slice(-2), [500, 412]);
  // Someone else's write in between is still a conflict.
  s3.inject({ kind: 'lost-answer', times: 1, method: 'PUT', pathIncludes: '/lost/doc' });
  const racing = store.put(url, 'v3', { ifMatch: v2.etag });
  assert.is((await racing).etag, md5('v3'));
  assert.is((await rejection(store.put(url, 'v4', { ifMatch: v2.etag }))).code, 'conflict');
});

t('an aborted call ends with aborted, not a retry', async ({ s3 }) => {
  const store = createS3ObjectStore({ client: s3.client, retry: fastRetry });
  await store.put(`${B}/slow/x`, 'x');
  s3.inject({ kind: 'delay', ms: 2000, method: 'GET', pathIncludes: '/slow/x' });
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  const started = Date.now();
  const e = await rejection(store.get(`${B}/slow/x`, { signal: ac.signal }));
  assert.is(e.code, 'aborted');
  assert.ok(Date.now() - started < 1500, 'returned promptly');
});

t('the router sends s3:// and file:// to their stores and refuses other schemes', async ({ s3 }) => {
  const dir = await mkdtemp(join(tmpdir(), 'router-'));
  try {
    const router = createObjectStoreRouter({ s3: createS3ObjectStore({ client: s3.client, retry: fastRetry }), file: createFileObjectStore() });
    await router.put(`${B}/router/x`, 'in s3');
    await router.put(`file://${dir}/x`, 'on disk');
    assert.is((await router.get(`${B}/router/x`)).body.toString(), 'in s3');
    assert.is((await router.get(`file://${dir}/x`)).body.toString(), 'on disk');
    const listed: ObjectInfo[] = await collect(router.list(`${B}/router/`));
    assert.equal(listed.map((o) => o.url), [`${B}/router/x`]);
    for (const url of ['gs://b/x', 'http://h/x', 'x']) assert.is((await rejection(router.get(url))).code, 'unsupported', url);
    const fileOnly = createObjectStoreRouter({ file: createFileObjectStore() });
    const e = await rejection(fileOnly.head(`${B}/router/x`));
    assert.is(e.code, 'unsupported');
    assert.ok(e.message.includes('s3://'), e.message);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

t.run();
