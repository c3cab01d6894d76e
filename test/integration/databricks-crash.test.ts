// A worker killed with SIGKILL between runs/submit and the state write: a restarted agent finishes the
// request with exactly one Databricks run (found by its tags; a resubmission would carry the same token).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { startAgent, writeConfig, eventually, type AgentProcess } from '../support/agent-process.js';
import { startRedis, freePort } from '../support/redis.js';
import { createDatabricksServer } from '../../src/sandbox/databricks-server.js';
import { shippedWorkloads } from '../../src/sandbox/shipped-workloads.js';

const TOKEN = 'dapi-crash-test-31d4c9aa07e2';

test('SIGKILL between runs/submit and the state write: a restarted agent finishes the request with one Databricks run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sync-dbx-crash-'));
  const redis = await startRedis();
  let victim: AgentProcess | undefined;
  let killed = 0;
  const server = await createDatabricksServer({
    tokens: [TOKEN],
    workloads: shippedWorkloads(),
    timeScale: 1,
    // Inside runs/submit, before the answer is written: the agent dies not knowing the run id.
    onSubmit: () => {
      if (victim && killed === 0) {
        killed += 1;
        victim.kill('SIGKILL');
      }
    },
  });
  const r = new Redis(redis.url);
  let agent: AgentProcess | undefined;
  try {
    const httpPort = await freePort();
    const configPath = writeConfig(dir, {
      site: {
        id: 'dbx-crash-host',
        redis: { url: redis.url },
        queues: { prefix: 'dbxcrash', backoffMs: 200, lockDurationMs: 2_000 },
        http: { port: httpPort },
        databricks: { host: server.url, pollIntervalMs: 60_000 },
      },
      tenant: { id: 'acme', state: pathToFileURL(join(dir, 'state')).href, projectLocation: 'dbfs:/sync/runs' },
    });
    const env = { DATABRICKS_TOKEN: TOKEN };
    agent = startAgent({ configPath, httpPort, env });
    await agent.ready();
    const send = (body: unknown) => r.xadd('dbxcrash:inbox', '*', 'request', JSON.stringify(body));
    const result = (id: string) =>
      eventually(async () => {
        const h = await r.hgetall(`dbxcrash:result:${id}`);
        return h.status ? h : undefined;
      }, 60_000, `result of ${id}`);
    const job = JSON.parse(readFileSync(new URL('../fixtures/databricks/multi-task-job.json', import.meta.url), 'utf8')) as unknown;
    await send({ id: 'create', name: 'project.create', data: { projectId: 'p1', name: 'p1', platform: 'databricks', job } });
    assert.is((await result('create')).status, 'completed');

    victim = agent;
    await send({ id: 'start-1', name: 'run.start', data: { projectId: 'p1' }, idempotencyKey: 'p1-2026-12-04' });
    assert.is(await agent.exited, 'SIGKILL');
    assert.is(server.runs().length, 1, 'runs/submit reached Databricks before the kill');
    const state = JSON.parse(readFileSync(join(dir, 'state', 'projects', 'p1.json'), 'utf8')) as { runs: { clusterId?: string; status: string }[] };
    assert.is(state.runs.length, 1);
    assert.is(state.runs[0]!.clusterId, undefined, 'the agent died before it could write the run id');

    agent = startAgent({ configPath, httpPort, env });
    await agent.ready();
    const res = await result('start-1');
    assert.is(res.status, 'completed', JSON.stringify(res));
    const out = JSON.parse(res.result!) as { databricksRunId: number; runId: string };
    assert.is(out.databricksRunId, server.runs()[0]!.runId);
    assert.is(server.runs().length, 1, 'no second Databricks run');
    const after = JSON.parse(readFileSync(join(dir, 'state', 'projects', 'p1.json'), 'utf8')) as { runs: { clusterId?: string; status: string }[] };
    assert.is(after.runs.length, 1);
    assert.is(after.runs[0]!.clusterId, String(out.databricksRunId));
    assert.not.ok(agent.output().includes(TOKEN), 'the token is not in the logs');
    assert.is(await agent.stop(), 0);
  } finally {
    r.disconnect();
    if (agent && agent.child.exitCode === null && agent.child.signalCode === null) await agent.stop();
    await server.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
