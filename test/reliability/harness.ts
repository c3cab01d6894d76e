// Shared pieces of the reliability suite: the scale (RELIABILITY_SCALE=ci|full), a "world" of real
// loopback servers (redis-server, the project's EMR server whose clusters write an event log (or an
// unfinished one, or none) and announce their state changes to SQS like EventBridge does,
// local-aws-sqs, s3rver when run data lives on S3), daemons started as child
// processes, and small readers of what a user would look at (results, state files, /proc).
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { requestQueueName } from '../../src/queues/requests-queue.js';
import { eventBridgeClusterEvent, type ClusterRecord } from '../../src/sandbox/emr-server.js';
import type { EmrServerOptions } from '../../src/sandbox/emr-server.js';
import { startAgent, writeConfig, type AgentProcess } from '../support/agent-process.js';
import { startEmr, type TestEmr } from '../support/emr.js';
import { startS3, type S3Harness } from '../support/s3.js';
import { freePort, startRedis, type TestRedis } from '../support/redis.js';
import { startSqs, type TestSqs } from '../support/sqs.js';

/** 'ci' (default): short runs for CI; 'full': the numbers. */
export const SCALE: 'ci' | 'full' = process.env.RELIABILITY_SCALE === 'full' ? 'full' : 'ci';

/** The CI or the full value of a knob. */
export function pick<T>(ci: T, full: T): T {
  return SCALE === 'full' ? full : ci;
}

/** Prints one scenario's figures (and appends them to $RELIABILITY_REPORT when set) for RELIABILITY.md. */
export function report(scenario: string, figures: Record<string, unknown>): void {
  const line = JSON.stringify({ scenario, scale: SCALE, at: new Date().toISOString(), ...figures });
  console.log(`FIGURES ${line}`);
  if (process.env.RELIABILITY_REPORT) appendFileSync(process.env.RELIABILITY_REPORT, `${line}\n`);
}

/** A small, complete Spark event log (from the fixtures) that clusters "write" when their steps run. */
export const EVENT_LOG = readFileSync('test/fixtures/eventlogs/apache-spark/application_1506645932520_24630151');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A project.create for `projectId` with a minimal EMR job flow. */
export function projectCreate(projectId: string, id = `create-${projectId}`): Record<string, unknown> {
  return {
    id,
    name: 'project.create',
    data: {
      projectId,
      name: projectId,
      platform: 'emr',
      jobFlow: {
        Name: projectId,
        ReleaseLabel: 'emr-6.10.0',
        Applications: [{ Name: 'Spark' }],
        Instances: { InstanceGroups: [{ InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 }, { InstanceRole: 'CORE', InstanceType: 'm5.xlarge', InstanceCount: 2 }] },
        Steps: [{ Name: 'etl', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', '--class', 'org.example.Etl', 'local:///opt/etl.jar'] } }],
      },
    },
  };
}

/** Where a cluster's spark.eventLog.dir points (file:// or s3a://), from its RunJobFlow request. */
export function eventLogDirOf(cluster: ClusterRecord): string | undefined {
  const defaults = (cluster.configurations as { Classification?: string; Properties?: Record<string, string> }[]).find((c) => c.Classification === 'spark-defaults');
  return defaults?.Properties?.['spark.eventLog.dir'];
}

/**
 * What Spark leaves in spark.eventLog.dir when a cluster's steps run: the closed log (`complete`), only
 * the `.inprogress` file holding what the driver flushed before it died (`inprogress`), or nothing
 * (`none`: a step that ran no Spark application, event logging off, a driver that never started).
 */
export type SparkLog = 'complete' | 'inprogress' | 'none';

const APP_LOG = 'application_1506645932520_24630151';

/** The object name and bytes Spark leaves for `kind` (undefined for 'none'). */
export function sparkLogObject(kind: SparkLog): { name: string; body: Buffer } | undefined {
  if (kind === 'none') return undefined;
  if (kind === 'complete') return { name: APP_LOG, body: EVENT_LOG };
  // The first half of the lines: the application end was never written.
  const lines = EVENT_LOG.toString('utf8').split('\n');
  return { name: `${APP_LOG}.inprogress`, body: Buffer.from(lines.slice(0, Math.ceil(lines.length / 2)).join('\n') + '\n') };
}

/** Spark's part for file:// locations: writes the event log (`kind`, default complete) where spark.eventLog.dir points. */
export function writeEventLogFile(cluster: ClusterRecord, kind: SparkLog = 'complete'): void {
  const dir = eventLogDirOf(cluster);
  // A cluster that is not a project's (no spark.eventLog.dir) writes nothing.
  if (dir === undefined) return;
  if (!dir.startsWith('file://')) throw new Error(`cluster ${cluster.id} has a spark.eventLog.dir that is not file:// (${dir})`);
  const object = sparkLogObject(kind);
  if (!object) return;
  const path = fileURLToPath(dir.endsWith('/') ? dir : `${dir}/`);
  mkdirSync(path, { recursive: true });
  writeFileSync(join(path, object.name), object.body);
}

/** Spark's part for s3a:// locations: puts the event log (`kind`) where spark.eventLog.dir points, through s3rver. */
export async function writeEventLogS3(s3: S3Harness, cluster: ClusterRecord, kind: SparkLog): Promise<void> {
  const dir = eventLogDirOf(cluster);
  if (dir === undefined) return;
  const m = /^s3a:\/\/([^/]+)\/(.*)$/.exec(dir);
  if (!m) throw new Error(`cluster ${cluster.id} has a spark.eventLog.dir that is not s3a:// (${dir})`);
  const object = sparkLogObject(kind);
  if (!object) return;
  await s3.client.send(new PutObjectCommand({ Bucket: m[1], Key: `${m[2]!.replace(/\/?$/, '/')}${object.name}`, Body: object.body }));
}

export type WorldOptions = {
  prefix: string;
  /** EMR phase lengths; clusters stay STARTING when `holdClusters`. */
  timeline?: EmrServerOptions['timeline'];
  holdClusters?: boolean;
  /** Completion events to SQS (default true unless holdClusters). */
  sqs?: boolean;
  /** Receives before a message goes to the DLQ. */
  maxReceiveCount?: number;
  appendonly?: boolean;
  /** Instead of sending every state change to SQS, hand it to this hook (events scenario). */
  onEvent?: (event: Record<string, unknown>, cluster: ClusterRecord) => void;
  /** Extra site settings merged over the defaults below. */
  site?: Record<string, unknown>;
  /** What Spark leaves for each cluster when its steps run (default: the complete log). */
  sparkLog?: (cluster: ClusterRecord) => SparkLog;
  /** Where run data (event logs, reports) lives: the local disk (default) or S3 (s3rver, bucket `runs`). */
  runsOn?: 'file' | 's3';
};

/** The servers one scenario needs, the daemon config, and readers of the results. */
export type World = {
  dir: string;
  redis: TestRedis;
  emr: TestEmr;
  sqs?: TestSqs;
  /** With `runsOn: 's3'`: s3rver behind the harness proxy, holding bucket `runs`. */
  s3?: S3Harness;
  queueUrl?: string;
  dlqUrl?: string;
  r: Redis;
  prefix: string;
  stateDir: string;
  runsDir: string;
  /** Writes a config for a daemon with its own HTTP port (and site id) and returns its path and port. */
  configFor(siteId: string, site?: Record<string, unknown>): Promise<{ configPath: string; httpPort: number }>;
  /** Starts a daemon child process for `siteId` and waits for /readyz. */
  daemon(siteId: string, opts?: { env?: Record<string, string>; site?: Record<string, unknown> }): Promise<AgentProcess>;
  /** XADDs a request to the inbox; resolves with the entry id. */
  send(request: Record<string, unknown>): Promise<string>;
  /** The final results of `ids` (missing ids have none yet). */
  results(ids: string[]): Promise<Map<string, { status: string; result?: unknown; error?: { code: string; message: string } }>>;
  /** Waits until every id has a final result; throws with the missing ids after `timeoutMs`. */
  waitResults(ids: string[], timeoutMs: number): Promise<Map<string, { status: string; result?: unknown; error?: { code: string; message: string } }>>;
  /** Every project state document on disk. */
  states(): Record<string, { runs: Record<string, unknown>[] }>;
  stop(): Promise<void>;
};

/** Starts Redis, the EMR server (wired to SQS unless told otherwise) and SQS for one scenario. */
export async function startWorld(opts: WorldOptions): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), `sync-rel-${opts.prefix}-`));
  const stateDir = join(dir, 'state');
  const runsDir = join(dir, 'runs');
  const redis = await startRedis({ appendonly: opts.appendonly ?? false });
  const wantSqs = opts.sqs ?? !opts.holdClusters;
  let sqs: TestSqs | undefined;
  let queueUrl: string | undefined;
  let dlqUrl: string | undefined;
  if (wantSqs) {
    sqs = await startSqs();
    const q = await sqs.createQueue(`${opts.prefix}-emr-events`, { dlq: { maxReceiveCount: opts.maxReceiveCount ?? 5 } });
    queueUrl = q.url;
    dlqUrl = q.dlqUrl;
  }
  const s3 = opts.runsOn === 's3' ? await startS3({ buckets: ['runs'] }) : undefined;
  const emr = await startEmr({
    pageSize: 50,
    timeline: opts.holdClusters ? { startingMs: 3_600_000 } : { startingMs: 100, bootstrappingMs: 100, runningMs: 300, terminatingMs: 100, ...opts.timeline },
    onStepsRun: async (cluster) => {
      const kind = opts.sparkLog?.(cluster) ?? 'complete';
      if (s3) await writeEventLogS3(s3, cluster, kind);
      else writeEventLogFile(cluster, kind);
    },
    onStateChange: (cluster) => {
      if (!sqs || !queueUrl) return;
      const event = eventBridgeClusterEvent(cluster, 'us-east-1', '123456789012') as unknown as Record<string, unknown>;
      if (opts.onEvent) return opts.onEvent(event, cluster);
      sqs.client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(event) })).catch(() => undefined);
    },
  });
  const r = new Redis(redis.url);
  r.on('error', () => undefined);
  const parse = (h: Record<string, string>) => ({
    status: h.status!,
    ...(h.result ? { result: JSON.parse(h.result) as unknown } : {}),
    ...(h.error ? { error: JSON.parse(h.error) as { code: string; message: string } } : {}),
  });
  const results: World['results'] = async (ids) => {
    const out = new Map<string, { status: string; result?: unknown; error?: { code: string; message: string } }>();
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const pipe = r.pipeline();
      for (const id of chunk) pipe.hgetall(`${opts.prefix}:result:${id}`);
      const rows = (await pipe.exec()) ?? [];
      rows.forEach(([, h], k) => {
        const hash = h as Record<string, string>;
        if (hash?.status) out.set(chunk[k]!, parse(hash));
      });
    }
    return out;
  };
  const world: World = {
    dir,
    redis,
    emr,
    ...(sqs ? { sqs } : {}),
    ...(s3 ? { s3 } : {}),
    ...(queueUrl ? { queueUrl } : {}),
    ...(dlqUrl ? { dlqUrl } : {}),
    r,
    prefix: opts.prefix,
    stateDir,
    runsDir,
    async configFor(siteId, site = {}) {
      const httpPort = await freePort();
      const configPath = writeConfig(
        dir,
        {
          site: {
            id: siteId,
            redis: { url: redis.url },
            queues: { prefix: opts.prefix, backoffMs: 200, lockDurationMs: 2_000, concurrency: 8, attempts: 10 },
            ...(queueUrl ? { sqs: { completionQueueUrl: queueUrl, waitTimeSeconds: 1, visibilityTimeoutSeconds: 5 } } : {}),
            aws: { region: 'us-east-1', endpoints: { emr: emr.url, ...(sqs ? { sqs: sqs.endpoint } : {}), ...(s3 ? { s3: s3.endpoint } : {}) } },
            http: { port: httpPort },
            reconcile: { intervalMs: 3_000 },
            eventLog: { waitTimeoutMs: 60_000, pollMs: 200 },
            shutdown: { graceMs: 5_000 },
            ...opts.site,
            ...site,
          },
          tenant: { id: 'acme', state: pathToFileURL(stateDir).href, projectLocation: s3 ? 's3://runs/data' : pathToFileURL(runsDir).href },
        },
        `${siteId}.config.mjs`,
      );
      return { configPath, httpPort };
    },
    async daemon(siteId, o = {}) {
      const { configPath, httpPort } = await world.configFor(siteId, o.site);
      const agent = startAgent({
        configPath,
        httpPort,
        // s3rver checks its own keys; the EMR server accepts any signed request.
        env: s3 ? { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', ...o.env } : { AWS_ACCESS_KEY_ID: 'AKIDSANDBOXEMR000000', AWS_SECRET_ACCESS_KEY: 'sandbox-secret', ...o.env },
      });
      await agent.ready(60_000);
      return agent;
    },
    send: async (request) => (await r.xadd(`${opts.prefix}:inbox`, '*', 'request', JSON.stringify(request)))!,
    results,
    async waitResults(ids, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const got = await results(ids);
        if (got.size === ids.length) return got;
        if (Date.now() > deadline) {
          const missing = ids.filter((id) => !got.has(id));
          const queue = new Queue(requestQueueName(opts.prefix), { connection: { url: redis.url }, prefix: opts.prefix });
          const states = await Promise.all(missing.slice(0, 10).map(async (id) => `${id}=${await queue.getJobState(id)}`));
          await queue.close();
          const groups = (await r.call('XINFO', 'GROUPS', `${opts.prefix}:inbox`).catch(() => [])) as unknown[][];
          const pending = groups.map((g) => `${String(g[1])}: pending ${String(g[g.indexOf('pending') + 1])}, last ${String(g[g.indexOf('last-delivered-id') + 1])}`);
          throw new Error(`${missing.length} of ${ids.length} requests have no result after ${timeoutMs} ms: ${states.join(', ')}; inbox ${pending.join('; ')}`);
        }
        await sleep(250);
      }
    },
    states() {
      const out: Record<string, { runs: Record<string, unknown>[] }> = {};
      const projects = join(stateDir, 'projects');
      let names: string[] = [];
      try {
        names = readdirSync(projects).filter((n) => n.endsWith('.json'));
      } catch {
        return out;
      }
      for (const n of names) out[n.slice(0, -5)] = JSON.parse(readFileSync(join(projects, n), 'utf8')) as { runs: Record<string, unknown>[] };
      return out;
    },
    async stop() {
      r.disconnect();
      await emr.stop();
      await sqs?.stop();
      await s3?.stop();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return world;
}

/** Stops a daemon if it still runs (SIGTERM, SIGKILL after `timeoutMs`). */
export async function stopDaemon(agent: AgentProcess | undefined, timeoutMs = 15_000): Promise<void> {
  if (agent && agent.child.exitCode === null && agent.child.signalCode === null) await agent.stop(timeoutMs);
}

/** Resident set size of a process in bytes, from /proc/<pid>/status. */
export function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Open file descriptors of a process, from /proc/<pid>/fd. */
export function fdsOf(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Reads one metric sample (first matching line) from a daemon's /metrics. */
export async function metric(httpUrl: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+|NaN)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Every file under `root` (recursively), as paths. */
export function filesUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    let entries;
    try {
      entries = readdirSync(p, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = join(p, e.name);
      if (e.isDirectory()) walk(full);
      else out.push(full);
    }
  };
  walk(root);
  return out;
}

/** Percentile (0-100) of numbers, nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
