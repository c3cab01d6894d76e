// Simulated time for the sandbox: runs `timeScale` times faster than real time, and is a
// discrete-event clock at the same time: it never passes a scheduled event before that event's
// action has finished, and it holds still at the event's time while the reactions to it (promise
// continuations) run. Timestamps taken inside an action are therefore exactly the planned times.

/** A clock whose time (epoch ms) runs `timeScale` x real time, with events scheduled on it. */
export type SimClock = {
  readonly timeScale: number;
  /** Changes how fast simulated time runs from now on (a test that must act while a run is still going slows it down). */
  setTimeScale(timeScale: number): void;
  /** Simulated epoch ms; never decreases. */
  now(): number;
  /**
   * Runs `action` when simulated time reaches `at` (a time already past means now; events run one
   * at a time, in time order, then in the order scheduled). Resolves with the action's result;
   * rejects with its error, or with an AbortError when cancelled or the clock closes. An action
   * must not wait for a later event (it would wait forever: events run one at a time).
   */
  at<T>(at: number, action: () => T | Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Events not yet run. */
  pending(): number;
  /** Cancels every pending event and stops the timers; safe to call twice. */
  close(): void;
};

type Entry = { at: number; seq: number; run: () => Promise<void>; cancel: (e: Error) => void; done: boolean };

function abortError(message: string): Error {
  const e = new Error(message);
  e.name = 'AbortError';
  return e;
}

/** Starts simulated time at `start` (default: real now). */
export function createSimClock(opts: { timeScale: number; start?: number }): SimClock {
  const check = (v: number) => {
    if (!(v > 0) || !Number.isFinite(v)) throw new RangeError(`timeScale must be a positive number, got ${v}`);
    return v;
  };
  let scale = check(opts.timeScale);
  let anchorSim = opts.start ?? Date.now();
  let anchorReal = Date.now();
  let last = anchorSim;
  let frozen: number | undefined;
  let running = false;
  let closed = false;
  let seq = 0;
  let timer: NodeJS.Timeout | undefined;
  const queue: Entry[] = [];

  const raw = () => anchorSim + (Date.now() - anchorReal) * scale;
  const now = (): number => {
    let v = frozen ?? raw();
    const head = queue[0];
    if (head && v > head.at) v = head.at;
    if (v < last) v = last;
    last = v;
    return Math.floor(v);
  };
  const reanchor = (at: number) => {
    anchorSim = Math.max(at, last);
    anchorReal = Date.now();
  };

  const arm = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (closed || running || frozen !== undefined) return;
    const head = queue[0];
    if (!head) return;
    const delay = Math.max(0, (head.at - raw()) / scale);
    timer = setTimeout(dispatch, Math.ceil(delay));
  };

  const dispatch = () => {
    timer = undefined;
    const head = queue[0];
    if (closed || running || !head) return;
    if (raw() < head.at) reanchor(head.at); // a timer may fire a little early
    running = true;
    void head.run().finally(() => {
      const i = queue.indexOf(head);
      if (i >= 0) queue.splice(i, 1);
      running = false;
      // Hold the time until the reactions to this event (microtasks) have run.
      frozen = Math.max(head.at, last);
      last = frozen;
      setImmediate(() => {
        const at = frozen ?? head.at;
        frozen = undefined;
        reanchor(at);
        arm();
      });
    });
  };

  return {
    get timeScale() {
      return scale;
    },
    setTimeScale(timeScale: number) {
      const v = check(timeScale);
      if (frozen === undefined) reanchor(now());
      scale = v;
      arm();
    },
    now,
    at<T>(at: number, action: () => T | Promise<T>, signal?: AbortSignal): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        if (closed) return reject(abortError('the simulated clock is closed'));
        if (signal?.aborted) return reject(abortError('cancelled'));
        const entry: Entry = {
          at: Math.max(at, now()),
          seq: seq++,
          done: false,
          run: async () => {
            if (entry.done) return;
            entry.done = true;
            signal?.removeEventListener('abort', onAbort);
            try {
              resolve(await action());
            } catch (e) {
              reject(e);
            }
          },
          cancel: (e) => {
            if (entry.done) return;
            entry.done = true;
            signal?.removeEventListener('abort', onAbort);
            const i = queue.indexOf(entry);
            if (i >= 0 && !(running && i === 0)) queue.splice(i, 1);
            reject(e);
          },
        };
        const onAbort = () => {
          entry.cancel(abortError('cancelled'));
          arm();
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        let i = queue.length;
        while (i > 0 && (queue[i - 1]!.at > entry.at || (queue[i - 1]!.at === entry.at && queue[i - 1]!.seq > entry.seq))) i--;
        queue.splice(i, 0, entry);
        arm();
      });
    },
    pending: () => queue.filter((e) => !e.done).length,
    close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      for (const e of [...queue]) e.cancel(abortError('the simulated clock is closed'));
      queue.length = 0;
    },
  };
}
