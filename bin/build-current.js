// Whether a checkout's build is current: dist/cli/main.js exists and is at least as new as every file
// under src/ (or there is no src/, as in an installed package). bin/sync-agent.js runs dist/ then, and
// the sources through tsx otherwise; the eventlog bench says which one its timed command ran.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The newest modification time (ms) of the files under `dir`. */
function newestUnder(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestUnder(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** True when the build under `root` is current (see above). */
export function buildIsCurrent(root) {
  const compiled = join(root, 'dist', 'cli', 'main.js');
  const source = join(root, 'src');
  return existsSync(compiled) && (!existsSync(source) || statSync(compiled).mtimeMs >= newestUnder(source));
}
