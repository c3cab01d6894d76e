import { BehaviorSubject, filter, firstValueFrom, map, type Observable } from 'rxjs';
import { homedir } from 'node:os';
import type { Redis } from 'ioredis';
import { createAwsClients, type AwsClients } from '../adapters/aws-clients.js';
import { createEmrPlatform } from '../adapters/emr-platform.js';
import { createFileObjectStore } from '../adapters/file-object-store.js';
import { createLogger } from '../adapters/logger.js';
import { loadCatalog } from '../adapters/prediction/catalog-file.js';
import { createDatabricksWiring } from '../adapters/databricks-wiring.js';
import { createLocalPredictionBackend } from '../adapters/prediction/local-backend.js';
import { createSyncApiBackend } from '../adapters/prediction/sync-api-backend.js';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { parseS3Url } from '../adapters/s3-object-store.js';
import { createObjectStoreRouter } from '../adapters/object-store-router.js';
import { createS3ObjectStore } from '../adapters/s3-object-store.js';
import { createStateStore } from '../adapters/state-store.js';
import { createPoolStore } from '../adapters/state-pools.js';
import { loadCredentials, secretValues } from '../config/credentials.js';
import { loadConfig } from '../config/load-config.js';
import type { Config, Credentials } from '../config/types.js';
import { SyncError, isSyncError, toSyncError } from '../domain/errors.js';
import type { Logger, ObjectStore, Platform, PredictionBackend, StateStore } from '../domain/ports.js';
import type { HandlerDeps } from '../handlers/deps.js';
import { createDispatcher } from '../handlers/registry.js';
import { createCompletionConsumer, type CompletionConsumer } from '../queues/completion-events.js';
import { createInboxConsumer, type InboxConsumer } from '../queues/inbox.js';
import { createRedisLease } from '../queues/lease.js';
import { adoptRunCluster, endRun } from '../handlers/end-run.js';
import { TAG_RUN_ID, TAG_TENANT_ID } from '../domain/tags.js';
import { ACTIVE_CLUSTER_STATES, createReconciler, type Reconciler, type RunningRun } from '../queues/reconciler.js';
import { findRunAnywhere } from '../handlers/find-run.js';
import { DEFAULT_ORPHAN_SETTINGS, createOrphanSweeper, orphanReportKey } from '../queues/orphans.js';
import { createDatabricksPoller } from '../queues/databricks-poller.js';
import { closeRedis, createRequestQueue, createRequestWorker, idempotencyKeyOf, type RequestQueue, type RequestWorker } from '../queues/requests-queue.js';
import { describeEndpoint, describeRedisError, firstContact, openRedis, redisEndpoint, redisWarnings, type RedisEndpoint } from '../adapters/redis-connection.js';
import { createResults } from '../queues/results.js';
import { parseRequestJson, validateRequest } from '../queues/validate-request.js';
import { startEmbeddedRedis, type EmbeddedRedis } from './embedded-redis.js';
import { createDatabricksHook } from '../queues/databricks-hook.js';
import { createHttpServer, type HttpServer, type Readiness } from './http.js';
import { createUi, type Ui } from '../ui/server.js';
import { loadApplicationModel } from '../adapters/eventlog-source.js';
import { summarizeForUi } from '../ui/analysis.js';
import { createMetrics, type Metrics } from './metrics.js';
import { clearRuntimeInfo, embeddedRedisDir, writeRuntimeInfo } from './runtime.js';

/** The agent's lifecycle: idle -> starting -> running -> draining -> stopped (or failed from any). */
export type AgentState = 'idle' | 'starting' | 'running' | 'draining' | 'stopped' | 'failed';

type Env = Readonly<Record<string, string | undefined>>;

export type AgentOptions = {
  /** `--config PATH`; otherwise cosmiconfig searches `cwd`. */
  configPath?: string;
  cwd?: string;
  env?: Env;
  home?: string;
  /** Use embedded defaults when no config file exists (the demo). */
  allowDefaults?: boolean;
  /** A ready Config instead of loading one (the demo, embedding). */
  config?: Config;
  /** Replace ports (the demo's sandbox platform; tests). */
  ports?: Partial<{ platform: Platform; objects: ObjectStore; state: StateStore; predictions: PredictionBackend }>;
  /** Where log lines go (default stdout). */
  logSink?: (line: string) => void;
  /** Explicit AWS credentials (local servers, the demo); default: the standard provider chain. */
  awsCredentials?: { accessKeyId: string; secretAccessKey: string };
};

export type Agent = {
  /** Loads config, connects, and starts taking work; resolves when ready. */
  start(): Promise<void>;
  /** Resolves when the agent has stopped gracefully; rejects if it failed. */
  run(): Promise<void>;
  /** First phase of shutdown: stop taking work, let in-flight work finish within the grace period. Safe to call twice. */
  stop(reason?: string): Promise<void>;
  /** Second phase: abort in-flight work now (it is retried later, never silently acknowledged). */
  abort(): void;
  /** Re-reads the configuration (SIGHUP); settings that need a restart are reported, not applied. */
  reload(): Promise<void>;
  readonly state$: Observable<AgentState>;
  readonly state: AgentState;
  /** The HTTP base URL once listening. */
  readonly httpUrl: string | undefined;
  /** A one-time dashboard sign-in URL (for `demo --ui`); undefined when the dashboard is off. */
  dashboardSignInUrl(): string | undefined;
  readonly config: Config | undefined;
  readonly logger: Logger;
};

/** Settings that cannot change without a restart, by path. */
const RESTART_ONLY: ((c: Config) => unknown)[] = [
  (c) => c.site.redis,
  (c) => c.site.queues,
  (c) => c.site.http,
  (c) => c.site.sqs,
  (c) => c.site.aws,
  (c) => c.tenant.state,
];

/** The configured prediction backend: the built-in engine, or Sync's hosted autotuner (needs the API key). */
function createPredictionBackend(
  config: Config,
  credentials: Credentials,
  io: { objects: ObjectStore; aws: AwsClients; catalog: ReturnType<typeof loadCatalog>; logger: Logger },
): PredictionBackend {
  if (config.site.predictions.backend === 'local') return createLocalPredictionBackend({ objectStore: io.objects, catalog: io.catalog, logger: io.logger });
  if (!credentials.apiKeyId || !credentials.apiKeySecret) {
    throw new SyncError(
      'invalid_config',
      "site.predictions.backend is 'sync-api' but no Sync API key was found: set SYNC_API_KEY_ID and SYNC_API_KEY_SECRET, or provide $CREDENTIALS_DIRECTORY/sync-api-key (systemd LoadCredential=), or ~/.sync/credentials (mode 600)",
    );
  }
  return createSyncApiBackend({
    apiUrl: config.site.predictions.apiUrl,
    credentials: { apiKeyId: credentials.apiKeyId, apiKeySecret: credentials.apiKeySecret },
    objectStore: io.objects,
    logger: io.logger,
    // The hosted service reads the event log through a short-lived presigned GET.
    presign: async (url) => {
      const { bucket, key } = parseS3Url(url);
      return getSignedUrl(io.aws.s3, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 3600 });
    },
  });
}

/** Creates an embeddable agent; `sync-agent start` wraps it with signal handling. */
export function createAgent(options: AgentOptions = {}): Agent {
  const env: Env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const state$ = new BehaviorSubject<AgentState>('idle');
  let credentials: Credentials = { sources: [] };
  let logger: Logger = createLogger({ ...(options.logSink ? { sink: options.logSink } : {}), secrets: () => secretValues(credentials) });
  let config: Config | undefined;
  let deps: HandlerDeps | undefined;
  let embedded: EmbeddedRedis | undefined;
  let redis: Redis | undefined;
  let queue: RequestQueue | undefined;
  let worker: RequestWorker | undefined;
  let inbox: InboxConsumer | undefined;
  let completion: CompletionConsumer | undefined;
  let reconciler: Reconciler | undefined;
  let databricksPoller: Reconciler | undefined;
  let http: HttpServer | undefined;
  let httpUrl: string | undefined;
  let ui: Ui | undefined;
  let metrics: Metrics | undefined;
  let awsClients: AwsClients | undefined;
  let stopping: Promise<void> | undefined;
  let starting: Promise<void> | undefined;
  let fatal: SyncError | undefined;
  // Aborted by a stop() that arrives while start() is still running: start() then stops at its next
  // step, tears down what it has built (the embedded redis-server included) and ends in 'stopped'.
  const startAbort = new AbortController();
  const STOPPED_DURING_START = new SyncError('aborted', 'stopped while starting');
  const checkpoint = (): void => {
    if (startAbort.signal.aborted) throw STOPPED_DURING_START;
  };

  const load = async (): Promise<Config> => {
    if (options.config) return options.config;
    let s3ForTenant: AwsClients | undefined;
    return loadConfig({
      ...(options.configPath ? { configPath: options.configPath } : {}),
      cwd,
      env,
      ...(options.allowDefaults ? { allowDefaults: true } : {}),
      // A tenant document on S3 is read with the default provider chain and region of this host.
      fetchTenant: async (url) => {
        s3ForTenant ??= createAwsClients({ region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1', endpoints: {}, s3ForcePathStyle: false });
        const store = createS3ObjectStore({ client: s3ForTenant.s3 });
        return (await store.get(url)).body.toString('utf8');
      },
    });
  };

  const readiness = async (): Promise<Readiness> => {
    const checks: Record<string, boolean | string> = {};
    checks.lifecycle = state$.value === 'running' ? true : state$.value;
    try {
      checks.redis = redis ? (await redis.ping()) === 'PONG' : 'not connected';
    } catch (e) {
      checks.redis = `unreachable: ${(e as Error).message}`;
    }
    try {
      checks.queue = queue ? await queue.ping() : 'not created';
    } catch (e) {
      checks.queue = `unreachable: ${(e as Error).message}`;
    }
    return { ok: Object.values(checks).every((v) => v === true), checks };
  };

  const listRunningRuns = async (platformName: 'emr' | 'databricks' = 'emr'): Promise<RunningRun[]> => {
    if (!deps) return [];
    const out: RunningRun[] = [];
    for (const projectId of await deps.state.list()) {
      const doc = await deps.state.get(projectId);
      if ((doc?.value.project.platform ?? 'emr') !== platformName) continue;
      for (const run of doc?.value.runs ?? []) {
        if (((run.status === 'running' || run.status === 'recording') && run.clusterId) || run.status === 'starting') {
          out.push({ projectId, runId: run.id, clusterId: run.clusterId, status: run.status, createdAt: run.createdAt });
        }
      }
    }
    return out;
  };

  const start = (): Promise<void> => {
    if (state$.value !== 'idle') return Promise.reject(new SyncError('internal', `start() called while ${state$.value}`));
    state$.next('starting');
    starting = startUp();
    return starting;
  };

  const startUp = async (): Promise<void> => {
    try {
      config = await load();
      checkpoint();
      credentials = await loadCredentials({ env, home: options.home ?? homedir(), ...(env.CREDENTIALS_DIRECTORY ? { credentialsDirectory: env.CREDENTIALS_DIRECTORY } : {}) });
      logger = createLogger({
        level: config.site.logLevel,
        ...(options.logSink ? { sink: options.logSink } : {}),
        fields: { site: config.site.id, tenant: config.tenant.id },
        secrets: () => secretValues(credentials),
      });
      checkpoint();
      logger.info('starting sync-agent', { sources: config.sources, authSources: credentials.sources });

      let endpoint: RedisEndpoint;
      let publicRedisUrl: string;
      if ('embedded' in config.site.redis) {
        embedded = await startEmbeddedRedis({ dir: embeddedRedisDir(config, env), logger });
        endpoint = { url: embedded.url };
        publicRedisUrl = embedded.url;
        checkpoint();
      } else {
        endpoint = redisEndpoint(config.site.redis, credentials);
        publicRedisUrl = describeEndpoint(endpoint);
        for (const warning of redisWarnings(config.site.redis)) logger.warn(warning);
      }
      const agentRedis = openRedis(endpoint, { name: `${config.site.queues.prefix}-agent` });
      redis = agentRedis;
      // A wrong CA or password never heals: fail the start with the reason. Redis merely down is a
      // passing outage: carry on, every connection keeps retrying (and readiness says so).
      const contact = await firstContact(agentRedis, endpoint, 10_000);
      if (!contact.ready) logger.warn('Redis is not reachable yet; connections keep retrying', { problem: contact.problem });
      // Later trouble (an outage, a rotated certificate or password) is logged once per distinct cause, said plainly.
      let redisProblem = contact.ready ? undefined : contact.problem;
      agentRedis.on('error', (e) => {
        const d = describeRedisError(e, endpoint);
        if (d.message !== redisProblem) logger.warn('Redis connection problem', { problem: d.message, failure: d.kind });
        redisProblem = d.message;
      });
      agentRedis.on('ready', () => {
        if (redisProblem !== undefined) logger.info('Redis connection restored', { redis: describeEndpoint(endpoint) });
        redisProblem = undefined;
      });

      const site = config.site;
      const aws = createAwsClients({
        region: site.aws.region,
        endpoints: site.aws.endpoints,
        s3ForcePathStyle: site.aws.s3ForcePathStyle,
        ...(options.awsCredentials ? { credentials: options.awsCredentials } : {}),
      });
      awsClients = aws;
      const catalog = loadCatalog(site.predictions);
      const databricks = site.databricks ? createDatabricksWiring(site.databricks, credentials, { region: site.aws.region, ec2: catalog, pricing: site.predictions.databricks }) : undefined;
      const objects =
        options.ports?.objects ??
        createObjectStoreRouter({ s3: createS3ObjectStore({ client: aws.s3, logger }), file: createFileObjectStore(), ...(databricks ? { databricks: databricks.objects } : {}) });
      const platform = options.ports?.platform ?? createEmrPlatform({ client: aws.emr, region: site.aws.region, logger });
      deps = {
        state: options.ports?.state ?? createStateStore(config.tenant.state, { objectStore: objects }),
        pools: createPoolStore({ objectStore: objects, stateUrl: config.tenant.state }),
        objects,
        platform,
        predictions: options.ports?.predictions ?? createPredictionBackend(config, credentials, { objects, aws, catalog, logger }),
        clock: { now: () => new Date() },
        logger,
        config,
        catalog,
        ...(databricks ? { databricks: databricks.platform, databricksCatalog: databricks.catalog, vmPrice: databricks.vmPrice } : {}),
      };
      metrics = createMetrics();
      const prefix = site.queues.prefix;
      const results = createResults(agentRedis, prefix);
      queue = createRequestQueue({ connection: endpoint, prefix, attempts: site.queues.attempts, backoffMs: site.queues.backoffMs, logger, metrics });
      const dispatch = createDispatcher(deps);
      worker = createRequestWorker({
        connection: endpoint,
        prefix,
        concurrency: site.queues.concurrency,
        dispatch,
        validate: validateRequest,
        logger,
        metrics,
        results,
        graceMs: site.shutdown.graceMs,
        lockDurationMs: site.queues.lockDurationMs,
        // not_ready requests (a cluster still running; a late event log on platforms that deliver late) are retried every pollMs.
        notReadyDelayMs: site.eventLog.pollMs,
        notReadyMaxMs: site.eventLog.waitTimeoutMs + 5 * 60_000,
      });
      inbox = createInboxConsumer({
        redis: endpoint,
        prefix,
        consumerName: site.id,
        enqueue: queue.enqueue,
        results,
        parse: parseRequestJson,
        validate: validateRequest,
        logger,
        metrics,
      });
      void inbox.start().catch((e: unknown) => onFatal('inbox consumer', e));
      if (site.sqs) {
        completion = createCompletionConsumer({
          sqs: aws.sqs,
          queueUrl: site.sqs.completionQueueUrl,
          waitTimeSeconds: site.sqs.waitTimeSeconds,
          visibilityTimeoutSeconds: site.sqs.visibilityTimeoutSeconds,
          describeCluster: (id, signal) => platform.describeCluster(id, { signal }),
          enqueue: queue.enqueue,
          redis: agentRedis,
          prefix,
          logger,
          metrics,
        });
        completion.start();
      }
      const requests = queue;
      const m = metrics;
      // Orphan clusters are swept by the reconciler's lease holder at the end of each pass; the last report is kept in Redis for GET /v1/orphans.
      const orphans = createOrphanSweeper({
        tenantId: config.tenant.id,
        platform,
        readProject: async (id, o) => (await deps!.state.get(id, o))?.value,
        // Read at each pass, so that a reload (SIGHUP) applies a new site.orphans.
        get settings() {
          return config?.site.orphans ?? DEFAULT_ORPHAN_SETTINGS;
        },
        logger,
        onOrphan: (action) => m.orphanClusters.inc({ action }),
      });
      reconciler = createReconciler({
        afterPass: async (signal) => {
          const report = await orphans.pass({ signal });
          await agentRedis.set(orphanReportKey(prefix), JSON.stringify(report));
        },
        intervalMs: site.reconcile.intervalMs,
        // Each pass begins by listing the runs still marked running: that is the pass the dashboard shows.
        listRunningRuns: async () => {
          const runs = await listRunningRuns();
          m.reconcilerLastPass.set(Date.now() / 1000);
          m.reconcilerRunsChecked.set(runs.length);
          return runs;
        },
        describeCluster: (id, signal) => platform.describeCluster(id, { signal }),
        enqueue: queue.enqueue,
        logger,
        // One agent per Redis reconciles; the lease outlives two intervals so the holder keeps it between passes.
        lease: createRedisLease({ redis, key: `${prefix}:reconciler:lease`, ttlMs: 2 * site.reconcile.intervalMs + 60_000 }),
        ...(platform.listClusters
          ? {
              listActiveClusters: async (createdAfter, signal) =>
                new Map((await platform.listClusters!({ states: ACTIVE_CLUSTER_STATES, createdAfter }, { signal })).map((c) => [c.id, c.state])),
            }
          : {}),
        endRun: (run, ending) => endRun(deps!.state, { projectId: run.projectId, runId: run.runId, expected: run.status ?? 'running' }, ending, new Date()),
        findRunCluster: async (run, signal) =>
          (await platform.findClusterByTag({ tags: { [TAG_RUN_ID]: run.runId, [TAG_TENANT_ID]: config!.tenant.id }, createdAfter: new Date(Date.parse(run.createdAt ?? '') - 10 * 60_000 || 0) }, { signal }))?.id,
        adoptRun: (run, clusterId) => adoptRunCluster(deps!.state, run, clusterId, new Date()),
        pending: async (key) => {
          const owner = await redis!.get(idempotencyKeyOf(prefix, key));
          return owner !== null && (await requests.state(owner)) !== undefined;
        },
      });
      reconciler.start();
      if (deps.databricks && site.databricks) {
        // Databricks has no completion events: poll runs/get for running Databricks runs (see databricks-poller.ts).
        const dbx = deps.databricks;
        databricksPoller = createDatabricksPoller({
          redis: agentRedis,
          prefix,
          intervalMs: site.databricks.pollIntervalMs,
          maxCallsPerPass: site.databricks.maxCallsPerPass,
          listRunningRuns: () => listRunningRuns('databricks'),
          describeCluster: (id, signal) => dbx.describeCluster(id, { signal }),
          enqueue: queue.enqueue,
          logger,
          pending: async (key) => {
            const owner = await redis!.get(idempotencyKeyOf(prefix, key));
            return owner !== null && (await requests.state(owner)) !== undefined;
          },
        });
        databricksPoller.start();
      }
      if (site.http.enabled) {
        http = createHttpServer({
          host: site.http.host,
          port: site.http.port,
          ...(credentials.httpToken ? { token: credentials.httpToken } : {}),
          enqueue: queue.enqueue,
          results,
          state: (id) => queue!.state(id),
          readRun: async (projectId, runId) => {
            try {
              return (await findRunAnywhere(deps!.state, projectId, runId))?.run;
            } catch (e) {
              if (isSyncError(e, 'not_found')) return undefined;
              throw e;
            }
          },
          orphans: async () => {
            const text = await agentRedis.get(orphanReportKey(prefix));
            return text === null ? undefined : (JSON.parse(text) as unknown);
          },
          ready: readiness,
          metrics,
          logger,
          parse: parseRequestJson,
          validate: validateRequest,
          ...(deps.databricks
            ? { databricksHook: createDatabricksHook({ tenantId: config.tenant.id, describeRun: (id, signal) => deps!.databricks!.describeCluster(id, { signal }), enqueue: queue.enqueue, logger }) }
            : {}),
          ...(site.http.ui
            ? {
                ui: (ui = createUi({
                  token: () => credentials.httpToken,
                  // Browsers send Secure cookies over plain http only to loopback, where the agent listens by default.
                  secureCookies: !isLoopbackHost(site.http.host),
                  state: deps.state,
                  objects,
                  enqueue: queue.enqueue,
                  queue: async () => {
                    const stats = await requests.stats();
                    const failed = await Promise.all(
                      stats.failed.map(async (f) => {
                        const entry = await results.get(f.id).catch(() => undefined);
                        return { id: f.id, name: f.name, code: entry?.error?.code ?? 'failed', message: entry?.error?.message ?? f.reason, ...(f.finishedAt ? { at: f.finishedAt } : {}) };
                      }),
                    );
                    const lastEvent = (await m.completionLastEvent.get()).values[0]?.value ?? 0;
                    const lag = (await m.sqsLagSeconds.get()).values[0]?.value;
                    const lastPass = (await m.reconcilerLastPass.get()).values[0]?.value ?? 0;
                    const checked = (await m.reconcilerRunsChecked.get()).values[0]?.value;
                    return {
                      counts: stats.counts,
                      failed,
                      completion: { enabled: site.sqs !== undefined, ...(lastEvent > 0 ? { lastEventAt: new Date(lastEvent * 1000).toISOString(), ...(lag !== undefined ? { lagSeconds: lag } : {}) } : {}) },
                      reconciler: { enabled: true, ...(lastPass > 0 ? { lastPassAt: new Date(lastPass * 1000).toISOString(), ...(checked !== undefined ? { checked } : {}) } : {}) },
                    };
                  },
                  analyze: async (url, signal) => summarizeForUi(await loadApplicationModel(url, { objectStore: objects, signal })),
                  logger,
                  region: site.aws.region,
                  defaultPreference: site.predictionPreference ?? config.tenant.predictionPreference ?? 'balanced',
                })),
              }
            : {}),
        });
        httpUrl = (await http.listen()).url;
      }
      checkpoint();
      writeRuntimeInfo(config, { pid: process.pid, redisUrl: publicRedisUrl, ...(httpUrl ? { httpUrl } : {}), startedAt: new Date().toISOString() });
      state$.next('running');
      logger.info('sync-agent ready', { http: httpUrl ?? 'disabled', sqs: site.sqs ? 'on' : 'off', prefix });
    } catch (e) {
      if (e === STOPPED_DURING_START && !fatal) {
        // stop() finishes the shutdown (teardown, then 'stopped'); start() resolves, and run() with it.
        logger.info('sync-agent stopped before it was ready');
        return;
      }
      const err = fatal ?? toSyncError(e);
      if (e !== STOPPED_DURING_START) logger.error('sync-agent failed to start', { error: err.toJSON() });
      fatal = err;
      // A stop() in progress waits for this start to end, then tears down itself.
      if (!startAbort.signal.aborted) {
        await teardown();
        state$.next('failed');
      }
      throw err;
    }
  };

  const onFatal = (what: string, e: unknown) => {
    if (state$.value === 'draining' || state$.value === 'stopped') return;
    const err = toSyncError(e);
    logger.error(`${what} failed; stopping`, { error: err.toJSON() });
    fatal = err;
    void stop('fatal error');
  };

  // Closes everything that exists, in reverse order of dependency; each step isolated.
  const teardown = async () => {
    const step = async (name: string, fn: (() => Promise<unknown>) | undefined) => {
      if (!fn) return;
      try {
        await fn();
      } catch (e) {
        logger.warn(`error while closing ${name}`, { error: toSyncError(e).toJSON() });
      }
    };
    await step('inbox', inbox && (() => inbox!.stop()));
    await step('completion consumer', completion && (() => completion!.stop()));
    await step('reconciler', reconciler && (() => reconciler!.stop()));
    await step('databricks poller', databricksPoller && (() => databricksPoller!.stop()));
    await step('worker', worker && (() => worker!.close()));
    await step('http', http && (() => http!.close()));
    await step('queue', queue && (() => queue!.close()));
    await step('redis', redis && (() => closeRedis(redis!)));
    if (config) clearRuntimeInfo(config);
    await step('embedded redis', embedded && (() => embedded!.stop()));
  };

  const stop = (reason = 'requested'): Promise<void> =>
    (stopping ??= (async () => {
      if (state$.value === 'idle' || state$.value === 'stopped' || state$.value === 'failed') return;
      logger.info('sync-agent stopping: no new work; in-flight requests finish within the grace period', {
        reason,
        graceMs: config?.site.shutdown.graceMs,
        inflight: worker?.inflight ?? 0,
      });
      state$.next('draining');
      if (starting) {
        // A stop during start: let start() reach its next step and give up there, so that nothing it
        // is still creating (the embedded redis-server, the HTTP listener) is left behind.
        startAbort.abort();
        await starting.catch(() => undefined);
      }
      await teardown();
      state$.next(fatal ? 'failed' : 'stopped');
      logger.info('sync-agent stopped', { reason });
    })());

  const abort = () => {
    logger.warn('sync-agent aborting in-flight work', { inflight: worker?.inflight ?? 0 });
    worker?.abort();
  };

  const reload = async () => {
    if (!config || state$.value !== 'running' || options.config) return;
    try {
      const next = await load();
      const needRestart = RESTART_ONLY.filter((get) => JSON.stringify(get(next)) !== JSON.stringify(get(config!))).length;
      const nextLogger = createLogger({
        level: next.site.logLevel,
        ...(options.logSink ? { sink: options.logSink } : {}),
        fields: { site: next.site.id, tenant: next.tenant.id },
        secrets: () => secretValues(credentials),
      });
      // site.predictions: a new catalog (instances, emrPricing) and backend, built before anything is
      // replaced, so that a change that cannot be applied leaves the running configuration whole.
      const applied: string[] = [];
      let predictionPorts: Pick<HandlerDeps, 'catalog' | 'predictions'> | undefined;
      if (deps && JSON.stringify(next.site.predictions) !== JSON.stringify(config.site.predictions)) {
        const catalog = loadCatalog(next.site.predictions);
        const predictions = options.ports?.predictions ?? createPredictionBackend(next, credentials, { objects: deps.objects, aws: awsClients!, catalog, logger: nextLogger });
        predictionPorts = { catalog, predictions };
        applied.push('site.predictions');
      }
      // Values handlers read per request (preferences, locations, timeouts, log level) take effect now.
      config = next;
      logger = nextLogger;
      if (deps) Object.assign(deps, { config: next, logger }, predictionPorts);
      logger.info('configuration reloaded', {
        sources: next.sources,
        ...(applied.length ? { applied } : {}),
        ...(needRestart ? { warning: `${needRestart} changed section(s) need a restart (redis, queues, http, sqs, aws, tenant.state)` } : {}),
      });
    } catch (e) {
      logger.error('configuration reload failed; keeping the running configuration', { error: toSyncError(e).toJSON() });
    }
  };

  const run = () =>
    firstValueFrom(
      state$.pipe(
        filter((s) => s === 'stopped' || s === 'failed'),
        map((s) => {
          if (s === 'failed') throw fatal ?? new SyncError('internal', 'the agent failed');
        }),
      ),
    );

  return {
    start,
    run,
    stop,
    abort,
    reload,
    state$: state$.asObservable(),
    get state() {
      return state$.value;
    },
    get httpUrl() {
      return httpUrl;
    },
    dashboardSignInUrl() {
      return ui && httpUrl ? `${httpUrl}${ui.oneTimeSignInPath()}` : undefined;
    },
    get config() {
      return config;
    },
    get logger() {
      return logger;
    },
  };
}

/** True for 127.0.0.0/8, ::1 and localhost. */
function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
