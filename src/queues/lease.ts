// A Redis lease: one holder at a time among agents sharing a Redis, identified by a random token.
// The holder renews it; it is released on stop, and taken over by another agent once it expires.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

// Take the lease if it is free, renew it if it is ours; 1 = held by us after the call.
const ACQUIRE = `local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;
// Delete only our own lease.
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** A lease held through one Redis key. */
export type Lease = {
  readonly token: string;
  /** Takes the lease if free or renews it if held by us; true when we hold it afterwards. */
  acquire(): Promise<boolean>;
  /** Gives the lease up if we hold it (safe when we do not). */
  release(): Promise<void>;
};

/** Creates a lease on `key` valid `ttlMs` after each acquire/renewal. */
export function createRedisLease(opts: { redis: Pick<Redis, 'eval'>; key: string; ttlMs: number; token?: string }): Lease {
  const token = opts.token ?? randomUUID();
  return {
    token,
    async acquire() {
      return Number(await opts.redis.eval(ACQUIRE, 1, opts.key, token, String(Math.max(1, Math.round(opts.ttlMs))))) === 1;
    },
    async release() {
      await opts.redis.eval(RELEASE, 1, opts.key, token);
    },
  };
}
