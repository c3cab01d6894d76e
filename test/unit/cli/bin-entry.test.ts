// bin/sync-agent.js picks what to run: the sources through tsx in a developer checkout whose build is older
// than a source (so an edit is never hidden by an older build), else the compiled dist/ (an installed
// package: no src/, no tsx; or a checkout whose build is up to date). Checked on a
// throwaway package folder holding the real bin script, a src/ and a dist/ that say which one ran.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

type Layout = { src: boolean; dist: boolean; tsx: boolean; engines?: string; distMain?: string; pipeTo?: string; srcNewer?: boolean };

function runBinIn(layout: Layout): { code: number | null; stdout: string; stderr: string } {
  const root = mkdtempSync(join(tmpdir(), 'sync-bin-'));
  try {
    mkdirSync(join(root, 'bin'));
    for (const f of ['sync-agent.js', 'build-current.js']) copyFileSync(resolve('bin', f), join(root, 'bin', f));
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'bin-entry-fixture', type: 'module', engines: { node: layout.engines ?? '>=20.10' } }));
    if (layout.src) {
      mkdirSync(join(root, 'src/cli'), { recursive: true });
      // A type annotation: this file only runs through tsx.
      writeFileSync(join(root, 'src/cli/main.ts'), "const ran: string = 'src';\nconsole.log(`ran ${ran}`);\n");
    }
    if (layout.dist) {
      mkdirSync(join(root, 'dist/cli'), { recursive: true });
      writeFileSync(join(root, 'dist/cli/main.js'), layout.distMain ?? "console.log('ran dist');\n");
    }
    if (layout.src && layout.dist) {
      // The build at t0; a source edited a minute later, or every source older than the build.
      const t0 = Date.now() / 1000 - 3600;
      utimesSync(join(root, 'dist/cli/main.js'), t0, t0);
      const t = layout.srcNewer ? t0 + 60 : t0 - 60;
      utimesSync(join(root, 'src/cli/main.ts'), t, t);
    }
    if (layout.tsx) {
      mkdirSync(join(root, 'node_modules'));
      symlinkSync(resolve('node_modules/tsx'), join(root, 'node_modules/tsx'), 'dir');
    }
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    if (layout.pipeTo) {
      // The bin's exit code through a shell pipe whose reader stops early (PIPESTATUS: the bin's, not the reader's).
      const line = `"${process.execPath}" "${join(root, 'bin/sync-agent.js')}" | ${layout.pipeTo}; echo "exit=\${PIPESTATUS[0]}" >&2`;
      const r = spawnSync('bash', ['-c', line], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
      return { code: Number(/exit=(\d+)/.exec(r.stderr)?.[1] ?? -1), stdout: r.stdout, stderr: r.stderr };
    }
    const r = spawnSync(process.execPath, [join(root, 'bin/sync-agent.js')], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test('a checkout with src/ and tsx runs the sources when a source is newer than dist/', () => {
  const r = runBinIn({ src: true, dist: true, tsx: true, srcNewer: true });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.trim(), 'ran src');
});

test('a checkout whose dist/ is newer than every source runs dist/ (the build is up to date)', () => {
  const r = runBinIn({ src: true, dist: true, tsx: true, srcNewer: false });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.trim(), 'ran dist');
});

test('a checkout with src/, tsx and no dist/ runs the sources', () => {
  const r = runBinIn({ src: true, dist: false, tsx: true });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.trim(), 'ran src');
});

test('an installed package (dist/, no src/) runs dist/ even when tsx is resolvable', () => {
  const r = runBinIn({ src: false, dist: true, tsx: true });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.trim(), 'ran dist');
});

test('a checkout installed without dev dependencies (no tsx) runs its build', () => {
  const r = runBinIn({ src: true, dist: true, tsx: false });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.trim(), 'ran dist');
});

test('with neither a usable src/ nor dist/ it says what is missing and exits 1', () => {
  const r = runBinIn({ src: true, dist: false, tsx: false });
  assert.is(r.code, 1);
  assert.match(r.stderr, /dist\/cli\/main\.js is missing and tsx is not installed/);
});

test('on a Node older than engines.node it says which Node it needs instead of failing on syntax', () => {
  const r = runBinIn({ src: false, dist: true, tsx: false, engines: '>=99.1' });
  assert.is(r.code, 1);
  assert.is(r.stdout, '', 'nothing ran');
  assert.is(r.stderr, `sync-agent needs Node >=99.1; this is Node ${process.versions.node}\n`);
});

test('output piped into a reader that stops early (| head) ends quietly with 0, not an EPIPE stack trace', () => {
  // Far more than a pipe buffer, written asynchronously, so the writes outlive the reader.
  const distMain = "const line = 'x'.repeat(1000) + '\\n';\nfor (let i = 0; i < 5000; i++) process.stdout.write(line);\n";
  const r = runBinIn({ src: false, dist: true, tsx: false, distMain, pipeTo: 'head -c 10 >/dev/null' });
  assert.not.match(r.stderr, /EPIPE|Unhandled/, r.stderr);
  assert.is(r.code, 0, r.stderr);
});

test.run();
