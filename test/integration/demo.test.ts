// The README's first command, as a user runs it: `sync-agent demo` prints the tuning table and chart,
// exits 0, and leaves no process and no folder behind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function processesIn(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`).startsWith(dir)) pids.push(Number(entry));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return pids;
}

/** `sync-agent demo <args>` as a child process, its stdout and stderr gathered in `out`, and its exit code to come. */
function startDemo(args: string[]): { child: ChildProcess; out: string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['bin/sync-agent.js', 'demo', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const demo = { child, out: '', exited: new Promise<number | null>((r) => child.on('exit', (code) => r(code))) };
  child.stdout.on('data', (c: Buffer) => (demo.out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (demo.out += c.toString()));
  return demo;
}

test('sync-agent demo runs the loop, prints the table and chart, and leaves nothing running', () => {
  const r = spawnSync(process.execPath, ['bin/sync-agent.js', 'demo', '--iterations', '3', '--seed', '3'], { encoding: 'utf8', timeout: 120_000 });
  assert.is(r.status, 0, r.stderr + r.stdout);
  const out = r.stdout;
  assert.match(out, /iteration 1: kept -> run r-/);
  assert.match(out, /iteration 2: (applied|kept|held|rolled-back) -> run r-/);
  assert.match(out, /iter\s+decision\s+cluster\s+status\s+runtime\s+predicted\s+error\s+cost\s+predicted\s+billed/);
  assert.match(out, /billed cost per iteration\n\s+#1 \|#+/);
  assert.match(out, /done: the last run cost \$\d+\.\d\d against \$\d+\.\d\d for the first/);
  const dir = /agent log: (\S+)\/agent\.log/.exec(out)?.[1];
  assert.ok(dir, 'the demo names its folder');
  assert.not.ok(existsSync(dir!), 'its temporary folder is removed');
  assert.equal(processesIn(dir!), [], 'no process (redis-server, agent) is left in it');
});

test('sync-agent demo rejects bad options with a clear message', () => {
  const r = spawnSync(process.execPath, ['bin/sync-agent.js', 'demo', '--iterations', 'many'], { encoding: 'utf8' });
  assert.is(r.status, 2);
  assert.match(r.stderr, /--iterations must be a whole number/);
});

test('sync-agent demo --ui keeps the dashboard up with a one-time sign-in link until Ctrl-C', async () => {
  const demo = startDemo(['--ui', '--iterations', '1', '--seed', '5']);
  const { child, exited } = demo;
  try {
    const deadline = Date.now() + 120_000;
    let link: string | undefined;
    while (!(link = /sign in once with: (\S+)/.exec(demo.out)?.[1]) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.ok(link, `the demo printed a sign-in link:\n${demo.out}`);
    assert.match(demo.out, /dashboard: http:\/\/127\.0\.0\.1:\d+\/ui\//);
    const signIn = await fetch(link!, { redirect: 'manual' });
    assert.is(signIn.status, 303);
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0]!;
    const page = await fetch(new URL('/ui/', link).href, { headers: { cookie } });
    assert.is(page.status, 200);
    assert.match(await page.text(), 'nightly-etl');
    assert.is((await fetch(link!, { redirect: 'manual' })).status, 401, 'the link works once');
    child.kill('SIGINT');
    assert.is(await exited, 0, demo.out);
    const dir = /agent log: (\S+)\/agent\.log/.exec(demo.out)?.[1];
    assert.ok(dir);
    assert.not.ok(existsSync(dir!), 'its temporary folder is removed');
    assert.equal(processesIn(dir!), [], 'nothing is left running');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('demo --ui --keep: while the agent is up, enqueue with the kept sync.config.mjs reaches it (--wait --until recorded)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'demo-kept-'));
  const demo = startDemo(['--ui', '--iterations', '1', '--seed', '5', '--dir', dir]);
  const { child, exited } = demo;
  try {
    const deadline = Date.now() + 120_000;
    while (!/sign in once with:/.test(demo.out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.match(demo.out, /sign in once with:/);
    const config = join(dir, 'sync.config.mjs');
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((res) => {
      const c = spawn(process.execPath, ['bin/sync-agent.js', 'enqueue', 'run.start', '--data', '{"projectId":"nightly-etl"}', '--wait', '--until', 'recorded', '--timeout', '90', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
      let so = '';
      let se = '';
      c.stdout.on('data', (b: Buffer) => (so += b.toString()));
      c.stderr.on('data', (b: Buffer) => (se += b.toString()));
      c.on('exit', (code) => res({ code, stdout: so, stderr: se }));
    });
    assert.is(run.code, 0, `${run.stderr}\n${run.stdout}`);
    const answer = JSON.parse(run.stdout) as { recorded?: boolean; run?: { status: string } };
    assert.is(answer.recorded, true);
    assert.is(answer.run?.status, 'recorded');
    child.kill('SIGINT');
    assert.is(await exited, 0, demo.out);
    assert.match(demo.out, new RegExp(`runs nightly-etl --config ${config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
