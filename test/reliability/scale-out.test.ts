// Scenario 3, scale-out: 1, 2 and 4 daemons on one Redis and one SQS queue share the work (run.start
// -> completion event -> run.record); no request runs twice, no run gets two clusters, no state update
// is lost; throughput per daemon count is reported. Then the state stores under contention: several
// processes appending to one project through the file store's lock, and several writers through S3
// conditional writes (If-Match / If-None-Match, enforced by the harness proxy in front of s3rver).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createS3ObjectStore } from '../../src/adapters/s3-object-store.js';
import { createFileStateStore } from '../../src/adapters/state-file.js';
import { createS3StateStore } from '../../src/adapters/state-s3.js';
import type { ProjectState } from '../../src/domain/types.js';
import type { AgentProcess } from '../support/agent-process.js';
import { createTestS3Client, startS3 } from '../support/s3.js';
import { pick, projectCreate, report, sleep, startWorld, stopDaemon } from './harness.js';

const RUNS = pick(24, 300);
const PROJECTS = 10;
const COUNTS = [1, 2, 4];

const scale = suite('scale-out');

for (const n of COUNTS) {
  scale(`${n} daemon(s) share ${RUNS} runs: each request completes once, one cluster per run, every run recorded`, async () => {
    const world = await startWorld({ prefix: `so${n}` });
    const agents: AgentProcess[] = [];
    try {
      for (let i = 0; i < n; i++) agents.push(await world.daemon(`host-${i}`));
      const projects = Array.from({ length: PROJECTS }, (_, i) => `p${i}`);
      for (const p of projects) await world.send(projectCreate(p));
      await world.waitResults(projects.map((p) => `create-${p}`), 30_000);

      const ids = Array.from({ length: RUNS }, (_, i) => `start-${i}`);
      const t0 = Date.now();
      const pipe = world.r.pipeline();
      ids.forEach((id, i) =>
        pipe.xadd(`${world.prefix}:inbox`, '*', 'request', JSON.stringify({ id, name: 'run.start', data: { projectId: projects[i % PROJECTS] }, idempotencyKey: `k-${id}` })),
      );
      await pipe.exec();
      const results = await world.waitResults(ids, pick(120_000, 600_000));
      const startedMs = Date.now() - t0;
      assert.equal([...results].filter(([, r]) => r.status !== 'completed'), [], 'every run.start completed');

      let runs: Record<string, unknown>[] = [];
      const deadline = Date.now() + pick(120_000, 600_000);
      while (Date.now() < deadline) {
        runs = Object.values(world.states()).flatMap((s) => s.runs);
        if (runs.length >= RUNS && runs.every((r) => r.status === 'recorded')) break;
        await sleep(250);
      }
      const recordedMs = Date.now() - t0;
      assert.is(runs.length, RUNS, 'no state update lost: every reserved run is in its project');
      assert.equal(runs.filter((r) => r.status !== 'recorded').map((r) => r.id), [], 'every run recorded');

      const clusters = world.emr.server.clusters();
      assert.is(clusters.length, RUNS, 'one cluster per run');
      assert.is(new Set(clusters.map((c) => c.tags['sync:run-id'])).size, RUNS, 'no run has two clusters');

      // "request completed" is logged once per request that ran to its end; a request run twice shows twice.
      const completedBy = new Map<string, string[]>();
      const share: number[] = [];
      agents.forEach((a, i) => {
        let mine = 0;
        for (const line of a.logs) {
          if (line.msg !== 'request completed' && line.message !== 'request completed') continue;
          const id = String(line.requestId);
          completedBy.set(id, [...(completedBy.get(id) ?? []), `host-${i}`]);
          if (line.name === 'run.start') mine += 1;
        }
        share.push(mine);
      });
      const twice = [...completedBy].filter(([, who]) => who.length > 1);
      assert.equal(twice, [], 'no request ran to completion twice');
      assert.is(share.reduce((a, b) => a + b, 0), RUNS, 'every run.start is accounted to one daemon');
      if (n > 1) assert.ok(share.filter((s) => s > 0).length >= 2, `the work is shared: ${share.join('/')}`);
      for (const a of agents) assert.is(await a.stop(), 0);
      report(`scale-out-${n}`, {
        daemons: n,
        runs: RUNS,
        runStartPerS: Number((RUNS / (startedMs / 1000)).toFixed(1)),
        allRecordedS: Number((recordedMs / 1000).toFixed(1)),
        runStartsPerDaemon: share,
        completedTwice: twice.length,
        lostStateUpdates: RUNS - runs.length,
        duplicateClusters: clusters.length - new Set(clusters.map((c) => c.tags['sync:run-id'])).size,
      });
    } finally {
      for (const a of agents) await stopDaemon(a);
      await world.stop();
    }
  });
}

const WRITERS = 4;
const PER_WRITER = pick(25, 250);

function runWriter(stateUrl: string, projectId: string, writer: string, count: number, s3Endpoint?: string): Promise<{ acknowledged: number; conflicts: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/reliability/state-writer.ts', stateUrl, projectId, writer, String(count), ...(s3Endpoint ? [s3Endpoint] : [])], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`writer ${writer} exited ${code}: ${out.slice(-2000)}`));
      resolve(JSON.parse(last) as { acknowledged: number; conflicts: number });
    });
  });
}

function emptyState(id: string): ProjectState {
  const at = '2026-11-22T00:00:00Z';
  return { project: { id, name: id, platform: 'emr', tenantId: 'acme', createdAt: at, updatedAt: at }, runs: [], predictions: [] };
}

function assertAllThere(state: ProjectState, writers: number, perWriter: number): number {
  const ids = state.runs.map((r) => r.id);
  const expected: string[] = [];
  for (let w = 0; w < writers; w++) for (let i = 0; i < perWriter; i++) expected.push(`w${w}-${i}`);
  const missing = expected.filter((id) => !ids.includes(id));
  assert.equal(missing, [], 'no acknowledged update is missing');
  assert.is(ids.length, new Set(ids).size, 'no update applied twice');
  assert.is(ids.length, writers * perWriter);
  return missing.length;
}

scale(`file store: ${WRITERS} processes x ${PER_WRITER} appends to one project under the lock, none lost`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sync-rel-lock-'));
  try {
    const url = pathToFileURL(join(dir, 'state')).href;
    const store = createFileStateStore(url);
    await store.put('shared', emptyState('shared'), null);
    const t0 = Date.now();
    const outs = await Promise.all(Array.from({ length: WRITERS }, (_, w) => runWriter(url, 'shared', `w${w}`, PER_WRITER)));
    const ms = Date.now() - t0;
    assert.is(outs.reduce((a, o) => a + o.acknowledged, 0), WRITERS * PER_WRITER);
    const lost = assertAllThere((await store.get('shared'))!.value, WRITERS, PER_WRITER);
    report('state-contention-file', { writers: WRITERS, appendsEach: PER_WRITER, acknowledged: WRITERS * PER_WRITER, lost, conflictsRetried: outs.reduce((a, o) => a + o.conflicts, 0), durationS: ms / 1000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

scale(`S3 store: ${WRITERS} processes x ${PER_WRITER} appends to one project by conditional writes, none lost`, async () => {
  const s3 = await startS3({ buckets: ['state'] });
  try {
    const store = createS3StateStore({ objectStore: createS3ObjectStore({ client: createTestS3Client(s3.endpoint) }), rootUrl: 's3://state/acme' });
    await store.put('shared', emptyState('shared'), null);
    const t0 = Date.now();
    const outs = await Promise.all(Array.from({ length: WRITERS }, (_, w) => runWriter('s3://state/acme', 'shared', `w${w}`, PER_WRITER, s3.endpoint)));
    const ms = Date.now() - t0;
    assert.is(outs.reduce((a, o) => a + o.acknowledged, 0), WRITERS * PER_WRITER);
    const lost = assertAllThere((await store.get('shared'))!.value, WRITERS, PER_WRITER);
    const preconditionFailed = s3.requests().filter((r) => r.method === 'PUT' && r.status === 412).length;
    assert.ok(preconditionFailed > 0, 'the writers did contend (some conditional PUTs were refused)');
    report('state-contention-s3', { writers: WRITERS, appendsEach: PER_WRITER, acknowledged: WRITERS * PER_WRITER, lost, refusedConditionalPuts: preconditionFailed, conflictsRetried: outs.reduce((a, o) => a + o.conflicts, 0), durationS: ms / 1000 });
  } finally {
    await s3.stop();
  }
});

scale.run();
