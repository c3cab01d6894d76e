// Scenario 7, soak: a long stream of requests through one daemon (run.start on 50 projects, plus
// malformed ones and status reads over HTTP). After a warm-up, the daemon's resident memory grows less
// than 10% and its open file descriptors do not grow; event-loop lag p99 is read from /metrics.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentProcess } from '../support/agent-process.js';
import { fdsOf, metric, percentile, pick, projectCreate, report, rssOf, sleep, startWorld, stopDaemon } from './harness.js';

const REQUESTS = pick(2_000, 10_000);
const PROJECTS = 50;
const TOKEN = 'soak-token-9a8b7c6d';
const median = (xs: number[]) => percentile(xs, 50);

/**
 * Bytes reachable in the daemon's heap after a full GC: SIGUSR2 makes it write a heap snapshot
 * (--heapsnapshot-signal, which collects garbage first) into `dir`; the sum of the nodes' self sizes.
 */
async function retainedHeap(pid: number, dir: string): Promise<number> {
  const before = new Set(existsSync(dir) ? readdirSync(dir) : []);
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + 60_000;
  for (;;) {
    const fresh = (existsSync(dir) ? readdirSync(dir) : []).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (fresh) {
      const path = join(dir, fresh);
      // Written in one go once complete; wait until the size stops changing and the JSON parses.
      let size = -1;
      while (statSync(path).size !== size) {
        size = statSync(path).size;
        await sleep(500);
      }
      try {
        const snap = JSON.parse(readFileSync(path, 'utf8')) as { snapshot: { meta: { node_fields: string[] } }; nodes: number[] };
        rmSync(path);
        const fields = snap.snapshot.meta.node_fields;
        const self = fields.indexOf('self_size');
        let total = 0;
        for (let i = self; i < snap.nodes.length; i += fields.length) total += snap.nodes[i]!;
        return total;
      } catch {
        /* still being written */
      }
    }
    if (Date.now() > deadline) throw new Error('no heap snapshot within 60 s');
    await sleep(500);
  }
}

test(`soak: ${REQUESTS} requests through one daemon, memory and handles flat after warm-up`, async () => {
  const started = Date.now();
  // Clusters stay STARTING, so every run stays "running"; the reconciler would then hold and describe
  // all of them on every pass (its working set is the running runs), which real runs never reach.
  const world = await startWorld({ prefix: 'sk', holdClusters: true, site: { reconcile: { intervalMs: 3_600_000 } } });
  let agent: AgentProcess | undefined;
  try {
    const snapDir = join(world.dir, 'heap');
    mkdirSync(snapDir);
    agent = await world.daemon('sk-host', { env: { SYNC_AGENT_TOKEN: TOKEN, NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${snapDir}` } });
    const pid = agent.child.pid!;
    const projects = Array.from({ length: PROJECTS }, (_, i) => `p${i}`);
    for (const p of projects) await world.send(projectCreate(p));
    await world.waitResults(projects.map((p) => `create-${p}`), 60_000);

    const samples: { at: number; sent: number; rss: number; fds: number }[] = [];
    let sent = 0;
    const sampler = setInterval(() => {
      try {
        samples.push({ at: Date.now() - started, sent, rss: rssOf(pid), fds: fdsOf(pid) });
      } catch {
        /* the process is gone; the assertions below say so */
      }
    }, 500);
    const lags: number[] = [];
    const ids: string[] = [];
    const BATCH = 100;
    let heapWarm: number | undefined;
    let warmSent = 0;
    try {
      for (let i = 0; i < REQUESTS; i += BATCH) {
        const pipe = world.r.pipeline();
        const batch: string[] = [];
        for (let k = i; k < Math.min(REQUESTS, i + BATCH); k++) {
          const id = `soak-${k}`;
          // One in ten is malformed (rejected at the inbox), the rest start runs.
          const body = k % 10 === 9 ? { id, name: 'run.start', data: { projectId: '../escape' } } : { id, name: 'run.start', data: { projectId: projects[k % PROJECTS] }, idempotencyKey: id };
          pipe.xadd(`${world.prefix}:inbox`, '*', 'request', JSON.stringify(body));
          batch.push(id);
        }
        await pipe.exec();
        sent += batch.length;
        ids.push(...batch);
        // Keep the backlog bounded: wait for this batch before sending more than two ahead.
        if (ids.length > 2 * BATCH) await world.waitResults(ids.slice(-3 * BATCH, -2 * BATCH), 120_000);
        // Status reads over HTTP too (GET /v1/requests/:id).
        const res = await fetch(`${agent.httpUrl}/v1/requests/${batch[0]}`, { headers: { authorization: `Bearer ${TOKEN}` } });
        assert.ok(res.status === 200 || res.status === 404, `status read: ${res.status}`);
        await res.arrayBuffer();
        if ((i / BATCH) % 5 === 0) lags.push((await metric(agent.httpUrl, 'nodejs_eventloop_lag_p99_seconds')) ?? NaN);
        if (heapWarm === undefined && sent >= REQUESTS * pick(0.3, 0.1)) {
          await world.waitResults(ids, 120_000);
          heapWarm = await retainedHeap(pid, snapDir);
          warmSent = sent;
        }
      }
      const results = await world.waitResults(ids, 300_000);
      const wrong = [...results].filter(([id, r]) => (Number(id.slice(5)) % 10 === 9 ? r.status !== 'rejected' : r.status !== 'completed'));
      assert.equal(wrong.slice(0, 5), [], 'every request ended as expected');
      await sleep(3_000);
    } finally {
      clearInterval(sampler);
    }
    const heapEnd = await retainedHeap(pid, snapDir);
    const heapGrowth = (heapEnd - heapWarm!) / heapWarm!;
    // Writing the heap snapshot (at 10% of the full run) costs RSS that V8 keeps, and RSS swings with every major GC, so
    // RSS after warm-up is the median over 30-50% of the requests, compared with the median from 80% on.
    const warm = samples.filter((s) => s.sent >= REQUESTS * 0.3 && s.sent <= REQUESTS * 0.5);
    const tail = samples.filter((s) => s.sent >= REQUESTS * 0.8);
    assert.ok(warm.length >= 3 && tail.length >= 3, `enough samples (${warm.length}, ${tail.length})`);
    const firstWarm = median(warm.map((s) => s.rss));
    const lastRss = median(tail.map((s) => s.rss));
    const growth = (lastRss - firstWarm) / firstWarm;
    const fdsWarm = median(warm.map((s) => s.fds));
    const fdsEnd = median(samples.slice(-5).map((s) => s.fds));
    const lagP99 = (await metric(agent.httpUrl, 'nodejs_eventloop_lag_p99_seconds')) ?? NaN;
    const clusters = world.emr.server.clusters().length;
    assert.is(clusters, REQUESTS - Math.floor(REQUESTS / 10), 'one cluster per valid run.start');
    // RSS at each tenth of the requests sent, for the report and for a failure message.
    const series = Array.from({ length: 10 }, (_, k) => samples.find((x) => x.sent >= (REQUESTS * (k + 1)) / 10) ?? samples.at(-1)!).map((x) => Math.round(x.rss / 2 ** 20));
    const durationS = (Date.now() - started) / 1000;
    // Reported before the assertions, so that a failing run still leaves its figures.
    report('soak', {
      requests: REQUESTS,
      completed: REQUESTS - Math.floor(REQUESTS / 10),
      rejected: Math.floor(REQUESTS / 10),
      rssMiB: { afterWarmup: Number((firstWarm / 2 ** 20).toFixed(1)), end: Number((lastRss / 2 ** 20).toFixed(1)), max: Number((Math.max(...samples.map((s) => s.rss)) / 2 ** 20).toFixed(1)) },
      rssGrowthPct: Number((growth * 100).toFixed(1)),
      rssMiBByTenth: series,
      retainedHeapMiB: { afterWarmup: Number((heapWarm! / 2 ** 20).toFixed(2)), end: Number((heapEnd / 2 ** 20).toFixed(2)), atRequest: warmSent },
      retainedHeapGrowthPct: Number((heapGrowth * 100).toFixed(1)),
      fds: { afterWarmup: fdsWarm, end: fdsEnd },
      eventLoopLagP99Ms: { end: Number((lagP99 * 1000).toFixed(1)), worstSampled: Number((Math.max(...lags.filter((l) => !Number.isNaN(l))) * 1000).toFixed(1)) },
      requestsPerS: Number((REQUESTS / durationS).toFixed(1)),
      durationS: Math.round(durationS),
    });
    // Retained heap (after a full GC) is exact; RSS swings by tens of MiB with V8's lazy collection, so it
    // is judged only at full scale, where the run is long enough for the heap to reach its working size.
    assert.ok(heapGrowth < 0.1, `retained heap after warm-up grew ${(heapGrowth * 100).toFixed(1)}% (${(heapWarm! / 2 ** 20).toFixed(1)} -> ${(heapEnd / 2 ** 20).toFixed(1)} MiB)`);
    if (REQUESTS >= 10_000) assert.ok(growth < 0.1, `RSS growth after warm-up ${(growth * 100).toFixed(1)}% (${(firstWarm / 2 ** 20).toFixed(0)} -> ${(lastRss / 2 ** 20).toFixed(0)} MiB; by tenths ${series.join(' ')})`);
    assert.ok(fdsEnd <= fdsWarm + 5, `file descriptors did not leak (${fdsWarm} -> ${fdsEnd})`);
    assert.is(await agent.stop(), 0);
  } finally {
    await stopDaemon(agent);
    await world.stop();
  }
});

test.run();
