// The run page's view of an event log: the `analyze` summary plus each executor's time on the cluster.
import { summarize } from '../cli/commands/analyze.js';
import type { ApplicationModel } from '../domain/eventlog/model.js';

/** `analyze --json` with the executor timeline (ms from the application's start) for the run page. */
export function summarizeForUi(model: ApplicationModel): Record<string, unknown> {
  return {
    ...summarize(model, { top: 10 }),
    executorTimeline: model.executors
      .filter((e) => e.id !== 'driver')
      .map((e) => ({ id: e.id, cores: e.cores, addedMs: Math.max(0, e.addedAt - model.startTime), ...(e.removedAt !== undefined ? { removedMs: e.removedAt - model.startTime } : {}) })),
  };
}
