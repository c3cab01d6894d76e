// Event-log reader throughput and memory. Generates a large uncompressed log (several hundred MB)
// from the real Databricks-style fixture by repeating its jobs, stages and tasks with fresh ids and
// shifted times, into a temp dir (deleted afterwards), plus a zstd copy made with the zstd CLI. Each
// reader runs in its own child process, so heaps and peak RSS do not mix:
//   naive baseline: readline + JSON.parse of every line, counting events;
//   ours: loadApplicationModel (the full model), on plain and on zstd input;
//   analyze: `sync-agent analyze --json` end to end (read, model, stage stats, replay, summary), its
//   command module already imported (the naive baseline's timing has no module loading either).
// Then a synthetic 1,000,000-task log (written directly, compact lines) is predicted in full
// (loadApplicationModel + predictFromModel over the catalog) in a child: wall time and peak RSS
// against the 20 s / 1 GB targets.
// zstd decode alone, native (@mongodb-js/zstd, whole buffer) against pure-JS (fzstd, streamed), on
// the same input in memory: the generated log's zstd copy, and a copy of its first 48 MB (under the
// reader's whole-buffer caps, so the size the native decoder is used for).
// Env: EVENTLOG_BENCH_ONLY=zstd runs only the zstd decode section; EVENTLOG_BENCH_MB (default 300) sets the generated size; EVENTLOG_BENCH_TASKS (default
// 1000000) the synthetic log's task count (0 skips that section); EVENTLOG_BENCH_PREDICT_LIMIT_S
// (default 120) how long that prediction may run before it is stopped and reported as missed.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIsCurrent } from '../bin/build-current.js';
import { naive } from './naive-reader.mjs';
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

/** Decodes the zstd file at `path` from memory with one decoder; `events` is the decompressed size. */
async function zstdChild(mode: string, path: string): Promise<void> {
  const input = readFileSync(path);
  let out = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  if (mode === 'zstd-native') {
    const z = await import('@mongodb-js/zstd');
    out = (await z.decompress(input)).length;
  } else {
    const { decodeZstdJs } = await import('../src/adapters/codecs/zstd.js');
    async function* pieces(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < input.length; i += 120 * 1024) yield input.subarray(i, i + 120 * 1024);
    }
    for await (const c of decodeZstdJs(pieces())) out += c.length;
  }
  const cpu = process.cpuUsage(c0);
  const result: ChildResult = { ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, bytes: input.length, events: out, tasks: 0, maxRssBytes: process.resourceUsage().maxRSS * 1024 };
  process.stdout.write(JSON.stringify(result) + '\n');
}

/** The faster of two child results (the machine is shared: each reader keeps its best run). */
const best = (a: ChildResult | undefined, b: ChildResult): ChildResult => (a === undefined || b.ms < a.ms ? b : a);

/** Prints zstd decode MB/s (of decompressed output), native against pure-JS, on each input. */
async function zstdDecodeSection(inputs: [string, string][]): Promise<void> {
  console.log(`zstd decode alone, from memory (best of ${ROUNDS} alternating runs, each in its own process; MB/s of decompressed output)`);
  for (const [label, path] of inputs) {
    let nat: ChildResult | undefined;
    let js: ChildResult | undefined;
    for (let round = 0; round < ROUNDS; round++) {
      nat = best(nat, await runChild('zstd-native', path));
      js = best(js, await runChild('zstd-js', path));
    }
    if (!nat || !js) throw new Error('no zstd round ran');
    if (nat.events !== js.events) throw new Error(`zstd decoders disagree on ${label}: native ${nat.events} bytes, fzstd ${js.events}`);
    const r = (c: ChildResult): string => (c.events / MB / (c.ms / 1000)).toFixed(0).padStart(5);
    console.log(`  ${label}: native ${r(nat)} MB/s  peak RSS ${(nat.maxRssBytes / MB).toFixed(0)} MB | pure-JS ${r(js)} MB/s  peak RSS ${(js.maxRssBytes / MB).toFixed(0)} MB | native/JS ${(js.ms / nat.ms).toFixed(2)}x`);
  }
}

async function child(mode: string, path: string): Promise<void> {
  if (mode.startsWith('zstd-')) return zstdChild(mode, path);
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  let events = 0;
  let tasks = 0;
  if (mode === 'naive') ({ events, tasks } = await naive(path));
  else if (mode === 'analyze' || mode === 'predict') {
    const [{ run: analyze, summarize }, { loadApplicationModel }, { predictFromModel }, { loadCatalog }] = await Promise.all([
      import('../src/cli/commands/analyze.js'),
      import('../src/adapters/eventlog-source.js'),
      import('../src/domain/prediction/predict.js'),
      import('../src/adapters/prediction/catalog-file.js'),
    ]);
    const catalog = mode === 'predict' ? loadCatalog() : undefined;
    // Timed from here: the modules are loaded, as the naive baseline's are.
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    let out = '';
    if (catalog) {
      const model = await loadApplicationModel(path);
      const outcome = predictFromModel(model, undefined, { catalog });
      out = JSON.stringify(outcome.solutions);
      tasks = model.stages.reduce((n, s) => n + s.tasks.count, 0);
      events = outcome.candidates.length;
    } else {
      const io = { out: (t: string) => (out += t), err: (t: string) => process.stderr.write(t + '\n'), cwd: process.cwd(), env: process.env };
      const code = await analyze([path, '--json'], io as Parameters<typeof analyze>[1]);
      if (code !== 0) throw new Error(`analyze exited ${code}`);
      tasks = (JSON.parse(out) as ReturnType<typeof summarize>).tasks as number;
      events = -1;
    }
    const cpu = process.cpuUsage(c0);
    const result: ChildResult = { ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, bytes: statSync(path).size, events, tasks, maxRssBytes: process.resourceUsage().maxRSS * 1024 };
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  } else {
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

function runChild(mode: string, path: string, limitMs?: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', HERE, CHILD_FLAG, mode, path], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let killed = false;
    const timer = limitMs === undefined ? undefined : setTimeout(() => ((killed = true), p.kill('SIGKILL')), limitMs);
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      if (killed) reject(new Error(`${mode} child stopped after ${((limitMs ?? 0) / 1000).toFixed(0)} s`));
      else if (code !== 0) reject(new Error(`${mode} child exited ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').pop() as string) as ChildResult);
    });
  });
}

const MB = 1024 * 1024;
const ROUNDS = 2;

/** Wall and CPU (user + system, from bash's time keyword) of one whole command, start-up included. */
function timeCommand(argv: string[]): { ms: number; cpuMs: number } {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const t0 = performance.now();
  const r = spawnSync('bash', ['-c', `TIMEFORMAT='%U %S'; time ${quoted} >/dev/null`], { cwd: ROOT, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  const [user, sys] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { ms, cpuMs: ((user ?? NaN) + (sys ?? NaN)) * 1000 };
}

/**
 * The commands as a user runs them, each a whole process with Node's start-up and module loading:
 * `sync-agent analyze LOG --json` (bin/sync-agent.js) against `node bench/naive-reader.mjs LOG`.
 */
async function commandsSection(plain: string): Promise<void> {
  const built = buildIsCurrent(ROOT);
  let base: { ms: number; cpuMs: number } | undefined;
  let cli: { ms: number; cpuMs: number } | undefined;
  for (let round = 0; round < ROUNDS; round++) {
    const b = timeCommand([process.execPath, join(ROOT, 'bench', 'naive-reader.mjs'), plain]);
    const c = timeCommand([process.execPath, join(ROOT, 'bin', 'sync-agent.js'), 'analyze', plain, '--json']);
    if (!base || b.ms < base.ms) base = b;
    if (!cli || c.ms < cli.ms) cli = c;
  }
  if (!base || !cli) throw new Error('no command round ran');
  console.log(
    `the commands, whole processes (start-up included; best of ${ROUNDS}): sync-agent analyze --json ${(cli.ms / 1000).toFixed(2)} s wall, ${(cli.cpuMs / 1000).toFixed(2)} s CPU` +
      ` vs node naive-reader.mjs ${(base.ms / 1000).toFixed(2)} s wall, ${(base.cpuMs / 1000).toFixed(2)} s CPU: ${(base.ms / cli.ms).toFixed(2)}x wall (${(base.cpuMs / cli.cpuMs).toFixed(2)}x CPU)` +
      (built ? ' (bin ran dist/)' : ' (dist/ is older than src/: bin ran the sources through tsx; `npm run build` first for the installed figure)'),
  );
}

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
    const small = join(dir, 'app-bench-48mb.zstd');
    execFileSync('sh', ['-c', 'head -c 50331648 "$1" | zstd -q -3 -T1 -o "$2"', 'sh', plain, small]);
    const zstdInputs: [string, string][] = [
      [`${(gen.bytes / MB).toFixed(0)} MB log (${(statSync(zst).size / MB).toFixed(1)} MB zstd)`, zst],
      [`48 MB log (${(statSync(small).size / MB).toFixed(1)} MB zstd, streamed frame)`, small],
    ];
    if (process.env.EVENTLOG_BENCH_ONLY === 'zstd') {
      await zstdDecodeSection(zstdInputs);
      return;
    }

    // The machine is shared: run the readers alternately, ROUNDS times each, and keep each one's best.
    let base: ChildResult | undefined;
    let ours: ChildResult | undefined;
    let z: ChildResult | undefined;
    let an: ChildResult | undefined;
    for (let round = 0; round < ROUNDS; round++) {
      base = best(base, await runChild('naive', plain));
      ours = best(ours, await runChild('ours', plain));
      an = best(an, await runChild('analyze', plain));
      z = best(z, await runChild('ours', zst));
    }
    if (!base || !ours || !z || !an) throw new Error('no bench round ran');
    if (ours.tasks !== gen.tasks || base.tasks !== gen.tasks || z.tasks !== gen.tasks || an.tasks !== gen.tasks) {
      throw new Error(`task counts differ: generated ${gen.tasks}, naive ${base.tasks}, ours ${ours.tasks}, zstd ${z.tasks}, analyze ${an.tasks}`);
    }
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
    console.log(`analyze end to end (--json)  ${(an.ms / 1000).toFixed(2)} s wall, ${(an.cpuMs / 1000).toFixed(2)} s CPU  vs naive ${(base.ms / 1000).toFixed(2)} s wall, ${(base.cpuMs / 1000).toFixed(2)} s CPU`);
    console.log(`ratio naive/analyze          ${(base.ms / an.ms).toFixed(2)}x wall (${(base.cpuMs / an.cpuMs).toFixed(2)}x CPU); target >= 2x (analyze in at most half the naive time)  peak RSS ${(an.maxRssBytes / MB).toFixed(0)} MB`);
    await commandsSection(plain);
    await zstdDecodeSection(zstdInputs);
    await rm(plain, { force: true });
    await rm(zst, { force: true });

    const million = Number(process.env.EVENTLOG_BENCH_TASKS ?? 1_000_000);
    if (million > 0) {
      const big = join(dir, 'app-million');
      const g0 = performance.now();
      const made = generateTasks(big, million);
      console.log(`\ngenerated a synthetic log of ${made.tasks} tasks (${made.stages} stages, ${(made.bytes / MB).toFixed(0)} MB) in ${((performance.now() - g0) / 1000).toFixed(1)} s`);
      // One run, bounded: far over target it would otherwise hold the bench for many minutes.
      const limitMs = Number(process.env.EVENTLOG_BENCH_PREDICT_LIMIT_S ?? 120) * 1000;
      const pr = await runChild('predict', big, limitMs).catch((e: Error) => {
        console.log(`full prediction of ${made.tasks} tasks: not finished (${e.message}); target <= 20 s: MISSED`);
        return undefined;
      });
      if (!pr) return;
      if (pr.tasks !== made.tasks) throw new Error(`task counts differ: generated ${made.tasks}, modelled ${pr.tasks}`);
      const okTime = pr.ms <= 20_000 ? 'ok' : 'MISSED';
      const okRss = pr.maxRssBytes <= 1024 * MB ? 'ok' : 'MISSED';
      console.log(`full prediction of ${made.tasks} tasks (read + model + ${pr.events} candidates), one run: ${(pr.ms / 1000).toFixed(1)} s wall (${(pr.cpuMs / 1000).toFixed(1)} s CPU), target <= 20 s: ${okTime}; peak RSS ${(pr.maxRssBytes / MB).toFixed(0)} MB, target <= 1024 MB: ${okRss}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Writes a synthetic cluster log of `tasks` successful tasks, fast (lines from templates, written in
 * ~1 MB pieces): 40 executors x 4 cores, jobs of two stages (a map stage writing shuffle, a reduce
 * stage reading it) of 5,000 tasks each, tasks placed on the earliest free slot with seeded random
 * durations, so launch and finish times are consistent. Compact TaskEnd lines (one accumulable).
 */
export function generateTasks(path: string, tasks: number): { bytes: number; tasks: number; stages: number } {
  const fd = openSync(path, 'w');
  let bytes = 0;
  let buf: string[] = [];
  let pending = 0;
  const line = (s: string): void => {
    buf.push(s);
    pending += s.length + 1;
    if (pending > MB) flush();
  };
  const flush = (): void => {
    if (buf.length === 0) return;
    bytes += writeSync(fd, buf.join('\n') + '\n');
    buf = [];
    pending = 0;
  };
  let seed = 12345;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const executors = 40;
  const cores = 4;
  const perStage = 5000;
  const t0 = 1_700_000_000_000;
  line('{"Event":"SparkListenerLogStart","Spark Version":"3.3.0"}');
  line(
    '{"Event":"SparkListenerEnvironmentUpdate","JVM Information":{},"Spark Properties":{"spark.master":"yarn","spark.executor.cores":"4","spark.executor.memory":"8g","spark.executor.instances":"40","spark.dynamicAllocation.enabled":"false"},"System Properties":{},"Classpath Entries":{}}',
  );
  line(`{"Event":"SparkListenerApplicationStart","App Name":"million","App ID":"application_1_0001","Timestamp":${t0},"User":"bench"}`);
  for (let e = 1; e <= executors; e++) {
    line(`{"Event":"SparkListenerExecutorAdded","Timestamp":${t0 + 1000},"Executor ID":"${e}","Executor Info":{"Host":"10.0.${e >> 8}.${e & 255}","Total Cores":${cores},"Log Urls":{},"Resource Profile Id":0}}`);
  }
  const slots = executors * cores;
  const free = new Float64Array(slots).fill(t0 + 2000);
  let taskId = 0;
  let stageId = 0;
  let job = 0;
  let now = t0 + 2000;
  while (taskId < tasks) {
    const mapStage = stageId;
    const stageIds = [mapStage, mapStage + 1];
    const info = (sid: number, n: number, parents: number[], extra: string): string =>
      `{"Stage ID":${sid},"Stage Attempt ID":0,"Stage Name":"stage ${sid}","Number of Tasks":${n},"RDD Info":[],"Parent IDs":[${parents.join(',')}],"Details":""${extra}}`;
    const counts = stageIds.map((_, k) => Math.max(0, Math.min(perStage, tasks - taskId - k * perStage)));
    line(`{"Event":"SparkListenerJobStart","Job ID":${job},"Submission Time":${now},"Stage Infos":[${stageIds.map((sid, k) => info(sid, counts[k]!, k === 0 ? [] : [mapStage], '')).join(',')}],"Stage IDs":[${stageIds.join(',')}],"Properties":{}}`);
    for (let k = 0; k < 2; k++) {
      const sid = stageIds[k]!;
      const n = counts[k]!;
      if (n === 0) continue;
      const submitted = now;
      line(`{"Event":"SparkListenerStageSubmitted","Stage Info":${info(sid, n, k === 0 ? [] : [mapStage], `,"Submission Time":${submitted}`)},"Properties":{}}`);
      free.fill(submitted + 5);
      let end = submitted;
      for (let i = 0; i < n; i++, taskId++) {
        let s = 0;
        for (let j = 1; j < slots; j++) if (free[j]! < free[s]!) s = j;
        const launch = free[s]! + 1 + Math.floor(rand() * 3);
        const run = 200 + Math.floor(rand() * (k === 0 ? 1800 : 900));
        const finish = launch + run + 10;
        free[s] = finish;
        end = Math.max(end, finish);
        const exec = (s % executors) + 1;
        const host = `10.0.${exec >> 8}.${exec & 255}`;
        const cpu = Math.floor(run * 0.8) * 1_000_000;
        const shuffle = k === 0 ? `"Shuffle Bytes Written":${40_000_000 + Math.floor(rand() * 1e7)},"Shuffle Write Time":${5_000_000},"Shuffle Records Written":1000` : `"Shuffle Bytes Written":0,"Shuffle Write Time":0,"Shuffle Records Written":0`;
        const read = k === 1 ? `"Remote Blocks Fetched":40,"Local Blocks Fetched":1,"Fetch Wait Time":${Math.floor(rand() * 20)},"Remote Bytes Read":${30_000_000},"Remote Bytes Read To Disk":0,"Local Bytes Read":${1_000_000},"Total Records Read":1000` : `"Remote Blocks Fetched":0,"Local Blocks Fetched":0,"Fetch Wait Time":0,"Remote Bytes Read":0,"Remote Bytes Read To Disk":0,"Local Bytes Read":0,"Total Records Read":0`;
        const input = k === 0 ? 64_000_000 : 0;
        line(`{"Event":"SparkListenerTaskStart","Stage ID":${sid},"Stage Attempt ID":0,"Task Info":{"Task ID":${taskId},"Index":${i},"Attempt":0,"Launch Time":${launch},"Executor ID":"${exec}","Host":"${host}","Locality":"PROCESS_LOCAL","Speculative":false,"Getting Result Time":0,"Finish Time":0,"Failed":false,"Killed":false,"Accumulables":[]}}`);
        line(
          `{"Event":"SparkListenerTaskEnd","Stage ID":${sid},"Stage Attempt ID":0,"Task Type":"${k === 0 ? 'ShuffleMapTask' : 'ResultTask'}","Task End Reason":{"Reason":"Success"},"Task Info":{"Task ID":${taskId},"Index":${i},"Attempt":0,"Launch Time":${launch},"Executor ID":"${exec}","Host":"${host}","Locality":"PROCESS_LOCAL","Speculative":false,"Getting Result Time":0,"Finish Time":${finish},"Failed":false,"Killed":false,"Accumulables":[{"ID":1,"Name":"number of output rows","Update":"1000","Value":"${(i + 1) * 1000}","Internal":true,"Count Failed Values":true}]},"Task Metrics":{"Executor Deserialize Time":5,"Executor Deserialize CPU Time":4000000,"Executor Run Time":${run},"Executor CPU Time":${cpu},"Peak Execution Memory":${64 * MB},"Result Size":2000,"JVM GC Time":${Math.floor(run / 50)},"Result Serialization Time":0,"Memory Bytes Spilled":0,"Disk Bytes Spilled":0,"Shuffle Read Metrics":{${read}},"Shuffle Write Metrics":{${shuffle}},"Input Metrics":{"Bytes Read":${input},"Records Read":1000},"Output Metrics":{"Bytes Written":0,"Records Written":0},"Updated Blocks":[]}}`,
        );
      }
      line(`{"Event":"SparkListenerStageCompleted","Stage Info":${info(sid, n, k === 0 ? [] : [mapStage], `,"Submission Time":${submitted},"Completion Time":${end + 5}`)}}`);
      now = end + 20;
    }
    line(`{"Event":"SparkListenerJobEnd","Job ID":${job},"Completion Time":${now},"Job Result":{"Result":"JobSucceeded"}}`);
    now += 500;
    stageId += 2;
    job++;
  }
  line(`{"Event":"SparkListenerApplicationEnd","Timestamp":${now + 1000}}`);
  flush();
  closeSync(fd);
  return { bytes, tasks: taskId, stages: stageId };
}

if (process.argv[2] === CHILD_FLAG) await child(process.argv[3] ?? 'ours', process.argv[4] ?? '');
