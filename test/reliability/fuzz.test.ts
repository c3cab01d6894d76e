// Scenario 6, fuzzing: generated malformed requests through all three ingress paths (the Redis inbox
// stream, HTTP, BullMQ jobs added directly) and malformed or truncated event logs through
// loadApplicationModel and `sync-agent analyze`. Every request is refused with a reason, the daemon
// stays ready and its memory stays bounded; every event log ends in a SyncError with a reason (or, when
// cut exactly at a line boundary, in a model marked incomplete, as an in-progress Spark log is).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { loadApplicationModel } from '../../src/adapters/eventlog-source.js';
import { run as analyze } from '../../src/cli/commands/analyze.js';
import { memoryIo } from '../../src/cli/io.js';
import { SyncError } from '../../src/domain/errors.js';
import { requestQueueName } from '../../src/queues/requests-queue.js';
import type { AgentProcess } from '../support/agent-process.js';
import { pick, projectCreate, report, rssOf, sleep, startWorld, stopDaemon, type World } from './harness.js';

const TOKEN = 'fuzz-token-0c1d2e3f';
const PER_CHANNEL = pick(600, 3_400); // x3 channels: 1,800 in CI, 10,200 in full
const EVENT_LOGS = pick(300, 2_000);
const SEED = Number(process.env.RELIABILITY_SEED ?? 20261122);

const NAMES = ['project.create', 'run.start', 'run.record', 'prediction.create', 'prediction.apply', 'project.iterate'];

/** Requests that no version of the schema accepts: each arbitrary breaks a required rule. */
function malformedRequest(): fc.Arbitrary<{ body: string; carriesId: boolean }> {
  const badName = fc.string({ maxLength: 40 }).filter((s) => !NAMES.includes(s));
  const badProjectId = fc.oneof(
    fc.constantFrom('../../etc', 'a/../../b', '', '.', '..', 'x'.repeat(300), 'p\u0000', '/abs', 'C:\\x', '%2e%2e', 'p\nq'),
    fc.integer(),
    fc.constant(null),
    fc.array(fc.string(), { maxLength: 3 }),
  );
  const id = fc.integer({ min: 0, max: 1e9 }).map((n) => `fz-${n.toString(36)}x`);
  const asObject = (o: fc.Arbitrary<Record<string, unknown>>) => fc.tuple(id, o).map(([i, r]) => ({ body: JSON.stringify({ id: i, ...r }), carriesId: true }));
  return fc.oneof(
    fc.string({ maxLength: 200 }).map((s) => ({ body: s, carriesId: false })),
    fc.string({ unit: 'binary', maxLength: 200 }).map((s) => ({ body: s, carriesId: false })),
    fc.oneof(fc.integer(), fc.double(), fc.constant(null), fc.array(fc.jsonValue(), { maxLength: 4 }), fc.string()).map((v) => ({ body: JSON.stringify(v) ?? 'null', carriesId: false })),
    // Valid JSON cut short.
    fc.tuple(fc.constantFrom(...NAMES), fc.nat()).map(([n, k]) => {
      const full = JSON.stringify({ name: n, data: { projectId: 'p1', name: 'x', platform: 'emr' } });
      return { body: full.slice(0, k % (full.length - 1)), carriesId: false };
    }),
    asObject(fc.record({ name: badName, data: fc.jsonValue() })),
    asObject(fc.record({ name: fc.constantFrom('run.start', 'prediction.create', 'prediction.apply', 'project.iterate'), data: fc.record({ projectId: badProjectId }) })),
    asObject(fc.record({ name: fc.constant('project.create'), data: fc.record({ name: fc.string({ minLength: 1, maxLength: 20 }), platform: fc.string({ maxLength: 10 }).filter((p) => p !== 'emr' && p !== 'databricks') }) })),
    asObject(fc.record({ name: fc.constantFrom(...NAMES), data: fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.integer())) })),
    asObject(fc.record({ name: fc.constant('run.start'), data: fc.record({ projectId: fc.constant('p1'), jobFlow: fc.oneof(fc.string(), fc.integer(), fc.array(fc.integer())) }) })),
    asObject(fc.record({ name: fc.constant('run.start'), data: fc.record({ projectId: fc.constant('p1') }), idempotencyKey: fc.oneof(fc.integer(), fc.constant(''), fc.constant('k'.repeat(2_000))) })),
    // Prototype-pollution keys are refused by name.
    fc.tuple(id, fc.constantFrom('__proto__', 'constructor', 'prototype')).map(([i, key]) => ({
      body: `{"id":"${i}","name":"project.create","data":{"name":"x","platform":"emr","${key}":{"admin":true}}}`,
      carriesId: true,
    })),
  );
}

type Ctx = { world: World; agent: AgentProcess; rss: number[] };
const fuzz = suite<Ctx>('fuzz');
const figures: Record<string, unknown> = { seed: SEED };

fuzz.before(async (ctx) => {
  ctx.world = await startWorld({ prefix: 'fz', holdClusters: true });
  ctx.agent = await ctx.world.daemon('fz-host', { env: { SYNC_AGENT_TOKEN: TOKEN } });
  await ctx.world.send(projectCreate('p1'));
  await ctx.world.waitResults(['create-p1'], 30_000);
  await sleep(1_000);
  ctx.rss = [rssOf(ctx.agent.child.pid!)];
});
fuzz.after(async (ctx) => {
  await stopDaemon(ctx.agent);
  await ctx.world?.stop();
});

async function assertStillReady(ctx: Ctx) {
  assert.is((await fetch(`${ctx.agent.httpUrl}/readyz`)).status, 200, 'the daemon stays ready');
  assert.is(ctx.agent.child.exitCode, null);
  ctx.rss.push(rssOf(ctx.agent.child.pid!));
}

fuzz(`inbox: ${PER_CHANNEL} malformed entries are each answered "rejected" with a reason`, async (ctx) => {
  const samples = fc.sample(malformedRequest(), { numRuns: PER_CHANNEL, seed: SEED });
  const key = `${ctx.world.prefix}:inbox`;
  const expect: { resultId: string; alt: string }[] = [];
  for (let i = 0; i < samples.length; i += 200) {
    const pipe = ctx.world.r.pipeline();
    const chunk = samples.slice(i, i + 200);
    // Some entries without the "request" field at all.
    chunk.forEach((s, k) => (k % 50 === 7 ? pipe.xadd(key, '*', 'payload', s.body) : pipe.xadd(key, '*', 'request', s.body)));
    const ids = ((await pipe.exec()) ?? []).map(([, v]) => v as string);
    chunk.forEach((s, k) => {
      const carried = s.carriesId && k % 50 !== 7 ? (JSON.parse(s.body) as { id: string }).id : undefined;
      expect.push({ resultId: carried ?? ids[k]!, alt: ids[k]! });
    });
  }
  const deadline = Date.now() + pick(90_000, 300_000);
  let missing = expect;
  const answers = new Map<string, { status: string; error?: { code: string; message: string } }>();
  while (missing.length > 0 && Date.now() < deadline) {
    const got = await ctx.world.results(missing.flatMap((e) => [e.resultId, e.alt]));
    for (const [k, v] of got) answers.set(k, v);
    missing = missing.filter((e) => !answers.has(e.resultId) && !answers.has(e.alt));
    if (missing.length > 0) await sleep(500);
  }
  assert.is(missing.length, 0, `${missing.length} inbox entries unanswered, e.g. ${JSON.stringify(missing.slice(0, 3))}`);
  const accepted = [...answers.values()].filter((a) => a.status === 'completed');
  assert.is(accepted.length, 0, 'no malformed request completed');
  for (const a of answers.values()) {
    assert.ok(a.status === 'rejected' || a.status === 'failed', a.status);
    assert.ok(a.error && a.error.code && a.error.message.length > 0, 'a reason');
  }
  assert.is(ctx.world.emr.server.clusters().length, 0, 'no cluster started');
  await assertStillReady(ctx);
  figures.inbox = { sent: samples.length, answered: expect.length, completed: 0 };
});

fuzz(`HTTP: ${PER_CHANNEL} malformed bodies are each refused with a 4xx and a reason`, async (ctx) => {
  const samples = fc.sample(malformedRequest(), { numRuns: PER_CHANNEL, seed: SEED + 1 });
  const statuses = new Map<number, number>();
  let i = 0;
  const lane = async () => {
    for (let s = samples[i++]; s; s = samples[i++]) {
      const res = await fetch(`${ctx.agent.httpUrl}/v1/requests`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: s.body });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const body = (await res.json()) as { error?: { code?: string; message?: string } };
      assert.ok(res.status === 400 || res.status === 413, `status ${res.status} for ${s.body.slice(0, 80)}`);
      assert.ok(body.error?.code && (body.error.message ?? '').length > 0, `a reason for ${s.body.slice(0, 80)}`);
    }
  };
  await Promise.all([lane(), lane(), lane(), lane()]);
  // Oversized bodies: refused before they are read in full.
  for (let k = 0; k < 5; k++) {
    const res = await fetch(`${ctx.agent.httpUrl}/v1/requests`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: 'x'.repeat(300_000 + k) });
    assert.is(res.status, 413);
  }
  assert.is(ctx.world.emr.server.clusters().length, 0);
  await assertStillReady(ctx);
  figures.http = { sent: samples.length + 5, statuses: Object.fromEntries(statuses) };
});

fuzz(`BullMQ: ${PER_CHANNEL} malformed jobs added directly each fail at once with a reason`, async (ctx) => {
  const queue = new Queue(requestQueueName(ctx.world.prefix), { connection: { url: ctx.world.redis.url }, prefix: ctx.world.prefix });
  try {
    const samples = fc.sample(
      fc.tuple(
        fc.oneof(fc.constantFrom(...NAMES), fc.string({ maxLength: 30 })),
        fc.oneof(fc.jsonValue(), fc.record({ data: fc.jsonValue() }), fc.record({ data: fc.record({ projectId: fc.oneof(fc.integer(), fc.constant('../x'), fc.constant('')) }) })),
      ),
      { numRuns: PER_CHANNEL, seed: SEED + 2 },
    );
    const ids = samples.map((_, k) => `bq-${k}x`);
    for (let k = 0; k < samples.length; k += 200) {
      await queue.addBulk(samples.slice(k, k + 200).map(([name, data], j) => ({ name, data: data as object, opts: { jobId: ids[k + j]!, attempts: 3 } })));
    }
    const res = await ctx.world.waitResults(ids, pick(90_000, 300_000));
    const statuses = new Map<string, number>();
    for (const r of res.values()) {
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      assert.ok(r.status === 'failed', `a malformed job ends failed (${r.status})`);
      assert.ok(r.error?.message, 'with a reason');
    }
    const counts = await queue.getJobCounts('active', 'waiting', 'delayed');
    assert.equal([counts.active, counts.waiting, counts.delayed], [0, 0, 0], 'not retried');
    assert.is(ctx.world.emr.server.clusters().length, 0);
    figures.bullmq = { sent: samples.length, statuses: Object.fromEntries(statuses) };
  } finally {
    await queue.close();
  }
  await assertStillReady(ctx);
  const [first, ...rest] = ctx.rss;
  const max = Math.max(...rest);
  figures.daemonRssMiB = { afterStart: Math.round(first! / 2 ** 20), max: Math.round(max / 2 ** 20), samples: ctx.rss.map((r) => Math.round(r / 2 ** 20)) };
  assert.ok(max < first! * 2 && max < 600 * 2 ** 20, `memory bounded: ${ctx.rss.map((r) => Math.round(r / 2 ** 20)).join(' -> ')} MiB`);
});

/** Event logs that are malformed in a way a reader must notice. */
function malformedEventLog(good: Buffer): fc.Arbitrary<{ name: string; bytes: Buffer; kind: string }> {
  const lines = good.toString('utf8').split('\n').filter((l) => l !== '');
  const cutMidLine = fc.nat({ max: good.length - 2 }).filter((k) => good[k - 1] !== 10 && good[k] !== 10 && k > 0).map((k) => ({ name: 'app_1', bytes: good.subarray(0, k), kind: 'cut' }));
  const cutAnywhere = fc.nat({ max: good.length - 1 }).map((k) => ({ name: 'app_2', bytes: good.subarray(0, k), kind: 'cut-any' }));
  const garbageLine = fc.tuple(fc.nat({ max: lines.length }), fc.string({ minLength: 1, maxLength: 80 }).filter((s) => !s.includes('\n'))).map(([at, junk]) => {
    const copy = [...lines];
    copy.splice(at, 0, `{${junk}`);
    return { name: 'app_3', bytes: Buffer.from(copy.join('\n') + '\n'), kind: 'garbage-line' };
  });
  const noEventField = fc.array(fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== 'Event'), fc.jsonValue(), { maxKeys: 4 }), { minLength: 1, maxLength: 5 }).map((objs) => ({
    name: 'app_4',
    bytes: Buffer.from(objs.map((o) => JSON.stringify(o)).join('\n') + '\n'),
    kind: 'no-event-field',
  }));
  const randomBytes = fc.uint8Array({ minLength: 0, maxLength: 2_000 }).map((b) => ({ name: 'app_5', bytes: Buffer.from(b), kind: 'random-bytes' }));
  const badCodec = fc.tuple(fc.constantFrom('.gz', '.zstd', '.lz4', '.snappy', '.lzf'), fc.uint8Array({ maxLength: 500 })).map(([ext, b]) => ({ name: `app_6${ext}`, bytes: Buffer.from(b), kind: `codec${ext}` }));
  // Wrong-typed values in place of real ones. The reader tolerates these (see RELIABILITY.md): they must
  // not crash or hang it, and they are counted separately.
  const swaps: [RegExp, string][] = [
    [/"Stage ID":\d+/, '"Stage ID":"x"'],
    [/"Launch Time":\d+/, '"Launch Time":"soon"'],
    [/"Finish Time":\d+/, '"Finish Time":null'],
    [/"Task Info":\{/, '"Task Info":7,"x":{'],
    [/"Stage Info":\{/, '"Stage Info":[],"x":{'],
  ];
  const badField = fc.tuple(fc.nat({ max: lines.length - 1 }), fc.nat({ max: swaps.length - 1 })).map(([at, w]) => {
    const [re, rep] = swaps[w]!;
    const copy = [...lines];
    const i = copy.findIndex((l, j) => j >= at && re.test(l));
    if (i >= 0) copy[i] = copy[i]!.replace(re, rep);
    return { name: 'app_7', bytes: Buffer.from(copy.join('\n') + '\n'), kind: 'bad-field' };
  });
  return fc.oneof(cutMidLine, cutAnywhere, garbageLine, noEventField, randomBytes, badCodec, badField);
}

fuzz(`event logs: ${EVENT_LOGS} malformed or truncated logs through loadApplicationModel and analyze`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sync-rel-eventlogs-'));
  const good = readFileSync('test/fixtures/eventlogs/apache-spark/application_1506645932520_24630151');
  const outcomes = new Map<string, number>();
  const note = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
  try {
    const samples = fc.sample(malformedEventLog(good), { numRuns: EVENT_LOGS, seed: SEED + 3 });
    for (const [k, s] of samples.entries()) {
      const path = join(dir, `${k}-${s.name}`);
      writeFileSync(path, s.bytes);
      const signal = AbortSignal.timeout(10_000);
      let outcome: string;
      try {
        const model = await loadApplicationModel(path, { signal });
        // Only a log cut exactly between lines (or a field change the model tolerates) may load, and a cut one is marked incomplete.
        assert.ok(s.kind === 'cut-any' || s.kind === 'bad-field', `${s.kind} loaded without error (${path})`);
        // A cut that keeps the whole ApplicationEnd line lost nothing; any other is marked incomplete.
        const end = good.indexOf('{"Event":"SparkListenerApplicationEnd"');
        const endLine = good.indexOf(10, end);
        if (s.kind === 'cut-any') assert.is(model.complete, s.bytes.length >= (endLine === -1 ? good.length : endLine), `a truncated log is marked incomplete (${s.bytes.length} of ${good.length} bytes)`);
        outcome = model.complete ? 'model' : 'model-incomplete';
      } catch (e) {
        if (!(e instanceof SyncError)) throw new Error(`${s.kind}: not a SyncError: ${String(e)} (${path})`);
        assert.ok(e.message.length > 10 && e.message.includes(path), `a reason naming the file: ${e.message}`);
        outcome = `SyncError ${e.code}`;
      }
      note(`${s.kind}: ${outcome}`);
      // Every tenth one also through the CLI, which must answer with an exit code and a message, not a crash.
      if (k % 10 === 0) {
        const io = memoryIo();
        const code = await analyze([path], io);
        if (outcome.startsWith('SyncError')) {
          assert.is(code, 1, `analyze exit code for ${s.kind}: ${io.stderr.join('')}`);
          assert.ok(io.stderr.join('').length > 0);
        } else assert.is(code, 0);
        note(`analyze exit ${code}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  figures.eventLogs = { generated: EVENT_LOGS, outcomes: Object.fromEntries([...outcomes].sort()) };
  report('fuzz', figures);
});

fuzz.run();
