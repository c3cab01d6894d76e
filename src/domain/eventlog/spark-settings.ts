// Reading Spark configuration values: sizes ("20g"), booleans, secret masking.
import type { SparkSettings } from './model.js';

const SECRET_KEY = /password|secret|token|credential/i;
/** What a secret-looking property's value is replaced with. */
export const MASKED = '*********';

/** A copy of `props` with the values of keys that look secret (password/secret/token/credential) masked. */
export function maskSecrets(props: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(props)) out[k] = SECRET_KEY.test(k) ? MASKED : String(v);
  return out;
}

const SIZE_UNITS: Record<string, number> = { b: 1 / (1024 * 1024), k: 1 / 1024, kb: 1 / 1024, m: 1, mb: 1, g: 1024, gb: 1024, t: 1024 * 1024, tb: 1024 * 1024 };

/** A Spark memory size ("4g", "512m", "1024" = MiB by default) in MiB; undefined when unreadable. */
export function parseSizeMb(value: string | undefined, defaultUnit: 'm' | 'b' = 'm'): number | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  if (!m) return undefined;
  const unit = (m[2] ?? '').toLowerCase() || defaultUnit;
  const factor = SIZE_UNITS[unit];
  return factor === undefined ? undefined : Number(m[1]) * factor;
}

function int(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value.trim());
  return Number.isFinite(n) ? n : undefined;
}

function bool(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  return v === 'true' ? true : v === 'false' ? false : undefined;
}

/** The sizing-relevant settings from Spark properties (unset ones stay undefined). */
export function readSparkSettings(props: Record<string, string>): SparkSettings {
  const s: SparkSettings = { dynamicAllocation: bool(props['spark.dynamicAllocation.enabled']) ?? false };
  const set = <K extends keyof SparkSettings>(k: K, v: SparkSettings[K] | undefined): void => {
    if (v !== undefined) s[k] = v;
  };
  set('executorCores', int(props['spark.executor.cores']));
  set('executorMemoryMb', parseSizeMb(props['spark.executor.memory']));
  set('executorMemoryOverheadMb', parseSizeMb(props['spark.executor.memoryOverhead'] ?? props['spark.yarn.executor.memoryOverhead']));
  set('executorInstances', int(props['spark.executor.instances']));
  set('driverMemoryMb', parseSizeMb(props['spark.driver.memory']));
  set('minExecutors', int(props['spark.dynamicAllocation.minExecutors']));
  set('maxExecutors', int(props['spark.dynamicAllocation.maxExecutors']));
  set('shufflePartitions', int(props['spark.sql.shuffle.partitions']));
  set('adaptiveEnabled', bool(props['spark.sql.adaptive.enabled']));
  set('taskCpus', int(props['spark.task.cpus']));
  return s;
}
