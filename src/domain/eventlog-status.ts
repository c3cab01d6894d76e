// What a run's event log is once its cluster has ended (complete, unfinished, missing), read from the
// listing of the run's `eventlog/` folder, and how long each platform may take to deliver it. Pure.
import type { EventLogState, PlatformName, Run } from './types.js';

/** What the listing of a run's `eventlog/` folder says. */
export type EventLogStatus = {
  status: EventLogState;
  /** Every event-log file (directory markers, checksums and hidden files excluded). */
  files: string[];
  /** Files or rolling-log directories Spark has not finished. */
  unfinished: string[];
  /** Why the log is not complete, in words a user can act on; absent when complete. */
  reason?: string;
};

/** How a platform delivers a run's event log after its cluster ends. */
export type LogArrival = {
  /** How long after the cluster's end an incomplete log may still become complete (0: never, record at once). */
  graceMs: number;
};

/** Not event-log files: S3 folder markers, Hadoop checksums, hidden files. */
function isLogFile(name: string): boolean {
  return name !== '' && !name.endsWith('/') && !name.endsWith('_$folder$') && !name.endsWith('.crc') && !name.startsWith('.');
}

const baseName = (url: string): string => url.slice(url.lastIndexOf('/', url.length - 2) + 1);

/**
 * Reads an `eventlog/` listing (object URLs under `dirUrl`): `missing` when it holds no event-log file,
 * `unfinished` when a file still ends in `.inprogress` or a rolling log (`eventlog_v2_*`) has no final
 * `appstatus_*` file, `complete` otherwise.
 */
export function eventLogStatus(urls: readonly string[], dirUrl: string): EventLogStatus {
  const files = urls.filter((u) => u !== dirUrl && isLogFile(baseName(u)));
  const unfinished = files.filter((u) => u.endsWith('.inprogress'));
  const rolling = new Map<string, boolean>();
  for (const u of files) {
    const rest = u.startsWith(dirUrl) ? u.slice(dirUrl.length) : u;
    const m = /^(eventlog_v2_[^/]+)\/(.*)$/.exec(rest);
    if (!m) continue;
    const dir = m[1] as string;
    const name = m[2] as string;
    if (!rolling.has(dir)) rolling.set(dir, false);
    if (name.startsWith('appstatus_') && !name.endsWith('.inprogress')) rolling.set(dir, true);
  }
  for (const [dir, done] of rolling) if (!done && !unfinished.some((u) => u.includes(`/${dir}/`))) unfinished.push(`${dirUrl}${dir}/`);
  if (files.length === 0) {
    return { status: 'missing', files, unfinished, reason: `no event log was written under ${dirUrl} (no step ran a Spark application with event logging, or its driver stopped before it opened the log)` };
  }
  if (unfinished.length > 0) {
    const names = unfinished.map((u) => (u.startsWith(dirUrl) ? u.slice(dirUrl.length) : u)).join(', ');
    return { status: 'unfinished', files, unfinished, reason: `the event log under ${dirUrl} was never closed by Spark: ${names} (the driver stopped before it renamed its .inprogress file or wrote its final appstatus)` };
  }
  return { status: 'complete', files, unfinished };
}

/**
 * Each platform's log arrival. EMR: Spark writes its log to S3 when the application ends, inside the
 * step, so once EMR reports a final state the log is as complete as it will ever be: no wait.
 * Databricks delivers cluster logs to their destination periodically, after the cluster ends, so it
 * waits up to `site.eventLog.waitTimeoutMs`.
 */
export function logArrivalFor(platform: PlatformName, eventLog: { waitTimeoutMs: number }): LogArrival {
  switch (platform) {
    case 'emr':
      return { graceMs: 0 };
    case 'databricks':
      return { graceMs: eventLog.waitTimeoutMs };
  }
}

/** Whether predictions may be based on a log in this state (an unfinished log is read, with a warning). */
export function isUsableEventLog(status: EventLogState): boolean {
  return status !== 'missing';
}

/**
 * A finished run's event-log state and reason. Runs recorded before the state was kept count as complete
 * when they carry an `eventLogUrl`, else as missing. Undefined while the run is not finished, and for
 * a run that never had a cluster.
 */
export function eventLogOf(run: Run): { status: EventLogState; reason?: string } | undefined {
  if (run.eventLog) return run.eventLog;
  if ((run.status !== 'recorded' && run.status !== 'failed') || run.clusterId === undefined) return undefined;
  if (run.eventLogUrl !== undefined) return { status: 'complete' };
  return { status: 'missing', reason: 'the run was recorded without a complete event log' };
}

/** The warning a run carries when its event log is not complete (undefined when it is, or the run is not finished). */
export function eventLogWarning(run: Run): string | undefined {
  const log = eventLogOf(run);
  if (!log || log.status === 'complete') return undefined;
  const why = log.reason ?? 'unknown reason';
  if (log.status === 'missing') return `run ${run.id} has no event log: ${why}; no prediction can be based on it`;
  return `run ${run.id} has an unfinished event log: ${why}; predictions from it read what was written and may cut the application short`;
}
