// `sync-agent analyze`: the JSON summary's figures against the slow reference, the text form, errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, summarize } from '../../../src/cli/commands/analyze.js';
import { memoryIo } from '../../../src/cli/io.js';
import { main } from '../../../src/cli/main.js';
import { loadApplicationModel } from '../../../src/adapters/eventlog-source.js';
import { createMemoryObjectStore } from '../../support/memory-object-store.js';
import { reference, referenceEvents } from './reference.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/eventlogs/', import.meta.url));

test('--json: durationMs, driverMs, executors, stages, tasks, jobs match the reference reading', async () => {
  for (const log of ['rapids-tools/eventlog_4nodes_8cores_dynamic_alloc.zstd', 'apache-spark/app-20161115172038-0000', 'rapids-tools/db_sim_eventlog']) {
    const path = join(FIXTURES, log);
    const ref = reference(referenceEvents(path));
    const io = memoryIo();
    assert.is(await main(['analyze', path, '--json'], io), 0, io.stderr.join('\n'));
    const out = JSON.parse(io.stdout.join('')) as Record<string, unknown>;
    assert.is(out.durationMs, ref.durationMs, log);
    assert.is(out.driverMs, ref.driverMs, log);
    assert.is(out.executors, ref.executors, log);
    assert.is(out.stages, ref.stageAttempts, log);
    assert.is(out.tasks, ref.tasks, log);
    assert.is(out.jobs, ref.jobs, log);
    assert.is(out.failedTasks, ref.failedTasks, log);
    assert.is((out.totals as Record<string, number>).shuffleWriteBytes, ref.sums.shuffleWriteBytes, log);
  }
});

test('biggest stages are ordered by task time and skew is max over median task duration', async () => {
  const path = join(FIXTURES, 'rapids-tools/eventlog_4nodes_8cores_dynamic_alloc.zstd');
  const s = summarize(await loadApplicationModel(path), { top: 3 });
  const biggest = s.biggestStages as { stageId: number; taskTimeMs: number; medianTaskMs: number; maxTaskMs: number; skew: number }[];
  assert.is(biggest.length, 3);
  assert.ok(biggest[0]!.taskTimeMs >= biggest[1]!.taskTimeMs && biggest[1]!.taskTimeMs >= biggest[2]!.taskTimeMs);
  // Independent check of the top stage: task durations from the parsed TaskEnd events.
  const events = referenceEvents(path).filter((e) => e.Event === 'SparkListenerTaskEnd' && e['Stage ID'] === biggest[0]!.stageId);
  const durations = events.map((e) => e['Task Info']['Finish Time'] - e['Task Info']['Launch Time']).sort((a, b) => a - b);
  assert.is(biggest[0]!.taskTimeMs, durations.reduce((a, b) => a + b, 0));
  assert.is(biggest[0]!.maxTaskMs, durations[durations.length - 1]);
});

test('text form names the figures a reader looks for', async () => {
  const io = memoryIo();
  assert.is(await run([join(FIXTURES, 'apache-spark/application_1538416563558_0014')], io), 0);
  const text = io.stdout.join('\n');
  for (const word of ['duration', 'driver only', 'executors', 'stages', 'tasks', 'skew', 'spill', 'biggest stages']) assert.ok(text.includes(word), word);
  assert.ok(text.includes('application_1538416563558_0014'));
});

test('s3 URL through an injected ObjectStore', async () => {
  const store = createMemoryObjectStore();
  const src = join(FIXTURES, 'rapids-tools/attempt_1_eventlog.zstd');
  await store.put('s3://b/run/eventlog/application_1724877841851_0016.zstd', await readFile(src));
  const io = memoryIo();
  assert.is(await run(['s3://b/run/eventlog/', '--json'], io, { objectStore: store }), 0, io.stderr.join('\n'));
  const out = JSON.parse(io.stdout.join('')) as Record<string, unknown>;
  assert.is(out.appId, 'application_1724877841851_0016');
  assert.is(out.tasks, 107);
});

test('usage errors exit 2, unreadable logs exit 1 with the reason', async () => {
  const io = memoryIo();
  assert.is(await run([], io), 2);
  assert.is(await run(['a', 'b'], io), 2);
  assert.is(await run(['--bogus'], io), 2);
  const io2 = memoryIo();
  assert.is(await run(['/definitely/not/here'], io2), 1);
  assert.match(io2.stderr.join('\n'), /not_found/);
});

test.run();
