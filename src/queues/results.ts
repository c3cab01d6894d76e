import type { Redis } from 'ioredis';

/** How a request ended: `rejected` = it failed validation before a job existed; `failed` = the job failed finally. */
export type ResultStatus = 'completed' | 'failed' | 'rejected';

/** The one final answer to a request, as put on `<prefix>:results` and kept at `<prefix>:result:<id>`. */
export type ResultEntry = {
  id: string;
  name: string;
  status: ResultStatus;
  result?: unknown;
  error?: { code: string; message: string; details?: Record<string, unknown> };
  /** ISO time the entry was written. */
  finishedAt: string;
};

/** Writes and reads final request results. */
export type Results = {
  /**
   * Records the final entry for `entry.id` once: writes the lookup hash and appends one stream entry.
   * Returns false (writing nothing) when a completed/failed entry for the id already exists; a
   * `rejected` entry may be superseded by a later job with the same id.
   */
  publish(entry: Omit<ResultEntry, 'finishedAt'> & { finishedAt?: string }): Promise<boolean>;
  get(id: string): Promise<ResultEntry | undefined>;
};

export type ResultsOptions = {
  /** Lifetime of the lookup hash; default 7 days. */
  ttlSeconds?: number;
  /** Approximate cap on the results stream length; default 100000. */
  maxStreamLength?: number;
};

/** The Redis keys of the results layer for a prefix. */
export function resultKeys(prefix: string): { stream: string; entry: (id: string) => string } {
  return { stream: `${prefix}:results`, entry: (id) => `${prefix}:result:${id}` };
}

// Atomic "write once": a completed/failed entry is final; a rejected one can be replaced. The hash
// and the stream entry are written together so a reader never sees one without the other.
const PUBLISH_SCRIPT = `
local status = redis.call('HGET', KEYS[1], 'status')
if status and status ~= 'rejected' then return 0 end
redis.call('DEL', KEYS[1])
local fields = {}
for i = 3, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(fields))
return 1
`;

/** Stream/hash field list (flat key, value pairs) for an entry; `result` and `error` are JSON. */
export function entryFields(entry: ResultEntry): string[] {
  const fields = ['id', entry.id, 'name', entry.name, 'status', entry.status];
  if (entry.error !== undefined) fields.push('error', JSON.stringify(entry.error));
  else fields.push('result', JSON.stringify(entry.result ?? null));
  fields.push('finishedAt', entry.finishedAt);
  return fields;
}

/** Parses a results hash or stream entry's fields back into an entry; undefined when incomplete. */
export function parseEntryFields(fields: Record<string, string>): ResultEntry | undefined {
  const { id, name, status } = fields;
  if (!id || name === undefined || (status !== 'completed' && status !== 'failed' && status !== 'rejected')) return undefined;
  const entry: ResultEntry = { id, name, status, finishedAt: fields.finishedAt ?? '' };
  if (fields.error !== undefined) entry.error = JSON.parse(fields.error) as NonNullable<ResultEntry['error']>;
  if (fields.result !== undefined) entry.result = JSON.parse(fields.result) as unknown;
  return entry;
}

/** The results store over a Redis connection (the caller owns and closes `redis`). */
export function createResults(redis: Redis, prefix: string, options: ResultsOptions = {}): Results {
  const keys = resultKeys(prefix);
  const ttl = options.ttlSeconds ?? 7 * 24 * 3600;
  const maxLen = options.maxStreamLength ?? 100_000;
  return {
    async publish(input) {
      const entry: ResultEntry = { ...input, finishedAt: input.finishedAt ?? new Date().toISOString() };
      const written = await redis.eval(PUBLISH_SCRIPT, 2, keys.entry(entry.id), keys.stream, String(ttl), String(maxLen), ...entryFields(entry));
      return written === 1;
    },
    async get(id) {
      const fields = await redis.hgetall(keys.entry(id));
      return parseEntryFields(fields);
    },
  };
}
