// In-memory fakes of the ports handlers use, with the knobs tests need: versions and injected conflicts
// in the state store, clusters whose state a test advances by hand, and a clock a test moves.
import type { Config } from '../../src/config/types.js';
import { SyncError } from '../../src/domain/errors.js';
import type { CallOptions, ClusterInfo, ClusterReport, Clock, Platform, StateStore, Versioned } from '../../src/domain/ports.js';
import type { JobFlow, Prediction, ProjectState, RunStep } from '../../src/domain/types.js';
import { silentLogger } from '../../src/adapters/logger.js';
import type { HandlerContext, HandlerDeps } from '../../src/handlers/deps.js';
import { createMemoryObjectStore, type MemoryObjectStore } from './memory-object-store.js';

function abortIfNeeded(options?: CallOptions): void {
  if (options?.signal?.aborted) throw new SyncError('aborted', 'the operation was aborted');
}

/** A clock that stays where the test puts it. */
export type FakeClock = Clock & { set(at: Date | string): void; advance(ms: number): void };

/** Creates a clock fixed at `start` (default 2022-11-15T13:51:29Z); its `sleep` moves it forward at once (after a turn of the event loop). */
export function createFakeClock(start: Date | string = '2022-11-15T13:51:29.000Z'): FakeClock {
  let t = new Date(start).getTime();
  return {
    now: () => new Date(t),
    sleep: async (ms, signal) => {
      await new Promise((r) => setImmediate(r));
      if (signal?.aborted) throw new SyncError('aborted', 'the wait was aborted');
      t += ms;
    },
    set: (at) => void (t = new Date(at).getTime()),
    advance: (ms) => void (t += ms),
  };
}

/** The state store fake and what tests inspect or inject. */
export type FakeStateStore = StateStore & {
  readonly docs: Map<string, Versioned<ProjectState>>;
  /** Successful puts so far. */
  puts: number;
  /** The next N puts fail with 'conflict' after a simulated concurrent write bumps the version. */
  conflictsToInject: number;
  /** Runs before each put is checked (e.g. to write concurrently); may throw to fail the put. */
  beforePut?: (projectId: string, state: ProjectState) => void;
  /** Reads the current document (a copy), or undefined. */
  read(projectId: string): ProjectState | undefined;
};

/** Creates an empty in-memory state store with per-document versions and write-if-version semantics. */
export function createFakeStateStore(): FakeStateStore {
  const docs = new Map<string, Versioned<ProjectState>>();
  let counter = 0;
  const store: FakeStateStore = {
    docs,
    puts: 0,
    conflictsToInject: 0,
    async get(projectId, options) {
      abortIfNeeded(options);
      const d = docs.get(projectId);
      return d ? structuredClone(d) : undefined;
    },
    async put(projectId, state, expectedVersion, options) {
      abortIfNeeded(options);
      store.beforePut?.(projectId, state);
      const current = docs.get(projectId);
      if (store.conflictsToInject > 0 && current) {
        store.conflictsToInject -= 1;
        // Someone else wrote the same content: the version moves, so the caller's expectation is stale.
        docs.set(projectId, { value: current.value, version: String(++counter) });
        throw new SyncError('conflict', `project '${projectId}' was written concurrently (injected)`);
      }
      if (expectedVersion === null ? current !== undefined : current?.version !== expectedVersion) {
        throw new SyncError('conflict', `project '${projectId}' is at version ${current?.version ?? 'none'}, not ${String(expectedVersion)}`);
      }
      const version = String(++counter);
      docs.set(projectId, { value: structuredClone(state), version });
      store.puts += 1;
      return version;
    },
    async list(options) {
      abortIfNeeded(options);
      return [...docs.keys()].sort();
    },
    read(projectId) {
      const d = docs.get(projectId);
      return d ? structuredClone(d.value) : undefined;
    },
  };
  return store;
}

type FakeCluster = { info: ClusterInfo; request: JobFlow; steps?: RunStep[] };

/** The platform fake and what tests inspect or steer. */
export type FakePlatform = Platform & {
  readonly clusters: Map<string, FakeCluster>;
  /** Thrown by the next startCluster (then cleared). */
  startError?: SyncError;
  /** When set, startCluster creates the cluster and then throws this (a crash before the caller hears back). */
  crashAfterStart?: Error;
  /** findClusterByTag calls so far. */
  lookups: number;
  /** Moves a cluster to `state`; final states get `endedAt` (default: the clock's now). */
  advance(clusterId: string, state: string, extra?: { endedAt?: Date; readyAt?: Date; reason?: { code?: string; message?: string } }): void;
};

const FINAL = new Set(['TERMINATED', 'TERMINATED_WITH_ERRORS']);

/** Creates an EMR-like platform with no clusters; ids are j-FAKE0001, j-FAKE0002, ... */
export function createFakePlatform(clock: Clock, region = 'us-east-1'): FakePlatform {
  const clusters = new Map<string, FakeCluster>();
  let counter = 0;
  const find = (id: string): FakeCluster => {
    const c = clusters.get(id);
    if (!c) throw new SyncError('not_found', `no cluster ${id}`);
    return c;
  };
  const platform: FakePlatform = {
    name: 'emr',
    region,
    clusters,
    lookups: 0,
    async startCluster(request, options) {
      abortIfNeeded(options);
      if (platform.startError) {
        const e = platform.startError;
        delete platform.startError;
        throw e;
      }
      const id = `j-FAKE${String(++counter).padStart(4, '0')}`;
      const tags: Record<string, string> = {};
      for (const t of (request.Tags as { Key: string; Value: string }[] | undefined) ?? []) tags[t.Key] = t.Value;
      clusters.set(id, { info: { id, state: 'STARTING', tags, createdAt: clock.now() }, request: structuredClone(request) });
      if (platform.crashAfterStart) {
        const e = platform.crashAfterStart;
        delete platform.crashAfterStart;
        throw e;
      }
      return { clusterId: id };
    },
    async findClusterByTag(query, options) {
      abortIfNeeded(options);
      platform.lookups += 1;
      const hits = [...clusters.entries()]
        .filter(([, c]) => query.name === undefined || c.request.Name === query.name)
        .map(([, c]) => c.info)
        .filter((i) => Object.entries(query.tags).every(([k, v]) => i.tags[k] === v) && (i.createdAt?.getTime() ?? 0) >= query.createdAfter.getTime());
      const last = hits[hits.length - 1];
      return last ? structuredClone(last) : undefined;
    },
    async describeCluster(clusterId, options) {
      abortIfNeeded(options);
      return structuredClone(find(clusterId).info);
    },
    async clusterReport(clusterId, options): Promise<ClusterReport> {
      abortIfNeeded(options);
      const c = find(clusterId);
      return {
        Cluster: { Id: c.info.id, Name: c.request.Name, Status: { State: c.info.state }, Tags: Object.entries(c.info.tags).map(([Key, Value]) => ({ Key, Value })) },
        Instances: [{ Id: `ci-${c.info.id}`, InstanceType: 'm5.xlarge' }],
        Steps: [],
        BootstrapActions: [],
        Region: region,
      };
    },
    async terminateCluster(clusterId, options) {
      abortIfNeeded(options);
      platform.advance(clusterId, 'TERMINATED');
    },
    async listSteps(clusterId, options) {
      abortIfNeeded(options);
      return structuredClone(find(clusterId).steps ?? []);
    },
    advance(clusterId, state, extra = {}) {
      const c = find(clusterId);
      c.info.state = state;
      if (extra.readyAt) c.info.readyAt = extra.readyAt;
      if (state === 'RUNNING' && !c.info.readyAt) c.info.readyAt = clock.now();
      if (FINAL.has(state)) c.info.endedAt = extra.endedAt ?? clock.now();
      if (extra.reason) c.info.stateChangeReason = extra.reason;
    },
  };
  return platform;
}

/** A complete Config for tests: tenant 'acme', run data under s3://runs-bucket/sync. */
export function testConfig(overrides: { projectLocation?: string; waitTimeoutMs?: number } = {}): Config {
  return {
    site: {
      id: 'test-site',
      projectLocation: overrides.projectLocation ?? 's3://runs-bucket/sync',
      redis: { url: 'redis://127.0.0.1:1' },
      queues: { prefix: 'sync', concurrency: 1, attempts: 5, backoffMs: 10, lockDurationMs: 30_000 },
      aws: { region: 'us-east-1', endpoints: {}, s3ForcePathStyle: false },
      predictions: { backend: 'local', apiUrl: 'https://api.invalid' },
      http: { enabled: false, port: 0, host: '127.0.0.1', ui: false },
      shutdown: { graceMs: 1000 },
      reconcile: { intervalMs: 60_000 },
      eventLog: { waitTimeoutMs: overrides.waitTimeoutMs ?? 15 * 60_000, pollMs: 1000 },
      logLevel: 'error',
    },
    tenant: { id: 'acme', state: 'file:///tmp/unused-state' },
    sources: [],
  };
}

/** Handler deps wired to fresh fakes, plus the fakes themselves for assertions. */
export type FakeDeps = HandlerDeps & { state: FakeStateStore; objects: MemoryObjectStore; platform: FakePlatform; clock: FakeClock };

/** Fresh fakes for one test. */
export function createFakeDeps(overrides: { projectLocation?: string; waitTimeoutMs?: number } = {}): FakeDeps {
  const clock = createFakeClock();
  return {
    state: createFakeStateStore(),
    objects: createMemoryObjectStore({ clock: () => clock.now() }),
    platform: createFakePlatform(clock),
    clock,
    logger: silentLogger,
    config: testConfig(overrides),
  };
}

/** A handler context with a live signal. */
export function testContext(requestId = 'req-1', idempotencyKey?: string): HandlerContext {
  const ctx: HandlerContext = { requestId, signal: new AbortController().signal };
  if (idempotencyKey !== undefined) ctx.idempotencyKey = idempotencyKey;
  return ctx;
}

/** Prediction 'pred-1' of project 'p1' made from run 'r-0' (100 s, $1) with these solutions; `overrides` replace any field. */
export function testPrediction(solutions: Prediction['solutions'], overrides: Partial<Prediction> = {}): Prediction {
  return { predictionId: 'pred-1', projectId: 'p1', basisRunId: 'r-0', createdAt: 'c', basis: { runtimeSeconds: 100, costUsd: 1 }, solutions, ...overrides };
}

export { rejection } from './async.js';
