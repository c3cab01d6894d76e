// zstd through a native streaming decoder and through the pure-JS fzstd fallback: the same bytes on
// every real .zstd fixture, truncation and corruption reported alike, and the fallback named at debug
// level. The native decoder under test is the runtime's (node:zlib, Node >= 22.15) when it has one,
// and always the zstd CLI (libzstd) behind a Duplex, so the native path runs on Node 20 too.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { loadApplicationModel } from '../../../src/adapters/eventlog-source.js';
import { createZstdDecoder, decodeZstdJs, decodeZstdNative, runtimeZstdFactory } from '../../../src/adapters/codecs/zstd.js';
import type { NativeZstdFactory } from '../../../src/adapters/codecs/zstd.js';
import { SyncError } from '../../../src/domain/errors.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/eventlogs/rapids-tools/', import.meta.url));
const LOGS = ['aqeshuffle_eventlog.zstd', 'attempt_1_eventlog.zstd', 'eventlog_4nodes_8cores_dynamic_alloc.zstd', 'rp_sql_eventlog.zstd'];
const HAS_CLI = spawnSync('zstd', ['--version']).status === 0;

/** libzstd through the zstd CLI as a streaming Duplex; a failed exit becomes a stream error with zstd's words. */
const cliFactory: NativeZstdFactory = () => {
  const child = spawn('zstd', ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = new PassThrough();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.pipe(out, { end: false });
  child.on('close', (code) => {
    if (code === 0) out.end();
    else out.destroy(new Error(`zstd exited ${code}: ${stderr.trim()}`));
  });
  child.stdin.on('error', () => undefined);
  return Duplex.from({ writable: child.stdin, readable: out });
};

const natives: [string, NativeZstdFactory][] = [];
if (HAS_CLI) natives.push(['zstd CLI', cliFactory]);
const runtime = runtimeZstdFactory();
if (runtime) natives.push(['node:zlib', runtime]);

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}
async function* pieces(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}
async function failure(p: Promise<unknown>): Promise<SyncError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SyncError) return e;
    throw e;
  }
  throw new Error('expected a SyncError');
}

const test = suite('zstd decoders');

test('a native decoder is available to test here (zstd CLI or node:zlib)', () => {
  assert.ok(natives.length > 0, 'neither the zstd CLI nor node:zlib zstd is available: the native path is untested');
});

test('native and pure-JS decoders give the same bytes on every real .zstd log', async () => {
  for (const f of LOGS) {
    const bytes = await readFile(join(FIXTURES, f));
    const js = await collect(decodeZstdJs(pieces(bytes, 7_000)));
    assert.ok(js.length > bytes.length, `${f}: fzstd decoded nothing`);
    for (const [name, factory] of natives) {
      const native = await collect(decodeZstdNative(pieces(bytes, 7_000), factory));
      assert.ok(native.equals(js), `${f}: ${name} gives ${native.length} bytes, fzstd ${js.length}`);
    }
  }
});

test('a cut-off stream is a truncation error from both decoders', async () => {
  const bytes = await readFile(join(FIXTURES, 'rp_sql_eventlog.zstd'));
  const cut = bytes.subarray(0, 60_000);
  const js = await failure(collect(decodeZstdJs(pieces(cut, 8_192))));
  assert.is(js.details?.truncated, true);
  for (const [name, factory] of natives) {
    const e = await failure(collect(decodeZstdNative(pieces(cut, 8_192), factory)));
    assert.is(e.code, 'corrupt_data', name);
    assert.ok(/^zstd: /.test(e.message), e.message);
  }
});

test('corrupt input is a corrupt_data error from the native decoder', async () => {
  const bytes = Buffer.from(await readFile(join(FIXTURES, 'rp_sql_eventlog.zstd')));
  bytes.fill(0x5a, 0, 4); // no longer a zstd magic number
  for (const [name, factory] of natives) {
    const e = await failure(collect(decodeZstdNative(pieces(bytes, 8_192), factory)));
    assert.is(e.code, 'corrupt_data', name);
    assert.is(e.details?.truncated, false, name);
  }
});

test('without a native decoder the fallback is fzstd and says so at debug level', async () => {
  const heard: string[] = [];
  const decode = createZstdDecoder({ factory: null, debug: (m) => heard.push(m) });
  const bytes = await readFile(join(FIXTURES, 'attempt_1_eventlog.zstd'));
  const out = await collect(decode(pieces(bytes, 16_384)));
  assert.ok(out.equals(await collect(decodeZstdJs(pieces(bytes, 16_384)))));
  assert.is(heard.length, 1);
  assert.ok(/fzstd/.test(heard[0] ?? '') && /native/.test(heard[0] ?? ''), heard[0]);
  // With a native decoder nothing is said.
  if (natives[0]) {
    const quiet: string[] = [];
    await collect(createZstdDecoder({ factory: natives[0][1], debug: (m) => quiet.push(m) })(pieces(bytes, 16_384)));
    assert.equal(quiet, []);
  }
});

test("reading a .zstd log tells the logger's debug level which decoder this runtime uses", async () => {
  const debug: { msg: string; fields?: Record<string, unknown> }[] = [];
  const path = join(FIXTURES, 'attempt_1_eventlog.zstd');
  const m = await loadApplicationModel(path, { log: { debug: (msg, fields) => debug.push({ msg, ...(fields ? { fields } : {}) }) } });
  assert.ok(m.stages.length > 0);
  if (runtime) assert.equal(debug, []);
  else {
    assert.is(debug.length, 1);
    assert.ok(/fzstd/.test(debug[0]!.msg), debug[0]!.msg);
    assert.is(debug[0]!.fields?.file, path);
  }
});

test.run();
