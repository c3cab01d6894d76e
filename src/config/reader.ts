// A small validating reader: every check records a problem and returns undefined instead of throwing,
// so one pass over a file reports every problem at once.
import { checkLocation } from './locations.js';

/** One thing wrong with a configuration value: the key path, what is wrong, and the file it came from. */
export type ConfigProblem = { path: string; message: string; file: string };

/** Keys whose presence in a config file means someone put a credential there. */
export const SECRET_KEY = /(secret|password|passwd|token|api[-_]?key|credential|private[-_]?key|access[-_]?key)/i;

export const CREDENTIALS_HINT =
  'credentials never live in the config file: use SYNC_API_KEY_ID/SYNC_API_KEY_SECRET, SYNC_AGENT_TOKEN, $CREDENTIALS_DIRECTORY (systemd LoadCredential=) or ~/.sync/credentials';

/** `path: message (in file)` for each problem, one per line. */
export function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems.map((p) => `${p.path}: ${p.message} (in ${p.file})`).join('\n');
}

type Obj = Record<string, unknown>;

/** The closest candidate to `key` by edit distance, when it is close enough to be a likely typo. */
export function didYouMean(key: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = c.toLowerCase() === key.toLowerCase() ? 0.5 : editDistance(key.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(Math.max(key.length, best.length) / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value.length > 60 ? `'${value.slice(0, 57)}...'` : `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return `a ${typeof value}`;
}

const join = (path: string, key: string) => (path === '' ? key : `${path}.${key}`);

/** Problem-collecting readers for one file; `baseDir` resolves relative `file:` URLs and paths. */
export type Reader = ReturnType<typeof createReader>;

/** Creates a reader that attributes every problem to `file`. */
export function createReader(file: string, baseDir: string | undefined) {
  const problems: ConfigProblem[] = [];
  const add = (path: string, message: string): undefined => {
    problems.push({ path, message, file });
    return undefined;
  };

  /** Checks that `value` is a plain object with only `keys` (any keys when null); returns it, or undefined when absent or wrong. */
  const object = (value: unknown, path: string, keys: readonly string[] | null): Obj | undefined => {
    if (value === undefined) return undefined;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return add(path || '(top level)', `must be an object, got ${describe(value)}`);
    const o = value as Obj;
    for (const k of Object.keys(o)) {
      if (keys?.includes(k)) continue;
      if (SECRET_KEY.test(k)) {
        add(join(path, k), CREDENTIALS_HINT);
        continue;
      }
      if (keys === null) continue;
      const hint = didYouMean(k, keys);
      add(join(path, k), `unknown key${hint ? `; did you mean '${hint}'?` : ''} (allowed: ${keys.join(', ')})`);
    }
    return o;
  };

  const string = (o: Obj | undefined, path: string, key: string, opts: { pattern?: RegExp; what?: string; required?: boolean } = {}): string | undefined => {
    const v = o?.[key];
    if (v === undefined) return opts.required ? add(join(path, key), `is required${opts.what ? ` (${opts.what})` : ''}`) : undefined;
    if (typeof v !== 'string' || v === '') return add(join(path, key), `must be a non-empty string${opts.what ? ` (${opts.what})` : ''}, got ${describe(v)}`);
    if (opts.pattern && !opts.pattern.test(v)) return add(join(path, key), `must be ${opts.what ?? `a string matching ${String(opts.pattern)}`}, got ${describe(v)}`);
    return v;
  };

  const integer = (o: Obj | undefined, path: string, key: string, min: number, max: number): number | undefined => {
    const v = o?.[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) return add(join(path, key), `must be an integer between ${min} and ${max}, got ${describe(v)}`);
    return v;
  };

  const number = (o: Obj | undefined, path: string, key: string, min: number): number | undefined => {
    const v = o?.[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) return add(join(path, key), `must be a number >= ${min}, got ${describe(v)}`);
    return v;
  };

  const boolean = (o: Obj | undefined, path: string, key: string): boolean | undefined => {
    const v = o?.[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') return add(join(path, key), `must be true or false, got ${describe(v)}`);
    return v;
  };

  const oneOf = <T extends string>(o: Obj | undefined, path: string, key: string, values: readonly T[]): T | undefined => {
    const v = o?.[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      const hint = typeof v === 'string' ? didYouMean(v, values) : undefined;
      return add(join(path, key), `must be one of ${values.map((x) => `'${x}'`).join(', ')}, got ${describe(v)}${hint ? `; did you mean '${hint}'?` : ''}`);
    }
    return v as T;
  };

  /** An http(s) URL without a password in it. */
  const url = (o: Obj | undefined, path: string, key: string, schemes: readonly string[] = ['http:', 'https:'], required = false): string | undefined => {
    const v = string(o, path, key, { required, what: `a ${schemes.map((s) => s + '//').join(' or ')} URL` });
    if (v === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(v);
    } catch {
      return add(join(path, key), `must be a ${schemes.map((s) => s + '//').join(' or ')} URL, got ${describe(v)}`);
    }
    if (parsed.password !== '') return add(join(path, key), `must not contain a password: ${CREDENTIALS_HINT}`);
    if (!schemes.includes(parsed.protocol)) return add(join(path, key), `must be a ${schemes.map((s) => s + '//').join(' or ')} URL, got ${describe(v)}`);
    return v;
  };

  const location = (o: Obj | undefined, path: string, key: string, required = false): string | undefined => {
    const v = string(o, path, key, { required, what: 'an s3://bucket/prefix or file:///abs/path URL' });
    if (v === undefined) return undefined;
    const checked = checkLocation(v, baseDir);
    return checked.ok ? checked.url : add(join(path, key), checked.reason);
  };

  return { problems, add, object, string, integer, number, boolean, oneOf, url, location, file, baseDir };
}
