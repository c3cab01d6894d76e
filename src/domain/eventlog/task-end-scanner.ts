// Reads a successful SparkListenerTaskEnd line without JSON.parse: the fields the model needs are
// found by their quoted key and read in place. TaskEnd lines are most of a log's bytes and most of a
// TaskEnd line is "Accumulables", which the model does not need.
//
// Why looking for `"Key":` is safe: inside a JSON string a quote is escaped (\"), so the pattern can
// only match a real key; each key looked up here occurs once in its region (Spark's JsonProtocol,
// 1.x to 3.x), and the regions (head, "Task Info" up to its "Accumulables", "Task Metrics") are cut
// so that same-named keys elsewhere (e.g. "Task Executor Metrics") are out of reach. Lines that are
// shaped otherwise (a failure reason, no accumulables, escaped executor ids) return false and are
// parsed whole by the caller.
//
// Searches look for a key's text after its opening quote (then check the quote): the first character
// of a needle is found by memchr, and quotes and commas are everywhere in JSON, while the capital
// letter a key starts with is rare.
import type { TaskRow } from './task-table.js';

/** The Task Info fields that are not metrics. */
export type ScannedTaskInfo = { stageId: number; attemptId: number; taskId: number; executorId: string; host: string; gettingResultAt: number };

const SUCCESS = 'Task End Reason":{"Reason":"Success"}';

/** `line.indexOf(head + rest, start)`, searched for as `rest` preceded by `head`. */
function indexOfJoined(line: string, head: string, rest: string, start: number): number {
  let i = line.indexOf(rest, start + head.length);
  while (i >= 0 && !line.startsWith(head, i - head.length)) i = line.indexOf(rest, i + 1);
  return i < 0 ? -1 : i - head.length;
}

/** `line.indexOf('"' + rest, start)`, searched for as `rest` preceded by a quote. */
function indexOfQuoted(line: string, rest: string, start: number): number {
  let i = line.indexOf(rest, start + 1);
  while (i > 0 && line.charCodeAt(i - 1) !== 34) i = line.indexOf(rest, i + 1);
  return i < 0 ? -1 : i - 1;
}

/**
 * Index just past the first `"name` (a key's text after its opening quote, up to its colon) in
 * line[from, to), searching from `hint` first; -1 when absent.
 */
function find(line: string, name: string, from: number, to: number, hint: number): number {
  const length = name.length + 1;
  let i = hint >= from ? indexOfQuoted(line, name, hint) : -1;
  if (i < 0 || i + length > to) i = indexOfQuoted(line, name, from);
  if (i < 0 || i + length > to) return -1;
  return i + length;
}

/** The JSON number starting at `i`, NaN when there is none. */
function numberAt(line: string, i: number): number {
  const start = i;
  let c = line.charCodeAt(i);
  const negative = c === 45;
  if (negative) c = line.charCodeAt(++i);
  if (c < 48 || c > 57) return NaN;
  let v = 0;
  while (c >= 48 && c <= 57) {
    v = v * 10 + (c - 48);
    c = line.charCodeAt(++i);
  }
  if (c === 46 || c === 101 || c === 69) {
    // A fraction or exponent: rare in metrics; let Number() read the token.
    let end = i;
    for (c = line.charCodeAt(end); (c >= 48 && c <= 57) || c === 46 || c === 101 || c === 69 || c === 43 || c === 45; c = line.charCodeAt(++end));
    return Number(line.slice(start, end));
  }
  return negative ? -v : v;
}

/** What a TaskStart line says (enough to keep a task that never ends). */
// Search hint shared by the readers below: where the previous key was found (keys come in order).
let cursor = 0;

/** The number after `key` in line[from, to), or `fallback`. */
function numberOf(line: string, key: string, from: number, to: number, fallback: number): number {
  const p = find(line, key, from, to, cursor);
  if (p < 0) return fallback;
  cursor = p;
  const v = numberAt(line, p);
  return Number.isNaN(v) ? fallback : v;
}

/** The plain (unescaped) string after `key` in line[from, to), or undefined. */
function textOf(line: string, key: string, from: number, to: number): string | undefined {
  const p = find(line, key, from, to, cursor);
  if (p < 0 || line.charCodeAt(p) !== 34) return undefined;
  const end = line.indexOf('"', p + 1);
  if (end < 0 || end > to) return undefined;
  const s = line.slice(p + 1, end);
  if (s.includes('\\')) return undefined;
  cursor = end;
  return s;
}

/** True when `key` in line[from, to) is followed by `true`. */
function isTrue(line: string, key: string, from: number, to: number): boolean {
  const p = find(line, key, from, to, cursor);
  if (p < 0) return false;
  cursor = p;
  return line.startsWith('true', p);
}

/** Reads the head and the scalar part of "Task Info" of a task event; false when shaped otherwise. */
function scanHeadAndInfo(line: string, iInfo: number, infoEnd: number, row: TaskRow, info: ScannedTaskInfo): boolean {
  cursor = 0;
  info.stageId = numberOf(line, 'Stage ID":', 0, iInfo, NaN);
  info.attemptId = numberOf(line, 'Stage Attempt ID":', 0, iInfo, 0);
  if (!(info.stageId >= 0) || !(info.attemptId >= 0)) return false;
  const from = iInfo + 13;
  cursor = from;
  info.taskId = numberOf(line, 'Task ID":', from, infoEnd, NaN);
  row.index = numberOf(line, 'Index":', from, infoEnd, -1);
  row.launchTime = numberOf(line, 'Launch Time":', from, infoEnd, 0);
  const executorId = textOf(line, 'Executor ID":', from, infoEnd);
  if (executorId === undefined || Number.isNaN(info.taskId)) return false;
  info.executorId = executorId;
  info.host = textOf(line, 'Host":', from, infoEnd) ?? '';
  row.speculative = isTrue(line, 'Speculative":', from, infoEnd) ? 1 : 0;
  info.gettingResultAt = numberOf(line, 'Getting Result Time":', from, infoEnd, 0);
  row.finishTime = numberOf(line, 'Finish Time":', from, infoEnd, 0);
  return !isTrue(line, 'Failed":', from, infoEnd) && !isTrue(line, 'Killed":', from, infoEnd);
}

/**
 * `line.lastIndexOf(',"Task Metrics":')`, found forwards from `from` (lastIndexOf does not skip ahead
 * with memchr, and the key is near the end of a long line); before `from` only when it is not after.
 */
function lastTaskMetrics(line: string, from: number): number {
  let last = -1;
  for (let i = indexOfJoined(line, ',"Tas', 'k Metrics":', from); i >= 0; i = indexOfJoined(line, ',"Tas', 'k Metrics":', i + 1)) last = i;
  return last >= 0 ? last : line.lastIndexOf(',"Task Metrics":', from);
}

/** The "Task ID" of a task event line (the first one in it), NaN when there is none. */
export function scanTaskId(line: string): number {
  const p = indexOfQuoted(line, 'Task ID":', 0);
  return p < 0 ? NaN : numberAt(line, p + 10);
}

/**
 * Fills `row` (metrics, times, index, speculative; not executor or status) and `info` from a TaskEnd
 * line that ended in Success; false when the line needs a full parse.
 */
export function scanSuccessfulTaskEnd(line: string, row: TaskRow, info: ScannedTaskInfo): boolean {
  const iInfo = indexOfJoined(line, ',"', 'Task Info":{', 0);
  if (iInfo < 0) return false;
  const reason = indexOfQuoted(line, SUCCESS, 0);
  if (reason < 0 || reason > iInfo) return false;
  const iAcc = indexOfJoined(line, ',"', 'Accumulables":', iInfo);
  if (iAcc < 0) return false;
  if (!scanHeadAndInfo(line, iInfo, iAcc, row, info)) return false;

  const iMet = lastTaskMetrics(line, iAcc);
  if (iMet < 0) return true; // no metrics: every metric stays 0, as a full parse would leave it
  if (iMet < iAcc) return false;
  const end = line.length;
  cursor = iMet;
  row.executorDeserializeTimeMs = numberOf(line, 'Executor Deserialize Time":', iMet, end, 0);
  row.executorRunTimeMs = numberOf(line, 'Executor Run Time":', iMet, end, 0);
  row.executorCpuTimeMs = numberOf(line, 'Executor CPU Time":', iMet, end, 0) / 1e6;
  row.peakExecutionMemoryBytes = numberOf(line, 'Peak Execution Memory":', iMet, end, 0);
  row.gcTimeMs = numberOf(line, 'JVM GC Time":', iMet, end, 0);
  row.resultSerializationTimeMs = numberOf(line, 'Result Serialization Time":', iMet, end, 0);
  row.memorySpillBytes = numberOf(line, 'Memory Bytes Spilled":', iMet, end, 0);
  row.diskSpillBytes = numberOf(line, 'Disk Bytes Spilled":', iMet, end, 0);
  row.shuffleFetchWaitMs = numberOf(line, 'Fetch Wait Time":', iMet, end, 0);
  row.shuffleRemoteReadBytes = numberOf(line, 'Remote Bytes Read":', iMet, end, 0);
  row.shuffleReadBytes = row.shuffleRemoteReadBytes + numberOf(line, 'Local Bytes Read":', iMet, end, 0);
  row.shuffleWriteBytes = numberOf(line, 'Shuffle Bytes Written":', iMet, end, 0);
  row.shuffleWriteTimeMs = numberOf(line, 'Shuffle Write Time":', iMet, end, 0) / 1e6;
  row.inputBytes = numberOf(line, 'Bytes Read":', iMet, end, 0);
  row.outputBytes = numberOf(line, 'Bytes Written":', iMet, end, 0);
  return true;
}
