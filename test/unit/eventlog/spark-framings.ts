// Test-only writers of the stream framings Spark's codecs produce, byte for byte, with small greedy
// compressors, so the decoders are tested against real literals and back-references:
// - lz4: lz4-java LZ4BlockOutputStream (src/java/net/jpountz/lz4/LZ4BlockOutputStream.java): per
//   block "LZ4Block", token = method (0x10 raw / 0x20 lz4) | level (ceil(log2(blockSize)) - 10),
//   int32 LE compressed length, int32 LE original length, int32 LE XXH32(seed 0x9747b28c) & 0xFFFFFFF,
//   payload; a block is written raw when compression does not shrink it; finish() writes an empty
//   raw block. Spark uses blockSize = spark.io.compression.lz4.blockSize (32 KiB).
// - snappy: snappy-java SnappyOutputStream (SnappyCodec.java): header 0x82 "SNAPPY" 0x00, int32 BE
//   version 1, int32 BE compatible version 1; then per block int32 BE length + raw snappy block
//   (format_description.txt of google/snappy). Spark's block size: spark.io.compression.snappy.blockSize (32 KiB).
// - lzf: ning-compress LZFOutputStream / LZFChunk: "ZV" 0x01 clen olen (uint16 BE) + LZF payload, or
//   "ZV" 0x00 len + raw bytes when compression does not help; chunks of at most 65535 bytes.
import { xxhash32 } from '../../../src/adapters/codecs/xxhash32.js';

type Seq = { litStart: number; litLen: number; offset: number; matchLen: number };

/** Greedy LZ77 parse of `src`: literal runs followed by back-references (final run has matchLen 0). */
function parse(src: Uint8Array, o: { minMatch: number; maxOffset: number; maxMatch: number; lastLiterals: number; matchStartLimit: number }): Seq[] {
  const seqs: Seq[] = [];
  const table = new Map<number, number>();
  let anchor = 0;
  let i = 0;
  const key = (p: number): number => (src[p] as number) | ((src[p + 1] as number) << 8) | ((src[p + 2] as number) << 16) | ((src[p + 3] ?? 0) << 24);
  while (i + o.minMatch <= src.length - o.lastLiterals && i < src.length - o.matchStartLimit) {
    const k = key(i);
    const cand = table.get(k);
    table.set(k, i);
    if (cand !== undefined && i - cand <= o.maxOffset && i - cand > 0) {
      let len = 0;
      const limit = Math.min(o.maxMatch, src.length - o.lastLiterals - i);
      while (len < limit && src[cand + len] === src[i + len]) len++;
      if (len >= o.minMatch) {
        seqs.push({ litStart: anchor, litLen: i - anchor, offset: i - cand, matchLen: len });
        i += len;
        anchor = i;
        continue;
      }
    }
    i++;
  }
  seqs.push({ litStart: anchor, litLen: src.length - anchor, offset: 0, matchLen: 0 });
  return seqs;
}

const concat = (parts: number[][] | Uint8Array[]): Uint8Array => Buffer.concat(parts.map((p) => Uint8Array.from(p)));

function lz4Block(src: Uint8Array): Uint8Array {
  const out: number[] = [];
  const lenBytes = (n: number): void => {
    while (n >= 255) {
      out.push(255);
      n -= 255;
    }
    out.push(n);
  };
  // LZ4 block rules: the last 5 bytes are literals and no match starts within the last 12 bytes.
  for (const s of parse(src, { minMatch: 4, maxOffset: 65535, maxMatch: 1 << 16, lastLiterals: 5, matchStartLimit: 12 })) {
    const ml = s.matchLen === 0 ? 0 : s.matchLen - 4;
    out.push((Math.min(s.litLen, 15) << 4) | (s.matchLen === 0 ? 0 : Math.min(ml, 15)));
    if (s.litLen >= 15) lenBytes(s.litLen - 15);
    for (let k = 0; k < s.litLen; k++) out.push(src[s.litStart + k] as number);
    if (s.matchLen === 0) break;
    out.push(s.offset & 0xff, s.offset >>> 8);
    if (ml >= 15) lenBytes(ml - 15);
  }
  return Uint8Array.from(out);
}

const le32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const be32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

/** `data` as Spark's LZ4CompressionCodec writes it. */
export function writeLz4BlockStream(data: Uint8Array, blockSize = 32 * 1024): Uint8Array {
  const level = Math.max(0, 32 - Math.clz32(blockSize - 1) - 10);
  const magic = [...'LZ4Block'].map((c) => c.charCodeAt(0));
  const parts: Uint8Array[] = [];
  for (let off = 0; off < data.length; off += blockSize) {
    const block = data.subarray(off, off + blockSize);
    const check = (xxhash32(block, 0x9747b28c) & 0x0fffffff) >>> 0;
    const packed = lz4Block(block);
    const raw = packed.length >= block.length;
    const payload = raw ? block : packed;
    parts.push(concat([[...magic, (raw ? 0x10 : 0x20) | level, ...le32(payload.length), ...le32(block.length), ...le32(check)]]), payload);
  }
  parts.push(concat([[...magic, 0x10 | level, ...le32(0), ...le32(0), ...le32(0)]]));
  return Buffer.concat(parts);
}

function snappyBlock(src: Uint8Array): Uint8Array {
  const out: number[] = [];
  let n = src.length;
  do {
    out.push((n & 0x7f) | (n >= 0x80 ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  const literal = (start: number, len: number): void => {
    while (len > 0) {
      const l = Math.min(len, 1 << 16);
      const v = l - 1;
      if (v < 60) out.push(v << 2);
      else if (v < 256) out.push(60 << 2, v);
      else out.push(61 << 2, v & 0xff, v >>> 8);
      for (let k = 0; k < l; k++) out.push(src[start + k] as number);
      start += l;
      len -= l;
    }
  };
  const copy = (offset: number, len: number): void => {
    // Pieces of at most 64 bytes, never leaving fewer than 4 (copies are 1..64 long, copy-1 is 4..11).
    while (len > 0) {
      const l = len > 64 ? (len - 64 < 4 ? 60 : 64) : len;
      if (l >= 4 && l <= 11 && offset < 2048) out.push(1 | ((l - 4) << 2) | ((offset >>> 8) << 5), offset & 0xff);
      else out.push(2 | ((l - 1) << 2), offset & 0xff, offset >>> 8);
      len -= l;
    }
  };
  for (const s of parse(src, { minMatch: 4, maxOffset: 65535, maxMatch: 1 << 16, lastLiterals: 0, matchStartLimit: 4 })) {
    if (s.litLen > 0) literal(s.litStart, s.litLen);
    if (s.matchLen > 0) copy(s.offset, s.matchLen);
  }
  return Uint8Array.from(out);
}

/** `data` as Spark's SnappyCompressionCodec (snappy-java SnappyOutputStream) writes it. */
export function writeSnappyJavaStream(data: Uint8Array, blockSize = 32 * 1024): Uint8Array {
  const parts: Uint8Array[] = [concat([[0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, ...be32(1), ...be32(1)]])];
  for (let off = 0; off < data.length; off += blockSize) {
    const packed = snappyBlock(data.subarray(off, off + blockSize));
    parts.push(concat([be32(packed.length)]), packed);
  }
  return Buffer.concat(parts);
}

function lzfChunk(src: Uint8Array): Uint8Array {
  const out: number[] = [];
  const literal = (start: number, len: number): void => {
    while (len > 0) {
      const l = Math.min(len, 32);
      out.push(l - 1);
      for (let k = 0; k < l; k++) out.push(src[start + k] as number);
      start += l;
      len -= l;
    }
  };
  for (const s of parse(src, { minMatch: 3, maxOffset: 8192, maxMatch: 264, lastLiterals: 0, matchStartLimit: 4 })) {
    if (s.litLen > 0) literal(s.litStart, s.litLen);
    if (s.matchLen === 0) continue;
    const len = s.matchLen - 2;
    const dist = s.offset - 1;
    if (len < 7) out.push((len << 5) | (dist >>> 8), dist & 0xff);
    else out.push((7 << 5) | (dist >>> 8), len - 7, dist & 0xff);
  }
  return Uint8Array.from(out);
}

/** `data` as Spark's LZFCompressionCodec (ning-compress LZFOutputStream) writes it. */
export function writeLzfStream(data: Uint8Array, chunkSize = 65535): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let off = 0; off < data.length; off += chunkSize) {
    const chunk = data.subarray(off, off + chunkSize);
    const packed = lzfChunk(chunk);
    if (packed.length < chunk.length) parts.push(concat([[0x5a, 0x56, 1, packed.length >>> 8, packed.length & 0xff, chunk.length >>> 8, chunk.length & 0xff]]), packed);
    else parts.push(concat([[0x5a, 0x56, 0, chunk.length >>> 8, chunk.length & 0xff]]), chunk);
  }
  return Buffer.concat(parts);
}
