import { Observable } from 'rxjs';
import { sleep as abortableSleep } from '../domain/sleep.js';
import { SyncError } from '../domain/errors.js';

/**
 * An Observable that runs `fn` once per subscription with a signal that aborts when the subscriber
 * unsubscribes early or when `outer` aborts; emits the result then completes.
 */
export function fromAbortable<T>(fn: (signal: AbortSignal) => Promise<T>, outer?: AbortSignal): Observable<T> {
  return new Observable<T>((subscriber) => {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(outer?.reason);
    if (outer?.aborted) controller.abort(outer.reason);
    else outer?.addEventListener('abort', onAbort, { once: true });
    let done = false;
    fn(controller.signal).then(
      (value) => {
        done = true;
        subscriber.next(value);
        subscriber.complete();
      },
      (error: unknown) => {
        done = true;
        subscriber.error(error);
      },
    );
    return () => {
      outer?.removeEventListener('abort', onAbort);
      if (!done) controller.abort(new SyncError('aborted', 'the request was cancelled'));
    };
  });
}

/** Throws SyncError 'aborted' when `signal` has aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new SyncError('aborted', 'the request was cancelled');
}

/** Resolves after `ms`, or rejects with SyncError 'aborted' as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return abortableSleep(ms, signal, 'the request');
}
