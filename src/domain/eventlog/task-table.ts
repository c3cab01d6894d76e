// Column-wise task storage for one stage attempt: typed arrays that grow by doubling, so the model's
// size follows the number of tasks and not the size of the log they came from.
import type { TaskTable } from './model.js';

/** The values of one task, filled by the parser and copied into a table row (reused between rows). */
export type TaskRow = {
  index: number;
  launchTime: number;
  finishTime: number;
  executor: number;
  status: number;
  speculative: number;
  executorRunTimeMs: number;
  executorCpuTimeMs: number;
  executorDeserializeTimeMs: number;
  resultSerializationTimeMs: number;
  gettingResultTimeMs: number;
  schedulerDelayMs: number;
  gcTimeMs: number;
  inputBytes: number;
  outputBytes: number;
  shuffleReadBytes: number;
  shuffleRemoteReadBytes: number;
  shuffleFetchWaitMs: number;
  shuffleWriteBytes: number;
  shuffleWriteTimeMs: number;
  memorySpillBytes: number;
  diskSpillBytes: number;
  peakExecutionMemoryBytes: number;
};

const FLOAT_COLUMNS = [
  'launchTime',
  'finishTime',
  'executorRunTimeMs',
  'executorCpuTimeMs',
  'executorDeserializeTimeMs',
  'resultSerializationTimeMs',
  'gettingResultTimeMs',
  'schedulerDelayMs',
  'gcTimeMs',
  'inputBytes',
  'outputBytes',
  'shuffleReadBytes',
  'shuffleRemoteReadBytes',
  'shuffleFetchWaitMs',
  'shuffleWriteBytes',
  'shuffleWriteTimeMs',
  'memorySpillBytes',
  'diskSpillBytes',
  'peakExecutionMemoryBytes',
] as const;

/** A fresh row with every metric zero and status "unknown". */
export function emptyTaskRow(): TaskRow {
  return {
    index: -1,
    launchTime: 0,
    finishTime: 0,
    executor: -1,
    status: 3,
    speculative: 0,
    executorRunTimeMs: 0,
    executorCpuTimeMs: 0,
    executorDeserializeTimeMs: 0,
    resultSerializationTimeMs: 0,
    gettingResultTimeMs: 0,
    schedulerDelayMs: 0,
    gcTimeMs: 0,
    inputBytes: 0,
    outputBytes: 0,
    shuffleReadBytes: 0,
    shuffleRemoteReadBytes: 0,
    shuffleFetchWaitMs: 0,
    shuffleWriteBytes: 0,
    shuffleWriteTimeMs: 0,
    memorySpillBytes: 0,
    diskSpillBytes: 0,
    peakExecutionMemoryBytes: 0,
  };
}

/** Resets every field of `row` to the values of emptyTaskRow(). */
export function clearTaskRow(row: TaskRow): void {
  row.index = -1;
  row.executor = -1;
  row.status = 3;
  row.speculative = 0;
  for (const c of FLOAT_COLUMNS) row[c] = 0;
}

function allocate(capacity: number): TaskTable {
  return {
    count: 0,
    index: new Int32Array(capacity),
    launchTime: new Float64Array(capacity),
    finishTime: new Float64Array(capacity),
    executor: new Int32Array(capacity),
    status: new Uint8Array(capacity),
    speculative: new Uint8Array(capacity),
    executorRunTimeMs: new Float64Array(capacity),
    executorCpuTimeMs: new Float64Array(capacity),
    executorDeserializeTimeMs: new Float64Array(capacity),
    resultSerializationTimeMs: new Float64Array(capacity),
    gettingResultTimeMs: new Float64Array(capacity),
    schedulerDelayMs: new Float64Array(capacity),
    gcTimeMs: new Float64Array(capacity),
    inputBytes: new Float64Array(capacity),
    outputBytes: new Float64Array(capacity),
    shuffleReadBytes: new Float64Array(capacity),
    shuffleRemoteReadBytes: new Float64Array(capacity),
    shuffleFetchWaitMs: new Float64Array(capacity),
    shuffleWriteBytes: new Float64Array(capacity),
    shuffleWriteTimeMs: new Float64Array(capacity),
    memorySpillBytes: new Float64Array(capacity),
    diskSpillBytes: new Float64Array(capacity),
    peakExecutionMemoryBytes: new Float64Array(capacity),
  };
}

function resize(t: TaskTable, capacity: number): TaskTable {
  const n = allocate(capacity);
  const keep = Math.min(t.count, capacity);
  n.count = keep;
  n.index.set(t.index.subarray(0, keep));
  n.executor.set(t.executor.subarray(0, keep));
  n.status.set(t.status.subarray(0, keep));
  n.speculative.set(t.speculative.subarray(0, keep));
  for (const c of FLOAT_COLUMNS) n[c].set(t[c].subarray(0, keep));
  return n;
}

/** Appends rows to a growing TaskTable; `finish()` returns it trimmed to its row count. */
export type TaskTableBuilder = { readonly count: number; push(row: TaskRow): void; finish(): TaskTable };

/** Creates a builder sized for `expected` rows (it grows past that when needed). */
export function createTaskTableBuilder(expected = 8): TaskTableBuilder {
  let table = allocate(Math.max(1, expected));
  return {
    get count() {
      return table.count;
    },
    push(row) {
      if (table.count === table.index.length) table = resize(table, table.index.length * 2);
      const i = table.count;
      table.index[i] = row.index;
      table.executor[i] = row.executor;
      table.status[i] = row.status;
      table.speculative[i] = row.speculative;
      for (const c of FLOAT_COLUMNS) table[c][i] = row[c];
      table.count = i + 1;
    },
    finish() {
      if (table.count !== table.index.length) table = resize(table, table.count);
      return table;
    },
  };
}

/** Reads row `i` of a table into a plain object (for tests and reports, not hot loops). */
export function taskRowAt(t: TaskTable, i: number): TaskRow {
  const row = emptyTaskRow();
  row.index = t.index[i] ?? -1;
  row.executor = t.executor[i] ?? -1;
  row.status = t.status[i] ?? 3;
  row.speculative = t.speculative[i] ?? 0;
  for (const c of FLOAT_COLUMNS) row[c] = t[c][i] ?? 0;
  return row;
}
