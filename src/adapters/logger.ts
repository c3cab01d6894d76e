import type { LogLevel, Logger } from '../domain/ports.js';

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Field names whose values are never written, whatever their nesting. */
const SECRET_KEY = /(secret|password|passwd|token|authorization|api[-_]?key|credential|session[-_]?key|private[-_]?key)/i;
export const REDACTED = '[redacted]';

/** Copies `value` with every secret-looking field replaced; handles cycles, Errors and Buffers. */
export function redact(value: unknown, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message };
    const code = (value as { code?: unknown }).code;
    if (code !== undefined) out.code = code;
    if (value.stack) out.stack = value.stack.split('\n').slice(0, 6).join('\n');
    return out;
  }
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((v) => redact(v, seen));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? REDACTED : redact(v, seen);
  return out;
}

/** Writes a line somewhere (stdout by default). */
export type LineSink = (line: string) => void;

/**
 * A JSON-lines logger for journald: one object per line with `time`, `level`, `msg` and the fields.
 * Secret-looking fields are redacted, and any string listed in `secrets` is masked wherever it appears.
 */
export function createLogger(
  options: { level?: LogLevel; sink?: LineSink; fields?: Record<string, unknown>; secrets?: () => readonly string[] } = {},
): Logger {
  const min = LEVELS[options.level ?? 'info'];
  const sink = options.sink ?? ((line: string) => process.stdout.write(line + '\n'));
  const base = options.fields ?? {};
  const secrets = options.secrets ?? (() => []);
  const write = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS[level] < min) return;
    let line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...(redact({ ...base, ...fields }) as object) });
    for (const s of secrets()) if (s.length >= 4) line = line.split(s).join(REDACTED);
    sink(line);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
