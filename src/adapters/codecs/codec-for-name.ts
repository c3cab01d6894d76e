// Picks the decoder for an event-log file from its name, as Spark does: the suffix after stripping
// ".inprogress" names the codec (.zstd, .lz4, .snappy, .lzf; .gz for Databricks' rolled parts).
import { decodeGzip } from './gzip.js';
import { decodeLz4 } from './lz4.js';
import { decodeLzf } from './lzf.js';
import { decodeSnappy } from './snappy.js';
import { createZstdDecoder } from './zstd.js';

/** Turns compressed chunks into decompressed chunks. */
export type Decoder = (input: AsyncIterable<Uint8Array>) => AsyncIterable<Uint8Array>;

export type CodecName = 'none' | 'zstd' | 'lz4' | 'snappy' | 'lzf' | 'gzip';

const SUFFIXES: Record<string, CodecName> = { zstd: 'zstd', zst: 'zstd', lz4: 'lz4', snappy: 'snappy', lzf: 'lzf', gz: 'gzip' };

const DECODERS: Record<Exclude<CodecName, 'none' | 'zstd'>, Decoder> = { gzip: decodeGzip, lz4: decodeLz4, snappy: decodeSnappy, lzf: decodeLzf };

/** True when the file name says the application was still writing it. */
export function isInProgressName(name: string): boolean {
  return name.endsWith('.inprogress');
}

/** The codec a file name names (`none` for plain files). */
export function codecOfName(name: string): CodecName {
  const base = name.replace(/\.inprogress$/, '');
  const dot = base.lastIndexOf('.');
  if (dot < 0) return 'none';
  return SUFFIXES[base.slice(dot + 1).toLowerCase()] ?? 'none';
}

/**
 * The decoder for a codec (identity for plain files); for zstd, `sizeHint` (the compressed file size,
 * when known) lets a large file skip the whole-buffer native decoder, and `debug` hears why the
 * pure-JS fallback is used when it is.
 */
export function decoderFor(codec: CodecName, options: { debug?: (msg: string) => void; sizeHint?: number } = {}): Decoder {
  if (codec === 'none') return (input) => input;
  if (codec === 'zstd') return createZstdDecoder(options);
  return DECODERS[codec];
}
