// Request throughput through the whole daemon (inbox -> BullMQ -> run.start -> state + S3-like
// object store + RunJobFlow on the local EMR server), against the same number of no-op BullMQ jobs
// on the same Redis with the same concurrency: the ratio is the daemon's overhead over BullMQ itself.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createAgent } from '../src/agent/daemon.js';
import { embeddedDefaults } from '../src/config/defaults.js';
import type { Config } from '../src/config/types.js';
import { createEmrServer } from '../src/sandbox/emr-server.js';
import { startRedis } from '../test/support/redis.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 300);
const PROJECTS = 20;
const CONCURRENCY = 8;

async function waitForResults(r: Redis, prefix: string, ids: string[], timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pending = ids;
  while (pending.length > 0) {
    const pipe = r.pipeline();
    for (const id of pending) pipe.hget(`${prefix}:result:${id}`, 'status');
    const statuses = (await pipe.exec())!.map(([, v]) => v as string | null);
    const failed = statuses.filter((s) => s && s !== 'completed');
    if (failed.length > 0) throw new Error(`${failed.length} requests did not complete`);
    pending = pending.filter((_, i) => !statuses[i]);
    if (Date.now() > deadline) throw new Error(`${pending.length} requests unfinished after ${timeoutMs} ms`);
    if (pending.length > 0) await new Promise((res) => setTimeout(res, 20));
  }
}

/** Runs the daemon throughput benchmark and prints requests/s for the daemon and for no-op BullMQ jobs. */
export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sync-bench-'));
  const redis = await startRedis();
  // Clusters stay STARTING for the whole bench: the EMR server does no timer work meanwhile.
  const emr = await createEmrServer({ timeline: { startingMs: 3_600_000 } });
  const r = new Redis(redis.url);
  try {
    const base = embeddedDefaults(dir);
    const config: Config = {
      ...base,
      site: {
        ...base.site,
        redis: { url: redis.url },
        queues: { ...base.site.queues, prefix: 'bench', concurrency: CONCURRENCY },
        aws: { region: 'us-east-1', endpoints: { emr: emr.url }, s3ForcePathStyle: false },
        http: { ...base.site.http, enabled: false },
      },
      tenant: { ...base.tenant, state: pathToFileURL(join(dir, 'state')).href, projectLocation: pathToFileURL(join(dir, 'runs')).href },
    };
    process.env.AWS_ACCESS_KEY_ID ??= 'AKIDBENCH';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'bench-secret';
    const agent = createAgent({ config, logSink: () => {} });
    await agent.start();

    const send = async (id: string, name: string, data: unknown) =>
      r.xadd('bench:inbox', '*', 'request', JSON.stringify({ id, name, data }));
    const projectIds = Array.from({ length: PROJECTS }, (_, i) => `bench-${i}`);
    for (const p of projectIds) await send(`create-${p}`, 'project.create', { projectId: p, name: p, platform: 'emr', jobFlow: { Name: p, ReleaseLabel: 'emr-6.10.0', Instances: { InstanceGroups: [{ InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 }] } } });
    await waitForResults(r, 'bench', projectIds.map((p) => `create-${p}`));

    const ids = Array.from({ length: REQUESTS }, (_, i) => `start-${i}`);
    const t0 = performance.now();
    const pipe = r.pipeline();
    ids.forEach((id, i) => pipe.xadd('bench:inbox', '*', 'request', JSON.stringify({ id, name: 'run.start', data: { projectId: projectIds[i % PROJECTS] } })));
    await pipe.exec();
    await waitForResults(r, 'bench', ids);
    const daemonMs = performance.now() - t0;
    await agent.stop();
    const clusters = emr.clusters().length;
    const describes = emr.calls().filter((c) => c.op === 'DescribeCluster' || c.op === 'ListClusters').length;
    if (clusters !== REQUESTS) throw new Error(`expected ${REQUESTS} clusters, the EMR server has ${clusters}`);

    // Baseline: the same number of no-op jobs through plain BullMQ on the same Redis.
    const connection = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null };
    const queue = new Queue('noop', { connection, prefix: 'baseline' });
    let done = 0;
    let resolveAll!: () => void;
    const all = new Promise<void>((res) => (resolveAll = res));
    const worker = new Worker('noop', async () => undefined, { connection, prefix: 'baseline', concurrency: CONCURRENCY });
    worker.on('completed', () => {
      if (++done === REQUESTS) resolveAll();
    });
    await worker.waitUntilReady();
    const t1 = performance.now();
    await queue.addBulk(ids.map((id) => ({ name: 'noop', data: {}, opts: { jobId: id } })));
    await all;
    const baselineMs = performance.now() - t1;
    await worker.close();
    await queue.close();

    const daemonRate = REQUESTS / (daemonMs / 1000);
    const baseRate = REQUESTS / (baselineMs / 1000);
    console.log(`requests: ${REQUESTS} run.start over ${PROJECTS} projects, concurrency ${CONCURRENCY}; one cluster each on the local EMR server (${clusters} clusters, ${describes} ListClusters/DescribeCluster calls)`);
    console.log(`daemon   run.start (inbox -> BullMQ -> handler -> file state/objects -> RunJobFlow): ${daemonRate.toFixed(1)} req/s (${daemonMs.toFixed(0)} ms)`);
    console.log(`baseline no-op BullMQ jobs, same Redis, same concurrency:                        ${baseRate.toFixed(1)} jobs/s (${baselineMs.toFixed(0)} ms)`);
    console.log(`ratio daemon/baseline: ${(daemonRate / baseRate).toFixed(3)}`);
  } finally {
    r.disconnect();
    await emr.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
