// What the machine must have before the given test files can pass, checked in well under a second, so a fresh
// machine learns at once (not after minutes of failures) exactly which Debian packages to install.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** True when `name` is an executable file in a folder of PATH. */
function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      /* not here */
    }
  }
  return false;
}

/**
 * Each prerequisite: the Debian package that provides it, what it is for, which test files need it (by path or
 * by what their text mentions), and how to tell it is there.
 */
const prerequisites = [
  {
    pkg: 'redis-server',
    what: 'redis-server on the PATH (integration and reliability tests start their own)',
    needs: (file) => !file.includes('test/unit/'),
    present: () => onPath('redis-server'),
  },
  {
    pkg: 'redis-tools',
    what: 'redis-cli on the PATH (a client in another language)',
    needs: (file, text) => text.includes("'redis-cli'"),
    present: () => onPath('redis-cli'),
  },
  {
    pkg: 'python3-redis',
    what: "Python's redis client for /usr/bin/python3 (requests enqueued from Python)",
    needs: (file, text) => text.includes('/usr/bin/python3'),
    present: () => spawnSync('/usr/bin/python3', ['-c', 'import redis'], { stdio: 'ignore', timeout: 10_000 }).status === 0,
  },
  {
    pkg: 'openssl',
    what: 'openssl on the PATH (the TLS Redis tests make a throwaway CA)',
    needs: (file, text) => text.includes("'openssl'") || text.includes('redis-tls'),
    present: () => onPath('openssl'),
  },
  {
    pkg: 'chromium',
    what: "Debian's chromium at /usr/bin/chromium (the dashboard's browser tests drive it through playwright-core)",
    needs: (file, text) => text.includes('/usr/bin/chromium'),
    present: () => {
      try {
        accessSync('/usr/bin/chromium', constants.X_OK);
        return true;
      } catch {
        return false;
      }
    },
  },
  {
    pkg: 'systemd',
    what: 'systemd-analyze on the PATH (the unit file is checked with systemd-analyze security)',
    needs: (file, text) => text.includes("'systemd-analyze'"),
    present: () => onPath('systemd-analyze'),
  },
];

/** The Node version the package declares (engines.node) against the running one; a message when it is older. */
function nodeTooOld() {
  const engines = JSON.parse(readFileSync('package.json', 'utf8')).engines?.node ?? '';
  const want = /^>=\s*(\d+)(?:\.(\d+))?/.exec(engines);
  if (!want) return undefined;
  const [major, minor] = process.versions.node.split('.').map(Number);
  const [wantMajor, wantMinor] = [Number(want[1]), Number(want[2] ?? 0)];
  return major < wantMajor || (major === wantMajor && minor < wantMinor) ? `Node ${process.versions.node} is older than the package needs (${engines})` : undefined;
}

/**
 * Checks what `files` need; returns undefined when everything is there, else the lines to print: what is missing,
 * for which files, and the one command that installs it all.
 */
export function preflight(files) {
  const problems = [];
  const tooOld = nodeTooOld();
  if (tooOld) problems.push(tooOld);
  const texts = new Map(files.map((f) => [f, readFileSync(f, 'utf8')]));
  const missing = [];
  for (const p of prerequisites) {
    const users = files.filter((f) => p.needs(f.replaceAll('\\', '/'), texts.get(f)));
    if (users.length === 0 || p.present()) continue;
    missing.push(p.pkg);
    const shown = users.slice(0, 3).join(', ') + (users.length > 3 ? ` and ${users.length - 3} more` : '');
    problems.push(`missing ${p.what}: needed by ${shown}`);
  }
  if (problems.length === 0) return undefined;
  const lines = ['[run-tests] this machine cannot run these tests yet:', ...problems.map((p) => `  - ${p}`)];
  if (missing.length > 0) {
    const sudo = typeof process.getuid === 'function' && process.getuid() !== 0 ? 'sudo ' : '';
    lines.push('install what is missing (Debian/Ubuntu), then run the tests again:', `  ${sudo}apt-get update && ${sudo}apt-get install -y ${missing.join(' ')}`);
  }
  if (tooOld) lines.push('install Node.js 20.10 or later (https://nodejs.org or NodeSource), then run the tests again');
  return lines;
}
