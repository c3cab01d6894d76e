// zstd (Spark's default event-log codec since 3.2), streamed through fzstd's Decompress.
import { Decompress } from 'fzstd';
import { codecError } from './codec-error.js';

const PUSH_BYTES = 16 * 1024;

/** Decompresses a zstd stream (one or more frames) chunk by chunk. */
export async function* decodeZstd(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
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
