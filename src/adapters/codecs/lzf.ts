// Spark's lzf event logs: ning-compress LZFOutputStream chunks (com.ning.compress.lzf.LZFChunk):
//   'Z' 'V' 0x00 len(uint16 BE) <len raw bytes>                         non-compressed chunk
//   'Z' 'V' 0x01 clen(uint16 BE) olen(uint16 BE) <clen LZF bytes>       compressed chunk
// LZF data (liblzf): a control byte below 32 starts a literal run of ctrl+1 bytes; otherwise the
// top 3 bits are the match length - 2 (7: add the next byte) and the low 5 bits with the next byte
// are the back-reference distance - 1.
import { codecError } from './codec-error.js';
import { createByteQueue } from './byte-queue.js';

/** Decompresses one LZF chunk payload into exactly `outLen` bytes. */
export function lzfDecodeChunk(src: Uint8Array, outLen: number): Uint8Array {
  const out = new Uint8Array(outLen);
  let ip = 0;
  let op = 0;
  const end = src.length;
  while (ip < end) {
    const ctrl = src[ip++] as number;
    if (ctrl < 32) {
      const len = ctrl + 1;
      if (ip + len > end || op + len > outLen) throw new Error('literal run past the chunk');
      out.set(src.subarray(ip, ip + len), op);
      ip += len;
      op += len;
      continue;
    }
    let len = ctrl >>> 5;
    if (len === 7) {
      if (ip >= end) throw new Error('match length cut off');
      len += src[ip++] as number;
    }
    len += 2;
    if (ip >= end) throw new Error('match distance cut off');
    const dist = ((ctrl & 31) << 8) + (src[ip++] as number) + 1;
    if (dist > op) throw new Error(`bad back-reference distance ${dist}`);
    if (op + len > outLen) throw new Error('match runs past the declared length');
    let from = op - dist;
    for (let k = 0; k < len; k++) out[op++] = out[from++] as number;
  }
  if (op !== outLen) throw new Error(`chunk decodes to ${op} bytes, header says ${outLen}`);
  return out;
}

/** Decodes an LZF chunk stream chunk by chunk. */
export async function* decodeLzf(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const q = createByteQueue();
  for await (const chunk of input) {
    q.push(chunk);
    for (;;) {
      if (q.size < 5) break;
      const at = q.consumed;
      if (q.at(0) !== 0x5a || q.at(1) !== 0x56) throw codecError('lzf', at, 'bad chunk signature (not an LZF stream)');
      const type = q.at(2);
      const len = (q.at(3) << 8) | q.at(4);
      if (type === 0) {
        if (q.size < 5 + len) break;
        q.take(5);
        yield (q.take(len) as Uint8Array).slice();
      } else if (type === 1) {
        if (q.size < 7) break;
        const olen = (q.at(5) << 8) | q.at(6);
        if (q.size < 7 + len) break;
        q.take(7);
        const payload = q.take(len) as Uint8Array;
        try {
          yield lzfDecodeChunk(payload, olen);
        } catch (e) {
          throw codecError('lzf', at, `corrupt chunk (${(e as Error).message})`, false, e);
        }
      } else throw codecError('lzf', at, `unknown chunk type ${type}`);
    }
  }
  if (q.size > 0) throw codecError('lzf', q.consumed, `stream ends inside a chunk (${q.size} bytes left)`, true);
}
