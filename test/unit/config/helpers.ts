import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Awaits `p` and returns what it rejected with; fails when it resolves. */
export async function rejection(p: Promise<unknown>): Promise<Error & { code?: string; details?: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected the promise to reject, but it resolved');
}

/** A fresh temp folder with helpers to write files into it; `cleanup()` removes it. */
export function tempDir(prefix = 'sync-config-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    write(rel: string, text: string, mode?: number): string {
      const path = join(dir, rel);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text, mode === undefined ? undefined : { mode });
      return path;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
