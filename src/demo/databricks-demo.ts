// `sync-agent demo --platform databricks`: the tuning loop against the sandbox's Databricks workspace on
// embedded defaults: a private redis-server, the agent with site.databricks pointing at the sandbox, a
// sample multi-task job on 12 x m5.4xlarge, and project.iterate N times, printing each run's cluster,
// runtime and its VM and DBU cost. Leaves nothing running.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { createAgent } from '../agent/daemon.js';
import { resolveRedisUrl } from '../agent/runtime.js';
import { createFileStateStore } from '../adapters/state-file.js';
import { embeddedDefaults } from '../config/defaults.js';
import type { Config } from '../config/types.js';
import type { DatabricksJob } from '../domain/databricks-job.js';
import type { Run } from '../domain/types.js';
import { inboxKey } from '../queues/inbox.js';
import { createResults, type ResultEntry } from '../queues/results.js';
import { createDatabricksServer } from '../sandbox/databricks-server.js';
import { shippedWorkloads } from '../sandbox/shipped-workloads.js';
import type { CliIo } from '../cli/io.js';

/** A demo-only token for the sandbox workspace (never a real credential). */
const DEMO_TOKEN = 'dapi-sandbox-demo-only';

/** The sample job: a notebook and a Python task on one job cluster of 12 x m5.4xlarge. */
export function demoDatabricksJob(): DatabricksJob {
  return {
    run_name: 'nightly-etl',
    job_clusters: [
      {
        job_cluster_key: 'etl',
        new_cluster: {
          spark_version: '14.3.x-scala2.12',
          node_type_id: 'm5.4xlarge',
          driver_node_type_id: 'm5.2xlarge',
          num_workers: 12,
          custom_tags: { team: 'data-eng', 'sync:sandbox-workload': 'etl-shuffle' },
          aws_attributes: { availability: 'ON_DEMAND', first_on_demand: 1 },
        },
      },
    ],
    tasks: [
      { task_key: 'ingest', job_cluster_key: 'etl', notebook_task: { notebook_path: '/Repos/etl/ingest' } },
      { task_key: 'aggregate', depends_on: [{ task_key: 'ingest' }], job_cluster_key: 'etl', spark_python_task: { python_file: 'dbfs:/etl/aggregate.py' } },
    ],
  };
}

/** Runs the Databricks demo in `dir`; resolves with the exit code. */
export async function runDatabricksDemo(opts: { io: CliIo; dir: string; iterations: number; timeScale: number; seed: number }): Promise<number> {
  const { io, dir } = opts;
  mkdirSync(dir, { recursive: true });
  const server = await createDatabricksServer({ tokens: [DEMO_TOKEN], workloads: shippedWorkloads(), timeScale: opts.timeScale, seed: opts.seed, logDeliveryDelayMs: 300_000 });
  const base = embeddedDefaults(dir);
  const config: Config = {
    ...base,
    site: {
      ...base.site,
      id: 'databricks-demo',
      redis: { embedded: true, dir: join(dir, 'redis') },
      queues: { ...base.site.queues, prefix: 'dbxdemo', backoffMs: 300, attempts: 6 },
      http: { ...base.site.http, enabled: false },
      eventLog: { waitTimeoutMs: 120_000, pollMs: 300 },
      shutdown: { graceMs: 5_000 },
      databricks: { host: server.url, cloud: 'aws', pollIntervalMs: 500, maxCallsPerPass: 50, logDelivery: { waitTimeoutMs: 1_800_000, pollMs: 300 } },
    },
    tenant: { id: 'sandbox', state: pathToFileURL(join(dir, 'state')).href, projectLocation: 'dbfs:/sync/runs' },
  };
  const agent = createAgent({ config, env: { DATABRICKS_TOKEN: DEMO_TOKEN }, home: dir, logSink: () => {} });
  let redis: Redis | undefined;
  try {
    await agent.start();
    redis = new Redis(resolveRedisUrl(config), { maxRetriesPerRequest: 3 });
    const results = createResults(redis, 'dbxdemo');
    let seq = 0;
    const request = async (name: string, data: unknown, key?: string): Promise<ResultEntry> => {
      const id = `demo-${Date.now().toString(36)}-${(seq++).toString(36)}`;
      await redis!.xadd(inboxKey('dbxdemo'), '*', 'request', JSON.stringify({ id, name, data, ...(key ? { idempotencyKey: key } : {}) }));
      for (const deadline = Date.now() + 180_000; Date.now() < deadline; ) {
        const entry = await results.get(id);
        if (entry) return entry;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no answer to ${name} within 180 s`);
    };
    const state = createFileStateStore(config.tenant.state);
    const created = await request('project.create', { projectId: 'nightly-etl', name: 'nightly-etl', platform: 'databricks', mode: 'auto', job: demoDatabricksJob() });
    if (created.status !== 'completed') throw new Error(`project.create: ${JSON.stringify(created.error)}`);
    io.out('Databricks demo: nightly-etl (notebook + python task on one job cluster, starting at 12 x m5.4xlarge)');
    io.out('run  cluster                     runtime    VM $    DBU $   total $  decision');
    const costs: number[] = [];
    for (let i = 1; i <= opts.iterations; i++) {
      const it = await request('project.iterate', { projectId: 'nightly-etl' }, `demo-iterate-${i}`);
      if (it.status !== 'completed') throw new Error(`iteration ${i}: ${JSON.stringify(it.error)}`);
      const { runId, decision, reason } = it.result as { runId: string; decision: string; reason: string };
      if (process.env.SYNC_DEMO_VERBOSE) io.out(`     ${reason}`);
      let run: Run | undefined;
      for (const deadline = Date.now() + 180_000; Date.now() < deadline; ) {
        run = (await state.get('nightly-etl'))?.value.runs.find((r) => r.id === runId);
        if (run?.status === 'recorded' || run?.status === 'failed') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      if (!run || (run.status !== 'recorded' && run.status !== 'failed')) throw new Error(`run ${runId} was not recorded in time`);
      const b = run.costBreakdown;
      costs.push(run.costUsd ?? 0);
      const shape = `${run.cluster?.nodes ?? '?'} x ${run.cluster?.instanceType ?? '?'}`;
      io.out(`${String(i).padStart(3)}  ${shape.padEnd(26)} ${`${run.runtimeSeconds ?? '?'} s`.padStart(8)} ${(b?.vmUsd ?? 0).toFixed(2).padStart(7)} ${(b?.dbuUsd ?? 0).toFixed(2).padStart(8)} ${(run.costUsd ?? 0).toFixed(2).padStart(9)}  ${decision}`);
    }
    const first = costs[0] ?? 0;
    const last = costs[costs.length - 1] ?? 0;
    io.out(`cost per run: $${first.toFixed(2)} -> $${last.toFixed(2)} (${first > 0 ? Math.round((100 * (last - first)) / first) : 0}%)`);
    const running = server.runs().filter((r) => r.endedAt === undefined).length;
    io.out(`Databricks runs submitted: ${server.runs().length}; still running: ${running}`);
    return 0;
  } finally {
    redis?.disconnect();
    await agent.stop('demo done').catch(() => undefined);
    await server.close();
  }
}
