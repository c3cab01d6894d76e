// Builds the ApplicationModel from the lines of a Spark event log (one JSON event per line).
// Pure: no I/O. Lines whose event the model does not use are skipped on their "Event" prefix without a
// JSON parse; successful TaskEnd lines (the bulk of a log) are read by key without one, from their
// bytes when the reader hands over bytes (acceptBytes; task-end-scanner.ts), and other TaskEnd lines are parsed in pieces that leave out the accumulables,
// which are most of their bytes; TaskStart lines are held unparsed until their TaskEnd, which says
// everything they did, and only those of tasks that never ended are parsed. The rest is parsed whole.
import { planSkeleton } from './plan-skeleton.js';
import { SyncError } from '../errors.js';
import type { ApplicationModel, Executor, Job, ResourceProfile, SqlExecution, StageAttempt, TaskFailure } from './model.js';
import { maskSecrets, readSparkSettings } from './spark-settings.js';
import { scanSuccessfulTaskEnd, scanTaskId } from './task-end-scanner.js';
import type { ScannedTaskInfo } from './task-end-scanner.js';
import { clearTaskRow, createTaskTableBuilder, emptyTaskRow } from './task-table.js';
import type { TaskRow, TaskTableBuilder } from './task-table.js';

/** Options of the model builder. */
export type BuildOptions = {
  /** Name of the log in messages (a path or URL). */
  source?: string;
  /** Parse every task line whole (slower; the reference the fast paths are checked against). */
  fullParse?: boolean;
};

/** A push-style builder: feed lines in order, then `finish()` once. */
export type ModelBuilder = {
  /** Consumes one line; throws SyncError 'corrupt_data' when the line is not a JSON event. */
  accept(line: string): void;
  /**
   * Consumes the line b[start, end) (UTF-8, without its newline), as `accept` would its text. The
   * builder may refer to `b` until `release()`: call it before the bytes change or other bytes come.
   */
  acceptBytes(b: Buffer, start: number, end: number): void;
  /** Copies out what the builder still refers to in the bytes given to acceptBytes. */
  release(): void;
  /** Records something the reader tolerated, to be listed in `model.warnings`. */
  warn(message: string): void;
  /** Completes the model (tasks still running are kept with status 3). */
  finish(): ApplicationModel;
  /** Lines consumed so far (empty lines included). */
  readonly lines: number;
  /** Non-empty lines consumed so far (events, whether the model used them or not). */
  readonly events: number;
};

type Json = Record<string, unknown>;

// Events the model reads; every other event is skipped without being parsed.
const USED_EVENTS = new Set([
  'SparkListenerLogStart',
  'SparkListenerApplicationStart',
  'SparkListenerApplicationEnd',
  'SparkListenerEnvironmentUpdate',
  'SparkListenerResourceProfileAdded',
  'SparkListenerExecutorAdded',
  'SparkListenerExecutorRemoved',
  'SparkListenerBlockManagerAdded',
  'SparkListenerStageExecutorMetrics',
  'SparkListenerJobStart',
  'SparkListenerJobEnd',
  'SparkListenerStageSubmitted',
  'SparkListenerStageCompleted',
  'SparkListenerTaskStart',
  'SparkListenerTaskEnd',
  'org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart',
  'org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionEnd',
]);

const EVENT_PREFIX = '{"Event":"';
const TASK_END_PREFIX = '{"Event":"SparkListenerTaskEnd",';
const TASK_START_PREFIX = '{"Event":"SparkListenerTaskStart",';
const TASK_END_BYTES = Buffer.from(TASK_END_PREFIX, 'latin1');
const TASK_START_BYTES = Buffer.from(TASK_START_PREFIX, 'latin1');
const LONE_SURROGATE = /\p{Cs}/u;

/** True when b[start, end) starts with `prefix`. */
function startsWith(b: Buffer, start: number, end: number, prefix: Buffer): boolean {
  const n = prefix.length;
  if (end - start < n) return false;
  for (let i = 0; i < n; i++) if (b[start + i] !== prefix[i]) return false;
  return true;
}

type StageState = {
  attempt: Omit<StageAttempt, 'tasks' | 'jobIds'>;
  table: TaskTableBuilder;
};

/** A task seen starting and not yet ending (kept small: there is one per running task). */
type RunningTask = { stageId: number; attemptId: number; index: number; launchTime: number; executor: number; speculative: number };

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const n0 = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const obj = (v: unknown): Json | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);
const numArray = (v: unknown): number[] => (Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number') : []);

/** A copy of `s` that does not share storage with the (possibly much larger) string it was cut from. */
const own = (s: string): string => (' ' + s).slice(1);

/** Spark 1.x names the local-mode driver "<driver>", later versions "driver". */
const executorIdOf = (v: unknown): string | undefined => {
  const s = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
  return s === '<driver>' ? 'driver' : s;
};

/** The name in a line that starts `{"Event":"NAME"`, or undefined when the line is shaped otherwise. */
function eventNameOf(line: string): string | undefined {
  if (!line.startsWith(EVENT_PREFIX)) return undefined;
  const end = line.indexOf('"', EVENT_PREFIX.length);
  return end < 0 ? undefined : line.slice(EVENT_PREFIX.length, end);
}

/** A human reason for a task end that is not Success. */
function reasonText(reason: Json): string {
  const kind = str(reason.Reason) ?? 'Unknown';
  switch (kind) {
    case 'ExceptionFailure': {
      const cls = str(reason['Class Name']) ?? '';
      const desc = str(reason.Description) ?? '';
      return `ExceptionFailure: ${cls}${desc ? `: ${desc}` : ''}`;
    }
    case 'ExecutorLostFailure':
      return `ExecutorLostFailure: ${str(reason['Loss Reason']) ?? 'executor lost'}`;
    case 'FetchFailed':
      return `FetchFailed: ${str(reason.Message) ?? ''}`.trimEnd();
    case 'TaskKilled':
      return `TaskKilled: ${str(reason['Kill Reason']) ?? ''}`.trimEnd();
    default:
      return kind;
  }
}

type TaskEndParts = { head: Json; info: Json; metrics: Json | undefined };

/**
 * Splits a TaskEnd line into its head (event, stage, reason), the scalar part of "Task Info" and
 * "Task Metrics", skipping "Accumulables" and "Task Executor Metrics". Spark's JsonProtocol writes
 * these fields in this order in every version; when a line is shaped otherwise the result is
 * undefined and the caller parses it whole.
 */
function splitTaskEnd(line: string): TaskEndParts | undefined {
  const iInfo = line.indexOf(',"Task Info":{');
  if (iInfo < 0) return undefined;
  const infoStart = iInfo + ',"Task Info":'.length;
  const iAcc = line.indexOf(',"Accumulables":', infoStart);
  if (iAcc < 0) return undefined;
  const iMet = line.lastIndexOf(',"Task Metrics":');
  if (iMet >= 0 && iMet < iAcc) return undefined;
  try {
    const head = JSON.parse(line.slice(0, iInfo) + '}') as Json;
    const info = JSON.parse(line.slice(infoStart, iAcc) + '}') as Json;
    const metrics = iMet < 0 ? undefined : obj((JSON.parse('{' + line.slice(iMet + 1)) as Json)['Task Metrics']);
    return { head, info, metrics };
  } catch {
    return undefined;
  }
}

/** Creates a builder that turns event-log lines into an ApplicationModel. */
export function createModelBuilder(options: BuildOptions = {}): ModelBuilder {
  const source = options.source ?? 'event log';
  const warnings: string[] = [];
  let lineNo = 0;
  let blankLines = 0;

  let appId = '';
  let appName = '';
  let attemptId: string | undefined;
  let sparkVersion: string | undefined;
  let user: string | undefined;
  let logStartSeen = false;
  let appStart: number | undefined;
  let appEnd: number | undefined;
  let minTs = Infinity;
  let maxTs = -Infinity;
  let sparkProperties: Record<string, string> = {};

  const executors: Executor[] = [];
  const executorIndex = new Map<string, number>();
  const executorSynthetic = new Set<number>();
  const blockManagerMem = new Map<string, number>();
  const profiles = new Map<number, ResourceProfile>();
  const jobs = new Map<number, Job>();
  const stageJobs = new Map<number, Set<number>>();
  const stageDeclared = new Map<number, { name: string; numTasks: number; parentIds: number[]; resourceProfileId: number }>();
  const stages = new Map<number, Map<number, StageState>>();
  const running = new Map<number, RunningTask>();
  // TaskStart lines by task id, kept (as copies) until their TaskEnd; only the ones never ended are
  // ever parsed, at finish(). The TaskEnd carries everything the TaskStart did.
  const startedLines = new Map<number, string>();
  // TaskStart lines given as bytes (acceptBytes), by task id: where they are in `startedIn`, decoded
  // into startedLines only by release() (most tasks end in the same stretch of bytes; then the line is
  // never decoded).
  const startedAt = new Map<number, { start: number; end: number }>();
  let startedIn: Buffer | undefined;
  const sql = new Map<number, SqlExecution>();
  const taskFailures: TaskFailure[] = [];
  const row = emptyTaskRow();

  const seen = (ts: number | undefined): void => {
    if (ts === undefined || ts <= 0) return;
    if (ts < minTs) minTs = ts;
    if (ts > maxTs) maxTs = ts;
  };

  const executorFor = (id: string, host: string | undefined, at: number): number => {
    const known = executorIndex.get(id);
    if (known !== undefined) return known;
    const i = executors.length;
    // Copies, so the kept strings do not pin the chunk of log text they were cut from.
    const ownId = own(id);
    executors.push({ id: ownId, host: own(host ?? ''), cores: 0, addedAt: at, resourceProfileId: 0 });
    executorIndex.set(ownId, i);
    executorSynthetic.add(i);
    return i;
  };

  const stageState = (stageId: number, attemptId: number, info?: Json): StageState => {
    let attempts = stages.get(stageId);
    if (!attempts) stages.set(stageId, (attempts = new Map()));
    let st = attempts.get(attemptId);
    if (!st) {
      const declared = stageDeclared.get(stageId);
      const numTasks = num(info?.['Number of Tasks']) ?? declared?.numTasks ?? 0;
      st = {
        attempt: {
          stageId,
          attemptId,
          name: str(info?.['Stage Name']) ?? declared?.name ?? '',
          numTasks,
          parentIds: info && Array.isArray(info['Parent IDs']) ? numArray(info['Parent IDs']) : (declared?.parentIds ?? []),
          skipped: false,
          resourceProfileId: num(info?.['Resource Profile Id']) ?? declared?.resourceProfileId ?? 0,
        },
        table: createTaskTableBuilder(Math.max(1, Math.min(numTasks, 1 << 16))),
      };
      attempts.set(attemptId, st);
    }
    return st;
  };

  const updateStage = (info: Json, completed: boolean): void => {
    const stageId = num(info['Stage ID']);
    if (stageId === undefined) return;
    const st = stageState(stageId, num(info['Stage Attempt ID']) ?? 0, info);
    const a = st.attempt;
    const name = str(info['Stage Name']);
    if (name !== undefined) a.name = name;
    const numTasks = num(info['Number of Tasks']);
    if (numTasks !== undefined) a.numTasks = numTasks;
    if (Array.isArray(info['Parent IDs'])) a.parentIds = numArray(info['Parent IDs']);
    const rp = num(info['Resource Profile Id']);
    if (rp !== undefined) a.resourceProfileId = rp;
    const sub = num(info['Submission Time']);
    if (sub !== undefined) a.submissionTime = sub;
    seen(sub);
    if (completed) {
      const done = num(info['Completion Time']);
      if (done !== undefined) a.completionTime = done;
      seen(done);
      const failure = str(info['Failure Reason']);
      if (failure !== undefined) a.failureReason = failure;
    }
  };

  const fillTaskInfo = (info: Json, r: TaskRow): void => {
    r.index = num(info.Index) ?? -1;
    r.launchTime = n0(info['Launch Time']);
    r.finishTime = n0(info['Finish Time']);
    r.speculative = info.Speculative === true ? 1 : 0;
    const exec = executorIdOf(info['Executor ID']);
    r.executor = exec === undefined ? -1 : executorFor(exec, str(info.Host), r.launchTime);
    seen(r.launchTime);
    seen(r.finishTime);
  };

  const fillMetrics = (m: Json, r: TaskRow): void => {
    r.executorRunTimeMs = n0(m['Executor Run Time']);
    r.executorCpuTimeMs = n0(m['Executor CPU Time']) / 1e6;
    r.executorDeserializeTimeMs = n0(m['Executor Deserialize Time']);
    r.resultSerializationTimeMs = n0(m['Result Serialization Time']);
    r.gcTimeMs = n0(m['JVM GC Time']);
    r.memorySpillBytes = n0(m['Memory Bytes Spilled']);
    r.diskSpillBytes = n0(m['Disk Bytes Spilled']);
    r.peakExecutionMemoryBytes = n0(m['Peak Execution Memory']);
    const input = obj(m['Input Metrics']);
    r.inputBytes = input ? n0(input['Bytes Read']) : 0;
    const output = obj(m['Output Metrics']);
    r.outputBytes = output ? n0(output['Bytes Written']) : 0;
    const sr = obj(m['Shuffle Read Metrics']);
    if (sr) {
      r.shuffleRemoteReadBytes = n0(sr['Remote Bytes Read']);
      r.shuffleReadBytes = r.shuffleRemoteReadBytes + n0(sr['Local Bytes Read']);
      r.shuffleFetchWaitMs = n0(sr['Fetch Wait Time']);
    }
    const sw = obj(m['Shuffle Write Metrics']);
    if (sw) {
      r.shuffleWriteBytes = n0(sw['Shuffle Bytes Written']);
      r.shuffleWriteTimeMs = n0(sw['Shuffle Write Time']) / 1e6;
    }
  };

  let cachedStage: StageState | undefined;
  const stageFor = (stageId: number, attemptId: number): StageState => {
    if (cachedStage && cachedStage.attempt.stageId === stageId && cachedStage.attempt.attemptId === attemptId) return cachedStage;
    return (cachedStage = stageState(stageId, attemptId));
  };

  /** Derives the timing columns of `row` and appends it to its stage attempt. */
  const commitTask = (stageId: number, attemptId: number, taskId: number | undefined, gettingResultAt: number): void => {
    row.gettingResultTimeMs = gettingResultAt > 0 && row.finishTime > 0 ? row.finishTime - gettingResultAt : 0;
    if (row.finishTime > 0 && row.launchTime > 0) {
      const total = row.finishTime - row.launchTime;
      row.schedulerDelayMs = Math.max(
        0,
        total - row.executorRunTimeMs - row.executorDeserializeTimeMs - row.resultSerializationTimeMs - row.gettingResultTimeMs,
      );
    }
    if (taskId !== undefined) {
      if (startedAt.size > 0) startedAt.delete(taskId);
      if (startedLines.size > 0) startedLines.delete(taskId);
      if (running.size > 0) running.delete(taskId);
    }
    stageFor(stageId, attemptId).table.push(row);
  };

  const scanned: ScannedTaskInfo = { stageId: 0, attemptId: 0, taskId: 0, executorId: '', host: '', gettingResultAt: 0 };

  /** The fast path for a successful TaskEnd; false when the line needs a full parse. */
  const scanTaskEnd = (b: Buffer, start: number, end: number): boolean => {
    clearTaskRow(row);
    if (!scanSuccessfulTaskEnd(b, start, end, row, scanned)) return false;
    const exec = scanned.executorId === '<driver>' ? 'driver' : scanned.executorId;
    row.executor = executorFor(exec, scanned.host, row.launchTime);
    seen(row.launchTime);
    seen(row.finishTime);
    row.status = 0;
    commitTask(scanned.stageId, scanned.attemptId, scanned.taskId, scanned.gettingResultAt);
    return true;
  };

  const onTaskEnd = (parts: TaskEndParts): void => {
    const { head, info, metrics } = parts;
    const stageId = num(head['Stage ID']);
    if (stageId === undefined) return;
    const attemptId = num(head['Stage Attempt ID']) ?? 0;
    clearTaskRow(row);
    fillTaskInfo(info, row);
    if (metrics) fillMetrics(metrics, row);
    const reason = obj(head['Task End Reason']) ?? { Reason: 'Success' };
    const kind = str(reason.Reason) ?? 'Success';
    if (kind === 'Success') row.status = 0;
    else if (kind === 'TaskKilled' || info.Killed === true) row.status = 2;
    else row.status = 1;
    if (row.status === 0 && info.Failed === true) row.status = 1;
    if (row.status !== 0) {
      const failure: TaskFailure = { stageId, attempt: attemptId, index: row.index, reason: reasonText(reason) };
      const exec = executorIdOf(info['Executor ID']);
      if (exec !== undefined) failure.executorId = exec;
      taskFailures.push(failure);
    }
    commitTask(stageId, attemptId, num(info['Task ID']), n0(info['Getting Result Time']));
  };

  const handle = (e: Json, name: string): void => {
    switch (name) {
      case 'SparkListenerLogStart':
        logStartSeen = true;
        sparkVersion = str(e['Spark Version']) ?? sparkVersion;
        return;
      case 'SparkListenerApplicationStart': {
        appName = str(e['App Name']) ?? appName;
        appId = str(e['App ID']) ?? appId;
        const att = str(e['App Attempt ID']);
        if (att !== undefined) attemptId = att;
        const u = str(e.User);
        if (u !== undefined) user = u;
        appStart = num(e.Timestamp);
        seen(appStart);
        return;
      }
      case 'SparkListenerApplicationEnd':
        appEnd = num(e.Timestamp);
        seen(appEnd);
        return;
      case 'SparkListenerEnvironmentUpdate': {
        const props = obj(e['Spark Properties']);
        // Spark 1.x-3.x write an object; some writers a list of [key, value] pairs.
        if (props) sparkProperties = maskSecrets(props);
        else if (Array.isArray(e['Spark Properties'])) {
          const pairs: Json = {};
          for (const p of e['Spark Properties'] as unknown[]) if (Array.isArray(p) && typeof p[0] === 'string') pairs[p[0]] = p[1];
          sparkProperties = maskSecrets(pairs);
        }
        return;
      }
      case 'SparkListenerResourceProfileAdded': {
        const id = num(e['Resource Profile Id']) ?? 0;
        const ex = obj(e['Executor Resource Requests']) ?? {};
        const task = obj(e['Task Resource Requests']) ?? {};
        const amount = (o: Json, k: string): number | undefined => num(obj(o[k])?.Amount);
        const p: ResourceProfile = { id };
        const cores = amount(ex, 'cores');
        if (cores !== undefined) p.executorCores = cores;
        const mem = amount(ex, 'memory');
        if (mem !== undefined) p.executorMemoryMb = mem;
        const overhead = amount(ex, 'memoryOverhead');
        if (overhead !== undefined) p.executorMemoryOverheadMb = overhead;
        const cpus = amount(task, 'cpus');
        if (cpus !== undefined) p.taskCpus = cpus;
        profiles.set(id, p);
        return;
      }
      case 'SparkListenerExecutorAdded': {
        const id = executorIdOf(e['Executor ID']);
        if (id === undefined) return;
        const info = obj(e['Executor Info']) ?? {};
        const at = n0(e.Timestamp);
        seen(at);
        const i = executorFor(id, str(info.Host), at);
        executorSynthetic.delete(i);
        const ex = executors[i];
        if (!ex) return;
        ex.host = str(info.Host) ?? ex.host;
        ex.cores = num(info['Total Cores']) ?? ex.cores;
        ex.addedAt = at || ex.addedAt;
        ex.resourceProfileId = num(info['Resource Profile Id']) ?? 0;
        return;
      }
      case 'SparkListenerExecutorRemoved': {
        const id = executorIdOf(e['Executor ID']);
        const i = id === undefined ? undefined : executorIndex.get(id);
        const ex = i === undefined ? undefined : executors[i];
        const at = num(e.Timestamp);
        seen(at);
        if (!ex) return;
        if (at !== undefined) ex.removedAt = at;
        const why = str(e['Removed Reason']);
        if (why !== undefined) ex.removedReason = why;
        return;
      }
      case 'SparkListenerStageExecutorMetrics': {
        // Peak executor memory per stage (Spark 3+): the executor's peak over the application is kept.
        const id = executorIdOf(e['Executor ID']);
        const i = id === undefined ? undefined : executorIndex.get(id);
        const ex = i === undefined ? undefined : executors[i];
        const m = obj(e['Executor Metrics']);
        if (!ex || !m) return;
        const peak = ex.peakMemory ?? { jvmHeapBytes: 0, jvmOffHeapBytes: 0, pythonRssBytes: 0, jvmRssBytes: 0 };
        peak.jvmHeapBytes = Math.max(peak.jvmHeapBytes, n0(m.JVMHeapMemory));
        peak.jvmOffHeapBytes = Math.max(peak.jvmOffHeapBytes, n0(m.JVMOffHeapMemory));
        peak.pythonRssBytes = Math.max(peak.pythonRssBytes, n0(m.ProcessTreePythonRSSMemory));
        peak.jvmRssBytes = Math.max(peak.jvmRssBytes, n0(m.ProcessTreeJVMRSSMemory));
        ex.peakMemory = peak;
        return;
      }
      case 'SparkListenerBlockManagerAdded': {
        const id = executorIdOf(obj(e['Block Manager ID'])?.['Executor ID']);
        const mem = num(e['Maximum Memory']);
        seen(num(e.Timestamp));
        if (id !== undefined && mem !== undefined) blockManagerMem.set(id, mem);
        return;
      }
      case 'SparkListenerJobStart': {
        const id = num(e['Job ID']);
        if (id === undefined) return;
        const stageIds = numArray(e['Stage IDs']);
        const job: Job = { id, stageIds, result: 'unknown' };
        const sub = num(e['Submission Time']);
        if (sub !== undefined) job.submissionTime = sub;
        seen(sub);
        const execId = obj(e.Properties)?.['spark.sql.execution.id'];
        if (execId !== undefined && execId !== null && execId !== '' && Number.isFinite(Number(execId))) job.sqlExecutionId = Number(execId);
        jobs.set(id, job);
        for (const s of stageIds) {
          let set = stageJobs.get(s);
          if (!set) stageJobs.set(s, (set = new Set()));
          set.add(id);
        }
        if (Array.isArray(e['Stage Infos'])) {
          for (const si of e['Stage Infos'] as unknown[]) {
            const info = obj(si);
            const sid = num(info?.['Stage ID']);
            if (!info || sid === undefined) continue;
            if (!stageJobs.has(sid)) stageJobs.set(sid, new Set([id]));
            else stageJobs.get(sid)?.add(id);
            stageDeclared.set(sid, {
              name: str(info['Stage Name']) ?? '',
              numTasks: n0(info['Number of Tasks']),
              parentIds: numArray(info['Parent IDs']),
              resourceProfileId: num(info['Resource Profile Id']) ?? 0,
            });
          }
        }
        return;
      }
      case 'SparkListenerJobEnd': {
        const id = num(e['Job ID']);
        const job = id === undefined ? undefined : jobs.get(id);
        const done = num(e['Completion Time']);
        seen(done);
        if (!job) return;
        if (done !== undefined) job.completionTime = done;
        const result = str(obj(e['Job Result'])?.Result);
        job.result = result === 'JobSucceeded' ? 'succeeded' : result === undefined ? 'unknown' : 'failed';
        return;
      }
      case 'SparkListenerStageSubmitted':
      case 'SparkListenerStageCompleted': {
        const info = obj(e['Stage Info']);
        if (info) updateStage(info, name === 'SparkListenerStageCompleted');
        return;
      }
      case 'SparkListenerTaskStart': {
        const info = obj(e['Task Info']);
        const stageId = num(e['Stage ID']);
        const taskId = num(info?.['Task ID']);
        if (!info || stageId === undefined || taskId === undefined) return;
        clearTaskRow(row);
        fillTaskInfo(info, row);
        running.set(taskId, { stageId, attemptId: num(e['Stage Attempt ID']) ?? 0, index: row.index, launchTime: row.launchTime, executor: row.executor, speculative: row.speculative });
        return;
      }
      case 'SparkListenerTaskEnd':
        onTaskEnd({ head: e, info: obj(e['Task Info']) ?? {}, metrics: obj(e['Task Metrics']) });
        return;
      case 'org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart': {
        const id = num(e.executionId);
        if (id === undefined) return;
        const s: SqlExecution = { id, description: str(e.description) ?? '' };
        const plan = str(e.physicalPlanDescription);
        if (plan !== undefined) s.planSkeleton = planSkeleton(plan);
        const t = num(e.time);
        if (t !== undefined) s.startTime = t;
        seen(t);
        sql.set(id, s);
        return;
      }
      case 'org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionEnd': {
        const id = num(e.executionId);
        const s = id === undefined ? undefined : sql.get(id);
        const t = num(e.time);
        seen(t);
        if (s && t !== undefined) s.endTime = t;
        return;
      }
      default:
        return;
    }
  };

  /** Decodes the TaskStart lines still held as places in the bytes given to acceptBytes. */
  function release(): void {
    if (startedIn === undefined) return;
    for (const [taskId, { start, end }] of startedAt) startedLines.set(taskId, startedIn.toString('utf8', start, end));
    startedAt.clear();
    startedIn = undefined;
  }

  /** Consumes a line the fast paths did not take. */
  const acceptText = (line: string): void => {
    lineNo += 1;
    if (line.length === 0 || (line.charCodeAt(0) !== 123 && line.trim().length === 0)) {
      blankLines += 1;
      return;
    }
    let name = eventNameOf(line);
    if (name !== undefined && !USED_EVENTS.has(name)) return;
    if (name === 'SparkListenerTaskEnd' && !options.fullParse) {
      const parts = splitTaskEnd(line);
      if (parts) {
        onTaskEnd(parts);
        return;
      }
    }
    let e: unknown;
    try {
      e = JSON.parse(line);
    } catch (err) {
      throw corrupt((err as Error).message);
    }
    const event = obj(e);
    if (!event || typeof event.Event !== 'string') throw corrupt('no "Event" field');
    name = event.Event;
    if (!USED_EVENTS.has(name)) return;
    handle(event, name);
  };

  const corrupt = (why: string): SyncError =>
    new SyncError('corrupt_data', `${source}: line ${lineNo} is not a Spark event (${why})`, { details: { source, line: lineNo, reason: why } });

  return {
    get lines() {
      return lineNo;
    },
    get events() {
      return lineNo - blankLines;
    },
    warn(message) {
      warnings.push(message);
    },
    accept(line) {
      release(); // TaskStart lines in the order they came
      // The two most frequent events first, without cutting out the name; their fast paths read bytes.
      if (line.startsWith(TASK_END_PREFIX)) {
        // A lone surrogate (possible in a string, never in bytes read from a log) would not survive
        // the round trip through UTF-8: such a line is parsed.
        if (!options.fullParse && !LONE_SURROGATE.test(line)) {
          const b = Buffer.from(line, 'utf8');
          if (scanTaskEnd(b, 0, b.length)) {
            lineNo += 1;
            return;
          }
        }
      } else if (line.startsWith(TASK_START_PREFIX)) {
        const b = Buffer.from(line, 'utf8');
        const taskId = scanTaskId(b, 0, b.length);
        if (!Number.isNaN(taskId)) {
          lineNo += 1;
          startedLines.set(taskId, own(line));
          return;
        }
      }
      acceptText(line);
    },
    acceptBytes(b, start, end) {
      if (startsWith(b, start, end, TASK_END_BYTES)) {
        if (!options.fullParse && scanTaskEnd(b, start, end)) {
          lineNo += 1;
          return;
        }
      } else if (startsWith(b, start, end, TASK_START_BYTES)) {
        const taskId = scanTaskId(b, start, end);
        if (!Number.isNaN(taskId)) {
          if (startedIn !== b) {
            if (startedAt.size > 0) throw new Error('acceptBytes: new bytes before release() of the previous ones');
            startedIn = b;
          }
          lineNo += 1;
          startedAt.set(taskId, { start, end });
          return;
        }
      }
      acceptText(b.toString('utf8', start, end));
    },
    release,
    finish() {
      release();
      return finishModel();
    },
  };

  function finishModel(): ApplicationModel {
    if (!logStartSeen) warnings.push('no SparkListenerLogStart event (Spark 1.x log?): Spark version unknown');
    if (!appId) warnings.push('no SparkListenerApplicationStart event: application id unknown');
    for (const line of startedLines.values()) {
      const e = (() => {
        try {
          return obj(JSON.parse(line));
        } catch {
          return undefined;
        }
      })();
      if (e) handle(e, 'SparkListenerTaskStart');
      else warnings.push('a TaskStart event that never ended could not be read; skipped');
    }
    startedLines.clear();
    if (running.size > 0) warnings.push(`${running.size} task(s) started but never ended (kept with status unknown)`);
    for (const t of running.values()) {
      clearTaskRow(row);
      row.index = t.index;
      row.launchTime = t.launchTime;
      row.executor = t.executor;
      row.speculative = t.speculative;
      stageState(t.stageId, t.attemptId).table.push(row);
    }

    const startTime = appStart ?? (Number.isFinite(minTs) ? minTs : 0);
    const endTime = appEnd ?? (Number.isFinite(maxTs) ? maxTs : startTime);
    if (appEnd === undefined) warnings.push('no SparkListenerApplicationEnd event: end time is the last timestamp in the log');

    // Skipped stages: declared by a job, never submitted.
    for (const [sid, declared] of stageDeclared) {
      if (stages.has(sid)) continue;
      const st = stageState(sid, 0);
      st.attempt.skipped = true;
      st.attempt.name = declared.name;
    }

    const stageList: StageAttempt[] = [];
    for (const sid of [...stages.keys()].sort((a, b) => a - b)) {
      const attempts = stages.get(sid);
      if (!attempts) continue;
      for (const aid of [...attempts.keys()].sort((a, b) => a - b)) {
        const st = attempts.get(aid);
        if (!st) continue;
        stageList.push({ ...st.attempt, jobIds: [...(stageJobs.get(sid) ?? [])].sort((a, b) => a - b), tasks: st.table.finish() });
      }
    }

    // Old logs leave job times out: take them from the job's stages and tasks.
    const stageSpan = new Map<number, [number, number]>();
    for (const s of stageList) {
      let lo = s.submissionTime ?? Infinity;
      let hi = s.completionTime ?? -Infinity;
      const t = s.tasks;
      for (let i = 0; i < t.count; i++) {
        const l = t.launchTime[i] ?? 0;
        const f = t.finishTime[i] ?? 0;
        if (l > 0 && l < lo) lo = l;
        if (f > hi) hi = f;
      }
      const prev = stageSpan.get(s.stageId);
      stageSpan.set(s.stageId, prev ? [Math.min(prev[0], lo), Math.max(prev[1], hi)] : [lo, hi]);
    }
    const jobList = [...jobs.values()].sort((a, b) => a.id - b.id);
    const intervals = new Map<string, [number, number]>();
    for (const j of jobList) {
      let lo = j.submissionTime ?? Infinity;
      let hi = j.completionTime ?? -Infinity;
      if (j.submissionTime === undefined || j.completionTime === undefined) {
        for (const sid of j.stageIds) {
          const span = stageSpan.get(sid);
          if (!span) continue;
          if (j.submissionTime === undefined) lo = Math.min(lo, span[0]);
          if (j.completionTime === undefined) hi = Math.max(hi, span[1]);
        }
      }
      if (!Number.isFinite(lo)) continue;
      if (!Number.isFinite(hi)) hi = endTime;
      const key = j.sqlExecutionId !== undefined ? `sql:${j.sqlExecutionId}` : `job:${j.id}`;
      const prev = intervals.get(key);
      intervals.set(key, prev ? [Math.min(prev[0], lo), Math.max(prev[1], hi)] : [lo, hi]);
    }
    const durationMs = Math.max(0, endTime - startTime);
    const jobMs = unionLength([...intervals.values()], startTime, endTime);

    // Executors seen only through tasks (local mode in Spark 1.x-2.x) get cores from the master or
    // from the most tasks they ran at once.
    const master = sparkProperties['spark.master'];
    const localCores = master ? /^local\[(\d+)/.exec(master)?.[1] : undefined;
    for (const i of executorSynthetic) {
      const ex = executors[i];
      if (!ex) continue;
      ex.cores = localCores ? Number(localCores) : maxConcurrentTasks(stageList, i);
    }
    for (const ex of executors) {
      const mem = blockManagerMem.get(ex.id);
      if (mem !== undefined) ex.maxMemoryBytes = mem;
    }

    const settings = readSparkSettings(sparkProperties);
    if (profiles.size === 0) {
      const p: ResourceProfile = { id: 0 };
      if (settings.executorCores !== undefined) p.executorCores = settings.executorCores;
      if (settings.executorMemoryMb !== undefined) p.executorMemoryMb = settings.executorMemoryMb;
      if (settings.executorMemoryOverheadMb !== undefined) p.executorMemoryOverheadMb = settings.executorMemoryOverheadMb;
      if (settings.taskCpus !== undefined) p.taskCpus = settings.taskCpus;
      profiles.set(0, p);
    }

    const model: ApplicationModel = {
      appId,
      appName: appName || sparkProperties['spark.app.name'] || '',
      startTime,
      endTime,
      durationMs,
      driverMs: Math.max(0, durationMs - jobMs),
      jobMs,
      executors,
      maxConcurrentExecutors: maxAlive(executors, endTime),
      resourceProfiles: [...profiles.values()].sort((a, b) => a.id - b.id),
      jobs: jobList,
      stages: stageList,
      sql: [...sql.values()].sort((a, b) => a.id - b.id),
      settings,
      sparkProperties,
      taskFailures,
      complete: appEnd !== undefined,
      warnings,
    };
    if (attemptId !== undefined) model.attemptId = attemptId;
    const version = sparkVersion ?? sparkProperties['spark.version'];
    if (version !== undefined) model.sparkVersion = version;
    if (master !== undefined) model.master = master;
    if (user !== undefined) model.user = user;
    return model;
  }
}

/** Total length of the union of intervals, each clipped to [lo, hi]. */
function unionLength(intervals: [number, number][], lo: number, hi: number): number {
  const clipped = intervals
    .map(([a, b]): [number, number] => [Math.max(a, lo), Math.min(b, hi)])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let total = 0;
  let curStart = -Infinity;
  let curEnd = -Infinity;
  for (const [a, b] of clipped) {
    if (a > curEnd) {
      if (curEnd > curStart) total += curEnd - curStart;
      curStart = a;
      curEnd = b;
    } else if (b > curEnd) curEnd = b;
  }
  if (curEnd > curStart) total += curEnd - curStart;
  return total;
}

/** Most executors alive at the same moment (an executor never removed lives to `end`). */
function maxAlive(executors: Executor[], end: number): number {
  const points: [number, number][] = [];
  for (const e of executors) {
    points.push([e.addedAt, 1]);
    points.push([e.removedAt ?? end + 1, -1]);
  }
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let alive = 0;
  let most = 0;
  for (const [, d] of points) {
    alive += d;
    if (alive > most) most = alive;
  }
  return most;
}

/** Most tasks executor `exec` ran at once. */
function maxConcurrentTasks(stages: StageAttempt[], exec: number): number {
  const points: [number, number][] = [];
  for (const s of stages) {
    const t = s.tasks;
    for (let i = 0; i < t.count; i++) {
      if (t.executor[i] !== exec) continue;
      const l = t.launchTime[i] ?? 0;
      const f = t.finishTime[i] ?? 0;
      if (f <= l) continue;
      points.push([l, 1], [f, -1]);
    }
  }
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let most = 0;
  for (const [, d] of points) {
    cur += d;
    if (cur > most) most = cur;
  }
  return Math.max(1, most);
}

/** Builds the model from an async stream of event-log lines. */
export async function buildApplicationModel(lines: AsyncIterable<string> | Iterable<string>, options: BuildOptions = {}): Promise<ApplicationModel> {
  const builder = createModelBuilder(options);
  for await (const line of lines) builder.accept(line);
  return builder.finish();
}
