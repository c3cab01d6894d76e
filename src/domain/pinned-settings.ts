// Settings the user pinned (policy.pinned) survive a recommended configuration: whatever a
// prediction carries, the pinned keys of the merged request are the base request's own.
import { parseSizeMb } from './eventlog/spark-settings.js';
import type { JobFlow } from './types.js';

type Conf = { Classification?: unknown; Properties?: unknown; Configurations?: unknown };

const isConf = (v: unknown): v is Conf => typeof v === 'object' && v !== null && !Array.isArray(v);

function sparkDefaults(jobFlow: JobFlow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const list = Array.isArray(jobFlow.Configurations) ? jobFlow.Configurations : [];
  for (const c of list) if (isConf(c) && c.Classification === 'spark-defaults' && isConf(c.Properties)) Object.assign(out, c.Properties);
  return out;
}

/** `merged` with every pinned spark-defaults key set back to its value in `base` (or removed when `base` has none). */
export function keepPinnedSparkSettings(base: JobFlow, merged: JobFlow, pinned: readonly string[] | undefined): JobFlow {
  if (!pinned || pinned.length === 0 || !Array.isArray(merged.Configurations)) return merged;
  const own = sparkDefaults(base);
  const configurations = merged.Configurations.map((c) => {
    if (!isConf(c) || c.Classification !== 'spark-defaults' || !isConf(c.Properties)) return c;
    const props: Record<string, unknown> = { ...(c.Properties as Record<string, unknown>) };
    for (const k of pinned) {
      if (k in own) props[k] = own[k];
      else delete props[k];
    }
    return { ...c, Properties: props };
  });
  return { ...merged, Configurations: configurations };
}

/** spark.executor.memory a request sets in spark-defaults, MB (undefined when unset or unreadable). */
export function executorMemoryOf(jobFlow: JobFlow | undefined): number | undefined {
  const v = jobFlow ? sparkDefaults(jobFlow)['spark.executor.memory'] : undefined;
  return typeof v === 'string' ? parseSizeMb(v) : undefined;
}
