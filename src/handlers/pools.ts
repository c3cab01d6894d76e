// pool.create / pool.resize / pool.delete: the pool document in the state store and its long-lived
// clusters. Draining clusters are terminated here when idle, and again each time a pooled run on one
// of them is recorded (drainIdle), so a drain needs no waiting request.
import type { Observable } from 'rxjs';
import { SyncError, isSyncError, toSyncError } from '../domain/errors.js';
import type { PoolStore } from '../domain/ports.js';
import { STALE_CLAIM_MS, TAG_POOL_ID, TAG_POOL_SLOT, clusterLoads, poolJobFlow, type PoolState } from '../domain/pools.js';
import type { PoolCreateData, PoolDeleteData, PoolResizeData, PoolResult } from '../domain/requests.js';
import { TAG_TENANT_ID } from '../domain/tags.js';
import type { HandlerContext, HandlerDeps } from './deps.js';
import { fromAbortable, sleep, throwIfAborted } from './rx.js';

/** The pool store, or a clear error when the agent has none. */
export function poolsOf(deps: HandlerDeps): PoolStore {
  if (!deps.pools) throw new SyncError('unsupported', 'this agent has no pool store (cluster pools need tenant.state)');
  return deps.pools;
}

/** Optimistic read-modify-write of one pool document (as updateProjectState is for projects). */
export async function updatePool(
  pools: PoolStore,
  poolId: string,
  fn: (s: PoolState) => PoolState | undefined,
  opts: { signal?: AbortSignal } = {},
): Promise<{ state: PoolState; written: boolean }> {
  let last: unknown;
  for (let attempt = 0; attempt < 12; attempt++) {
    throwIfAborted(opts.signal);
    const current = await pools.get(poolId, opts);
    if (!current) throw new SyncError('not_found', `pool '${poolId}' does not exist`, { retryable: false });
    const next = fn(structuredClone(current.value));
    if (next === undefined) return { state: current.value, written: false };
    try {
      await pools.put(poolId, next, current.version, opts);
      return { state: next, written: true };
    } catch (e) {
      if (!isSyncError(e, 'conflict')) throw e;
      last = e;
      await sleep(Math.floor(Math.random() * Math.min(1000, 25 * 2 ** attempt)), opts.signal);
    }
  }
  throw new SyncError('conflict', `pool '${poolId}' kept changing under 12 attempts to update it`, { cause: last });
}

function resultOf(state: PoolState): PoolResult {
  const loads = new Map<string, number>();
  for (const p of state.placements) if (p.status !== 'ended') loads.set(p.clusterId, (loads.get(p.clusterId) ?? 0) + 1);
  return {
    poolId: state.pool.id,
    status: state.pool.status,
    size: state.pool.size,
    clusters: state.clusters.map((c) => ({ id: c.id, slot: c.slot, status: c.status, activeSteps: loads.get(c.id) ?? 0 })),
  };
}

/**
 * Starts clusters until the pool has `size` active or launching ones. Each slot is reserved in the
 * document before RunJobFlow, and a slot left `launching` by an earlier attempt is first looked up by
 * its tags (pool id, slot, tenant), so a retried request does not start a slot's cluster twice.
 */
async function ensureClusters(deps: HandlerDeps, poolId: string, signal: AbortSignal): Promise<PoolState> {
  const pools = poolsOf(deps);
  const at = () => deps.clock.now().toISOString();
  let { state } = await updatePool(pools, poolId, (s) => {
    if (s.pool.status !== 'active') return undefined;
    const have = s.clusters.filter((c) => c.status === 'active' || c.status === 'launching').length;
    if (have >= s.pool.size) return undefined;
    const clusters = [...s.clusters];
    let slot = s.nextSlot;
    for (let i = have; i < s.pool.size; i++) clusters.push({ id: '', slot: slot++, status: 'launching', createdAt: at() });
    return { ...s, clusters, nextSlot: slot };
  }, { signal });
  for (const c of state.clusters.filter((x) => x.status === 'launching')) {
    const tags = { [TAG_POOL_ID]: poolId, [TAG_POOL_SLOT]: String(c.slot), [TAG_TENANT_ID]: state.pool.tenantId };
    const found = await deps.platform.findClusterByTag({ tags, createdAfter: new Date(Date.parse(c.createdAt) - 10 * 60_000) }, { signal });
    const clusterId = found?.id ?? (await deps.platform.startCluster(poolJobFlow(state, c.slot), { signal })).clusterId;
    deps.logger.info(found ? 'pool cluster found from an earlier attempt' : 'pool cluster started', { poolId, slot: c.slot, clusterId });
    state = (
      await updatePool(pools, poolId, (s) => {
        const i = s.clusters.findIndex((x) => x.slot === c.slot && x.status === 'launching');
        if (i < 0) return undefined;
        const clusters = [...s.clusters];
        clusters[i] = { ...clusters[i]!, id: clusterId, status: s.pool.status === 'active' ? 'active' : 'draining' };
        return { ...s, clusters };
      }, { signal })
    ).state;
  }
  return state;
}

/** Terminates the pool's draining clusters that have no running or pending step left; marks the pool deleted once none is left. */
export async function drainIdle(deps: HandlerDeps, poolId: string, signal: AbortSignal): Promise<PoolState> {
  const pools = poolsOf(deps);
  let state = (await pools.get(poolId, { signal }))?.value;
  if (!state) throw new SyncError('not_found', `pool '${poolId}' does not exist`, { retryable: false });
  // Busy: a fresh claim (its steps may be on their way), or steps EMR still counts PENDING/RUNNING
  // (without a count, placements not yet ended).
  const now = deps.clock.now().getTime();
  const claimed = new Set(state.placements.filter((p) => p.status === 'claimed' && now - Date.parse(p.at) < STALE_CLAIM_MS).map((p) => p.clusterId));
  const unended = new Set(state.placements.filter((p) => p.status !== 'ended').map((p) => p.clusterId));
  const count = deps.platform.countActiveSteps?.bind(deps.platform);
  for (const c of state.clusters.filter((x) => x.status === 'draining' && !claimed.has(x.id))) {
    const busy = count ? (await count(c.id, { signal }).catch((e: unknown) => (toSyncError(e).code === 'not_found' ? 0 : Promise.reject(e)))) > 0 : unended.has(c.id);
    if (busy) continue;
    try {
      await deps.platform.terminateCluster(c.id, { signal });
    } catch (e) {
      if (toSyncError(e).code !== 'not_found') throw e;
    }
    deps.logger.info('drained pool cluster terminated', { poolId, clusterId: c.id });
    const endedAt = deps.clock.now().toISOString();
    state = (
      await updatePool(pools, poolId, (s) => {
        const i = s.clusters.findIndex((x) => x.id === c.id && x.status === 'draining');
        if (i < 0) return undefined;
        const clusters = [...s.clusters];
        clusters[i] = { ...clusters[i]!, status: 'terminated', endedAt };
        return { ...s, clusters };
      }, { signal })
    ).state;
  }
  if (state.pool.status === 'deleting' && state.clusters.every((c) => c.status === 'terminated')) {
    state = (await updatePool(pools, poolId, (s) => (s.pool.status === 'deleting' && s.clusters.every((c) => c.status === 'terminated') ? { ...s, pool: { ...s.pool, status: 'deleted', updatedAt: deps.clock.now().toISOString() } } : undefined), { signal })).state;
  }
  return state;
}

/** pool.create: creates the pool document (idempotent for the same definition) and starts its clusters. */
export function poolCreate(data: PoolCreateData, deps: HandlerDeps, ctx: HandlerContext): Observable<PoolResult> {
  return fromAbortable(async (signal) => {
    const pools = poolsOf(deps);
    if (data.jobFlow.Steps !== undefined && (!Array.isArray(data.jobFlow.Steps) || data.jobFlow.Steps.length > 0)) {
      throw new SyncError('invalid_request', 'data.jobFlow.Steps: a pool cluster starts without steps (pooled projects add theirs)', { retryable: false });
    }
    const now = deps.clock.now().toISOString();
    const fresh: PoolState = {
      pool: { id: data.poolId, tenantId: deps.config.tenant.id, size: data.size, jobFlow: structuredClone(data.jobFlow), status: 'active', createdAt: now, updatedAt: now },
      clusters: [],
      nextSlot: 0,
      placements: [],
    };
    const existing = await pools.get(data.poolId, { signal });
    if (existing) {
      if (existing.value.pool.status !== 'active') throw new SyncError('conflict', `pool '${data.poolId}' is ${existing.value.pool.status}; choose another pool id`, { retryable: false });
      if (JSON.stringify(existing.value.pool.jobFlow) !== JSON.stringify(data.jobFlow) || existing.value.pool.size !== data.size) {
        throw new SyncError('conflict', `pool '${data.poolId}' already exists with another definition; use pool.resize to change its size`, { retryable: false });
      }
    } else {
      try {
        await pools.put(data.poolId, fresh, null, { signal });
      } catch (e) {
        if (!isSyncError(e, 'conflict')) throw e;
      }
    }
    deps.logger.info('pool created', { poolId: data.poolId, size: data.size, requestId: ctx.requestId });
    return resultOf(await ensureClusters(deps, data.poolId, signal));
  }, ctx.signal);
}

/** pool.resize: grows (starts clusters) or shrinks (the newest active clusters drain, then terminate). */
export function poolResize(data: PoolResizeData, deps: HandlerDeps, ctx: HandlerContext): Observable<PoolResult> {
  return fromAbortable(async (signal) => {
    const pools = poolsOf(deps);
    await updatePool(pools, data.poolId, (s) => {
      if (s.pool.status !== 'active') throw new SyncError('invalid_request', `pool '${data.poolId}' is ${s.pool.status} and cannot be resized`, { retryable: false });
      const live = s.clusters.filter((c) => c.status === 'active' || c.status === 'launching');
      const surplus = live.length - data.size;
      // Shrinking drains the newest active clusters; launching ones are kept (they are about to become active).
      const drain = new Set(surplus > 0 ? s.clusters.filter((c) => c.status === 'active').sort((a, b) => b.slot - a.slot).slice(0, surplus).map((c) => c.slot) : []);
      if (s.pool.size === data.size && drain.size === 0) return undefined;
      return {
        ...s,
        pool: { ...s.pool, size: data.size, updatedAt: deps.clock.now().toISOString() },
        clusters: s.clusters.map((c) => (drain.has(c.slot) ? { ...c, status: 'draining' as const } : c)),
      };
    }, { signal });
    await ensureClusters(deps, data.poolId, signal);
    return resultOf(await drainIdle(deps, data.poolId, signal));
  }, ctx.signal);
}

/** pool.delete: no new placements; every cluster drains (terminated once its steps end); the pool is `deleted` when none is left. */
export function poolDelete(data: PoolDeleteData, deps: HandlerDeps, ctx: HandlerContext): Observable<PoolResult> {
  return fromAbortable(async (signal) => {
    const pools = poolsOf(deps);
    await updatePool(pools, data.poolId, (s) => {
      if (s.pool.status !== 'active' && s.clusters.every((c) => c.status !== 'active')) return undefined;
      return {
        ...s,
        pool: { ...s.pool, status: s.pool.status === 'deleted' ? 'deleted' : 'deleting', updatedAt: deps.clock.now().toISOString() },
        clusters: s.clusters.map((c) => (c.status === 'active' ? { ...c, status: 'draining' as const } : c)),
      };
    }, { signal });
    const state = await drainIdle(deps, data.poolId, signal);
    const busy = clusterLoads({ ...state, clusters: state.clusters.map((c) => ({ ...c, status: 'active' as const })) });
    deps.logger.info('pool draining', { poolId: data.poolId, busy: [...busy.entries()].filter(([, n]) => n > 0).length, requestId: ctx.requestId });
    return resultOf(state);
  }, ctx.signal);
}
