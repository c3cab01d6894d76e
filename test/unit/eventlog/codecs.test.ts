// Every codec Spark writes event logs with, decoded from real logs: zstd and gzip as found in the
// fixtures, lz4/snappy/lzf from Spark's framings written by a test helper; truncation and corruption.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { decompress } from 'fzstd';
import { loadApplicationModel, openEventLog } from '../../../src/adapters/eventlog-source.js';
import { decodeLz4, lz4DecodeBlock } from '../../../src/adapters/codecs/lz4.js';
import { decodeLzf } from '../../../src/adapters/codecs/lzf.js';
import { decodeSnappy } from '../../../src/adapters/codecs/snappy.js';
import { xxhash32 } from '../../../src/adapters/codecs/xxhash32.js';
import { SyncError } from '../../../src/domain/errors.js';
import type { ApplicationModel } from '../../../src/domain/eventlog/model.js';
import { createMemoryObjectStore } from '../../support/memory-object-store.js';
import { writeLz4BlockStream, writeLzfStream, writeSnappyJavaStream } from './spark-framings.js';
import { syncRejection as rejection } from '../../support/async.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/eventlogs/', import.meta.url));
const test = suite<{ dir: string }>('codecs', { dir: '' });

test.before(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'eventlog-codecs-'));
});
test.after(async (ctx) => {
  await rm(ctx.dir, { recursive: true, force: true });
});


async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

async function* pieces(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function lines(path: string): Promise<string[]> {
  const out: string[] = [];
  for await (const l of openEventLog(path)) out.push(l);
  return out;
}

/** The model minus what legitimately differs between two readings of one log. */
const comparable = (m: ApplicationModel): unknown => ({ ...m, warnings: [] });

const plainRealLog = async (): Promise<Uint8Array> => decompress(await readFile(join(FIXTURES, 'rapids-tools/eventlog_4nodes_8cores_dynamic_alloc.zstd')));

test('xxhash32 known vectors', () => {
  assert.is(xxhash32(new Uint8Array(0)), 0x02cc5d05);
  assert.is(xxhash32(Buffer.from('abc')), 0x32d153ff);
  assert.is(xxhash32(Buffer.from('Nobody inspects the spammish repetition')), 0xe2293b2f);
});

test('lz4 block decoder: a hand-assembled block with an overlapping match', () => {
  // token 0x35: 3 literals "abc", match length 5+4 = 9 at offset 3 -> "abcabcabcabc", then 5 literals.
  const block = Uint8Array.from([0x35, 0x61, 0x62, 0x63, 0x03, 0x00, 0x50, 0x68, 0x65, 0x6c, 0x6c, 0x6f]);
  assert.is(Buffer.from(lz4DecodeBlock(block, 17)).toString(), 'abcabcabcabchello');
});

for (const [codec, write, decode] of [
  ['lz4', writeLz4BlockStream, decodeLz4],
  ['snappy', writeSnappyJavaStream, decodeSnappy],
  ['lzf', writeLzfStream, decodeLzf],
] as const) {
  test(`${codec}: Spark's framing of a real log decodes to the same bytes, whatever the chunking`, async () => {
    const plain = await plainRealLog();
    const packed = write(plain);
    assert.ok(packed.length < plain.length / 2, `${codec} output is compressed (${packed.length} of ${plain.length})`);
    for (const size of [7, 4096, 1 << 20]) {
      const out = await collect(decode(pieces(packed, size)));
      assert.ok(Buffer.from(plain).equals(out), `${codec} with ${size}-byte chunks`);
    }
    const head = plain.subarray(0, 50_000);
    assert.ok(Buffer.from(head).equals(await collect(decode(pieces(write(head), 1)))), `${codec} byte by byte`);
  });

  test(`${codec}: a .${codec} file gives the same model as the plain log; cut-off and corrupt files`, async (ctx) => {
    const plain = await plainRealLog();
    const packed = write(plain);
    const plainPath = join(ctx.dir, `app-${codec}`);
    const path = join(ctx.dir, `app-${codec}.${codec}`);
    await writeFile(plainPath, plain);
    await writeFile(path, packed);
    const expected = await loadApplicationModel(plainPath);
    assert.equal(comparable(await loadApplicationModel(path)), comparable(expected));

    const cut = Math.floor(packed.length * 0.6);
    const truncated = join(ctx.dir, `cut-${codec}.${codec}`);
    await writeFile(truncated, packed.subarray(0, cut));
    const err = await rejection(loadApplicationModel(truncated));
    assert.is(err.code, 'corrupt_data');
    assert.ok(err.message.includes(truncated), err.message);
    assert.match(err.message, /offset \d+/);

    // The same bytes while the application still runs: read up to the cut, reported.
    const running = join(ctx.dir, `run-${codec}.${codec}.inprogress`);
    await writeFile(running, packed.subarray(0, cut));
    const partial = await loadApplicationModel(running);
    assert.is(partial.complete, false);
    assert.ok(partial.warnings.some((w) => w.includes('cut off')), partial.warnings.join('\n'));
    const tasks = partial.stages.reduce((n, s) => n + s.tasks.count, 0);
    assert.ok(tasks > 0 && partial.jobs.length < expected.jobs.length + 1);

    const corrupt = Buffer.from(packed);
    for (let i = 1000; i < 1100; i++) corrupt[i] = (corrupt[i] as number) ^ 0x5a;
    const bad = join(ctx.dir, `bad-${codec}.${codec}`);
    await writeFile(bad, corrupt);
    const err2 = await rejection(loadApplicationModel(bad));
    assert.is(err2.code, 'corrupt_data');
    assert.ok(err2.message.includes(bad), err2.message);
  });
}

test('lz4, snappy, lzf: random data (repetitive and not) round-trips through the writers and decoders', async () => {
  const data = fc.oneof(
    fc.uint8Array({ maxLength: 3000 }),
    // Repetitive input exercises long and overlapping back-references.
    fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 2000 })).map(([unit, n]) => Uint8Array.from({ length: unit.length * n }, (_, i) => unit[i % unit.length] as number)),
  );
  await fc.assert(
    fc.asyncProperty(data, fc.integer({ min: 64, max: 4096 }), fc.integer({ min: 1, max: 700 }), async (bytes, blockSize, chunk) => {
      for (const [write, decode] of [
        [writeLz4BlockStream, decodeLz4],
        [writeSnappyJavaStream, decodeSnappy],
        [writeLzfStream, decodeLzf],
      ] as const) {
        const out = await collect(decode(pieces(write(bytes, blockSize), chunk)));
        assert.ok(Buffer.from(bytes).equals(out), `${write.name} blockSize ${blockSize} chunk ${chunk}`);
      }
    }),
    { numRuns: 150 },
  );
});

test('zstd: every real .zstd log reads line for line like a whole-file decompression', async () => {
  for (const f of ['aqeshuffle_eventlog.zstd', 'attempt_1_eventlog.zstd', 'eventlog_4nodes_8cores_dynamic_alloc.zstd', 'rp_sql_eventlog.zstd']) {
    const path = join(FIXTURES, 'rapids-tools', f);
    const expected = Buffer.from(decompress(await readFile(path))).toString('utf8').split('\n').filter((l) => l !== '');
    assert.equal((await lines(path)).filter((l) => l !== ''), expected, f);
  }
});

test('zstd: a cut-off real log is an error naming the file; as .inprogress it is tolerated', async (ctx) => {
  const bytes = await readFile(join(FIXTURES, 'rapids-tools/rp_sql_eventlog.zstd'));
  const cut = join(ctx.dir, 'rp.zstd');
  await writeFile(cut, bytes.subarray(0, 60_000));
  const err = await rejection(loadApplicationModel(cut));
  assert.is(err.code, 'corrupt_data');
  assert.ok(err.message.includes(cut) && /offset \d+/.test(err.message), err.message);
  const running = join(ctx.dir, 'rp.zstd.inprogress');
  await writeFile(running, bytes.subarray(0, 60_000));
  const m = await loadApplicationModel(running);
  assert.is(m.complete, false);
  assert.is(m.appId, 'application_1603128018386_7759');
});

test('gzip: the real Databricks part reads like gunzip; a whole log gzipped gives the same model', async (ctx) => {
  const part = join(FIXTURES, 'rapids-tools/db_sim_eventlog/eventlog-2021-06-15--15-00.gz');
  const expected = gunzipSync(await readFile(part)).toString('utf8').split('\n').filter((l) => l !== '');
  assert.equal((await lines(part)).filter((l) => l !== ''), expected);

  const src = join(FIXTURES, 'apache-spark/application_1538416563558_0014');
  const gz = join(ctx.dir, 'application_1538416563558_0014.gz');
  await writeFile(gz, gzipSync(await readFile(src)));
  assert.equal(comparable(await loadApplicationModel(gz)), comparable(await loadApplicationModel(src)));
});

test('plain: a cut-off last line is an error in a finished log, a warning in an in-progress one', async (ctx) => {
  const text = await readFile(join(FIXTURES, 'apache-spark/application_1538416563558_0014'), 'utf8');
  const cutAt = text.lastIndexOf('"Event":"SparkListenerTaskEnd"') + 40;
  const done = join(ctx.dir, 'application_1');
  await writeFile(done, text.slice(0, cutAt));
  const err = await rejection(loadApplicationModel(done));
  assert.ok(err.message.includes(done) && err.message.includes(`byte offset ${Buffer.byteLength(text.slice(0, text.lastIndexOf('\n', cutAt) + 1))}`), err.message);

  const running = join(ctx.dir, 'application_1.inprogress');
  await writeFile(running, text.slice(0, cutAt));
  const m = await loadApplicationModel(running);
  assert.is(m.complete, false);
  assert.ok(m.warnings.some((w) => w.includes('cut off')));
});

test('an empty log is corrupt when finished and not ready while in progress', async (ctx) => {
  const empty = join(ctx.dir, 'application_empty');
  await writeFile(empty, '\n');
  assert.is((await rejection(loadApplicationModel(empty))).code, 'corrupt_data');
  const starting = join(ctx.dir, 'application_starting.inprogress');
  await writeFile(starting, '');
  const err = await rejection(loadApplicationModel(starting));
  assert.is(err.code, 'not_ready');
  assert.is(err.retryable, true);
});

test('plain: a corrupt line in the middle names the file and its byte offset', async (ctx) => {
  const text = await readFile(join(FIXTURES, 'dr-elephant/event_log_1'), 'utf8');
  const ls = text.split('\n');
  ls[5] = '{"Event":"SparkListenerTaskEnd", garbage';
  const path = join(ctx.dir, 'corrupt-line');
  await writeFile(path, ls.join('\n'));
  const offset = Buffer.byteLength(ls.slice(0, 5).join('\n') + '\n');
  const err = await rejection(loadApplicationModel(path));
  assert.is(err.code, 'corrupt_data');
  assert.ok(err.message.includes(path) && err.message.includes(`byte offset ${offset}`), err.message);
});

test('s3: a compressed log streams through the ObjectStore in pieces, never fetched whole', async () => {
  const store = createMemoryObjectStore({ chunkSize: 4096 });
  const plain = await plainRealLog();
  await store.put('s3://bucket/runs/app.lz4', writeLz4BlockStream(plain));
  await store.put('s3://bucket/runs/app.zstd', await readFile(join(FIXTURES, 'rapids-tools/eventlog_4nodes_8cores_dynamic_alloc.zstd')));
  const fromLz4 = await loadApplicationModel('s3://bucket/runs/app.lz4', { objectStore: store });
  const fromZstd = await loadApplicationModel('s3://bucket/runs/app.zstd', { objectStore: store });
  assert.equal(comparable(fromLz4), comparable(fromZstd));
  assert.is(store.getCalls, 0);
  assert.ok(store.maxChunkYielded <= 4096);
  const err = await rejection(loadApplicationModel('s3://bucket/runs/missing.zstd', { objectStore: store }));
  assert.is(err.code, 'not_found');
});

test.run();
