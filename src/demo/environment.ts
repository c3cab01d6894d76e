// A complete local tuning environment: a real agent (embedded redis-server, file state and run data)
// wired to the sandbox EMR platform and a local SQS queue for completion events. The demo runs on it,
// and so does the integration test of the tuning loop.
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { Redis } from 'ioredis';
import { createSqsServer } from 'local-aws-sqs';
import { createAwsClients } from '../adapters/aws-clients.js';
import { createFileObjectStore } from '../adapters/file-object-store.js';
import { createFileStateStore } from '../adapters/state-file.js';
import { createAgent, type Agent } from '../agent/daemon.js';
import { resolveRedisUrl } from '../agent/runtime.js';
import { embeddedDefaults } from '../config/defaults.js';
import type { Config } from '../config/types.js';
import { SyncError } from '../domain/errors.js';
import type { ProjectState, Run } from '../domain/types.js';
import { createResults, type ResultEntry } from '../queues/results.js';
import { inboxKey } from '../queues/inbox.js';
import { createSandboxPlatform, type SandboxPlatform, type WorkloadChooser } from '../sandbox/sandbox-platform.js';
import type { Workload } from '../sandbox/workload.js';
import { shippedWorkloads } from '../sandbox/shipped-workloads.js';

/** Credentials for the local servers only: the user's own AWS keys are never sent to them. */
const LOCAL_CREDENTIALS = { accessKeyId: 'AKIDSYNCSANDBOX00000', secretAccessKey: 'sandbox-only' };

export type TuningEnvironment = {
  dir: string;
  agent: Agent;
  sandbox: SandboxPlatform;
  config: Config;
  /** Sends a request through the agent's Redis inbox and resolves with its final result entry. */
  request(name: string, data: unknown, options?: { idempotencyKey?: string; timeoutMs?: number }): Promise<ResultEntry>;
  /** The project's state document. */
  project(projectId: string): Promise<ProjectState>;
  /** Resolves when the run reaches one of `statuses`; `onProgress` hears each change of run or cluster state. */
  waitForRun(projectId: string, runId: string, options?: { statuses?: Run['status'][]; timeoutMs?: number; onProgress?: (what: string) => void }): Promise<Run>;
  /** Stops the agent (gracefully), the sandbox and the SQS server; leaves nothing running. Safe to call twice. */
  close(): Promise<void>;
};

export type TuningEnvironmentOptions = {
  dir: string;
  /** Simulated seconds per real second (default 600). */
  timeScale?: number;
  seed?: number;
  /** Where the agent's JSON log lines go (default: dropped). */
  logSink?: (line: string) => void;
  /** What the sandbox's clusters run (default: the shipped workloads, chosen by the step's script name). */
  workloads?: Record<string, Workload> | WorkloadChooser;
  /** Serve HTTP (API and dashboard) on loopback with this bearer token; port 0 picks a free one. */
  http?: { token: string; port?: number };
};

/** Starts the environment in `dir` (state, run data, redis data and logs all live there). */
export async function startTuningEnvironment(options: TuningEnvironmentOptions): Promise<TuningEnvironment> {
  const dir = options.dir;
  mkdirSync(dir, { recursive: true });
  const cleanups: (() => Promise<void>)[] = [];
  const close = async () => {
    while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
  };
  try {
    const sqsServer = await createSqsServer({ port: 0, hostname: '127.0.0.1', region: 'us-east-1', accountId: '000000000000', emulateQueueCreationLifecycle: false });
    cleanups.push(() => new Promise<void>((resolve) => sqsServer.close(() => resolve())));
    const sqsEndpoint = `http://127.0.0.1:${(sqsServer.address() as AddressInfo).port}`;
    const { sqs, s3, emr } = createAwsClients({ region: 'us-east-1', endpoints: { sqs: sqsEndpoint }, s3ForcePathStyle: true, credentials: LOCAL_CREDENTIALS });
    s3.destroy();
    emr.destroy();
    cleanups.push(async () => sqs.destroy());
    const { CreateQueueCommand } = await import('@aws-sdk/client-sqs');
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'emr-events' }))).QueueUrl!;

    // EventBridge's part: every cluster state change goes to the SQS queue the agent long-polls.
    const sandbox = await createSandboxPlatform({
      objects: createFileObjectStore(),
      workloads: options.workloads ?? shippedWorkloads(),
      timeScale: options.timeScale ?? 600,
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      onEvent: async (event) => {
        await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(event) }));
      },
    });
    cleanups.push(() => sandbox.close());

    const base = embeddedDefaults(dir);
    const config: Config = {
      ...base,
      site: {
        ...base.site,
        id: 'sandbox-agent',
        redis: { embedded: true, dir: join(dir, 'redis') },
        queues: { ...base.site.queues, prefix: 'demo', backoffMs: 300, attempts: 8 },
        sqs: { completionQueueUrl: queueUrl, waitTimeSeconds: 1, visibilityTimeoutSeconds: 10 },
        aws: { region: 'us-east-1', endpoints: { emr: sandbox.url, sqs: sqsEndpoint }, s3ForcePathStyle: false },
        http: options.http ? { enabled: true, host: '127.0.0.1', port: options.http.port ?? 0, ui: true } : { ...base.site.http, enabled: false },
        reconcile: { intervalMs: 5_000 },
        eventLog: { waitTimeoutMs: 60_000, pollMs: 500 },
        shutdown: { graceMs: 5_000 },
      },
      tenant: { id: 'sandbox', state: pathToFileURL(join(dir, 'state')).href, projectLocation: pathToFileURL(join(dir, 'runs')).href },
    };
    const agent = createAgent({
      config,
      awsCredentials: LOCAL_CREDENTIALS,
      logSink: options.logSink ?? (() => {}),
      ...(options.http ? { env: { ...process.env, SYNC_AGENT_TOKEN: options.http.token } } : {}),
    });
    await agent.start();
    cleanups.push(() => agent.stop('environment closed'));
    const redis = new Redis(resolveRedisUrl(config), { maxRetriesPerRequest: 3 });
    cleanups.push(async () => redis.disconnect());
    const results = createResults(redis, config.site.queues.prefix);
    const state = createFileStateStore(config.tenant.state);
    let seq = 0;

    const project = async (projectId: string) => {
      const doc = await state.get(projectId);
      if (!doc) throw new SyncError('not_found', `project '${projectId}' does not exist`);
      return doc.value;
    };

    return {
      dir,
      agent,
      sandbox,
      config,
      project,
      close,
      async request(name, data, opts = {}) {
        const id = `env-${Date.now().toString(36)}-${(seq++).toString(36)}`;
        const body = { id, name, data, ...(opts.idempotencyKey ? { idempotencyKey: opts.idempotencyKey } : {}) };
        await redis.xadd(inboxKey(config.site.queues.prefix), '*', 'request', JSON.stringify(body));
        const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
        for (;;) {
          const entry = await results.get(id);
          if (entry) return entry;
          if (Date.now() > deadline) throw new SyncError('unavailable', `no result for ${name} (${id}) within ${opts.timeoutMs ?? 60_000} ms`);
          await new Promise((r) => setTimeout(r, 50));
        }
      },
      async waitForRun(projectId, runId, opts = {}) {
        const statuses = opts.statuses ?? ['recorded', 'failed'];
        const deadline = Date.now() + (opts.timeoutMs ?? 90_000);
        let last = '';
        for (;;) {
          const run = (await project(projectId)).runs.find((r) => r.id === runId);
          if (!run) throw new SyncError('not_found', `project '${projectId}' has no run '${runId}'`);
          const cluster = run.clusterId ? sandbox.server.cluster(run.clusterId)?.state : undefined;
          const now = `${run.status}${cluster ? ` (cluster ${run.clusterId} ${cluster})` : ''}`;
          if (now !== last) opts.onProgress?.(now);
          last = now;
          if (statuses.includes(run.status)) return run;
          if (Date.now() > deadline) throw new SyncError('unavailable', `run ${runId} is still ${now} after ${opts.timeoutMs ?? 90_000} ms`);
          await new Promise((r) => setTimeout(r, 100));
        }
      },
    };
  } catch (e) {
    await close();
    throw e;
  }
}
