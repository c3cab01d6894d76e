// Spark's lz4 event logs: lz4-java's LZ4BlockOutputStream framing (not the LZ4 frame format).
// Each block is a 21-byte header, then the payload (lz4-java LZ4BlockOutputStream.java):
//   magic "LZ4Block" (8 bytes)
//   token (1 byte): compression method (0x10 raw, 0x20 lz4) | compression level (0..15)
//   compressed length, original length, checksum (3 x int32 little-endian)
// The checksum is XXH32(original bytes, seed 0x9747b28c) & 0x0FFFFFFF (StreamingXXHash32.asChecksum).
// The stream ends with a raw block of length 0; a reader continues if another stream follows.
import { codecError } from './codec-error.js';
import { createByteQueue } from './byte-queue.js';
import { xxhash32 } from './xxhash32.js';

const MAGIC = [0x4c, 0x5a, 0x34, 0x42, 0x6c, 0x6f, 0x63, 0x6b]; // "LZ4Block"
const HEADER = 21;
const METHOD_RAW = 0x10;
const METHOD_LZ4 = 0x20;
const SEED = 0x9747b28c;
const MAX_BLOCK = 32 * 1024 * 1024;

const i32le = (b: Uint8Array, i: number): number => (b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16) | ((b[i + 3] as number) << 24);

/**
 * Decompresses one raw LZ4 block (the LZ4 block format: sequences of token, literals, 16-bit
 * little-endian offset, match) into exactly `outLen` bytes; throws a message on malformed input.
 */
export function lz4DecodeBlock(src: Uint8Array, outLen: number): Uint8Array {
  const out = new Uint8Array(outLen);
  let ip = 0;
  let op = 0;
  const end = src.length;
  while (ip < end) {
    const token = src[ip++] as number;
    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (ip >= end) throw new Error('literal length runs past the block');
        b = src[ip++] as number;
        lit += b;
      } while (b === 255);
    }
    if (ip + lit > end || op + lit > outLen) throw new Error('literals run past the block');
    out.set(src.subarray(ip, ip + lit), op);
    ip += lit;
    op += lit;
    if (ip >= end) break; // the last sequence has literals only
    if (ip + 2 > end) throw new Error('match offset cut off');
    const offset = (src[ip] as number) | ((src[ip + 1] as number) << 8);
    ip += 2;
    if (offset === 0 || offset > op) throw new Error(`bad match offset ${offset}`);
    let len = token & 15;
    if (len === 15) {
      let b: number;
      do {
        if (ip >= end) throw new Error('match length runs past the block');
        b = src[ip++] as number;
        len += b;
      } while (b === 255);
    }
    len += 4;
    if (op + len > outLen) throw new Error('match runs past the declared length');
    let from = op - offset;
    if (offset >= len) {
      out.copyWithin(op, from, from + len);
      op += len;
    } else for (let k = 0; k < len; k++) out[op++] = out[from++] as number;
  }
  if (op !== outLen) throw new Error(`block decodes to ${op} bytes, header says ${outLen}`);
  return out;
}

/** Decodes an lz4-java block stream chunk by chunk. */
export async function* decodeLz4(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const q = createByteQueue();
  let ended = false;
  for await (const chunk of input) {
    q.push(chunk);
    for (;;) {
      if (q.size < HEADER) break;
      const at = q.consumed;
      for (let k = 0; k < MAGIC.length; k++) if (q.at(k) !== MAGIC[k]) throw codecError('lz4', at, 'bad block magic (not an lz4-java block stream)');
      const method = (q.at(8) as number) & 0xf0;
      const clen = q.at(9) | (q.at(10) << 8) | (q.at(11) << 16) | (q.at(12) << 24);
      if (method !== METHOD_RAW && method !== METHOD_LZ4) throw codecError('lz4', at, `unknown compression method 0x${method.toString(16)}`);
      if (clen < 0 || clen > MAX_BLOCK) throw codecError('lz4', at, `bad compressed length ${clen}`);
      if (q.size < HEADER + clen) break;
      const header = q.take(HEADER) as Uint8Array;
      const olen = i32le(header, 13);
      const check = i32le(header, 17) >>> 0;
      const payload = q.take(clen) as Uint8Array;
      if (olen < 0 || olen > MAX_BLOCK) throw codecError('lz4', at, `bad original length ${olen}`);
      if (olen === 0 && clen === 0) {
        ended = true;
        continue;
      }
      ended = false;
      let data: Uint8Array;
      if (method === METHOD_RAW) {
        if (clen !== olen) throw codecError('lz4', at, `raw block of ${clen} bytes declares ${olen}`);
        data = payload.slice();
      } else {
        try {
          data = lz4DecodeBlock(payload, olen);
        } catch (e) {
          throw codecError('lz4', at, `corrupt block (${(e as Error).message})`, false, e);
        }
      }
      if (((xxhash32(data, SEED) & 0x0fffffff) >>> 0) !== check) throw codecError('lz4', at, 'block checksum mismatch');
      yield data;
    }
  }
  if (q.size > 0) throw codecError('lz4', q.consumed, `stream ends inside a block (${q.size} bytes left)`, true);
  if (!ended) throw codecError('lz4', q.consumed, 'stream ends without its end block', true);
}
