// zstd (Spark's default event-log codec since 3.2). Decoded natively and streamed when the runtime
// has a streaming zstd decoder (node:zlib's createZstdDecompress, Node >= 22.15 / 23.8), else by the
// pure-JS fzstd, chunk by chunk. Either way memory stays bounded: neither holds the whole stream.
// Why not an npm native package: @mongodb-js/zstd 7 fetches its binary from GitHub at install time
// (prebuild-install) and, like its 1.x line and @toondepauw/node-zstd (binaries in the registry),
// decodes only whole buffers; zstd-napi streams but ships no binary. A Spark log is one zstd frame, so
// a whole-buffer decoder would hold the entire decompressed log.
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

/** Which zstd decoder reads a stream, and why when it is the fallback. */
export type ZstdChoice = { native: boolean; reason?: string };

/** Picks the native decoder when `factory` is given, else fzstd; the fallback's reason is for a debug log. */
export function chooseZstd(factory: NativeZstdFactory | undefined = runtimeZstdFactory()): ZstdChoice {
  if (factory) return { native: true };
  return { native: false, reason: `no native streaming zstd decoder in this runtime (node:zlib createZstdDecompress needs Node >= 22.15; this is ${process.version}): using the pure-JS fzstd` };
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

/** A zstd decoder: native when the runtime has one (or `factory` is given), else fzstd; `debug` hears the fallback. */
export function createZstdDecoder(options: { factory?: NativeZstdFactory | null; debug?: (msg: string) => void } = {}): (input: AsyncIterable<Uint8Array>) => AsyncIterable<Uint8Array> {
  const factory = options.factory === null ? undefined : (options.factory ?? runtimeZstdFactory());
  const choice = chooseZstd(factory);
  return (input) => {
    if (factory) return decodeZstdNative(input, factory);
    options.debug?.(`zstd: ${choice.reason ?? 'pure-JS decoder'}`);
    return decodeZstdJs(input);
  };
}

/** Decompresses a zstd stream with the best decoder this runtime has. */
export const decodeZstd = createZstdDecoder();
