// A deliberately simple, slow reference reading of an event log for tests: whole-file decompression,
// JSON.parse of every line, and a millisecond-by-millisecond timeline for job time. It shares no code
// with the reader under test.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { decompress } from 'fzstd';

type Ev = Record<string, any>;

/** Every event of a fixture file or Databricks/rolling directory, decompressed whole. */
export function referenceEvents(path: string): Ev[] {
  const files: string[] = [];
  if (statSync(path).isDirectory()) {
    const names = readdirSync(path);
    const rolled = names.filter((n) => n.startsWith('eventlog-')).sort();
    const rolling = names.filter((n) => n.startsWith('events_')).sort((a, b) => Number(a.split('_')[1]) - Number(b.split('_')[1]));
    files.push(...rolled, ...rolling, ...names.filter((n) => n === 'eventlog'));
    for (let i = 0; i < files.length; i++) files[i] = join(path, files[i] as string);
  } else files.push(path);
  const out: Ev[] = [];
  for (const f of files) {
    let bytes: Uint8Array = readFileSync(f);
    if (f.endsWith('.zstd')) bytes = decompress(bytes);
    else if (f.endsWith('.gz')) bytes = gunzipSync(bytes);
    for (const line of Buffer.from(bytes).toString('utf8').split('\n')) if (line.trim()) out.push(JSON.parse(line) as Ev);
  }
  return out;
}

export type Reference = {
  jobs: number;
  stageAttempts: number;
  tasks: number;
  executors: number;
  durationMs: number;
  driverMs: number;
  failedTasks: number;
  sums: { runMs: number; cpuMs: number; inputBytes: number; shuffleWriteBytes: number; shuffleReadBytes: number; spillBytes: number; gcMs: number };
};

/** Counts and durations computed the slow way from parsed events. */
export function reference(events: Ev[]): Reference {
  const byType = (t: string): Ev[] => events.filter((e) => e.Event === t);
  const appStart = byType('SparkListenerApplicationStart')[0]?.Timestamp as number;
  const appEnd = byType('SparkListenerApplicationEnd')[0]?.Timestamp as number;

  const jobIds = new Set(byType('SparkListenerJobStart').map((e) => e['Job ID'] as number));

  const attempts = new Set<string>();
  for (const e of [...byType('SparkListenerStageSubmitted'), ...byType('SparkListenerStageCompleted')]) attempts.add(`${e['Stage Info']['Stage ID']}.${e['Stage Info']['Stage Attempt ID'] ?? 0}`);
  for (const e of byType('SparkListenerTaskEnd')) attempts.add(`${e['Stage ID']}.${e['Stage Attempt ID'] ?? 0}`);
  const ranStages = new Set([...attempts].map((a) => a.split('.')[0]));
  for (const e of byType('SparkListenerJobStart')) for (const s of e['Stage IDs'] as number[]) if (!ranStages.has(String(s))) attempts.add(`${s}.0`);

  const ends = byType('SparkListenerTaskEnd');
  const ended = new Set(ends.map((e) => e['Task Info']['Task ID'] as number));
  const unfinished = byType('SparkListenerTaskStart').filter((e) => !ended.has(e['Task Info']['Task ID'] as number)).length;

  const norm = (id: string): string => (id === '<driver>' ? 'driver' : id);
  const execs = new Set<string>(byType('SparkListenerExecutorAdded').map((e) => norm(String(e['Executor ID']))));
  for (const e of [...ends, ...byType('SparkListenerTaskStart')]) execs.add(norm(String(e['Task Info']['Executor ID'])));

  // Job time on a millisecond timeline: a job's span is its submission..completion, else its
  // stages' and tasks' earliest and latest times; jobs of one SQL execution count as one span.
  const stageTimes = new Map<number, number[]>();
  const note = (s: number, t: number | undefined): void => {
    if (typeof t !== 'number' || t <= 0) return;
    const list = stageTimes.get(s) ?? [];
    list.push(t);
    stageTimes.set(s, list);
  };
  for (const e of [...byType('SparkListenerStageSubmitted'), ...byType('SparkListenerStageCompleted')]) {
    note(e['Stage Info']['Stage ID'], e['Stage Info']['Submission Time']);
    note(e['Stage Info']['Stage ID'], e['Stage Info']['Completion Time']);
  }
  for (const e of ends) {
    note(e['Stage ID'], e['Task Info']['Launch Time']);
    note(e['Stage ID'], e['Task Info']['Finish Time']);
  }
  const completions = new Map<number, number | undefined>(byType('SparkListenerJobEnd').map((e) => [e['Job ID'], e['Completion Time']]));
  const spans = new Map<string, [number, number]>();
  for (const e of byType('SparkListenerJobStart')) {
    const times = (e['Stage IDs'] as number[]).flatMap((s) => stageTimes.get(s) ?? []);
    const start: number = e['Submission Time'] ?? Math.min(...times);
    const end: number = completions.get(e['Job ID']) ?? Math.max(...times);
    const sqlId = e.Properties?.['spark.sql.execution.id'];
    const key = sqlId !== undefined ? `sql ${sqlId}` : `job ${e['Job ID']}`;
    const prev = spans.get(key);
    spans.set(key, prev ? [Math.min(prev[0], start), Math.max(prev[1], end)] : [start, end]);
  }
  const timeline = new Uint8Array(appEnd - appStart);
  for (const [s, e] of spans.values()) for (let t = Math.max(s, appStart); t < Math.min(e, appEnd); t++) timeline[t - appStart] = 1;
  let idle = 0;
  for (const v of timeline) if (v === 0) idle++;

  const sums = { runMs: 0, cpuMs: 0, inputBytes: 0, shuffleWriteBytes: 0, shuffleReadBytes: 0, spillBytes: 0, gcMs: 0 };
  let failed = 0;
  for (const e of ends) {
    if (e['Task End Reason']?.Reason !== 'Success') failed++;
    const m = e['Task Metrics'];
    if (!m) continue;
    sums.runMs += m['Executor Run Time'] ?? 0;
    sums.cpuMs += (m['Executor CPU Time'] ?? 0) / 1e6;
    sums.inputBytes += m['Input Metrics']?.['Bytes Read'] ?? 0;
    sums.shuffleWriteBytes += m['Shuffle Write Metrics']?.['Shuffle Bytes Written'] ?? 0;
    sums.shuffleReadBytes += (m['Shuffle Read Metrics']?.['Remote Bytes Read'] ?? 0) + (m['Shuffle Read Metrics']?.['Local Bytes Read'] ?? 0);
    sums.spillBytes += (m['Memory Bytes Spilled'] ?? 0) + (m['Disk Bytes Spilled'] ?? 0);
    sums.gcMs += m['JVM GC Time'] ?? 0;
  }

  return {
    jobs: jobIds.size,
    stageAttempts: attempts.size,
    tasks: ends.length + unfinished,
    executors: execs.size,
    durationMs: appEnd - appStart,
    driverMs: idle,
    failedTasks: failed,
    sums,
  };
}
