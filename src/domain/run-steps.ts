// Steps of a run as the platform reports them, and the failure a failed step explains. Pure.
import type { RunFailure, RunStep, StepFailure } from './types.js';

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** An SDK/JSON time (ISO string, Date, or epoch seconds as the EMR wire has it) as an ISO string. */
function isoTime(v: unknown): string | undefined {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'number' && Number.isFinite(v)) return new Date(v * 1000).toISOString();
  if (typeof v === 'string' && !Number.isNaN(Date.parse(v))) return new Date(v).toISOString();
  return undefined;
}

/** States after which a step never changes again. */
export const FINAL_STEP_STATES: ReadonlySet<string> = new Set(['COMPLETED', 'CANCELLED', 'FAILED', 'INTERRUPTED']);

/**
 * EMR ListSteps `Steps` (StepSummary objects, SDK output or plain JSON) as run steps, oldest first
 * (EMR lists the newest first). Entries without an Id are skipped.
 */
export function stepsFromEmr(steps: readonly unknown[]): RunStep[] {
  const out: RunStep[] = [];
  for (const s of steps) {
    if (!isObject(s)) continue;
    const id = text(s.Id);
    if (!id) continue;
    const status = isObject(s.Status) ? s.Status : {};
    const timeline = isObject(status.Timeline) ? status.Timeline : {};
    const step: RunStep = { id, name: text(s.Name) ?? id, state: text(status.State) ?? 'UNKNOWN' };
    const created = isoTime(timeline.CreationDateTime);
    const started = isoTime(timeline.StartDateTime);
    const ended = isoTime(timeline.EndDateTime);
    if (created) step.createdAt = created;
    if (started) step.startedAt = started;
    if (ended) step.endedAt = ended;
    const fd = isObject(status.FailureDetails) ? status.FailureDetails : undefined;
    if (fd) {
      const failure: StepFailure = {};
      const reason = text(fd.Reason);
      const message = text(fd.Message);
      const logFile = text(fd.LogFile);
      if (reason) failure.reason = reason;
      if (message) failure.message = message;
      if (logFile) failure.logFile = logFile;
      if (Object.keys(failure).length > 0) step.failure = failure;
    }
    out.push(step);
  }
  // Oldest first: by creation time, ties kept in reverse of EMR's newest-first listing.
  return out.reverse().sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? ''));
}

/**
 * Merges a fresh listing into what the run knew: steps are matched by id, a step in a final state is
 * never moved back to an earlier one (an event or listing that arrives late), and unknown steps are
 * added in the listing's order.
 */
export function mergeSteps(known: readonly RunStep[] | undefined, fresh: readonly RunStep[]): RunStep[] {
  const out = (known ?? []).map((s) => ({ ...s }));
  for (const f of fresh) {
    const i = out.findIndex((s) => s.id === f.id);
    if (i < 0) {
      out.push({ ...f });
      continue;
    }
    const old = out[i]!;
    if (FINAL_STEP_STATES.has(old.state) && !FINAL_STEP_STATES.has(f.state)) continue;
    out[i] = { ...old, ...f };
  }
  return out;
}

/** The run's failure: the first FAILED step, with its reason, message and log file. */
export function runFailure(steps: readonly RunStep[] | undefined): RunFailure | undefined {
  const failed = (steps ?? []).find((s) => s.state === 'FAILED');
  if (!failed) return undefined;
  return { stepId: failed.id, stepName: failed.name, ...(failed.failure ?? {}) };
}

/** Where EMR uploads a step's logs: `{LogUri}{clusterId}/steps/{stepId}/` (LogUri given a trailing slash). */
export function stepLogPrefix(logUri: string, clusterId: string, stepId: string): string {
  return `${logUri.endsWith('/') ? logUri : `${logUri}/`}${clusterId}/steps/${stepId}/`;
}

/** The log streams of a step. */
export type LogStream = 'stdout' | 'stderr' | 'controller';
export const LOG_STREAMS: readonly LogStream[] = ['stdout', 'stderr', 'controller'];

/**
 * The bytes of a log from `offset` (in decompressed bytes), at most `maxBytes`, never ending inside a
 * UTF-8 character (unless one character is longer than `maxBytes`), and the offset to ask for next.
 */
export function sliceLog(log: Uint8Array, offset: number, maxBytes: number): { bytes: Uint8Array; nextOffset: number } {
  const from = Math.min(Math.max(0, Math.floor(offset)), log.length);
  let to = Math.min(log.length, from + Math.max(1, Math.floor(maxBytes)));
  if (to < log.length) {
    // Step back over continuation bytes (10xxxxxx) to the start of the character cut in two.
    let cut = to;
    while (cut > from && (log[cut]! & 0xc0) === 0x80) cut--;
    if (cut > from) to = cut;
  }
  return { bytes: log.subarray(from, to), nextOffset: to };
}
