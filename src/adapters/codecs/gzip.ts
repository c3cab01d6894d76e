// gzip (Databricks' rolled parts), through node:zlib; concatenated members are read as one stream.
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { codecError } from './codec-error.js';

/** Decompresses a gzip stream chunk by chunk. */
export async function* decodeGzip(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let offset = 0;
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const c of input) {
      yield c;
      offset += c.length;
    }
  }
  const src = Readable.from(counted(), { objectMode: false });
  const gz = createGunzip();
  src.on('error', (e) => gz.destroy(e));
  src.pipe(gz);
  try {
    for await (const c of gz) yield c as Buffer;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(err.message)) {
      throw codecError('gzip', offset, 'stream ends inside a member', true, e);
    }
    if (err.code?.startsWith('Z_')) throw codecError('gzip', offset, `corrupt data (${err.message})`, false, e);
    throw e;
  } finally {
    src.destroy();
  }
}
