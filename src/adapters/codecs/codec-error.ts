import { SyncError } from '../../domain/errors.js';

/** A decoder's complaint: corrupt data, or input that ends inside a block (`truncated`). */
export function codecError(codec: string, offset: number, problem: string, truncated = false, cause?: unknown): SyncError {
  return new SyncError('corrupt_data', `${codec}: ${problem} at compressed byte offset ${offset}`, {
    details: { codec, offset, truncated },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** True when `e` is a codec error saying the input ended too early. */
export function isTruncation(e: unknown): boolean {
  return e instanceof SyncError && e.code === 'corrupt_data' && e.details?.truncated === true;
}
