// zstd through the native decoders and through the pure-JS fzstd fallback: the same bytes on every
// real .zstd fixture, truncation and corruption reported alike, and the fallback named at debug level.
// Native: the whole-buffer @mongodb-js/zstd (used below a size cap), and a streaming one: the
// runtime's (node:zlib, Node >= 22.15) when it has one, and always the zstd CLI (libzstd) behind a
// Duplex, so the streaming native path runs on Node 20 too.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { loadApplicationModel } from '../../../src/adapters/eventlog-source.js';
import { createZstdDecoder, decodeZstdBest, decodeZstdJs, decodeZstdNative, loadWholeZstd, runtimeZstdFactory, zstdOutputBound } from '../../../src/adapters/codecs/zstd.js';
import type { NativeZstdFactory, WholeZstd } from '../../../src/adapters/codecs/zstd.js';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
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
  const decode = createZstdDecoder({ whole: null, factory: null, debug: (m) => heard.push(m) });
  const bytes = await readFile(join(FIXTURES, 'attempt_1_eventlog.zstd'));
  const out = await collect(decode(pieces(bytes, 16_384)));
  assert.ok(out.equals(await collect(decodeZstdJs(pieces(bytes, 16_384)))));
  assert.is(heard.length, 1);
  assert.ok(/fzstd/.test(heard[0] ?? '') && /native/.test(heard[0] ?? ''), heard[0]);
  // With a native decoder nothing is said.
  if (natives[0]) {
    const quiet: string[] = [];
    await collect(createZstdDecoder({ whole: null, factory: natives[0][1], debug: (m) => quiet.push(m) })(pieces(bytes, 16_384)));
    assert.equal(quiet, []);
  }
});

/** Runs `f` with SYNC_AGENT_ZSTD set to `value` (restored afterwards). */
async function withEnv<T>(value: string | undefined, f: () => Promise<T>): Promise<T> {
  const before = process.env.SYNC_AGENT_ZSTD;
  if (value === undefined) delete process.env.SYNC_AGENT_ZSTD;
  else process.env.SYNC_AGENT_ZSTD = value;
  try {
    return await f();
  } finally {
    if (before === undefined) delete process.env.SYNC_AGENT_ZSTD;
    else process.env.SYNC_AGENT_ZSTD = before;
  }
}

test("reading a .zstd log decodes it natively and says nothing; SYNC_AGENT_ZSTD=js names fzstd and the file at debug level", async () => {
  const path = join(FIXTURES, 'attempt_1_eventlog.zstd');
  const debug: { msg: string; fields?: Record<string, unknown> }[] = [];
  const log = { debug: (msg: string, fields?: Record<string, unknown>) => debug.push({ msg, ...(fields ? { fields } : {}) }) };
  const m = await withEnv(undefined, () => loadApplicationModel(path, { log }));
  assert.ok(m.stages.length > 0);
  assert.equal(debug, []);
  const js = await withEnv('js', () => loadApplicationModel(path, { log }));
  assert.equal(js, m);
  assert.is(debug.length, 1);
  assert.ok(/fzstd/.test(debug[0]!.msg) && /SYNC_AGENT_ZSTD=js/.test(debug[0]!.msg), debug[0]!.msg);
  assert.is(debug[0]!.fields?.file, path);
});

// The whole-buffer native decoder (@mongodb-js/zstd), wrapped to count its calls.

const native = await loadWholeZstd();
const calls = { n: 0 };
const counted: WholeZstd = async (b) => {
  calls.n++;
  return (native as WholeZstd)(b);
};

/** A streamed frame without a content size and two concatenated frames (written by the zstd CLI). */
function cliFrames(): { name: string; zst: Buffer; plain: Buffer }[] {
  if (!HAS_CLI) return [];
  const plain = Buffer.from(Array.from({ length: 40_000 }, (_, i) => `{"Event":"SparkListenerTaskEnd","Task ID":${i},"x":${(i * 7919) % 1000}}\n`).join(''));
  const streamed = spawnSync('zstd', ['-q', '-c', '-3'], { input: plain, maxBuffer: 1 << 28 }).stdout;
  const second = Buffer.from('{"Event":"SparkListenerApplicationEnd","Timestamp":1}\n');
  const b = spawnSync('zstd', ['-q', '-c', '--no-check'], { input: second }).stdout;
  return [
    { name: 'streamed frame without content size', zst: streamed, plain },
    { name: 'two concatenated frames', zst: Buffer.concat([streamed, b]), plain: Buffer.concat([plain, second]) },
  ];
}

test('@mongodb-js/zstd loads here (its prebuilt binary is installed)', () => {
  assert.type(native, 'function', String(native));
});

test('native whole-buffer and pure-JS decoders give the same bytes on real logs, a streamed frame and concatenated frames', async () => {
  const inputs: { name: string; zst: Buffer; plain?: Buffer }[] = [];
  for (const f of LOGS) inputs.push({ name: f, zst: await readFile(join(FIXTURES, f)) });
  const frames = cliFrames();
  assert.ok(frames.length > 0 || !HAS_CLI);
  inputs.push(...frames);
  for (const { name, zst, plain } of inputs) {
    const js = await collect(decodeZstdJs(pieces(zst, 7_000)));
    if (plain) assert.ok(js.equals(plain), `${name}: fzstd`);
    const before = calls.n;
    const heard: string[] = [];
    const out = await collect(decodeZstdBest(pieces(zst, 7_000), { whole: counted, factory: null, debug: (m) => heard.push(m) }));
    assert.is(calls.n, before + 1, `${name}: native decoder not used (${heard.join('; ')})`);
    assert.equal(heard, []);
    assert.ok(out.equals(js), `${name}: native ${out.length} bytes, fzstd ${js.length}`);
    const bound = zstdOutputBound(zst);
    assert.ok(bound !== undefined && bound >= js.length, `${name}: bound ${bound} < ${js.length}`);
  }
});

test('fzstd decodes when native is disabled, forced off, over the caps or failing', async () => {
  const bytes = await readFile(join(FIXTURES, 'rp_sql_eventlog.zstd'));
  const expected = await collect(decodeZstdJs(pieces(bytes, 8_192)));
  const failing: WholeZstd = async () => {
    calls.n++;
    throw new Error('boom');
  };
  const cases: [string, () => AsyncIterable<Uint8Array>, RegExp][] = [
    ['whole: null', () => decodeZstdBest(pieces(bytes, 8_192), { whole: null, factory: null, debug: hear }), /disabled/],
    ['SYNC_AGENT_ZSTD=js', () => decodeZstdBest(pieces(bytes, 8_192), { whole: counted, debug: hear }), /SYNC_AGENT_ZSTD=js/],
    ['sizeHint over the cap', () => decodeZstdBest(pieces(bytes, 8_192), { whole: counted, factory: null, sizeHint: bytes.length, maxInput: bytes.length - 1, debug: hear }), /larger than/],
    ['stream over the cap', () => decodeZstdBest(pieces(bytes, 8_192), { whole: counted, factory: null, maxInput: 20_000, debug: hear }), /stream larger than 20000/],
    ['output bound over the cap', () => decodeZstdBest(pieces(bytes, 8_192), { whole: counted, factory: null, maxOutput: 1_000_000, debug: hear }), /may reach/],
    ['native error', () => decodeZstdBest(pieces(bytes, 8_192), { whole: failing, factory: null, debug: hear }), /native decoder failed \(boom\)/],
  ];
  let heard: string[] = [];
  function hear(m: string): void {
    heard.push(m);
  }
  for (const [name, run, why] of cases) {
    heard = [];
    const before = calls.n;
    const out = await (name === 'SYNC_AGENT_ZSTD=js' ? withEnv('js', () => collect(run())) : collect(run()));
    assert.ok(out.equals(expected), name);
    assert.is(calls.n, before + (name === 'native error' ? 1 : 0), `${name}: native calls`);
    assert.is(heard.length, 1, name);
    assert.ok(/fzstd/.test(heard[0] ?? '') && why.test(heard[0] ?? ''), `${name}: ${heard[0]}`);
  }
});

test('a corrupt or cut-off .zstd file gives the same error naming the file, natively and with SYNC_AGENT_ZSTD=js', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'zstd-native-'));
  try {
    const bytes = Buffer.from(await readFile(join(FIXTURES, 'rp_sql_eventlog.zstd')));
    const badMagic = Buffer.from(bytes);
    badMagic.fill(0x5a, 0, 4);
    const badBlock = Buffer.from(bytes); // block headers intact (the native decoder is tried), payload garbled
    badBlock.fill(0xff, 30_000, 30_064);
    const cut = bytes.subarray(0, 60_000);
    // A garbled block: fzstd (which does not check the content checksum) decodes garbage and the JSON
    // reader reports it; libzstd rejects it, and the fallback to fzstd keeps that error as it was.
    for (const [name, data, truncated] of [['bad-magic', badMagic, false], ['bad-block', badBlock, undefined], ['cut', cut, true]] as const) {
      const path = join(dir, `${name}.zstd`);
      await writeFile(path, data);
      const viaNative = await failure(withEnv(undefined, () => loadApplicationModel(path)));
      const viaJs = await failure(withEnv('js', () => loadApplicationModel(path)));
      assert.is(viaNative.code, 'corrupt_data', name);
      assert.is(viaNative.message, viaJs.message, name);
      assert.ok(viaNative.message.startsWith(path) && (truncated === undefined || /zstd: /.test(viaNative.message)), viaNative.message);
      assert.is(viaNative.details?.truncated, truncated, name);
      assert.is(viaNative.details?.file, path, name);
    }
    // The garbled block does reach the native decoder, which rejects it (the fallback then reports it).
    const before = calls.n;
    const heard: string[] = [];
    await collect(decodeZstdBest(pieces(badBlock, 8_192), { whole: counted, factory: null, debug: (m) => heard.push(m) }));
    assert.is(calls.n, before + 1);
    assert.ok(/native decoder failed/.test(heard[0] ?? ''), heard[0]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
