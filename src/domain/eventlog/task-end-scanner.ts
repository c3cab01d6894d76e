// Reads a successful SparkListenerTaskEnd line without JSON.parse and without decoding it into a
// string: the fields the model needs are found by their quoted key in the line's bytes and read in
// place. TaskEnd lines are most of a log's bytes and most of a TaskEnd line is "Accumulables", which
// the model does not need (it is stepped over by one native search for "Task Metrics" from the end).
//
// Why looking for `"Key":` is safe: inside a JSON string a quote is escaped (\"), so the pattern can
// only match a real key; each key looked up here occurs once in its region (Spark's JsonProtocol,
// 1.x to 3.x), and the regions (head, "Task Info" up to its "Accumulables", "Task Metrics") are cut
// so that same-named keys elsewhere (e.g. "Task Executor Metrics") are out of reach. Lines that are
// shaped otherwise (a failure reason, no accumulables, escaped executor ids) return false and are
// parsed whole by the caller. Every key is ASCII, and in UTF-8 no byte of a multi-byte character is
// below 0x80, so a byte match is a match of the decoded text.
import type { TaskRow } from './task-table.js';

/** The Task Info fields that are not metrics. */
export type ScannedTaskInfo = { stageId: number; attemptId: number; taskId: number; executorId: string; host: string; gettingResultAt: number };

const QUOTE = 34;
const BACKSLASH = 92;

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

// Keys as the text after their opening quote, up to and including the colon.
const SUCCESS = ascii('Task End Reason":{"Reason":"Success"}');
const TASK_INFO = ascii('Task Info":{');
const ACCUMULABLES = ascii('Accumulables":');
const TASK_METRICS = Buffer.from(',"Task Metrics":', 'latin1');
const STAGE_ID = ascii('Stage ID":');
const STAGE_ATTEMPT_ID = ascii('Stage Attempt ID":');
const TASK_ID = ascii('Task ID":');
const INDEX = ascii('Index":');
const LAUNCH_TIME = ascii('Launch Time":');
const EXECUTOR_ID = ascii('Executor ID":');
const HOST = ascii('Host":');
const SPECULATIVE = ascii('Speculative":');
const GETTING_RESULT_TIME = ascii('Getting Result Time":');
const FINISH_TIME = ascii('Finish Time":');
const FAILED = ascii('Failed":');
const KILLED = ascii('Killed":');
const EXECUTOR_DESERIALIZE_TIME = ascii('Executor Deserialize Time":');
const EXECUTOR_RUN_TIME = ascii('Executor Run Time":');
const EXECUTOR_CPU_TIME = ascii('Executor CPU Time":');
const PEAK_EXECUTION_MEMORY = ascii('Peak Execution Memory":');
const JVM_GC_TIME = ascii('JVM GC Time":');
const RESULT_SERIALIZATION_TIME = ascii('Result Serialization Time":');
const MEMORY_BYTES_SPILLED = ascii('Memory Bytes Spilled":');
const DISK_BYTES_SPILLED = ascii('Disk Bytes Spilled":');
const FETCH_WAIT_TIME = ascii('Fetch Wait Time":');
const REMOTE_BYTES_READ = ascii('Remote Bytes Read":');
const LOCAL_BYTES_READ = ascii('Local Bytes Read":');
const SHUFFLE_BYTES_WRITTEN = ascii('Shuffle Bytes Written":');
const SHUFFLE_WRITE_TIME = ascii('Shuffle Write Time":');
const BYTES_READ = ascii('Bytes Read":');
const BYTES_WRITTEN = ascii('Bytes Written":');

/**
 * Index of the first `"` + `key` lying wholly in b[from, to) (the quote at or after `from`), or -1.
 * The loop looks for the key's first byte (its capital letter, rarer than quotes and commas) and
 * then checks the quote before it and the rest.
 */
function indexOfQuoted(b: Uint8Array, key: Uint8Array, from: number, to: number): number {
  const first = key[0] as number;
  const n = key.length;
  const last = to - n;
  outer: for (let i = from + 1; i <= last; i++) {
    if (b[i] !== first || b[i - 1] !== QUOTE) continue;
    for (let j = 1; j < n; j++) if (b[i + j] !== key[j]) continue outer;
    return i - 1;
  }
  return -1;
}

/**
 * Index just past the first `"key` in b[from, to), searching from `hint` first (keys usually come in
 * the order they are read in); -1 when absent.
 */
function find(b: Uint8Array, key: Uint8Array, from: number, to: number, hint: number): number {
  let i = hint > from ? indexOfQuoted(b, key, hint, to) : -1;
  if (i < 0) i = indexOfQuoted(b, key, from, to);
  return i < 0 ? -1 : i + 1 + key.length;
}

/** The JSON number starting at `i` (before `end`), NaN when there is none. */
function numberAt(b: Buffer, i: number, end: number): number {
  const start = i;
  let c = i < end ? (b[i] as number) : -1;
  const negative = c === 45;
  if (negative) c = ++i < end ? (b[i] as number) : -1;
  if (c < 48 || c > 57) return NaN;
  let v = 0;
  while (c >= 48 && c <= 57) {
    v = v * 10 + (c - 48);
    c = ++i < end ? (b[i] as number) : -1;
  }
  if (c === 46 || c === 101 || c === 69) {
    // A fraction or exponent: rare in metrics; let Number() read the token.
    let stop = i;
    for (c = b[stop] as number; stop < end && ((c >= 48 && c <= 57) || c === 46 || c === 101 || c === 69 || c === 43 || c === 45); c = b[++stop] as number);
    return Number(b.toString('latin1', start, stop));
  }
  return negative ? -v : v;
}

// Search hint shared by the readers below: where the previous key was found (keys come in order).
let cursor = 0;

/** The number after `key` in b[from, to), or `fallback`. */
function numberOf(b: Buffer, key: Uint8Array, from: number, to: number, fallback: number): number {
  const p = find(b, key, from, to, cursor);
  if (p < 0) return fallback;
  cursor = p;
  const v = numberAt(b, p, to);
  return Number.isNaN(v) ? fallback : v;
}

/**
 * The string after `key` in b[from, to): undefined when the key is absent or its value is not a
 * string, null when the string has escapes (the line then needs a full parse).
 */
function textOf(b: Buffer, key: Uint8Array, from: number, to: number): string | undefined | null {
  const p = find(b, key, from, to, cursor);
  if (p < 0 || b[p] !== QUOTE) return undefined;
  let end = p + 1;
  let high = 0;
  for (; end < to; end++) {
    const c = b[end] as number;
    if (c === QUOTE) break;
    if (c === BACKSLASH) return null;
    high |= c;
  }
  if (end >= to) return null;
  cursor = end;
  return b.toString(high < 128 ? 'latin1' : 'utf8', p + 1, end);
}

/** True when `key` in b[from, to) is followed by `true`. */
function isTrue(b: Uint8Array, key: Uint8Array, from: number, to: number): boolean {
  const p = find(b, key, from, to, cursor);
  if (p < 0) return false;
  cursor = p;
  return p + 4 <= to && b[p] === 116 && b[p + 1] === 114 && b[p + 2] === 117 && b[p + 3] === 101;
}

/** Reads the head and the scalar part of "Task Info" of a task event; false when shaped otherwise. */
function scanHeadAndInfo(b: Buffer, start: number, iInfo: number, infoEnd: number, row: TaskRow, info: ScannedTaskInfo): boolean {
  cursor = start;
  info.stageId = numberOf(b, STAGE_ID, start, iInfo, NaN);
  info.attemptId = numberOf(b, STAGE_ATTEMPT_ID, start, iInfo, 0);
  if (!(info.stageId >= 0) || !(info.attemptId >= 0)) return false;
  const from = iInfo + 13;
  cursor = from;
  info.taskId = numberOf(b, TASK_ID, from, infoEnd, NaN);
  row.index = numberOf(b, INDEX, from, infoEnd, -1);
  row.launchTime = numberOf(b, LAUNCH_TIME, from, infoEnd, 0);
  const executorId = textOf(b, EXECUTOR_ID, from, infoEnd);
  if (typeof executorId !== 'string' || Number.isNaN(info.taskId)) return false;
  info.executorId = executorId;
  const host = textOf(b, HOST, from, infoEnd);
  if (host === null) return false;
  info.host = host ?? '';
  row.speculative = isTrue(b, SPECULATIVE, from, infoEnd) ? 1 : 0;
  info.gettingResultAt = numberOf(b, GETTING_RESULT_TIME, from, infoEnd, 0);
  row.finishTime = numberOf(b, FINISH_TIME, from, infoEnd, 0);
  return !isTrue(b, FAILED, from, infoEnd) && !isTrue(b, KILLED, from, infoEnd);
}

/** Index of `,"` + `key` (the comma) in b[from, to), or -1. */
function indexOfMember(b: Uint8Array, key: Uint8Array, from: number, to: number): number {
  for (let i = from; ; i++) {
    i = indexOfQuoted(b, key, i, to);
    if (i < 0) return -1;
    if (i > from && b[i - 1] === 44) return i - 1;
  }
}

/** The "Task ID" of a task event line b[start, end) (the first one in it), NaN when there is none. */
export function scanTaskId(b: Buffer, start: number, end: number): number {
  const p = indexOfQuoted(b, TASK_ID, start, end);
  return p < 0 ? NaN : numberAt(b, p + 1 + TASK_ID.length, end);
}

/**
 * Fills `row` (metrics, times, index, speculative; not executor or status) and `info` from the
 * TaskEnd line b[start, end) (no newline) when it ended in Success; false when the line needs a full
 * parse.
 */
export function scanSuccessfulTaskEnd(b: Buffer, start: number, end: number, row: TaskRow, info: ScannedTaskInfo): boolean {
  const iInfo = indexOfMember(b, TASK_INFO, start, end);
  if (iInfo < 0) return false;
  const reason = indexOfQuoted(b, SUCCESS, start, end);
  if (reason < 0 || reason > iInfo) return false;
  const iAcc = indexOfMember(b, ACCUMULABLES, iInfo, end);
  if (iAcc < 0) return false;
  if (!scanHeadAndInfo(b, start, iInfo, iAcc, row, info)) return false;

  // The last "Task Metrics" of the line, found from its end by a native search (the accumulables
  // before it are most of the line) in a view of the line alone (on the whole buffer, a line without
  // the key would be searched back to the buffer's start).
  const found = b.subarray(start, end).lastIndexOf(TASK_METRICS);
  if (found < 0) return true; // no metrics: every metric stays 0, as a full parse would leave it
  const iMet = start + found;
  if (iMet < iAcc) return false;
  cursor = iMet;
  row.executorDeserializeTimeMs = numberOf(b, EXECUTOR_DESERIALIZE_TIME, iMet, end, 0);
  row.executorRunTimeMs = numberOf(b, EXECUTOR_RUN_TIME, iMet, end, 0);
  row.executorCpuTimeMs = numberOf(b, EXECUTOR_CPU_TIME, iMet, end, 0) / 1e6;
  row.peakExecutionMemoryBytes = numberOf(b, PEAK_EXECUTION_MEMORY, iMet, end, 0);
  row.gcTimeMs = numberOf(b, JVM_GC_TIME, iMet, end, 0);
  row.resultSerializationTimeMs = numberOf(b, RESULT_SERIALIZATION_TIME, iMet, end, 0);
  row.memorySpillBytes = numberOf(b, MEMORY_BYTES_SPILLED, iMet, end, 0);
  row.diskSpillBytes = numberOf(b, DISK_BYTES_SPILLED, iMet, end, 0);
  row.shuffleFetchWaitMs = numberOf(b, FETCH_WAIT_TIME, iMet, end, 0);
  row.shuffleRemoteReadBytes = numberOf(b, REMOTE_BYTES_READ, iMet, end, 0);
  row.shuffleReadBytes = row.shuffleRemoteReadBytes + numberOf(b, LOCAL_BYTES_READ, iMet, end, 0);
  row.shuffleWriteBytes = numberOf(b, SHUFFLE_BYTES_WRITTEN, iMet, end, 0);
  row.shuffleWriteTimeMs = numberOf(b, SHUFFLE_WRITE_TIME, iMet, end, 0) / 1e6;
  row.inputBytes = numberOf(b, BYTES_READ, iMet, end, 0);
  row.outputBytes = numberOf(b, BYTES_WRITTEN, iMet, end, 0);
  return true;
}
