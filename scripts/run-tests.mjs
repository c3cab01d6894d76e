#!/usr/bin/env node
// Runs every *.test.ts file under the given folders (default: test/unit, test/integration and
// test/reliability at its CI scale), each in its own Node process through tsx, two at a time, and ends with the plain line
// "N passed, N failed" that CI reads. First checks that the machine has the system packages those files need
// (scripts/preflight.mjs) and, if not, stops at once with the apt-get line that installs them.
// Each file is an uvu suite that calls `.run()` itself.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { availableParallelism } from 'node:os';
import { preflight } from './preflight.mjs';

const args = process.argv.slice(2);
const filter = args.find((a) => a.startsWith('--grep='))?.slice('--grep='.length);
const roots = args.filter((a) => !a.startsWith('--'));
const dirs = roots.length > 0 ? roots : ['test/unit', 'test/integration', 'test/reliability'];
const concurrency = Number(process.env.TEST_CONCURRENCY ?? Math.max(1, Math.min(2, availableParallelism())));
const perFileTimeoutMs = Number(process.env.TEST_FILE_TIMEOUT_MS ?? 300_000);

function walk(path, out) {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return out;
  if (st.isFile()) {
    if (path.endsWith('.test.ts')) out.push(path);
    return out;
  }
  for (const name of readdirSync(path).sort()) walk(join(path, name), out);
  return out;
}

const files = dirs.flatMap((d) => walk(d, [])).filter((f) => !filter || f.includes(filter));
if (files.length === 0) {
  console.error(`no test files found under ${dirs.join(', ')}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

// A fresh machine without a system package fails here at once, with the exact install line, instead of
// minutes later with a failed test per missing tool.
const notReady = preflight(files);
if (notReady) {
  for (const line of notReady) console.error(line);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

// uvu prints "Total: N", "Passed: N", "Skipped: N" at the end of a file; ANSI colours are stripped.
const strip = (s) => s.replace(/\u001b\[[0-9;]*m/g, '');
function countsOf(output) {
  const text = strip(output);
  const total = [...text.matchAll(/^\s*Total:\s+(\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  const passed = [...text.matchAll(/^\s*Passed:\s+(\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  const skipped = [...text.matchAll(/^\s*Skipped:\s+(\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  return { total, passed, skipped };
}

const running = new Set();
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const pid of running) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    process.exit(130);
  });
}

function runFile(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so a timed-out file is killed with every server it started.
      detached: true,
    });
    running.add(child.pid);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      out += `\n[run-tests] ${file} exceeded ${perFileTimeoutMs} ms; killed with its process group\n`;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, perFileTimeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child.pid);
      // Whatever the file left behind (a server whose after-hook never ran) goes with it.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* the group is already gone */
      }
      resolve({ file, code, signal, out, ms: Date.now() - started, ...countsOf(out) });
    });
  });
}

let passed = 0;
let failed = 0;
let skipped = 0;
const queue = [...files];
async function lane() {
  for (let file = queue.shift(); file; file = queue.shift()) {
    const r = await runFile(file);
    const fileFailed = r.total - r.passed - r.skipped;
    // A file that crashed or exited non-zero without reporting a failed test still counts as one failure.
    const crashed = r.code !== 0 && fileFailed === 0 ? 1 : 0;
    if (r.total === 0 && r.code === 0) {
      failed += 1;
      console.log(`FAIL ${relative('.', file)}: ran no test`);
      process.stdout.write(r.out);
      continue;
    }
    passed += r.passed;
    skipped += r.skipped;
    failed += fileFailed + crashed;
    const ok = fileFailed + crashed === 0;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${relative('.', file)}  ${r.passed}/${r.total} passed  ${(r.ms / 1000).toFixed(1)}s`);
    if (!ok || process.env.TEST_VERBOSE) process.stdout.write(r.out);
  }
}
await Promise.all(Array.from({ length: concurrency }, lane));
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
