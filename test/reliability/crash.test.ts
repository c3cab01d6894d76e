// Scenario 1, crash: runs flow through run.start -> cluster completes -> EventBridge event on SQS ->
// run.record while the daemon is SIGKILLed at random points and restarted. Afterwards every run is
// recorded exactly once, no cluster was started twice, and nothing is stuck in the queues.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { requestQueueName } from '../../src/queues/requests-queue.js';
import type { AgentProcess } from '../support/agent-process.js';
import { pick, projectCreate, report, sleep, startWorld, stopDaemon, SCALE } from './harness.js';

const RUNS = pick(60, 500);
const KILLS = pick(3, 20);
const PROJECTS = pick(4, 10);

test(`crash: ${RUNS} runs, ${KILLS} SIGKILLs at random points, every run recorded exactly once`, async () => {
  const started = Date.now();
  const world = await startWorld({ prefix: 'crash' });
  let agent: AgentProcess | undefined;
  // Seeded so a failing run can be replayed with RELIABILITY_SEED.
  let seed = Number(process.env.RELIABILITY_SEED ?? Date.now() % 1_000_000);
  const seedUsed = seed;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  try {
    agent = await world.daemon('crash-host');
    const projects = Array.from({ length: PROJECTS }, (_, i) => `proj-${i}`);
    for (const p of projects) await world.send(projectCreate(p));
    const created = await world.waitResults(projects.map((p) => `create-${p}`), 30_000);
    for (const [id, res] of created) assert.is(res.status, 'completed', `${id}: ${JSON.stringify(res)}`);

    // Producer: the run.start requests trickle in while the killer works.
    const ids: string[] = [];
    const producer = (async () => {
      for (let i = 0; i < RUNS; i++) {
        const id = `start-${i}`;
        await world.send({ id, name: 'run.start', data: { projectId: projects[i % PROJECTS] }, idempotencyKey: `run-${i}` });
        ids.push(id);
        if (i % 5 === 4) await sleep(pick(150, 60));
      }
    })();

    const outputs: string[] = [];
    let kills = 0;
    const killAt: number[] = [];
    while (kills < KILLS) {
      await sleep(500 + random() * pick(2_500, 3_500));
      agent.kill('SIGKILL');
      await agent.exited;
      outputs.push(agent.output());
      kills += 1;
      killAt.push(Date.now() - started);
      await sleep(random() * 500);
      agent = await world.daemon('crash-host');
    }
    await producer;
    const timeoutMs = pick(180_000, 900_000);
    const results = await world.waitResults(ids, timeoutMs);
    const failed = [...results].filter(([, r]) => r.status !== 'completed');
    assert.equal(failed, [], 'every run.start completed');

    // Wait for every run to be recorded (completion events, and the reconciler as the safety net).
    const deadline = Date.now() + timeoutMs;
    let runs: Record<string, unknown>[] = [];
    for (;;) {
      runs = Object.values(world.states()).flatMap((s) => s.runs);
      if (runs.length >= RUNS && runs.every((r) => r.status === 'recorded')) break;
      if (Date.now() > deadline) break;
      await sleep(500);
    }
    const notRecorded = runs.filter((r) => r.status !== 'recorded').map((r) => `${String(r.id)}:${String(r.status)}`);
    assert.equal(notRecorded, [], 'every run recorded');
    assert.is(runs.length, RUNS, 'one run per run.start');

    // No cluster started twice: one cluster per run, each tagged with its run.
    const clusters = world.emr.server.clusters();
    const byRunTag = new Map<string, number>();
    for (const c of clusters) byRunTag.set(c.tags['sync:run-id']!, (byRunTag.get(c.tags['sync:run-id']!) ?? 0) + 1);
    const doubled = [...byRunTag].filter(([, n]) => n > 1);
    assert.equal(doubled, [], 'no run has two clusters');
    assert.is(clusters.length, RUNS, 'exactly one cluster per run');
    const clusterIds = new Set(clusters.map((c) => c.id));
    for (const run of runs) {
      assert.ok(clusterIds.has(run.clusterId as string), `run ${String(run.id)} points at a cluster EMR knows`);
      assert.ok(existsSync(fileURLToPath(`${String(run.location)}emr-cluster-report.json`)), `report of ${String(run.id)}`);
      assert.is(run.eventLogUrl, `${String(run.location)}eventlog/`);
    }
    const runIdsOfResults = new Set([...results.values()].map((r) => (r.result as { runId: string }).runId));
    assert.is(runIdsOfResults.size, RUNS, 'each run.start answered its own run');

    // Recorded exactly once. More than one run.record may reach a run (the SQS event, and the reconciler,
    // which hands a still-running run over once per pass); the record itself is a compare-and-set on the
    // project state that only an unrecorded run accepts, so a run has one record however many arrive.
    // Checked: one entry per run in the state (above: all recorded, one per run.start), and every
    // run.record of a run answers the same status and report.
    const stream = await world.r.xrange(`${world.prefix}:results`, '-', '+');
    outputs.push(agent.output());
    const answers = new Map<string, Set<string>>();
    let recordRequests = 0;
    for (const [, fields] of stream) {
      const f: Record<string, string> = {};
      for (let i = 0; i < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
      if (f.name !== 'run.record') continue;
      recordRequests += 1;
      assert.is(f.status, 'completed', `run.record ${f.id}: ${f.error ?? ''}`);
      const result = JSON.parse(f.result!) as { runId: string; status: string; reportUrl: string };
      answers.set(result.runId, (answers.get(result.runId) ?? new Set()).add(`${result.status} ${result.reportUrl}`));
    }
    assert.is(answers.size, RUNS, 'a run.record for every run');
    assert.equal([...answers].filter(([, a]) => a.size !== 1), [], 'every run.record of a run answers the same');
    assert.is(new Set(runs.map((r) => r.id)).size, RUNS, 'one state entry per run');
    // For the report: run.record executions that found the run unrecorded at the same time (both wrote
    // the same report file; the state took one of them).
    const executions = new Map<string, number>();
    for (const line of outputs.join('').split('\n')) {
      if (!line.includes('"msg":"run recorded"')) continue;
      const runId = /"runId":"([^"]+)"/.exec(line)?.[1] ?? '?';
      executions.set(runId, (executions.get(runId) ?? 0) + 1);
    }

    // Nothing stuck: no BullMQ job active, waiting or delayed; no inbox entry pending.
    const queue = new Queue(requestQueueName(world.prefix), { connection: { url: world.redis.url }, prefix: world.prefix });
    const counts = await queue.getJobCounts('active', 'waiting', 'delayed', 'prioritized', 'failed');
    await queue.close();
    assert.equal([counts.active, counts.waiting, counts.delayed, counts.prioritized, counts.failed], [0, 0, 0, 0, 0], `no job active, waiting, delayed or failed: ${JSON.stringify(counts)}`);
    const groups = (await world.r.call('XINFO', 'GROUPS', `${world.prefix}:inbox`)) as unknown[][];
    const pendingTotal = groups.reduce((n, g) => n + Number(g[g.indexOf('pending') + 1]), 0);
    assert.is(pendingTotal, 0, 'no inbox entry left pending');

    const code = await agent.stop();
    assert.is(code, 0, agent.output().slice(-2000));
    report('crash', {
      runs: RUNS,
      kills,
      killAtMs: killAt,
      seed: seedUsed,
      clusters: clusters.length,
      recorded: runs.filter((r) => r.status === 'recorded').length,
      runRecordRequests: recordRequests,
      runsWithConcurrentRecordExecutions: [...executions].filter(([, n]) => n > 1).length,
      lost: RUNS - runs.filter((r) => r.status === 'recorded').length,
      duplicateClusters: doubled.length,
      durationS: Math.round((Date.now() - started) / 1000),
      scale: SCALE,
    });
  } finally {
    await stopDaemon(agent);
    await world.stop();
  }
});

test.run();
