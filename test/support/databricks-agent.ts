// A real agent (embedded Redis, file state) wired to the sandbox Databricks workspace, talked to through its
// Redis inbox and results stream: what the Databricks integration tests (AWS and Azure) share.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import * as assert from 'uvu/assert';
import { createAgent, type Agent } from '../../src/agent/daemon.js';
import { resolveRedisUrl } from '../../src/agent/runtime.js';
import { createFileStateStore } from '../../src/adapters/state-file.js';
import { embeddedDefaults } from '../../src/config/defaults.js';
import type { Config } from '../../src/config/types.js';
import type { DatabricksJob } from '../../src/domain/databricks-job.js';
import type { Run } from '../../src/domain/types.js';
import { inboxKey } from '../../src/queues/inbox.js';
import { createResults, type ResultEntry } from '../../src/queues/results.js';
import { createDatabricksServer, type DatabricksServer } from '../../src/sandbox/databricks-server.js';
import { shippedWorkloads } from '../../src/sandbox/shipped-workloads.js';

export type DatabricksAgent = {
  dir: string;
  server: DatabricksServer;
  agent: Agent;
  redis: Redis;
  config: Config;
  /** The agent's HTTP URL (with `http` only). */
  httpUrl?: string;
  /** The agent's log lines. */
  logs: string[];
  /** Sends a request through the inbox and waits for its result (a repeated key answers under `answeredAs`). */
  request(name: string, data: unknown, idempotencyKey?: string, timeoutMs?: number, answeredAs?: string): Promise<ResultEntry>;
  runsOf(projectId: string): Promise<Run[]>;
  close(): Promise<void>;
};

/** Starts the sandbox workspace and an agent for `cloud`, with its own queue prefix and run location. */
export async function startDatabricksAgent(opts: {
  name: string;
  token: string;
  prefix: string;
  cloud: 'aws' | 'azure';
  projectLocation: string;
  /** Serve HTTP on a free loopback port with this request-ingress token (SYNC_AGENT_TOKEN). */
  httpToken?: string;
  /** The poller's interval (default 500 ms). */
  pollIntervalMs?: number;
}): Promise<DatabricksAgent> {
  const dir = mkdtempSync(join(tmpdir(), `sync-dbx-${opts.name}-`));
  const server = await createDatabricksServer({ tokens: [opts.token], workloads: shippedWorkloads(), timeScale: 3000, logDeliveryDelayMs: 180_000 });
  const base = embeddedDefaults(dir);
  const config: Config = {
    ...base,
    site: {
      ...base.site,
      id: `dbx-${opts.name}`,
      redis: { embedded: true, dir: join(dir, 'redis') },
      queues: { ...base.site.queues, prefix: opts.prefix, backoffMs: 200, attempts: 5 },
      http: opts.httpToken ? { ...base.site.http, enabled: true, host: '127.0.0.1', port: 0, ui: false } : { ...base.site.http, enabled: false },
      eventLog: { waitTimeoutMs: 60_000, pollMs: 300 },
      shutdown: { graceMs: 3_000 },
      databricks: { host: server.url, cloud: opts.cloud, pollIntervalMs: opts.pollIntervalMs ?? 500, maxCallsPerPass: 50, logDelivery: { waitTimeoutMs: 600_000, pollMs: 300 } },
    },
    tenant: { id: 'acme', state: pathToFileURL(join(dir, 'state')).href, projectLocation: opts.projectLocation },
  };
  const logs: string[] = [];
  const agent = createAgent({ config, env: { DATABRICKS_TOKEN: opts.token, HOME: dir, ...(opts.httpToken ? { SYNC_AGENT_TOKEN: opts.httpToken } : {}) }, home: dir, logSink: (l) => logs.push(l) });
  await agent.start();
  const redis = new Redis(resolveRedisUrl(config), { maxRetriesPerRequest: 3 });
  let seq = 0;
  return {
    dir,
    server,
    agent,
    redis,
    config,
    logs,
    ...(agent.httpUrl ? { httpUrl: agent.httpUrl } : {}),
    async request(name, data, idempotencyKey, timeoutMs = 60_000, answeredAs) {
      const sent = `t-${Date.now().toString(36)}-${(seq++).toString(36)}`;
      // A request whose key was seen before is answered under the first request's id (the queue's request identity).
      const id = answeredAs ?? sent;
      await redis.xadd(inboxKey(opts.prefix), '*', 'request', JSON.stringify({ id: sent, name, data, ...(idempotencyKey ? { idempotencyKey } : {}) }));
      const results = createResults(redis, opts.prefix);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const entry = await results.get(id);
        if (entry) return entry;
        if (Date.now() > deadline) throw new Error(`no result for ${name} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    runsOf: async (projectId) => (await createFileStateStore(config.tenant.state).get(projectId))?.value.runs ?? [],
    async close() {
      if (process.env.DBX_DEBUG) for (const l of logs) console.log(l);
      redis.disconnect();
      await agent.stop('test done');
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

type Cluster = Record<string, unknown>;
const clusterOf = (job: { job_clusters?: unknown }): Cluster => (job.job_clusters as { new_cluster: Cluster }[])[0]!.new_cluster;

/**
 * prediction.apply of one solution, checked the same way on every cloud: it makes exactly one more runs/submit,
 * whose first job cluster has the solution's node type and worker count, carries the prediction's id as a tag,
 * and keeps every other key of the user's cluster (`original`) but spark_conf, which is left to the caller.
 * Gives back the submitted run's body and cluster, the applied configuration and the user's cluster.
 */
export async function applyPrediction(
  env: DatabricksAgent,
  opts: {
    projectId: string;
    prediction: { predictionId: string; solutions: Record<string, { configuration: Record<string, unknown> }> };
    preference: string;
    idempotencyKey: string;
    original: DatabricksJob;
  },
): Promise<{ body: Record<string, unknown>; cluster: Cluster; chosen: Record<string, unknown>; mine: Cluster }> {
  const { prediction, preference } = opts;
  const before = env.server.runs().length;
  const applied = await env.request('prediction.apply', { projectId: opts.projectId, predictionId: prediction.predictionId, preference }, opts.idempotencyKey, 60_000);
  assert.is(applied.status, 'completed', JSON.stringify(applied.error));
  assert.is(env.server.runs().length, before + 1, 'a second runs/submit');
  const second = env.server.runs().find((r) => r.runId === (applied.result as { databricksRunId: number }).databricksRunId)!;
  const chosen = prediction.solutions[preference]!.configuration;
  const cluster = clusterOf(second.body);
  assert.is(cluster.node_type_id, chosen.node_type_id);
  assert.is(cluster.num_workers, chosen.num_workers);
  assert.is((cluster.custom_tags as Record<string, string>)['sync:prediction-id'], prediction.predictionId);
  const mine = clusterOf(opts.original);
  for (const [k, v] of Object.entries(mine)) {
    if (['custom_tags', 'node_type_id', 'driver_node_type_id', 'num_workers', 'spark_conf'].includes(k)) continue;
    assert.equal(cluster[k], v, k);
  }
  return { body: second.body, cluster, chosen, mine };
}
