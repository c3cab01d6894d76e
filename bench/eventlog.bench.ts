// Event-log reader throughput and memory. Generates a large uncompressed log (several hundred MB)
// from the real Databricks-style fixture by repeating its jobs, stages and tasks with fresh ids and
// shifted times, into a temp dir (deleted afterwards), plus a zstd copy made with the zstd CLI. Each
// reader runs in its own child process, so heaps and peak RSS do not mix:
//   naive baseline: readline + JSON.parse of every line, counting events;
//   ours: loadApplicationModel (the full model), on plain and on zstd input.
// Env: EVENTLOG_BENCH_MB (default 300) sets the generated size.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, createReadStream, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const HERE = fileURLToPath(import.meta.url);
const ROOT = join(dirname(HERE), '..');
const SOURCE = join(ROOT, 'test/fixtures/eventlogs/rapids-tools/db_sim_eventlog');
const CHILD_FLAG = '--eventlog-bench-child';

type Ev = Record<string, any>;
type ChildResult = { ms: number; cpuMs: number; bytes: number; events: number; tasks: number; maxRssBytes: number };

/** Writes a log of about `targetBytes` and returns its size and task count. */
export function generate(path: string, targetBytes: number): { bytes: number; tasks: number } {
  const text = Buffer.concat([gunzipSync(readFileSync(join(SOURCE, 'eventlog-2021-06-15--15-00.gz'))), readFileSync(join(SOURCE, 'eventlog'))]).toString('utf8');
  const events = text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Ev);
  const firstJob = events.findIndex((e) => e.Event === 'SparkListenerJobStart');
  const end = events.findIndex((e) => e.Event === 'SparkListenerApplicationEnd');
  const head = events.slice(0, firstJob);
  const body = events.slice(firstJob, end < 0 ? events.length : end);
  const tail = end < 0 ? [] : events.slice(end);
  let maxJob = 0;
  let maxStage = 0;
  let maxTask = 0;
  let maxSql = 0;
  let t0 = Infinity;
  let t1 = 0;
  const time = (v: unknown): void => {
    if (typeof v === 'number' && v > 1e12) {
      t0 = Math.min(t0, v);
      t1 = Math.max(t1, v);
    }
  };
  for (const e of body) {
    maxJob = Math.max(maxJob, e['Job ID'] ?? 0);
    maxStage = Math.max(maxStage, e['Stage ID'] ?? e['Stage Info']?.['Stage ID'] ?? 0, ...((e['Stage IDs'] as number[] | undefined) ?? []));
    maxTask = Math.max(maxTask, e['Task Info']?.['Task ID'] ?? 0);
    maxSql = Math.max(maxSql, e.executionId ?? 0);
    for (const v of [e['Submission Time'], e['Completion Time'], e.time, e.Timestamp, e['Task Info']?.['Launch Time'], e['Task Info']?.['Finish Time']]) time(v);
  }
  const span = t1 - t0 + 1000;
  const fd = openSync(path, 'w');
  let bytes = 0;
  let tasks = 0;
  const write = (s: string): void => {
    bytes += writeSync(fd, s);
  };
  write(head.map((e) => JSON.stringify(e)).join('\n') + '\n');
  // Each repetition shifts ids past the previous one and times by the body's span.
  let reps = 0;
  for (let k = 0; bytes < targetBytes; k++, reps++) {
    const jid = (v: number): number => v + k * (maxJob + 1);
    const sid = (v: number): number => v + k * (maxStage + 1);
    const ts = (v: number): number => (typeof v === 'number' && v > 0 ? v + k * span : v);
    const out: string[] = [];
    for (const src of body) {
      const e = structuredClone(src);
      if (e['Job ID'] !== undefined) e['Job ID'] = jid(e['Job ID']);
      if (e['Stage ID'] !== undefined) e['Stage ID'] = sid(e['Stage ID']);
      if (Array.isArray(e['Stage IDs'])) e['Stage IDs'] = e['Stage IDs'].map(sid);
      for (const info of [...((e['Stage Infos'] as Ev[] | undefined) ?? []), ...(e['Stage Info'] ? [e['Stage Info']] : [])]) {
        info['Stage ID'] = sid(info['Stage ID']);
        if (Array.isArray(info['Parent IDs'])) info['Parent IDs'] = info['Parent IDs'].map(sid);
        for (const f of ['Submission Time', 'Completion Time']) if (info[f] !== undefined) info[f] = ts(info[f]);
      }
      if (e.Properties?.['spark.sql.execution.id'] !== undefined) e.Properties['spark.sql.execution.id'] = String(Number(e.Properties['spark.sql.execution.id']) + k * (maxSql + 1));
      if (e.executionId !== undefined) e.executionId += k * (maxSql + 1);
      for (const f of ['Submission Time', 'Completion Time', 'time', 'Timestamp']) if (e[f] !== undefined) e[f] = ts(e[f]);
      const ti = e['Task Info'];
      if (ti) {
        ti['Task ID'] += k * (maxTask + 1);
        for (const f of ['Launch Time', 'Finish Time', 'Getting Result Time']) ti[f] = ts(ti[f]);
      }
      if (e.Event === 'SparkListenerTaskEnd') tasks++;
      out.push(JSON.stringify(e));
    }
    write(out.join('\n') + '\n');
  }
  for (const e of tail) if (typeof e.Timestamp === 'number') e.Timestamp = t1 + (reps - 1) * span + 1000;
  write(tail.map((e) => JSON.stringify(e)).join('\n') + (tail.length ? '\n' : ''));
  closeSync(fd);
  return { bytes, tasks };
}

async function naive(path: string): Promise<{ events: number; tasks: number }> {
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let events = 0;
  let tasks = 0;
  for await (const line of rl) {
    if (line.length === 0) continue;
    const e = JSON.parse(line) as { Event?: string };
    if (e.Event) events++;
    if (e.Event === 'SparkListenerTaskEnd') tasks++;
  }
  return { events, tasks };
}

async function child(mode: string, path: string): Promise<void> {
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  let events = 0;
  let tasks = 0;
  if (mode === 'naive') ({ events, tasks } = await naive(path));
  else {
    const { loadApplicationModel } = await import('../src/adapters/eventlog-source.js');
    const m = await loadApplicationModel(path);
    tasks = m.stages.reduce((n, s) => n + s.tasks.count, 0);
    events = -1;
  }
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  const result: ChildResult = { ms, cpuMs: (cpu.user + cpu.system) / 1000, bytes: statSync(path).size, events, tasks, maxRssBytes: process.resourceUsage().maxRSS * 1024 };
  process.stdout.write(JSON.stringify(result) + '\n');
}

function runChild(mode: string, path: string): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', HERE, CHILD_FLAG, mode, path], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) reject(new Error(`${mode} child exited ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').pop() as string) as ChildResult);
    });
  });
}

const MB = 1024 * 1024;
const ROUNDS = 2;

/** Generates the log, runs each reader in a child, prints MB/s, ratio and peak RSS. */
export async function run(): Promise<void> {
  const target = Number(process.env.EVENTLOG_BENCH_MB ?? 300) * MB;
  const dir = await mkdtemp(join(tmpdir(), 'eventlog-bench-'));
  try {
    const plain = join(dir, 'app-bench');
    const t = performance.now();
    const gen = generate(plain, target);
    const zst = join(dir, 'app-bench.zstd');
    execFileSync('zstd', ['-q', '-3', '-T1', plain, '-o', zst]);
    console.log(`generated ${(gen.bytes / MB).toFixed(0)} MB plain (${gen.tasks} tasks), ${(statSync(zst).size / MB).toFixed(1)} MB zstd in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    // The machine is shared: run the readers alternately, ROUNDS times each, and keep each one's best.
    const best = (a: ChildResult | undefined, b: ChildResult): ChildResult => (a === undefined || b.ms < a.ms ? b : a);
    let base: ChildResult | undefined;
    let ours: ChildResult | undefined;
    let z: ChildResult | undefined;
    for (let round = 0; round < ROUNDS; round++) {
      base = best(base, await runChild('naive', plain));
      ours = best(ours, await runChild('ours', plain));
      z = best(z, await runChild('ours', zst));
    }
    if (!base || !ours || !z) throw new Error('no bench round ran');
    if (ours.tasks !== gen.tasks || base.tasks !== gen.tasks || z.tasks !== gen.tasks) throw new Error(`task counts differ: generated ${gen.tasks}, naive ${base.tasks}, ours ${ours.tasks}, zstd ${z.tasks}`);
    const rate = (r: ChildResult, bytes: number, ms = r.ms): number => bytes / MB / (ms / 1000);
    const baseRate = rate(base, gen.bytes);
    const ourRate = rate(ours, gen.bytes);
    const peak = Math.max(ours.maxRssBytes, z.maxRssBytes);
    console.log(`best of ${ROUNDS} alternating runs each, every run in its own process; ${gen.tasks} tasks modelled`);
    console.log(`naive baseline (readline + JSON.parse, count)  ${baseRate.toFixed(0).padStart(4)} MB/s  (CPU ${rate(base, gen.bytes, base.cpuMs).toFixed(0)} MB/s)  peak RSS ${(base.maxRssBytes / MB).toFixed(0)} MB`);
    console.log(`ours, plain (full model)                       ${ourRate.toFixed(0).padStart(4)} MB/s  (CPU ${rate(ours, gen.bytes, ours.cpuMs).toFixed(0)} MB/s)  peak RSS ${(ours.maxRssBytes / MB).toFixed(0)} MB`);
    console.log(`ratio ours/naive                               ${(ourRate / baseRate).toFixed(2)}x wall (${(base.cpuMs / ours.cpuMs).toFixed(2)}x CPU); target >= 2x`);
    console.log(`ours, zstd (full model)                        ${rate(z, gen.bytes).toFixed(0).padStart(4)} MB/s of log, ${rate(z, z.bytes).toFixed(1)} MB/s of zstd  peak RSS ${(z.maxRssBytes / MB).toFixed(0)} MB`);
    console.log(`peak RSS of ours: ${(peak / MB).toFixed(0)} MB (limit 200 MB: ${peak < 200 * MB ? 'ok' : 'EXCEEDED'})`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === CHILD_FLAG) await child(process.argv[3] ?? 'ours', process.argv[4] ?? '');
