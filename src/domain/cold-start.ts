// Cold start: a project with no history and no event log gets a starting configuration from the
// job's declared input size and type, from a documented table (overridable), marked as a guess.
//
// | input (up to) | sql / etl                  | python (UDF-heavy)          | ml (iterative, cached)      |
// |---------------|----------------------------|-----------------------------|-----------------------------|
// | 10 GiB        | 2 x m5.xlarge, 4c/10g, 64  | 2 x r5.xlarge, 4c/14g, 64   | 2 x r5.xlarge, 4c/20g, 64   |
// | 100 GiB       | 4 x m5.2xlarge, 4c/10g, 400| 4 x r5.2xlarge, 4c/14g, 400 | 4 x r5.2xlarge, 4c/20g, 400 |
// | 1 TiB         | 10 x m5.4xlarge, 4c/10g, 2000 | 10 x r5.4xlarge, 4c/14g, 2000 | 10 x r5.4xlarge, 4c/20g, 2000 |
// | above         | 20 x m5.4xlarge, 4c/10g, 4000 | 20 x r5.4xlarge, 4c/14g, 4000 | 20 x r5.4xlarge, 4c/20g, 4000 |
// (nodes x type, executor cores / heap, spark.sql.shuffle.partitions: ~128-256 MiB of shuffle per partition,
// about 2.5 GiB of heap per core for SQL, more where Python workers or cached data share the node.)
// Overridden by site.predictions.coldStart (rows of { type, maxInputGiB, instanceType, nodes, executorCores,
// executorMemoryMb, shufflePartitions }): the rows given for a job type replace the shipped rows of that
// type. Used by prediction.create for a project whose policy.declaredInput is set and that has no run
// with an event log yet.
import { SyncError } from './errors.js';

/** The job types the table knows. */
export const JOB_TYPES = ['sql', 'python', 'ml'] as const;
export type JobType = (typeof JOB_TYPES)[number];

/** One row of the table. */
export type ColdStartRow = { maxInputBytes: number; type: JobType; instanceType: string; nodes: number; executorCores: number; executorMemoryMb: number; shufflePartitions: number };

const GiB = 1024 ** 3;
const row = (maxInputBytes: number, type: JobType, instanceType: string, nodes: number, executorMemoryMb: number, shufflePartitions: number): ColdStartRow => ({
  maxInputBytes,
  type,
  instanceType,
  nodes,
  executorCores: 4,
  executorMemoryMb,
  shufflePartitions,
});
const memory: Record<JobType, number> = { sql: 10240, python: 14336, ml: 20480 };
const family: Record<JobType, string> = { sql: 'm5', python: 'r5', ml: 'r5' };

/** The documented table (see the module comment). */
export const COLD_START_TABLE: readonly ColdStartRow[] = JOB_TYPES.flatMap((t) => [
  row(10 * GiB, t, `${family[t]}.xlarge`, 2, memory[t], 64),
  row(100 * GiB, t, `${family[t]}.2xlarge`, 4, memory[t], 400),
  row(1024 * GiB, t, `${family[t]}.4xlarge`, 10, memory[t], 2000),
  row(Infinity, t, `${family[t]}.4xlarge`, 20, memory[t], 4000),
]);

/** A starting configuration, always a guess until a run is recorded. */
export type ColdStart = ColdStartRow & { guess: true; explanation: string; sparkProperties: Record<string, string> };

/** The table's row for the declared input (bytes) and job type; `table` overrides the documented one. */
export function coldStartConfiguration(declared: { inputBytes: number; type: JobType }, table: readonly ColdStartRow[] = COLD_START_TABLE): ColdStart {
  if (!Number.isFinite(declared.inputBytes) || declared.inputBytes < 0) throw new SyncError('invalid_request', `cold start: the declared input size must be a number of bytes >= 0 (got ${String(declared.inputBytes)})`);
  if (!JOB_TYPES.includes(declared.type)) throw new SyncError('invalid_request', `cold start: the job type must be one of ${JOB_TYPES.join(', ')} (got '${String(declared.type)}')`);
  const rows = table.filter((r) => r.type === declared.type).sort((a, b) => a.maxInputBytes - b.maxInputBytes);
  const r = rows.find((x) => declared.inputBytes <= x.maxInputBytes) ?? rows[rows.length - 1];
  if (!r) throw new SyncError('invalid_request', `cold start: the table has no row for job type '${declared.type}'`);
  const b = declared.inputBytes;
  // Below 1 MiB in bytes (a bare '200' is 200 bytes, not '0 MiB').
  const size = b >= GiB ? `${(b / GiB).toFixed(0)} GiB` : b >= 1024 ** 2 ? `${Math.round(b / 1024 ** 2)} MiB` : `${Math.round(b)} bytes`;
  return {
    ...r,
    guess: true,
    sparkProperties: { 'spark.executor.cores': String(r.executorCores), 'spark.executor.memory': `${r.executorMemoryMb}m`, 'spark.sql.shuffle.partitions': String(r.shufflePartitions) },
    explanation: `a guess from the declared input (${size}, ${declared.type}): ${r.nodes} x ${r.instanceType}, executors of ${r.executorCores} cores and ${r.executorMemoryMb} MiB, ${r.shufflePartitions} shuffle partitions (cold-start table); replaced by a prediction once a run is recorded`,
  };
}

/** The documented table with `overrides` applied: the rows given for a job type replace its shipped rows. */
export function coldStartTable(overrides: readonly ColdStartRow[] | undefined): readonly ColdStartRow[] {
  if (!overrides || overrides.length === 0) return COLD_START_TABLE;
  const replaced = new Set(overrides.map((r) => r.type));
  return [...COLD_START_TABLE.filter((r) => !replaced.has(r.type)), ...overrides];
}
