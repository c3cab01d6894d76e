// zstd (Spark's default event-log codec since 3.2). Three decoders, best first:
//  1. @mongodb-js/zstd 1.2.2 (libzstd through N-API; its prebuilt binaries are optionalDependencies
//     from the npm registry, no install script). Its API is whole-buffer, so it is used only when the
//     whole compressed file is at most WHOLE_MAX_INPUT bytes and a scan of the frames' block headers
//     bounds the decompressed size by WHOLE_MAX_OUTPUT: memory then stays bounded even on a log that
//     compresses unusually well. The file is read (at most the cap) before anything is decoded.
//     Frames without a content size (a streaming writer's) and concatenated frames decode alike.
//  2. The runtime's streaming native decoder (node:zlib createZstdDecompress, Node >= 22.15 / 23.8).
//  3. The pure-JS fzstd, chunk by chunk.
// 2 and 3 stream: memory stays bounded whatever the file size. Above the caps, when the native
// package does not load, or when it rejects the input, the stream is decoded by 2 or 3, so errors
// (corrupt data, truncation) always read the same. SYNC_AGENT_ZSTD=js forces fzstd (tests, benches).
import { Readable } from 'node:stream';
import type { Duplex } from 'node:stream';
import * as zlib from 'node:zlib';
import { Decompress } from 'fzstd';
import { codecError } from './codec-error.js';

const PUSH_BYTES = 16 * 1024;

/** Makes a streaming native zstd decompressor (bytes in, bytes out). */
export type NativeZstdFactory = () => Duplex;

/** The runtime's streaming native zstd decoder, undefined when it has none (Node 20). */
export function runtimeZstdFactory(z: object = zlib): NativeZstdFactory | undefined {
  const make = (z as { createZstdDecompress?: () => Duplex }).createZstdDecompress;
  return typeof make === 'function' ? () => make.call(z) : undefined;
}

/** Decompresses a zstd stream with a native streaming decoder; errors read like fzstd's. */
export async function* decodeZstdNative(input: AsyncIterable<Uint8Array>, factory: NativeZstdFactory): AsyncGenerator<Uint8Array> {
  let offset = 0;
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const c of input) {
      offset += c.length;
      yield c;
    }
  }
  const decoder = factory();
  const source = Readable.from(counted(), { objectMode: false });
  let sourceError: unknown;
  source.on('error', (e) => {
    sourceError = e;
    decoder.destroy(e);
  });
  // pipe() gives back-pressure: the source is read only as fast as decoded bytes are consumed.
  source.pipe(decoder);
  try {
    for await (const chunk of decoder as AsyncIterable<Uint8Array>) if (chunk.length > 0) yield chunk;
  } catch (e) {
    // The source's own failure (a read error) passes on as it is; the decoder's becomes a codec error.
    if (sourceError !== undefined && e === sourceError) throw e;
    const what = `${(e as Error).message} ${String((e as { code?: unknown }).code ?? '')}`;
    if (/unexpected end|truncat|Z_BUF_ERROR/i.test(what)) throw codecError('zstd', offset, 'stream ends inside a frame', true, e);
    throw codecError('zstd', offset, `corrupt data (${(e as Error).message})`, false, e);
  } finally {
    source.destroy();
    decoder.destroy();
  }
}

/** Decompresses a zstd stream (one or more frames) chunk by chunk with the pure-JS fzstd. */
export async function* decodeZstdJs(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const out: Uint8Array[] = [];
  const d = new Decompress((data) => {
    if (data.length > 0) out.push(data);
  });
  let offset = 0;
  const fail = (e: unknown, final: boolean): never => {
    const code = (e as { code?: number }).code;
    // fzstd error code 5 is UnexpectedEOF.
    if (code === 5) throw codecError('zstd', offset, 'stream ends inside a frame', true, e);
    throw codecError('zstd', offset, `corrupt data (${(e as Error).message})${final ? ' at end of stream' : ''}`, false, e);
  };
  for await (const chunk of input) {
    // Small pushes: one push decodes every block it completes at once, and event logs compress
    // ~20:1, so a large push would hold many megabytes of output before any is consumed.
    for (let from = 0; from < chunk.length; from += PUSH_BYTES) {
      const piece = chunk.length <= PUSH_BYTES ? chunk : chunk.subarray(from, from + PUSH_BYTES);
      try {
        d.push(piece);
      } catch (e) {
        fail(e, false);
      }
      offset += piece.length;
      if (out.length > 0) {
        const ready = out.splice(0, out.length);
        for (const b of ready) yield b;
      }
    }
  }
  try {
    d.push(new Uint8Array(0), true);
  } catch (e) {
    fail(e, true);
  }
  for (const b of out) yield b;
}

/** Whole-buffer zstd decompression (the native package's `decompress`). */
export type WholeZstd = (data: Buffer) => Promise<Buffer>;

// The caps keep the whole-buffer path inside the reader's 200 MB peak-RSS budget (bench/eventlog):
// the decoded buffer is held whole, so peak RSS grows by about the decompressed size. Measured with
// loadApplicationModel on generated logs (zstd -3, ~20:1), Node 20, 2 cores, native vs fzstd peak
// RSS: 16 MB log 107 vs 93 MB, 64 MB log 174 vs 99 MB, 128 MB log 260 vs 122 MB, 300 MB log 459 vs
// 176 MB. 64 MiB decompressed is the largest that stays under 200 MB; at ~20:1 that is ~3 MiB of
// zstd, so more than 8 MiB of compressed input is not worth holding to find out.
/** Compressed bytes above which the whole-buffer decoder is not used (the most ever buffered). */
export const WHOLE_MAX_INPUT = 8 * 1024 * 1024;
/** Decompressed bytes (upper bound from the block headers) above which it is not used. */
export const WHOLE_MAX_OUTPUT = 64 * 1024 * 1024;
/** Size of the slices a whole-buffer result is handed on in (a streaming decoder's block size). */
const OUT_SLICE = 128 * 1024;

let wholeLoad: Promise<WholeZstd | string> | undefined;

/** The native package's decompress, or why it is unavailable (loaded once, lazily). */
export function loadWholeZstd(): Promise<WholeZstd | string> {
  wholeLoad ??= (async () => {
    try {
      const mod = (await import('@mongodb-js/zstd')) as { decompress?: unknown; default?: { decompress?: unknown } };
      const fn = mod.decompress ?? mod.default?.decompress;
      if (typeof fn !== 'function') return '@mongodb-js/zstd has no decompress function';
      return fn as WholeZstd;
    } catch (e) {
      return `@mongodb-js/zstd did not load (${(e as Error).message.split('\n')[0] ?? ''})`;
    }
  })();
  return wholeLoad;
}

const ZSTD_MAGIC = 0xfd2fb528;
const BLOCK_MAX = 128 * 1024;

/**
 * An upper bound on the decompressed size of `buf` from its frames' headers and block headers (raw
 * and RLE blocks give their size; a compressed block at most min(window, 128 KiB)); undefined when
 * the bytes are not a complete sequence of zstd (or skippable) frames.
 */
export function zstdOutputBound(buf: Uint8Array): number | undefined {
  const u32 = (i: number): number => ((buf[i] as number) | ((buf[i + 1] as number) << 8) | ((buf[i + 2] as number) << 16) | ((buf[i + 3] as number) << 24)) >>> 0;
  let p = 0;
  let bound = 0;
  if (buf.length === 0) return undefined;
  while (p < buf.length) {
    if (p + 8 > buf.length) return undefined;
    const magic = u32(p);
    if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) {
      p += 8 + u32(p + 4); // skippable frame
      if (p > buf.length) return undefined;
      continue;
    }
    if (magic !== ZSTD_MAGIC) return undefined;
    p += 4;
    const fhd = buf[p++] as number;
    const fcsFlag = fhd >>> 6;
    const single = (fhd & 0x20) !== 0;
    const checksum = (fhd & 0x04) !== 0;
    if ((fhd & 0x08) !== 0) return undefined; // reserved bit
    let blockMax = BLOCK_MAX;
    if (!single) {
      const wd = buf[p++] as number;
      const base = 2 ** (10 + (wd >>> 3));
      blockMax = Math.min(BLOCK_MAX, base + (base / 8) * (wd & 7));
    }
    p += [0, 1, 2, 4][fhd & 3] as number;
    p += fcsFlag === 0 ? (single ? 1 : 0) : 2 ** fcsFlag;
    for (;;) {
      if (p + 3 > buf.length) return undefined;
      const h = (buf[p] as number) | ((buf[p + 1] as number) << 8) | ((buf[p + 2] as number) << 16);
      p += 3;
      const last = (h & 1) === 1;
      const type = (h >>> 1) & 3;
      const size = h >>> 3;
      if (type === 0) {
        bound += size;
        p += size;
      } else if (type === 1) {
        bound += size;
        p += 1;
      } else if (type === 2) {
        bound += blockMax;
        p += size;
      } else return undefined;
      if (p > buf.length) return undefined;
      if (last) break;
    }
    if (checksum) p += 4;
    if (p > buf.length) return undefined;
  }
  return bound;
}

/** What a zstd decoder may use; the defaults are this process's best. */
export type ZstdDecoderOptions = {
  /** The whole-buffer native decoder; null: never; default: @mongodb-js/zstd when it loads. */
  whole?: WholeZstd | null;
  /** The streaming native decoder; null: never; default: node:zlib's when the runtime has one. */
  factory?: NativeZstdFactory | null;
  /** Compressed size of the stream when known (a larger one skips the whole-buffer decoder unread). */
  sizeHint?: number;
  maxInput?: number;
  maxOutput?: number;
  /** Hears, once per stream, why the pure-JS fzstd decodes it. */
  debug?: (msg: string) => void;
};

/** True when SYNC_AGENT_ZSTD=js asks for the pure-JS decoder only. */
function forcedJs(): boolean {
  return (process.env.SYNC_AGENT_ZSTD ?? '').toLowerCase() === 'js';
}

/** Decompresses a zstd stream with the best decoder available (see the header comment). */
export async function* decodeZstdBest(input: AsyncIterable<Uint8Array>, options: ZstdDecoderOptions = {}): AsyncGenerator<Uint8Array> {
  const js = forcedJs();
  const factory = js || options.factory === null ? undefined : (options.factory ?? runtimeZstdFactory());
  const maxInput = options.maxInput ?? WHOLE_MAX_INPUT;
  const maxOutput = options.maxOutput ?? WHOLE_MAX_OUTPUT;
  let whole: WholeZstd | undefined;
  let why: string;
  if (js) why = 'SYNC_AGENT_ZSTD=js';
  else if (options.whole === null) why = 'native whole-buffer decoder disabled';
  else if (options.sizeHint !== undefined && options.sizeHint > maxInput) why = `file larger than ${maxInput} bytes compressed (native decoder is whole-buffer)`;
  else {
    const w = options.whole ?? (await loadWholeZstd());
    if (typeof w === 'string') why = w;
    else {
      whole = w;
      why = '';
    }
  }
  const it = input[Symbol.asyncIterator]();
  const held: Uint8Array[] = [];
  let ended = false;
  try {
    if (whole) {
      let bytes = 0;
      for (;;) {
        const r = await it.next();
        if (r.done) {
          ended = true;
          break;
        }
        held.push(r.value);
        bytes += r.value.length;
        if (bytes > maxInput) break;
      }
      if (!ended) why = `stream larger than ${maxInput} bytes compressed (native decoder is whole-buffer)`;
      else {
        const buf = Buffer.concat(held, bytes);
        // A fallback re-reads the one copy, in the chunks it came in (error offsets stay the same).
        let at = 0;
        for (let k = 0; k < held.length; k++) {
          const n = (held[k] as Uint8Array).length;
          held[k] = buf.subarray(at, at + n);
          at += n;
        }
        const bound = zstdOutputBound(buf);
        if (bound === undefined) why = 'not a complete zstd stream by its block headers';
        else if (bound > maxOutput) why = `decompressed size may reach ${bound} bytes (over ${maxOutput}; native decoder is whole-buffer)`;
        else {
          let out: Buffer | undefined;
          try {
            out = await whole(buf);
          } catch (e) {
            why = `native decoder failed (${(e as Error).message})`;
          }
          if (out) {
            held.length = 0;
            for (let i = 0; i < out.length; i += OUT_SLICE) yield out.subarray(i, i + OUT_SLICE);
            return;
          }
        }
      }
    }
    async function* rest(): AsyncGenerator<Uint8Array> {
      while (held.length > 0) yield held.shift() as Uint8Array;
      while (!ended) {
        const r = await it.next();
        if (r.done) ended = true;
        else yield r.value;
      }
    }
    if (factory) {
      yield* decodeZstdNative(rest(), factory);
      return;
    }
    const reasons = [why];
    if (!js && options.factory !== null) reasons.push(`no native streaming zstd decoder in this runtime (node:zlib createZstdDecompress needs Node >= 22.15; this is ${process.version})`);
    options.debug?.(`zstd: using the pure-JS fzstd: ${reasons.filter((r) => r).join('; ')}`);
    yield* decodeZstdJs(rest());
  } finally {
    if (!ended) await it.return?.();
  }
}

/** A zstd decoder with `options` (see decodeZstdBest). */
export function createZstdDecoder(options: ZstdDecoderOptions = {}): (input: AsyncIterable<Uint8Array>) => AsyncIterable<Uint8Array> {
  return (input) => decodeZstdBest(input, options);
}

/** Decompresses a zstd stream with the best decoder this process has. */
export const decodeZstd = createZstdDecoder();
