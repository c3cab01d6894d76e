// Spark's snappy event logs: snappy-java's SnappyOutputStream framing (not the snappy "framing
// format" with CRC-32C). The stream starts with a 16-byte header (snappy-java SnappyCodec.java):
//   magic 0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00, version int32 BE (1), compatible version int32 BE (1)
// then blocks, each an int32 big-endian compressed length and one raw snappy block. Concatenated
// streams (a new header mid-stream) are read on, as SnappyInputStream does.
import { codecError } from './codec-error.js';
import { createByteQueue } from './byte-queue.js';

const MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00];
const HEADER = 16;
const MAX_BLOCK = 64 * 1024 * 1024;

/** Decompresses one raw snappy block (varint length, then literal and copy elements). */
export function snappyDecodeBlock(src: Uint8Array): Uint8Array {
  let ip = 0;
  let outLen = 0;
  for (let shift = 0; ; shift += 7) {
    if (ip >= src.length || shift > 28) throw new Error('bad length preamble');
    const b = src[ip++] as number;
    outLen += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  if (outLen > MAX_BLOCK) throw new Error(`block declares ${outLen} bytes`);
  const out = new Uint8Array(outLen);
  let op = 0;
  const end = src.length;
  while (ip < end) {
    const tag = src[ip++] as number;
    const kind = tag & 3;
    if (kind === 0) {
      let len = tag >>> 2;
      if (len >= 60) {
        const n = len - 59;
        if (ip + n > end) throw new Error('literal length cut off');
        len = 0;
        for (let k = 0; k < n; k++) len += (src[ip + k] as number) * 2 ** (8 * k);
        ip += n;
      }
      len += 1;
      if (ip + len > end || op + len > outLen) throw new Error('literal runs past the block');
      out.set(src.subarray(ip, ip + len), op);
      ip += len;
      op += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      if (ip >= end) throw new Error('copy cut off');
      len = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | (src[ip++] as number);
    } else if (kind === 2) {
      if (ip + 2 > end) throw new Error('copy cut off');
      len = (tag >>> 2) + 1;
      offset = (src[ip] as number) | ((src[ip + 1] as number) << 8);
      ip += 2;
    } else {
      if (ip + 4 > end) throw new Error('copy cut off');
      len = (tag >>> 2) + 1;
      offset = ((src[ip] as number) | ((src[ip + 1] as number) << 8) | ((src[ip + 2] as number) << 16) | ((src[ip + 3] as number) << 24)) >>> 0;
      ip += 4;
    }
    if (offset === 0 || offset > op) throw new Error(`bad copy offset ${offset}`);
    if (op + len > outLen) throw new Error('copy runs past the declared length');
    let from = op - offset;
    if (offset >= len) {
      out.copyWithin(op, from, from + len);
      op += len;
    } else for (let k = 0; k < len; k++) out[op++] = out[from++] as number;
  }
  if (op !== outLen) throw new Error(`block decodes to ${op} bytes, preamble says ${outLen}`);
  return out;
}

/** Decodes a snappy-java stream chunk by chunk. */
export async function* decodeSnappy(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const q = createByteQueue();
  let headerSeen = false;
  for await (const chunk of input) {
    q.push(chunk);
    for (;;) {
      const at = q.consumed;
      if (q.size >= MAGIC.length && MAGIC.every((b, k) => q.at(k) === b)) {
        if (q.size < HEADER) break;
        q.take(HEADER);
        headerSeen = true;
        continue;
      }
      if (!headerSeen) {
        if (q.size < MAGIC.length) break;
        throw codecError('snappy', at, 'bad stream header (not a snappy-java stream)');
      }
      if (q.size < 4) break;
      const len = ((q.at(0) << 24) | (q.at(1) << 16) | (q.at(2) << 8) | q.at(3)) >>> 0;
      if (len > MAX_BLOCK) throw codecError('snappy', at, `bad block length ${len}`);
      if (q.size < 4 + len) break;
      q.take(4);
      const block = q.take(len) as Uint8Array;
      try {
        yield snappyDecodeBlock(block);
      } catch (e) {
        throw codecError('snappy', at, `corrupt block (${(e as Error).message})`, false, e);
      }
    }
  }
  if (q.size > 0) throw codecError('snappy', q.consumed, `stream ends inside a block (${q.size} bytes left)`, true);
}
