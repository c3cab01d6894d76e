// An S3-compatible store that writes objects in place can serve a GET while a PUT is landing: a
// prefix of the new body. The S3 state store reads again when the body does not hash to its own
// single-part ETag, and reports a stored document that is really corrupt at once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { createS3StateStore, isTornRead } from '../../../src/adapters/state-s3.js';
import type { ObjectStore } from '../../../src/domain/ports.js';
import { SyncError } from '../../../src/domain/errors.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const doc = JSON.stringify({ project: { id: 'p', name: 'p', platform: 'emr', tenantId: 't', createdAt: 'x', updatedAt: 'x' }, runs: [], predictions: [] });

function storeServing(bodies: { body: string; etag: string }[]): { objectStore: ObjectStore; gets: () => number } {
  let n = 0;
  const objectStore = {
    async get() {
      const b = bodies[Math.min(n++, bodies.length - 1)]!;
      return { body: Buffer.from(b.body), info: { url: 's3://b/projects/p.json', etag: b.etag, size: b.body.length } };
    },
  } as unknown as ObjectStore;
  return { objectStore, gets: () => n };
}

test('isTornRead: only a plain MD5 ETag that the body does not hash to', () => {
  assert.is(isTornRead(Buffer.from(doc), `"${md5(doc)}"`), false);
  assert.is(isTornRead(Buffer.from(doc.slice(0, 10)), `"${md5(doc)}"`), true);
  assert.is(isTornRead(Buffer.from('x'), `"${md5(doc)}-3"`), false, 'multipart ETag is not an MD5 of the body');
  assert.is(isTornRead(Buffer.from('x'), 'sha256-abc'), false);
});

test('get reads again after a torn read and returns the whole document', async () => {
  const etag = `"${md5(doc)}"`;
  const { objectStore, gets } = storeServing([{ body: doc.slice(0, 17), etag }, { body: '', etag }, { body: doc, etag }]);
  const store = createS3StateStore({ objectStore, rootUrl: 's3://b' });
  const got = await store.get('p');
  assert.is(got?.value.project.id, 'p');
  assert.is(got?.version, etag);
  assert.is(gets(), 3);
});

test('a stored document that hashes to its ETag but is not JSON is corrupt_data at the first read', async () => {
  const bad = '{"project":';
  const { objectStore, gets } = storeServing([{ body: bad, etag: `"${md5(bad)}"` }]);
  const store = createS3StateStore({ objectStore, rootUrl: 's3://b' });
  try {
    await store.get('p');
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, SyncError);
    assert.is((e as SyncError).code, 'corrupt_data');
    assert.match((e as Error).message, 's3://b/projects/p.json');
  }
  assert.is(gets(), 1);
});

test('a read that stays torn gives up with corrupt_data after a bounded number of reads', async () => {
  const { objectStore, gets } = storeServing([{ body: '{', etag: `"${md5(doc)}"` }]);
  const store = createS3StateStore({ objectStore, rootUrl: 's3://b' });
  try {
    await store.get('p');
    assert.unreachable('should throw');
  } catch (e) {
    assert.is((e as SyncError).code, 'corrupt_data');
  }
  assert.is(gets(), 6);
});

test.run();
