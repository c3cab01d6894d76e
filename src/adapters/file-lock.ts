// An exclusive lock between processes on one host: a lock file created with O_EXCL ('wx') that
// holds the owner's pid and host. A lock whose owner pid is dead on this host is taken over; a lock
// without readable content (the owner died between create and write) or from another host is taken
// over once older than `staleMs`. Takeover itself runs under a second O_EXCL file so two waiters
// can never both break the same lock and then remove each other's fresh one.
import { sleep as abortableSleep } from '../domain/sleep.js';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { SyncError } from '../domain/errors.js';

export type FileLockOptions = {
  /** Give up waiting after this long (default 10 s) with SyncError 'unavailable'. */
  timeoutMs?: number;
  /** Age after which a lock we cannot attribute to a live local pid is taken over (default 30 s). */
  staleMs?: number;
  signal?: AbortSignal;
};

type Owner = { pid: number; host: string; at: string };

const HOST = hostname();
// Lock paths held by this process: waiters in the same process queue here instead of polling the file.
const localTails = new Map<string, Promise<void>>();

function errnoOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoOf(e) === 'EPERM';
  }
}

async function readOwner(path: string): Promise<Owner | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<Owner>;
    return typeof parsed.pid === 'number' && typeof parsed.host === 'string' ? (parsed as Owner) : undefined;
  } catch {
    return undefined;
  }
}

async function tryCreate(path: string): Promise<boolean> {
  try {
    const fh = await open(path, 'wx', 0o600);
    try {
      await fh.writeFile(JSON.stringify({ pid: process.pid, host: HOST, at: new Date().toISOString() } satisfies Owner));
    } finally {
      await fh.close();
    }
    return true;
  } catch (e) {
    if (errnoOf(e) === 'EEXIST') return false;
    throw new SyncError('unavailable', `cannot create lock file ${path}: ${(e as Error).message}`, { cause: e });
  }
}

async function isStale(path: string, staleMs: number): Promise<{ stale: boolean; ino?: number; owner?: Owner }> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return { stale: false };
    throw e;
  }
  const owner = await readOwner(path);
  const old = Date.now() - st.mtimeMs > staleMs;
  if (owner && owner.host === HOST) return { stale: !pidAlive(owner.pid), ino: st.ino, owner };
  return owner ? { stale: old, ino: st.ino, owner } : { stale: old, ino: st.ino };
}

// Removes `path` if it is still the stale lock (same inode) we judged; only one breaker at a time.
// True when the stale lock is gone (by us or by another breaker).
async function breakStale(path: string, ino: number, staleMs: number): Promise<boolean> {
  const breaker = path + '.break';
  if (!(await tryCreate(breaker))) {
    // A breaker holds this for microseconds; one left by a crashed process is cleared after a while.
    const st = await stat(breaker).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > Math.min(staleMs, 5000)) await unlink(breaker).catch(() => undefined);
    return false;
  }
  try {
    const again = await isStale(path, staleMs);
    if (again.ino === undefined) return true;
    if (again.stale && again.ino === ino) {
      await unlink(path).catch(() => undefined);
      return true;
    }
    return false;
  } finally {
    await unlink(breaker).catch(() => undefined);
  }
}

const sleep = (ms: number, signal?: AbortSignal) => abortableSleep(ms, signal, 'waiting for a lock');

/** Takes the exclusive lock `lockPath` (waiting up to `timeoutMs`) and returns its release function. */
export async function acquireFileLock(lockPath: string, options: FileLockOptions = {}): Promise<() => Promise<void>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const staleMs = options.staleMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;

  const before = localTails.get(lockPath) ?? Promise.resolve();
  let releaseLocal!: () => void;
  const mine = new Promise<void>((r) => (releaseLocal = r));
  const tail = before.then(() => mine);
  localTails.set(lockPath, tail);
  const dropLocal = () => {
    releaseLocal();
    if (localTails.get(lockPath) === tail) localTails.delete(lockPath);
  };

  try {
    const waiting = new AbortController();
    const onAbort = () => waiting.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await Promise.race([
        before,
        sleep(Math.max(0, deadline - Date.now()), waiting.signal).then(() => {
          throw new SyncError('unavailable', `timed out after ${timeoutMs} ms waiting for lock ${lockPath} (held in this process)`);
        }),
      ]);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      waiting.abort();
    }
    let delay = 2;
    for (;;) {
      if (await tryCreate(lockPath)) break;
      const judged = await isStale(lockPath, staleMs);
      if (judged.ino === undefined) continue; // released between our create and our look
      if (judged.stale && (await breakStale(lockPath, judged.ino, staleMs))) continue;
      if (Date.now() >= deadline) {
        const who = judged.owner ? `pid ${judged.owner.pid} on ${judged.owner.host} since ${judged.owner.at}` : 'an unknown owner';
        throw new SyncError('unavailable', `timed out after ${timeoutMs} ms waiting for lock ${lockPath} held by ${who}`);
      }
      await sleep(delay + Math.random() * delay, options.signal);
      delay = Math.min(delay * 2, 50);
    }
  } catch (e) {
    dropLocal();
    throw e;
  }

  let released = false;
  return async () => {
    if (released) return;
    released = true;
    try {
      const owner = await readOwner(lockPath);
      if (owner && owner.pid === process.pid && owner.host === HOST) await unlink(lockPath).catch(() => undefined);
    } finally {
      dropLocal();
    }
  };
}

/** Runs `fn` while holding the lock `lockPath`. */
export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>, options: FileLockOptions = {}): Promise<T> {
  const release = await acquireFileLock(lockPath, options);
  try {
    return await fn();
  } finally {
    await release();
  }
}
