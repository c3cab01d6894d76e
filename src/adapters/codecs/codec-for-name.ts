// Picks the decoder for an event-log file from its name, as Spark does: the suffix after stripping
// ".inprogress" names the codec (.zstd, .lz4, .snappy, .lzf; .gz for Databricks' rolled parts).
import { SyncError } from '../../domain/errors.js';
import { decodeGzip } from './gzip.js';
import { decodeZstd } from './zstd.js';

/** Turns compressed chunks into decompressed chunks. */
export type Decoder = (input: AsyncIterable<Uint8Array>) => AsyncIterable<Uint8Array>;

export type CodecName = 'none' | 'zstd' | 'lz4' | 'snappy' | 'lzf' | 'gzip';

const SUFFIXES: Record<string, CodecName> = { zstd: 'zstd', zst: 'zstd', lz4: 'lz4', snappy: 'snappy', lzf: 'lzf', gz: 'gzip' };

const DECODERS: Partial<Record<CodecName, Decoder>> = { zstd: decodeZstd, gzip: decodeGzip };

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

/** The decoder for a codec (identity for plain files). */
export function decoderFor(codec: CodecName): Decoder {
  if (codec === 'none') return (input) => input;
  const d = DECODERS[codec];
  if (!d) throw new SyncError('unsupported', `event-log codec '${codec}' is not supported`);
  return d;
}

/** Registers a decoder (used by the codec modules that are loaded lazily). */
export function registerDecoder(codec: CodecName, decoder: Decoder): void {
  DECODERS[codec] = decoder;
}
