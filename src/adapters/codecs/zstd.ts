// zstd (Spark's default event-log codec since 3.2), streamed through fzstd's Decompress.
import { Decompress } from 'fzstd';
import { codecError } from './codec-error.js';

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
    try {
      d.push(chunk);
    } catch (e) {
      fail(e, false);
    }
    offset += chunk.length;
    if (out.length > 0) {
      const ready = out.splice(0, out.length);
      for (const b of ready) yield b;
    }
  }
  try {
    d.push(new Uint8Array(0), true);
  } catch (e) {
    fail(e, true);
  }
  for (const b of out) yield b;
}
