// Scenario 2, Redis restart under load: redis-server (appendonly yes, appendfsync always) is SIGKILLed
// and restarted on the same port and data directory while clients keep sending requests through the
// inbox stream and HTTP. Every request whose hand-off was acknowledged (XADD answered an id, POST
// answered 202) ends with a result; the daemon stays up and becomes ready again.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import type { AgentProcess } from '../support/agent-process.js';
import { pick, projectCreate, report, sleep, startWorld, stopDaemon } from './harness.js';

const TOKEN = 'redis-restart-token-5b1e';
const RESTARTS = pick(2, 6);
const PRODUCE_MS = pick(12_000, 60_000);

test(`redis restart: ${RESTARTS} SIGKILL+restarts of an AOF redis under load, no accepted request lost`, async () => {
  const started = Date.now();
  const world = await startWorld({ prefix: 'rr', appendonly: true, holdClusters: true });
  let agent: AgentProcess | undefined;
  // Fails fast while Redis is down, so "accepted" means Redis answered.
  const client = new Redis(world.redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 100 });
  client.on('error', () => undefined);
  try {
    agent = await world.daemon('rr-host', { env: { SYNC_AGENT_TOKEN: TOKEN } });
    // Several projects, so the requests do not all queue on one project's state file.
    const projects = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7'];
    for (const p of projects) await world.send(projectCreate(p));
    const created = await world.waitResults(projects.map((p) => `create-${p}`), 30_000);
    assert.ok([...created.values()].every((c) => c.status === 'completed'));

    const accepted: string[] = [];
    let refused = 0;
    let stop = false;
    let n = 0;
    const viaInbox = async () => {
      while (!stop) {
        const id = `in-${n++}`;
        try {
          await client.xadd(`${world.prefix}:inbox`, '*', 'request', JSON.stringify({ id, name: 'run.start', data: { projectId: projects[n % 8] }, idempotencyKey: `k-${id}` }));
          accepted.push(id);
        } catch {
          refused += 1;
        }
        await sleep(pick(50, 25));
      }
    };
    let h = 0;
    const viaHttp = async () => {
      while (!stop) {
        const id = `http-${h++}`;
        try {
          const res = await fetch(`${agent!.httpUrl}/v1/requests`, {
            method: 'POST',
            headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
            body: JSON.stringify({ id, name: 'run.start', data: { projectId: projects[h % 8] }, idempotencyKey: `k-${id}` }),
            signal: AbortSignal.timeout(15_000),
          });
          if (res.status === 202) accepted.push(id);
          else refused += 1;
        } catch {
          refused += 1;
        }
        await sleep(pick(100, 50));
      }
    };
    const producers = Promise.all([viaInbox(), viaHttp()]);
    const gap = PRODUCE_MS / (RESTARTS + 1);
    const downMs: number[] = [];
    for (let i = 0; i < RESTARTS; i++) {
      await sleep(gap);
      const t = Date.now();
      world.redis.kill('SIGKILL');
      await sleep(300 + Math.random() * 1_200);
      await world.redis.restart();
      downMs.push(Date.now() - t);
    }
    await sleep(gap);
    stop = true;
    await producers;

    const results = await world.waitResults(accepted, pick(90_000, 300_000));
    const notCompleted = [...results].filter(([, r]) => r.status !== 'completed');
    assert.equal(notCompleted, [], 'every accepted request completed');
    const clusters = world.emr.server.clusters();
    const tags = new Set(clusters.map((c) => c.tags['sync:run-id']));
    assert.is(tags.size, clusters.length, 'no run has two clusters');
    const ready = await fetch(`${agent.httpUrl}/readyz`);
    assert.is(ready.status, 200, 'the daemon is ready again after the restarts');
    assert.is(agent.child.exitCode, null, 'the daemon did not exit');
    assert.is(await agent.stop(), 0);
    report('redis-restart', {
      restarts: RESTARTS,
      downMs,
      accepted: accepted.length,
      refusedWhileDown: refused,
      completed: results.size,
      lost: accepted.length - results.size,
      clusters: clusters.length,
      durationS: Math.round((Date.now() - started) / 1000),
    });
  } finally {
    client.disconnect();
    await stopDaemon(agent);
    await world.stop();
  }
});

test.run();
