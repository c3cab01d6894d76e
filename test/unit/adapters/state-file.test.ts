import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SyncError } from '../../../src/domain/errors.js';
import type { ProjectState } from '../../../src/domain/types.js';
import { createFileStateStore } from '../../../src/adapters/state-file.js';
import { createStateStore } from '../../../src/adapters/state-store.js';
import { createFileObjectStore } from '../../../src/adapters/file-object-store.js';
import { syncRejection as rejection } from '../../support/async.js';

function stateWith(id: string, counter: number): ProjectState {
  return {
    project: { id, name: `project ${id}`, platform: 'emr', tenantId: 't1', createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z' },
    runs: [],
    predictions: [],
    requests: { counter: { at: String(counter) } },
  };
}
const counterOf = (s: ProjectState) => Number(s.requests?.counter?.at);

// Worker mode: a child process that increments the project's counter N times with retry-on-conflict.
if (process.env.STATE_WORKER_ROOT) {
  const store = createFileStateStore(process.env.STATE_WORKER_ROOT);
  let conflicts = 0;
  for (let i = 0; i < Number(process.env.STATE_WORKER_N); i++) {
    for (;;) {
      const cur = await store.get('counter');
      if (!cur) throw new Error('counter project missing');
      try {
        await store.put('counter', stateWith('counter', counterOf(cur.value) + 1), cur.version);
        break;
      } catch (e) {
        if (!(e instanceof SyncError) || e.code !== 'conflict') throw e;
        conflicts += 1;
      }
    }
  }
  process.stdout.write(JSON.stringify({ conflicts }));
  process.exit(0);
}


async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listTree(p)));
    else out.push(p);
  }
  return out.sort();
}

const t = suite<{ dir: string }>('state-file', { dir: '' });
t.before.each(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'state-file-'));
});
t.after.each(async (ctx) => {
  await rm(ctx.dir, { recursive: true, force: true });
});

t('create, read back, update with the read version; versions are content hashes', async ({ dir }) => {
  const store = createFileStateStore(`file://${dir}`);
  assert.is(await store.get('p1'), undefined);
  const v1 = await store.put('p1', stateWith('p1', 1), null);
  const path = join(dir, 'projects', 'p1.json');
  const bytes = await readFile(path);
  assert.is(v1, createHash('sha256').update(bytes).digest('hex'));
  assert.equal(JSON.parse(bytes.toString()), stateWith('p1', 1), 'the file is the plain ProjectState');
  const got = await store.get('p1');
  assert.equal(got?.value, stateWith('p1', 1));
  assert.is(got?.version, v1);
  const v2 = await store.put('p1', stateWith('p1', 2), v1);
  assert.is.not(v2, v1);
  assert.is(counterOf((await store.get('p1'))!.value), 2);
});

t('a stale version, create-over-existing and update-of-missing are conflicts that change nothing', async ({ dir }) => {
  const store = createFileStateStore(dir);
  const v1 = await store.put('p1', stateWith('p1', 1), null);
  await store.put('p1', stateWith('p1', 2), v1);
  assert.is((await rejection(store.put('p1', stateWith('p1', 99), v1))).code, 'conflict');
  assert.is((await rejection(store.put('p1', stateWith('p1', 98), null))).code, 'conflict');
  assert.is((await rejection(store.put('p2', stateWith('p2', 1), v1))).code, 'conflict');
  assert.is(counterOf((await store.get('p1'))!.value), 2);
  assert.is(await store.get('p2'), undefined);
});

t('list returns project ids, sorted, ignoring locks, temp files and foreign names', async ({ dir }) => {
  const store = createFileStateStore(dir);
  assert.equal(await store.list(), [], 'no projects folder yet');
  for (const id of ['zeta', 'Alpha', 'b-2.x']) await store.put(id, stateWith(id, 0), null);
  await writeFile(join(dir, 'projects', 'zeta.json.lock'), '{}');
  await writeFile(join(dir, 'projects', '.sync-tmp-zeta.json.1.ab'), '{}');
  await writeFile(join(dir, 'projects', 'notes.txt'), 'x');
  assert.equal(await store.list(), ['Alpha', 'b-2.x', 'zeta']);
});

t('unsafe project ids are invalid_request and nothing is written outside the root', async ({ dir }) => {
  const root = join(dir, 'root');
  const store = createFileStateStore(root);
  const bad = ['', '.', '..', '../escape', 'a/b', 'a\\b', '.hidden', '-dash', 'x'.repeat(129), 'nul\0x', 'sp ace', 'é'];
  for (const id of bad) {
    assert.is((await rejection(store.put(id, stateWith('x', 1), null))).code, 'invalid_request', JSON.stringify(id));
    assert.is((await rejection(store.get(id))).code, 'invalid_request', JSON.stringify(id));
  }
  assert.is((await rejection(store.put(undefined as unknown as string, stateWith('x', 1), null))).code, 'invalid_request');
  await store.put('x'.repeat(128), stateWith('x', 1), null);
  assert.equal(await readdir(dir), ['root']);
  assert.equal(await listTree(dir), [join(root, 'projects', 'x'.repeat(128) + '.json')]);
});

t('a corrupt document is corrupt_data naming the file', async ({ dir }) => {
  const store = createFileStateStore(dir);
  await mkdir(join(dir, 'projects'));
  await writeFile(join(dir, 'projects', 'bad.json'), '{"project": ');
  const e = await rejection(store.get('bad'));
  assert.is(e.code, 'corrupt_data');
  assert.ok(e.message.includes(join(dir, 'projects', 'bad.json')), e.message);
  await writeFile(join(dir, 'projects', 'bad.json'), '[1,2]');
  assert.is((await rejection(store.get('bad'))).code, 'corrupt_data');
});

t('a lock left by a dead process is taken over; a live owner makes put wait and time out', async ({ dir }) => {
  const store = createFileStateStore(dir, { timeoutMs: 300 });
  const v1 = await store.put('p1', stateWith('p1', 1), null);
  const lock = join(dir, 'projects', 'p1.json.lock');
  // A pid that has exited: a finished child's.
  const child: ChildProcess = spawn(process.execPath, ['-e', '0']);
  const deadPid = await new Promise<number>((resolve) => child.on('exit', () => resolve(child.pid!)));
  await writeFile(lock, JSON.stringify({ pid: deadPid, host: (await import('node:os')).hostname(), at: new Date().toISOString() }));
  const v2 = await store.put('p1', stateWith('p1', 2), v1);
  assert.is(counterOf((await store.get('p1'))!.value), 2);
  assert.not.ok(await stat(lock).catch(() => undefined), 'the lock is released');

  // Our parent process is alive: its lock must be respected.
  await writeFile(lock, JSON.stringify({ pid: process.ppid, host: (await import('node:os')).hostname(), at: new Date().toISOString() }));
  const started = Date.now();
  const e = await rejection(store.put('p1', stateWith('p1', 3), v2));
  assert.is(e.code, 'unavailable');
  assert.ok(e.message.includes(`pid ${process.ppid}`), e.message);
  assert.ok(Date.now() - started >= 250, 'it waited');
  assert.is(counterOf((await store.get('p1'))!.value), 2);

  // An empty lock file (owner died between create and write) is taken over once old enough.
  await writeFile(lock, '');
  const old = new Date(Date.now() - 3600_000);
  await utimes(lock, old, old);
  await store.put('p1', stateWith('p1', 3), v2);
  assert.is(counterOf((await store.get('p1'))!.value), 3);
});

t('concurrent puts in one process with the same version: exactly one wins', async ({ dir }) => {
  const store = createFileStateStore(dir);
  const v1 = await store.put('p1', stateWith('p1', 0), null);
  const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => store.put('p1', stateWith('p1', i + 1), v1)));
  const won = results.filter((r) => r.status === 'fulfilled');
  assert.is(won.length, 1);
  for (const r of results) if (r.status === 'rejected') assert.is((r.reason as SyncError).code, 'conflict');
});

t('4 processes x 50 increments with retry-on-conflict lose no update', async ({ dir }) => {
  const store = createFileStateStore(dir);
  await store.put('counter', stateWith('counter', 0), null);
  const self = fileURLToPath(import.meta.url);
  const runWorker = () =>
    new Promise<{ conflicts: number }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', self], {
        env: { ...process.env, STATE_WORKER_ROOT: `file://${dir}`, STATE_WORKER_N: '50' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as { conflicts: number }) : reject(new Error(`worker exited ${code}: ${err}`))));
    });
  const results = await Promise.all([runWorker(), runWorker(), runWorker(), runWorker()]);
  assert.is(counterOf((await store.get('counter'))!.value), 200);
  assert.equal((await readdir(join(dir, 'projects'))).sort(), ['counter.json']);
  console.log(`  conflicts retried: ${results.map((r) => r.conflicts).join(', ')}`);
});

t('4 processes meeting a lock left by a dead process take it over one at a time and lose no update', async ({ dir }) => {
  const store = createFileStateStore(dir);
  await store.put('counter', stateWith('counter', 0), null);
  const child: ChildProcess = spawn(process.execPath, ['-e', '0']);
  const deadPid = await new Promise<number>((resolve) => child.on('exit', () => resolve(child.pid!)));
  const { hostname } = await import('node:os');
  await writeFile(join(dir, 'projects', 'counter.json.lock'), JSON.stringify({ pid: deadPid, host: hostname(), at: new Date().toISOString() }));
  const self = fileURLToPath(import.meta.url);
  const runWorker = () =>
    new Promise<void>((resolve, reject) => {
      const w = spawn(process.execPath, ['--import', 'tsx', self], {
        env: { ...process.env, STATE_WORKER_ROOT: dir, STATE_WORKER_N: '20' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      w.stderr.on('data', (d) => (err += d));
      w.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited ${code}: ${err}`))));
    });
  await Promise.all([runWorker(), runWorker(), runWorker(), runWorker()]);
  assert.is(counterOf((await store.get('counter'))!.value), 80);
  assert.equal(await readdir(join(dir, 'projects')), ['counter.json']);
});

t('createStateStore picks the file store for file:// URLs and paths, refuses unknown schemes', async ({ dir }) => {
  const objectStore = createFileObjectStore();
  const viaUrl = createStateStore(`file://${dir}`, { objectStore });
  await viaUrl.put('p1', stateWith('p1', 1), null);
  const viaPath = createStateStore(dir, { objectStore });
  assert.is(counterOf((await viaPath.get('p1'))!.value), 1);
  for (const bad of ['gs://bucket/x', 'http://x/y', '']) {
    let code: string | undefined;
    try {
      createStateStore(bad, { objectStore });
    } catch (e) {
      code = (e as SyncError).code;
    }
    assert.is(code, 'invalid_config', bad);
  }
});

t.run();
