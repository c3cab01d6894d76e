// Splits a byte stream into batches of whole lines, a batch per input chunk, left as bytes: the model
// builder reads the bulk of a log (successful TaskEnd lines) from the bytes and decodes only the
// other lines into strings, one at a time (linesOf decodes a whole batch, for callers that want
// strings). A batch carries the stream offset of its first byte; a reader adds a line's position in
// the batch for error messages.
import { isAscii } from 'node:buffer';

/** Whole lines from one stretch of the stream, as bytes. */
export type LineBatch = {
  /** The lines, each ending with a newline (but for an unterminated last line). */
  bytes: Buffer;
  /** Byte offset of `bytes[0]` in the (decompressed) stream. */
  offset: number;
  /** True for the stream's last line when it has no terminating newline. */
  unterminated: boolean;
};

const NL = 10;

/** The text of b[start, end): UTF-8; ASCII, the usual case, decoded as latin1 (faster) when it is long. */
function decode(b: Buffer, start: number, end: number): string {
  return b.toString(isAscii(b.subarray(start, end)) ? 'latin1' : 'utf8', start, end);
}

// Largest stretch linesOf decodes into one string: below V8's large-object threshold (128 KiB), so
// batch strings die young in the scavenger instead of waiting for a full GC in large-object space.
const MAX_DECODE = 96 * 1024;

/** The lines of `batch` as strings (a trailing "\r" is left for JSON.parse to ignore). */
export function linesOf(batch: LineBatch): string[] {
  const b = batch.bytes;
  if (batch.unterminated) return [b.toString('utf8')];
  const lines: string[] = [];
  for (let from = 0; from < b.length; ) {
    // Whole lines of at most MAX_DECODE bytes (a longer line alone), decoded at once and split.
    let to = from + MAX_DECODE >= b.length ? b.length : b.lastIndexOf(NL, from + MAX_DECODE - 1) + 1;
    if (to <= from) to = b.indexOf(NL, from) + 1;
    for (const line of decode(b, from, to - 1).split('\n')) lines.push(line);
    from = to;
  }
  return lines;
}

/**
 * Lines of `chunks` ("\n"-separated UTF-8). A chunk is not kept once the next one is asked for (the
 * cut line carried over is copied), so the source may reuse its buffers; a batch's `bytes` are valid
 * until the next batch is asked for.
 */
export async function* lineBatches(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<LineBatch> {
  let pending: Buffer[] = [];
  let offset = 0;
  for await (const c of chunks) {
    const chunk = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
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
      yield { bytes: joined, offset, unterminated: false };
      offset += joined.length;
      rest = chunk.subarray(first + 1, nl + 1);
    }
    pending = nl + 1 < chunk.length ? [Buffer.from(chunk.subarray(nl + 1))] : [];
    if (rest.length > 0) {
      yield { bytes: rest, offset, unterminated: false };
      offset += rest.length;
    }
  }
  if (pending.length > 0) {
    const bytes = Buffer.concat(pending);
    yield { bytes, offset, unterminated: true };
  }
}
