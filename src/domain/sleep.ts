import { SyncError } from './errors.js';

/** Resolves after `ms`; rejects with SyncError 'aborted' ("<what> was aborted") as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal, what = 'the operation'): Promise<void> {
  return new Promise((resolve, reject) => {
    const aborted = () => new SyncError('aborted', `${what} was aborted`, { cause: signal?.reason });
    if (signal?.aborted) return reject(aborted());
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(aborted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
