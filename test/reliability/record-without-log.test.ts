// Scenario 9, recording without an event log: clusters end TERMINATED (ALL_STEPS_COMPLETED) leaving no
// event log (a step that ran no Spark application) or only an `.inprogress` file (a driver killed before
// it closed its log), with run data on S3 (s3rver), while daemons are SIGKILLed and restarted. Every run
// must be recorded, with its "no event log" / "unfinished" warning, within 60 s of its completion event
// (before the fix, run.record waited site.eventLog.waitTimeoutMs, 15 min by default, and recorded
// nothing within 60 s); one cluster per run and one record per run. The reconciler runs at its
// production interval (5 min), so the completion events are what records the runs.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Queue } from 'bullmq';
import { requestQueueName } from '../../src/queues/requests-queue.js';
import type { ClusterRecord } from '../../src/sandbox/emr-server.js';
import type { AgentProcess } from '../support/agent-process.js';
import { percentile, pick, projectCreate, report, sleep, startWorld, stopDaemon, type SparkLog } from './harness.js';

/** Recorded within this long of the cluster's completion event (the issue's bound). */
const BOUND_MS = 60_000;

const scenario = suite('record-without-log');

/** One run as the state file shows it. */
type StateRun = { id: string; status: string; clusterId?: string; endedAt?: string; recordedAt?: string; eventLog?: { status: string; reason?: string }; eventLogUrl?: string; reportUrl?: string };

async function runScenario(name: string, daemons: number, runs: number, kills: number): Promise<void> {
  const started = Date.now();
  const projects = Array.from({ length: Math.min(10, runs) }, (_, i) => `nolog-${i}`);
  // Alternately nothing and an .inprogress file, in the order clusters start their steps.
  const left = new Map<string, SparkLog>();
  const sparkLog = (c: ClusterRecord): SparkLog => {
    const kind: SparkLog = left.size % 2 === 0 ? 'none' : 'inprogress';
    left.set(c.id, kind);
    return kind;
  };
  const world = await startWorld({
    prefix: name,
    runsOn: 's3',
    sparkLog,
    // Production values: EMR must not wait for the event log however long waitTimeoutMs is.
    site: { eventLog: { waitTimeoutMs: 900_000, pollMs: 15_000 }, reconcile: { intervalMs: 300_000 } },
  });
  const agents: (AgentProcess | undefined)[] = [];
  let seed = Number(process.env.RELIABILITY_SEED ?? Date.now() % 1_000_000);
  const seedUsed = seed;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  try {
    const hosts = Array.from({ length: daemons }, (_, i) => `${name}-host-${i}`);
    agents.push(...(await Promise.all(hosts.map((h) => world.daemon(h)))));
    for (const p of projects) await world.send(projectCreate(p));
    const created = await world.waitResults(projects.map((p) => `create-${p}`), 60_000);
    for (const [id, res] of created) assert.is(res.status, 'completed', `${id}: ${JSON.stringify(res)}`);

    const ids: string[] = [];
    const producer = (async () => {
      for (let i = 0; i < runs; i++) {
        const id = `start-${i}`;
        await world.send({ id, name: 'run.start', data: { projectId: projects[i % projects.length] }, idempotencyKey: `run-${i}` });
        ids.push(id);
        if (i % 5 === 4) await sleep(pick(150, 60));
      }
    })();

    // The killer: SIGKILL a daemon (one at random when there are several) and start it again.
    let done = 0;
    const outputs: string[] = [];
    const killAt: number[] = [];
    while (done < kills) {
      await sleep(500 + random() * pick(2_000, 3_000));
      const k = Math.floor(random() * daemons);
      const victim = agents[k]!;
      victim.kill('SIGKILL');
      await victim.exited;
      outputs.push(victim.output());
      killAt.push(Math.round((Date.now() - started) / 100) / 10);
      done += 1;
      await sleep(random() * 500);
      agents[k] = await world.daemon(hosts[k]!);
    }
    await producer;
    const results = await world.waitResults(ids, pick(120_000, 600_000));
    assert.equal([...results].filter(([, r]) => r.status !== 'completed'), [], 'every run.start completed');

    // Wait (bounded) until every run is recorded or the last cluster ended more than the bound ago.
    let all: StateRun[] = [];
    const hardDeadline = Date.now() + pick(180_000, 600_000);
    for (;;) {
      all = Object.values(world.states()).flatMap((s) => s.runs as StateRun[]);
      if (all.length >= runs && all.every((r) => r.status === 'recorded')) break;
      const clusters = world.emr.server.clusters();
      const lastEnd = Math.max(0, ...clusters.map((c) => c.endedAt ?? Date.now()));
      if (clusters.length >= runs && Date.now() - lastEnd > BOUND_MS + 10_000) break;
      if (Date.now() > hardDeadline) break;
      await sleep(500);
    }

    // Latency: recordedAt (the daemon's clock) minus the cluster's end (the moment the EMR server sent
    // the TERMINATED event), both on this machine's clock.
    const clusters = world.emr.server.clusters();
    const byId = new Map(clusters.map((c) => [c.id, c]));
    const latencies: number[] = [];
    const late: string[] = [];
    const wrongLog: string[] = [];
    for (const r of all) {
      const c = r.clusterId === undefined ? undefined : byId.get(r.clusterId);
      if (r.status !== 'recorded' || !c?.endedAt || r.recordedAt === undefined) {
        late.push(`${r.id}:${r.status} ${c ? `${c.state}/${String(c.reason?.Code)} ${String(c.reason?.Message)}` : 'no cluster'} ${JSON.stringify((r as { error?: unknown }).error ?? '')}`);
        continue;
      }
      const ms = Date.parse(r.recordedAt) - c.endedAt;
      latencies.push(ms);
      if (ms > BOUND_MS) late.push(`${r.id}: ended at ${((c.endedAt - started) / 1000).toFixed(1)} s, recorded ${ms} ms later`);
      const want = left.get(c.id) === 'none' ? 'missing' : 'unfinished';
      if (r.eventLog?.status !== want || c.reason?.Code !== 'ALL_STEPS_COMPLETED' || c.state !== 'TERMINATED') {
        wrongLog.push(`${r.id}: ${c.state}/${String(c.reason?.Code)} wrote ${String(left.get(c.id))}, recorded ${JSON.stringify(r.eventLog)}`);
      }
      if (want === 'missing' ? r.eventLogUrl !== undefined : r.eventLogUrl === undefined) wrongLog.push(`${r.id}: eventLogUrl ${String(r.eventLogUrl)} with a ${want} log`);
    }
    const recordedInTime = latencies.filter((ms) => ms <= BOUND_MS).length;

    // Duplicates: one cluster per run (by its sync:run-id tag), one state entry per run, one answer per run.
    const perTag = new Map<string, number>();
    for (const c of clusters) perTag.set(c.tags['sync:run-id']!, (perTag.get(c.tags['sync:run-id']!) ?? 0) + 1);
    const duplicateClusters = [...perTag].filter(([, n]) => n > 1).length + Math.max(0, clusters.length - runs);
    const duplicateEntries = all.length - new Set(all.map((r) => r.id)).size;
    // The answers on the results stream. A run.record job whose daemon was killed after it wrote the
    // run's state answers when the job is run again (after its lock expires), so they are awaited too.
    const readAnswers = async () => {
      const stream = await world.r.xrange(`${world.prefix}:results`, '-', '+');
      const answers = new Map<string, Set<string>>();
      let recordRequests = 0;
      const badAnswers: string[] = [];
      for (const [, fields] of stream) {
        const f: Record<string, string> = {};
        for (let i = 0; i < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
        if (f.name !== 'run.record') continue;
        recordRequests += 1;
        if (f.status !== 'completed') {
          badAnswers.push(`${f.id}: ${f.status} ${f.error ?? ''}`);
          continue;
        }
        const result = JSON.parse(f.result!) as { runId: string; eventLog?: string; warnings?: string[] };
        const warning = result.warnings?.[0] ?? '';
        const expected = result.eventLog === 'missing' ? /has no event log: no event log was written under s3:\/\/runs\// : /has an unfinished event log: .*\.inprogress/;
        if (!expected.test(warning)) badAnswers.push(`${f.id}: ${f.result}`);
        answers.set(result.runId, (answers.get(result.runId) ?? new Set()).add(f.result!));
      }
      return { answers, recordRequests, badAnswers };
    };
    let read = await readAnswers();
    while (read.answers.size < runs && Date.now() < hardDeadline) {
      await sleep(500);
      read = await readAnswers();
    }
    const { answers, recordRequests, badAnswers } = read;
    const differing = [...answers].filter(([, a]) => a.size !== 1).map(([id]) => id);

    // Why a run.record was put off (not_ready), from every daemon's log: explains any latency.
    for (const a of agents) outputs.push(a!.output());
    // And why a completion event was left for SQS to deliver again.
    const notReady = new Map<string, number>();
    const eventRetries = new Map<string, number>();
    const norm = (line: string) => (/"message":"([^"]*)"/.exec(line)?.[1] ?? '?').replace(/j-[A-Z0-9]+|r-[a-z0-9]+|[0-9a-f]{8}-[0-9a-f-]{27}/g, '<id>');
    // Where the time went: cluster end -> first hand-off of its completion event to run.record (SQS
    // consumer) -> recorded.
    const handedAt = new Map<string, number>();
    for (const line of outputs.join('').split('\n')) {
      if (line.includes('"msg":"request not ready')) notReady.set(norm(line), (notReady.get(norm(line)) ?? 0) + 1);
      if (line.includes('"msg":"completion event not handled')) eventRetries.set(norm(line), (eventRetries.get(norm(line)) ?? 0) + 1);
      if (line.includes('"msg":"cluster completion handed to run.record"')) {
        const cid = /"clusterId":"([^"]+)"/.exec(line)?.[1];
        const at = Date.parse(/"time":"([^"]+)"/.exec(line)?.[1] ?? '');
        if (cid && Number.isFinite(at) && !(handedAt.get(cid)! <= at)) handedAt.set(cid, at);
      }
    }
    const toHandOff: number[] = [];
    const handOffToRecord: number[] = [];
    for (const r of all) {
      const c = r.clusterId === undefined ? undefined : byId.get(r.clusterId);
      const h = r.clusterId === undefined ? undefined : handedAt.get(r.clusterId);
      if (!c?.endedAt || h === undefined) continue;
      toHandOff.push(h - c.endedAt);
      if (r.recordedAt !== undefined) handOffToRecord.push(Date.parse(r.recordedAt) - h);
    }

    // And, from BullMQ, how long each run.record job waited in the queue and how long it ran.
    const queue = new Queue(requestQueueName(world.prefix), { connection: { url: world.redis.url }, prefix: world.prefix });
    const recordJobs = (await queue.getJobs(['completed'], 0, -1)).filter((j) => j.name === 'run.record');
    await queue.close();
    const queued = recordJobs.map((j) => (j.processedOn ?? j.timestamp) - j.timestamp);
    const ran = recordJobs.map((j) => (j.finishedOn ?? 0) - (j.processedOn ?? 0));

    const figures = {
      daemons,
      runs,
      kills: done,
      seed: seedUsed,
      clusters: clusters.length,
      withoutLog: [...left.values()].filter((k) => k === 'none').length,
      inprogressOnly: [...left.values()].filter((k) => k === 'inprogress').length,
      recordedWithin60s: `${recordedInTime}/${runs}`,
      latencyP50Ms: percentile(latencies, 50),
      latencyMaxMs: latencies.length > 0 ? Math.max(...latencies) : NaN,
      duplicateClusters,
      duplicateRecords: duplicateEntries + differing.length,
      runRecordRequests: recordRequests,
      endToHandOffMs: { p50: percentile(toHandOff, 50), max: toHandOff.length > 0 ? Math.max(...toHandOff) : NaN, n: toHandOff.length },
      handOffToRecordMs: { p50: percentile(handOffToRecord, 50), max: handOffToRecord.length > 0 ? Math.max(...handOffToRecord) : NaN },
      recordJobQueuedMs: { p50: percentile(queued, 50), max: queued.length > 0 ? Math.max(...queued) : NaN },
      recordJobRanMs: { p50: percentile(ran, 50), max: ran.length > 0 ? Math.max(...ran) : NaN },
      notReady: Object.fromEntries(notReady),
      eventRetries: Object.fromEntries(eventRetries),
      killAtS: killAt,
      slowest: late.slice(0, 10),
      durationS: Math.round((Date.now() - started) / 1000),
    };
    report(name, figures);
    assert.is(all.length, runs, 'one state entry per run.start');
    assert.equal(late, [], `every run recorded within ${BOUND_MS / 1000} s of its completion event`);
    assert.is(recordedInTime, runs);
    assert.equal(wrongLog, [], 'each run records what its event log is');
    assert.equal(badAnswers, [], 'every run.record answer completed with its warning');
    assert.is(answers.size, runs, 'a run.record answer for every run');
    assert.equal(differing, [], 'every run.record answer of a run is the same');
    assert.is(duplicateClusters, 0, 'one cluster per run');
    assert.is(duplicateEntries, 0, 'one record per run');
    const codes = await Promise.all(agents.map((a) => a!.stop()));
    assert.equal(codes, agents.map(() => 0), 'every daemon stops cleanly');
  } finally {
    for (const a of agents) await stopDaemon(a);
    await world.stop();
  }
}

const ONE = { runs: pick(10, 60), kills: pick(2, 7) };
const THREE = { runs: pick(12, 150), kills: pick(1, 7) };

scenario(`1 daemon, ${ONE.runs} clusters end TERMINATED without a complete event log, ${ONE.kills} SIGKILLs: each recorded with its warning within 60 s, no duplicate`, async () => {
  await runScenario('nolog1', 1, ONE.runs, ONE.kills);
});

scenario(`3 daemons, ${THREE.runs} clusters end TERMINATED without a complete event log, ${THREE.kills} SIGKILLs: each recorded with its warning within 60 s, no duplicate`, async () => {
  await runScenario('nolog3', 3, THREE.runs, THREE.kills);
});

scenario.run();
