// Splits a byte stream into lines, a batch per input chunk: one decode and one split per chunk instead
// of per line (ASCII chunks, the usual case, skip UTF-8 decoding). Byte offsets of lines are computed
// only when asked (for error messages).
import { isAscii } from 'node:buffer';

/** The complete lines decoded from one stretch of the stream. */
export type LineBatch = {
  lines: string[];
  /** The bytes the lines were decoded from (newlines included). */
  bytes: Uint8Array;
  /** Byte offset of `bytes[0]` in the (decompressed) stream. */
  offset: number;
  /** True for the stream's last line when it has no terminating newline. */
  unterminated: boolean;
};

const NL = 10;

/** Byte offset in the stream where line `k` of `batch` starts. */
export function lineOffset(batch: LineBatch, k: number): number {
  let pos = 0;
  for (let i = 0; i < k; i++) {
    const next = batch.bytes.indexOf(NL, pos);
    if (next < 0) break;
    pos = next + 1;
  }
  return batch.offset + pos;
}

// Largest stretch decoded into one string: below V8's large-object threshold (128 KiB), so batch
// strings die young in the scavenger instead of waiting for a full GC in large-object space.
const MAX_DECODE = 96 * 1024;

/** The lines of `bytes` (which end with a newline), ASCII decoded as latin1 (faster), else UTF-8. */
function decode(bytes: Buffer, offset: number): LineBatch {
  const end = bytes.length - 1;
  const lines = (isAscii(bytes) ? bytes.toString('latin1', 0, end) : bytes.toString('utf8', 0, end)).split('\n');
  return { lines, bytes, offset, unterminated: false };
}

/**
 * Lines of `chunks` ("\n"-separated UTF-8; a trailing "\r" is left for JSON.parse to ignore). A chunk
 * is not kept once the next one is asked for (the cut line carried over is copied), so the source may
 * reuse its buffers; a batch's `bytes` are valid until the next batch is asked for.
 */
export async function* lineBatches(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<LineBatch> {
  let pending: Buffer[] = [];
  let offset = 0;
  for await (const c of chunks) {
    const whole = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    for (let from = 0; from < whole.length; from += MAX_DECODE) {
      const chunk = whole.length <= MAX_DECODE ? whole : whole.subarray(from, from + MAX_DECODE);
      const nl = chunk.lastIndexOf(NL);
      if (nl < 0) {
        if (chunk.length > 0) pending.push(Buffer.from(chunk));
        continue;
      }
      let rest = chunk.subarray(0, nl + 1);
      if (pending.length > 0) {
        // The line cut by the previous chunk: join only it (not the whole chunk) and give it its own batch.
        const first = chunk.indexOf(NL);
        const joined = Buffer.concat([...pending, chunk.subarray(0, first + 1)]);
        yield decode(joined, offset);
        offset += joined.length;
        rest = chunk.subarray(first + 1, nl + 1);
      }
      pending = nl + 1 < chunk.length ? [Buffer.from(chunk.subarray(nl + 1))] : [];
      if (rest.length > 0) {
        yield decode(rest, offset);
        offset += rest.length;
      }
    }
  }
  if (pending.length > 0) {
    const bytes = Buffer.concat(pending);
    yield { lines: [bytes.toString('utf8')], bytes, offset, unterminated: true };
  }
}
