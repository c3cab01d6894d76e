// A worker killed with SIGKILL between RunJobFlow and the state write: the request is picked up again
// (by a restarted agent) and ends with exactly one cluster, adopted by its run tag.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { startAgent, writeConfig, eventually, type AgentProcess } from '../support/agent-process.js';
import { startRedis, freePort } from '../support/redis.js';
import { startEmr } from '../support/emr.js';

test('SIGKILL between RunJobFlow and the state write: a restarted agent finishes the request with one cluster', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sync-crash-'));
  const redis = await startRedis();
  let victim: AgentProcess | undefined;
  let killed = 0;
  // Clusters stay STARTING: this test is about starting them, not running them.
  const emr = await startEmr({
    timeline: { startingMs: 3_600_000 },
    onStateChange: (cluster) => {
      // Called inside RunJobFlow, before the response is written: the agent dies not knowing the cluster id.
      if (cluster.state === 'STARTING' && victim && killed === 0) {
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
        id: 'crash-host',
        redis: { url: redis.url },
        queues: { prefix: 'crash', backoffMs: 200, lockDurationMs: 2_000 },
        aws: { region: 'us-east-1', endpoints: { emr: emr.url } },
        http: { port: httpPort },
      },
      tenant: { id: 'acme', state: pathToFileURL(join(dir, 'state')).href, projectLocation: pathToFileURL(join(dir, 'runs')).href },
    });
    agent = startAgent({ configPath, httpPort });
    await agent.ready();
    const send = (body: unknown) => r.xadd('crash:inbox', '*', 'request', JSON.stringify(body));
    const result = (id: string) =>
      eventually(async () => {
        const h = await r.hgetall(`crash:result:${id}`);
        return h.status ? h : undefined;
      }, 40_000, `result of ${id}`);

    await send({ id: 'create', name: 'project.create', data: { projectId: 'p1', name: 'p1', platform: 'emr', jobFlow: { Name: 'p1', ReleaseLabel: 'emr-6.10.0', Instances: { InstanceGroups: [{ InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 }] } } } });
    assert.is((await result('create')).status, 'completed');

    victim = agent;
    await send({ id: 'start-1', name: 'run.start', data: { projectId: 'p1' }, idempotencyKey: 'p1-2026-11-22' });
    const code = await agent.exited;
    assert.is(code, 'SIGKILL');
    assert.is(emr.server.clusters().length, 1, 'RunJobFlow reached EMR before the kill');
    const state = JSON.parse(readFileSync(join(dir, 'state', 'projects', 'p1.json'), 'utf8')) as { runs: { clusterId?: string; status: string }[] };
    assert.is(state.runs.length, 1);
    assert.is(state.runs[0]!.clusterId, undefined, 'the agent died before it could write the cluster id');

    agent = startAgent({ configPath, httpPort });
    await agent.ready();
    const res = await result('start-1');
    assert.is(res.status, 'completed', JSON.stringify(res));
    const out = JSON.parse(res.result!) as { clusterId: string; runId: string };
    assert.is(out.clusterId, emr.server.clusters()[0]!.id);
    assert.is(emr.server.clusters().length, 1, 'no second cluster');
    const after = JSON.parse(readFileSync(join(dir, 'state', 'projects', 'p1.json'), 'utf8')) as { runs: { clusterId?: string; status: string }[] };
    assert.is(after.runs.length, 1);
    assert.is(after.runs[0]!.clusterId, out.clusterId);
    assert.is(after.runs[0]!.status, 'running');
    assert.is(await agent.stop(), 0);
  } finally {
    r.disconnect();
    if (agent && agent.child.exitCode === null && agent.child.signalCode === null) await agent.stop();
    await emr.stop();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
