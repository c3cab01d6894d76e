// The model builder on hand-written events: failures, retries, old schemas, odd lines; expected values
// are worked out by hand from the events below.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { buildApplicationModel, createModelBuilder } from '../../../src/domain/eventlog/build-model.js';
import { SyncError } from '../../../src/domain/errors.js';
import { lineBatches, linesOf } from '../../../src/domain/eventlog/line-batches.js';
import { taskRowAt } from '../../../src/domain/eventlog/task-table.js';

const T = 1_700_000_000_000;
const info = (id: number, index: number, exec: string, launch: number, finish: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  'Task ID': id,
  Index: index,
  Attempt: 0,
  'Launch Time': T + launch,
  'Executor ID': exec,
  Host: `host-${exec}`,
  Locality: 'PROCESS_LOCAL',
  Speculative: false,
  'Getting Result Time': 0,
  'Finish Time': finish === 0 ? 0 : T + finish,
  Failed: false,
  Killed: false,
  Accumulables: [{ ID: 1, Name: 'internal.metrics.executorRunTime', Update: 5, Value: 5 }],
  ...extra,
});
const metrics = (run: number, cpuNs: number, shuffleWrite = 0): Record<string, unknown> => ({
  'Executor Deserialize Time': 1,
  'Executor Run Time': run,
  'Executor CPU Time': cpuNs,
  'Peak Execution Memory': 1024,
  'JVM GC Time': 2,
  'Result Serialization Time': 0,
  'Memory Bytes Spilled': 10,
  'Disk Bytes Spilled': 20,
  'Shuffle Read Metrics': { 'Remote Blocks Fetched': 1, 'Local Blocks Fetched': 1, 'Fetch Wait Time': 3, 'Remote Bytes Read': 100, 'Local Bytes Read': 50, 'Total Records Read': 7 },
  'Shuffle Write Metrics': { 'Shuffle Bytes Written': shuffleWrite, 'Shuffle Write Time': 2_000_000, 'Shuffle Records Written': 1 },
  'Input Metrics': { 'Bytes Read': 4096, 'Records Read': 1 },
  'Output Metrics': { 'Bytes Written': 0, 'Records Written': 0 },
  'Updated Blocks': [],
});
const stageInfo = (id: number, attempt: number, sub?: number, done?: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  'Stage ID': id,
  'Stage Attempt ID': attempt,
  'Stage Name': `stage ${id}`,
  'Number of Tasks': 2,
  'RDD Info': [],
  'Parent IDs': id === 1 ? [0] : [],
  ...(sub === undefined ? {} : { 'Submission Time': T + sub }),
  ...(done === undefined ? {} : { 'Completion Time': T + done }),
  Accumulables: [],
  ...extra,
});

// An app (no LogStart, as Spark 1.x wrote) whose job 0 has no Submission Time; stage 0 attempt 0
// fails on a fetch failure and attempt 1 reruns it; stage 1 has a resubmitted task, a killed
// speculative copy and a task lost with its executor; one task never ends.
const EVENTS: Record<string, unknown>[] = [
  { Event: 'SparkListenerApplicationStart', 'App Name': 'retry app', 'App ID': 'app-1', Timestamp: T, User: 'u' },
  { Event: 'SparkListenerEnvironmentUpdate', 'Spark Properties': { 'spark.master': 'yarn', 'spark.executor.cores': '2', 'spark.executor.memory': '4g', 'spark.sql.shuffle.partitions': '400', 'my.db.password': 'hunter2', 'spark.dynamicAllocation.enabled': 'true' } },
  { Event: 'SparkListenerExecutorAdded', Timestamp: T + 100, 'Executor ID': '1', 'Executor Info': { Host: 'h1', 'Total Cores': 2 } },
  { Event: 'SparkListenerExecutorAdded', Timestamp: T + 200, 'Executor ID': '2', 'Executor Info': { Host: 'h2', 'Total Cores': 2 } },
  { Event: 'SparkListenerSomethingNew', whatever: true },
  { Event: 'SparkListenerJobStart', 'Job ID': 0, 'Stage Infos': [stageInfo(0, 0), stageInfo(1, 0)], 'Stage IDs': [0, 1], Properties: {} },
  { Event: 'SparkListenerStageSubmitted', 'Stage Info': stageInfo(0, 0, 1000) },
  { Event: 'SparkListenerTaskStart', 'Stage ID': 0, 'Stage Attempt ID': 0, 'Task Info': info(0, 0, '1', 1000, 0) },
  { Event: 'SparkListenerTaskEnd', 'Stage ID': 0, 'Stage Attempt ID': 0, 'Task Type': 'ShuffleMapTask', 'Task End Reason': { Reason: 'FetchFailed', 'Block Manager Address': {}, 'Shuffle ID': 0, Message: 'fetch failed' }, 'Task Info': info(0, 0, '1', 1000, 1500, { Failed: true }), 'Task Metrics': metrics(400, 1e6) },
  { Event: 'SparkListenerStageCompleted', 'Stage Info': stageInfo(0, 0, 1000, 1600, { 'Failure Reason': 'FetchFailed(...)' }) },
  { Event: 'SparkListenerStageSubmitted', 'Stage Info': stageInfo(0, 1, 2000) },
  { Event: 'SparkListenerTaskEnd', 'Stage ID': 0, 'Stage Attempt ID': 1, 'Task Type': 'ShuffleMapTask', 'Task End Reason': { Reason: 'Success' }, 'Task Info': info(1, 0, '1', 2000, 3000), 'Task Metrics': metrics(900, 8e8, 333) },
  { Event: 'SparkListenerTaskEnd', 'Stage ID': 0, 'Stage Attempt ID': 1, 'Task Type': 'ShuffleMapTask', 'Task End Reason': { Reason: 'Success' }, 'Task Info': info(2, 1, '2', 2000, 2500), 'Task Metrics': metrics(450, 4e8, 111) },
  { Event: 'SparkListenerStageCompleted', 'Stage Info': stageInfo(0, 1, 2000, 3000) },
  { Event: 'SparkListenerStageSubmitted', 'Stage Info': stageInfo(1, 0, 3000) },
  { Event: 'SparkListenerTaskEnd', 'Stage ID': 1, 'Stage Attempt ID': 0, 'Task Type': 'ResultTask', 'Task End Reason': { Reason: 'Resubmitted' }, 'Task Info': info(3, 0, '1', 3000, 3200) },
  { Event: 'SparkListenerTaskEnd', 'Stage ID': 1, 'Stage Attempt ID': 0, 'Task Type': 'ResultTask', 'Task End Reason': { Reason: 'TaskKilled', 'Kill Reason': 'another attempt succeeded' }, 'Task Info': info(4, 1, '2', 3000, 3900, { Speculative: true, Killed: true }), 'Task Metrics': metrics(100, 1e6) },
  { Event: 'SparkListenerTaskEnd', 'Stage ID': 1, 'Stage Attempt ID': 0, 'Task Type': 'ResultTask', 'Task End Reason': { Reason: 'ExecutorLostFailure', 'Executor ID': '2', 'Exit Caused By App': true, 'Loss Reason': 'container killed' }, 'Task Info': info(5, 0, '2', 3100, 4000, { Failed: true }) },
  { Event: 'SparkListenerExecutorRemoved', Timestamp: T + 4000, 'Executor ID': '2', 'Removed Reason': 'container killed' },
  { Event: 'SparkListenerTaskEnd', 'Stage ID': 1, 'Stage Attempt ID': 0, 'Task Type': 'ResultTask', 'Task End Reason': { Reason: 'Success' }, 'Task Info': info(6, 1, '1', 4000, 5000, { 'Getting Result Time': T + 4900 }), 'Task Metrics': metrics(800, 7e8) },
  { Event: 'SparkListenerTaskStart', 'Stage ID': 1, 'Stage Attempt ID': 0, 'Task Info': info(7, 0, '1', 4100, 0) },
  { Event: 'SparkListenerJobEnd', 'Job ID': 0, 'Completion Time': T + 6000, 'Job Result': { Result: 'JobSucceeded' } },
  { Event: 'SparkListenerJobEnd', 'Job ID': 99, 'Job Result': { Result: 'JobSucceeded' } },
  { Event: 'SparkListenerApplicationEnd', Timestamp: T + 10_000 },
];
const LINES = EVENTS.map((e) => JSON.stringify(e));

test('failures, retries and old-schema gaps are modelled, not fatal', async () => {
  for (const fullParse of [false, true]) {
    const m = await buildApplicationModel(LINES, { fullParse });
    assert.is(m.appId, 'app-1');
    assert.is(m.sparkVersion, undefined);
    assert.ok(m.warnings.some((w) => w.includes('LogStart')));
    assert.is(m.durationMs, 10_000);
    // Job 0 has no Submission Time: it starts with its first stage (T+1000) and ends at T+6000.
    assert.is(m.jobMs, 5000);
    assert.is(m.driverMs, 5000);
    assert.equal(
      m.stages.map((s) => [s.stageId, s.attemptId, s.tasks.count, s.failureReason ?? null]),
      [
        [0, 0, 1, 'FetchFailed(...)'],
        [0, 1, 2, null],
        [1, 0, 5, null],
      ],
    );
    assert.equal(m.stages[2]?.parentIds, [0]);
    assert.equal(m.stages[0]?.jobIds, [0]);
    const s1 = m.stages[2]!.tasks;
    // Rows of stage 1 in log order: resubmitted, killed, lost, success, then the unfinished one.
    assert.equal(Array.from(s1.status), [1, 2, 1, 0, 3]);
    assert.equal(Array.from(s1.speculative), [0, 1, 0, 0, 0]);
    const ok = taskRowAt(s1, 3);
    assert.is(ok.executorRunTimeMs, 800);
    assert.is(ok.executorCpuTimeMs, 700);
    assert.is(ok.gettingResultTimeMs, 100);
    assert.is(ok.schedulerDelayMs, 1000 - 800 - 1 - 0 - 100);
    assert.is(ok.shuffleReadBytes, 150);
    assert.is(ok.shuffleRemoteReadBytes, 100);
    assert.is(ok.shuffleWriteTimeMs, 2);
    assert.is(ok.memorySpillBytes + ok.diskSpillBytes, 30);
    assert.is(m.stages[1]!.tasks.shuffleWriteBytes.reduce((a, b) => a + b, 0), 444);
    assert.is(taskRowAt(s1, 4).launchTime, T + 4100);
    assert.ok(m.warnings.some((w) => w.includes('never ended')));
    assert.equal(
      m.taskFailures.map((f) => f.reason.split(':')[0]),
      ['FetchFailed', 'Resubmitted', 'TaskKilled', 'ExecutorLostFailure'],
    );
    assert.is(m.taskFailures[3]?.executorId, '2');
    assert.equal(
      m.executors.map((e) => [e.id, e.cores, e.removedAt === undefined ? null : e.removedAt - T]),
      [
        ['1', 2, null],
        ['2', 2, 4000],
      ],
    );
    assert.is(m.maxConcurrentExecutors, 2);
    assert.is(m.sparkProperties['my.db.password'], '*********');
    assert.equal(
      [m.settings.executorCores, m.settings.executorMemoryMb, m.settings.shufflePartitions, m.settings.dynamicAllocation],
      [2, 4096, 400, true],
    );
    assert.is(m.jobs[0]?.result, 'succeeded');
  }
});

test('a line that is not JSON is a corrupt_data error naming the line', async () => {
  const lines = [...LINES.slice(0, 3), '{"Event":"SparkListenerJobStart", oops', ...LINES.slice(3)];
  try {
    await buildApplicationModel(lines, { source: 'x.log' });
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, SyncError);
    assert.is((e as SyncError).code, 'corrupt_data');
    assert.match((e as SyncError).message, /x\.log: line 4/);
  }
  const b = createModelBuilder();
  assert.throws(() => b.accept('[1,2,3]'), /no "Event" field/);
});

test('the model keeps tasks, not bytes: padding lines the model skips changes nothing', async () => {
  const padded = EVENTS.map((e) =>
    e.Event === 'SparkListenerTaskEnd'
      ? JSON.stringify({ ...e, 'Task Info': { ...(e['Task Info'] as object), Accumulables: Array.from({ length: 500 }, (_, i) => ({ ID: i, Name: `acc ${i}`, Update: i, Value: i })) } })
      : JSON.stringify(e),
  );
  padded.splice(4, 0, JSON.stringify({ Event: 'org.apache.spark.sql.execution.ui.SparkListenerSQLAdaptiveExecutionUpdate', executionId: 0, physicalPlanDescription: 'x'.repeat(1 << 20) }));
  const a = await buildApplicationModel(LINES);
  const b = await buildApplicationModel(padded);
  assert.equal(a.stages, b.stages);
  for (const s of b.stages) assert.is(s.tasks.index.length, s.tasks.count, 'task columns are trimmed to the task count');
});

test('the TaskEnd fast path equals a full parse on odd shapes: key orders, missing keys, key-like text in values', () => {
  // Text that looks like the keys the scanner looks for, inside strings (escaped quotes) and as keys of
  // other objects.
  const tricky = fc.constantFrom('k Metrics":', ',"Task Metrics":{', 'Task ID":7', '"Bytes Read":9', 'Executor Run Time":5,', 'Accumulables":[', 'Task Info":{', 'plain');
  const shuffled = <T>(xs: T[], order: number[]): T[] => xs.map((x, i) => [x, order[i % order.length]! + i / 1000] as const).sort((a, b) => a[1] - b[1]).map((p) => p[0]);
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          infoOrder: fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 12 }),
          metricsOrder: fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 12 }),
          drop: fc.array(fc.constantFrom('Index', 'Host', 'Getting Result Time', 'Executor Run Time', 'Fetch Wait Time', 'Bytes Read', 'Task Metrics', 'Shuffle Write Metrics'), { maxLength: 3 }),
          names: fc.array(tricky, { maxLength: 3 }),
          executorMetricsKey: fc.boolean(),
          metricsFirst: fc.boolean(),
        }),
        { minLength: 1, maxLength: 6 },
      ),
      (tasks) => {
        const lines = [...LINES.slice(0, 7)];
        tasks.forEach((t, k) => {
          const full = info(100 + k, k, k % 2 ? '1' : '2', 1000 + k, 1500 + 3 * k);
          full.Accumulables = t.names.map((n, i) => ({ ID: i, Name: n, Update: i, Value: i }));
          // Spark writes "Accumulables" last in "Task Info" (the scanner's bound of that region).
          const infoEntries = [
            ...shuffled(
              Object.entries(full).filter(([key]) => !(t.drop as string[]).includes(key) && key !== 'Accumulables'),
              t.infoOrder,
            ),
            ['Accumulables', full.Accumulables],
          ];
          const m = metrics(300 + k, 1e6 * k, 10 * k);
          const metricEntries = shuffled(
            Object.entries(m).filter(([key]) => !(t.drop as string[]).includes(key)),
            t.metricsOrder,
          );
          if (!t.drop.includes('Executor Run Time')) metricEntries.push(['Shuffle Read Metrics', { ...(m['Shuffle Read Metrics'] as object), Note: t.names.join('') }]);
          const head: [string, unknown][] = [
            ['Event', 'SparkListenerTaskEnd'],
            ['Stage ID', 0],
            ['Stage Attempt ID', 1],
            ['Task Type', 'ShuffleMapTask'],
            ['Task End Reason', { Reason: 'Success' }],
          ];
          const tail: [string, unknown][] = [
            ['Task Info', Object.fromEntries(infoEntries)],
            ...(t.executorMetricsKey ? ([['Task Executor Metrics', { JVMHeapMemory: 1, 'Task Metrics': 5 }]] as [string, unknown][]) : []),
            ...(t.drop.includes('Task Metrics') ? [] : ([['Task Metrics', Object.fromEntries(metricEntries)]] as [string, unknown][])),
          ];
          if (t.metricsFirst) tail.reverse();
          lines.push(JSON.stringify(Object.fromEntries([...head, ...tail])));
        });
        lines.push(...LINES.slice(7));
        const fast = createModelBuilder();
        const slow = createModelBuilder({ fullParse: true });
        for (const l of lines) {
          fast.accept(l);
          slow.accept(l);
        }
        const a = fast.finish();
        const b = slow.finish();
        assert.equal(a.stages, b.stages);
        assert.equal(a.executors, b.executors);
      },
    ),
    { numRuns: 300 },
  );
});

test('lines read from bytes (acceptBytes, released batch by batch) give the model of their text fully parsed', () => {
  // Executor ids and hosts with multi-byte characters and escapes; tasks that end in a later batch,
  // fail, or never end; batches cut anywhere between lines, each overwritten once released (as a
  // reader's reused buffer is).
  const ids = fc.constantFrom('1', '2', 'é', '😀x', 'a"b', 'c\\d', '<driver>', 'driver');
  fc.assert(
    fc.property(
      fc.array(fc.record({ exec: ids, host: ids, end: fc.constantFrom('success', 'success', 'failed', 'never'), delay: fc.integer({ min: 0, max: 4 }) }), { minLength: 1, maxLength: 12 }),
      fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 5 }),
      (tasks, cuts) => {
        const lines = [...LINES.slice(0, 7)];
        const ends: [number, string][] = [];
        tasks.forEach((t, k) => {
          const ti = { ...info(200 + k, k, t.exec, 1000 + k, 1500 + k), Host: t.host };
          lines.push(JSON.stringify({ Event: 'SparkListenerTaskStart', 'Stage ID': 0, 'Stage Attempt ID': 0, 'Task Info': { ...ti, 'Finish Time': 0 } }));
          if (t.end !== 'never') {
            const reason = t.end === 'success' ? { Reason: 'Success' } : { Reason: 'ExceptionFailure', 'Class Name': 'E', Description: 'boom' };
            const line = JSON.stringify({ Event: 'SparkListenerTaskEnd', 'Stage ID': 0, 'Stage Attempt ID': 0, 'Task Type': 'ResultTask', 'Task End Reason': reason, 'Task Info': { ...ti, Failed: t.end === 'failed' }, 'Task Metrics': metrics(300 + k, 1e6 * k) });
            ends.push([k + t.delay, line]);
          }
          for (const [at, line] of ends.filter(([at]) => at <= k)) lines.push(line), ends.splice(ends.indexOf(ends.find((e) => e[0] === at && e[1] === line)!), 1);
        });
        for (const [, line] of ends) lines.push(line);
        lines.push(...LINES.slice(7));

        const fast = createModelBuilder();
        for (let i = 0, c = 0; i < lines.length; c++) {
          const n = cuts[c % cuts.length]!;
          const batch = Buffer.from(lines.slice(i, i + n).join('\n') + '\n');
          for (let start = 0; start < batch.length; ) {
            const end = batch.indexOf(10, start);
            fast.acceptBytes(batch, start, end);
            start = end + 1;
          }
          fast.release();
          batch.fill(0x7b);
          i += n;
        }
        const slow = createModelBuilder({ fullParse: true });
        for (const l of lines) slow.accept(l);
        const a = fast.finish();
        const b = slow.finish();
        assert.equal(a.stages, b.stages);
        assert.equal(a.executors, b.executors);
        assert.equal(a.taskFailures, b.taskFailures);
        assert.equal(a.warnings, b.warnings);
      },
    ),
    { numRuns: 300 },
  );
});

test('acceptBytes refuses new bytes while it still refers to unreleased ones', () => {
  const b = createModelBuilder();
  const start = Buffer.from(LINES[7]!);
  b.acceptBytes(start, 0, start.length);
  assert.throws(() => b.acceptBytes(Buffer.from(LINES[20]!), 0, LINES[20]!.length), /release/);
});

test('lines of events the model does not use are skipped unparsed', async () => {
  const lines = [...LINES];
  lines.splice(3, 0, '{"Event":"SparkListenerBlockUpdated", this is not JSON', '{"Event":"org.apache.spark.sql.execution.ui.SparkListenerDriverAccumUpdates",[[');
  const m = await buildApplicationModel(lines);
  assert.is(m.stages.length, 3);
});

test('lineBatches: multi-byte characters across the 96 KiB decode windows of one large chunk', async () => {
  const line = (i: number): string => `{"Event":"X","n":${i},"s":"${'€😀é'.repeat(i % 50)}${'a'.repeat(i % 7)}"}`;
  const expected = Array.from({ length: 4000 }, (_, i) => line(i));
  const bytes = Buffer.from(expected.join('\n') + '\n');
  assert.ok(bytes.length > 3 * 96 * 1024);
  async function* one(): AsyncGenerator<Uint8Array> {
    yield bytes;
  }
  const got: string[] = [];
  for await (const b of lineBatches(one())) got.push(...linesOf(b));
  assert.equal(got, expected);
});

test('lineBatches: any chunking of any text gives the same lines and offsets, also from a source that reuses its buffer', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.string({ unit: 'binary', maxLength: 40 }), { maxLength: 30 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 10 }), fc.boolean(), async (parts, sizes, reuse) => {
      const text = parts.map((p) => p.replace(/\n/g, ' ')).join('\n');
      const bytes = Buffer.from(text, 'utf8');
      // A reusing source (as a plain local file is read) overwrites a chunk once the next is asked for.
      const shared = Buffer.alloc(50);
      async function* chunks(): AsyncGenerator<Uint8Array> {
        let i = 0;
        for (let k = 0; i < bytes.length; k++) {
          const n = sizes[k % sizes.length] as number;
          const piece = bytes.subarray(i, i + n);
          if (reuse) {
            piece.copy(shared);
            yield shared.subarray(0, piece.length);
            shared.fill(0x7b);
          } else yield piece;
          i += n;
        }
      }
      const lines: string[] = [];
      const offsets: number[] = [];
      for await (const b of lineBatches(chunks())) {
        // A line's stream offset: the batch's offset plus where the line starts in the batch's bytes.
        let pos = 0;
        for (const l of linesOf(b)) {
          lines.push(l);
          offsets.push(b.offset + pos);
          pos = b.bytes.indexOf(10, pos) + 1;
        }
      }
      const expected = bytes.length === 0 ? [] : text.split('\n');
      if (text.endsWith('\n')) expected.pop();
      assert.equal(lines, expected);
      let at = 0;
      expected.forEach((l, k) => {
        assert.is(offsets[k], at);
        at += Buffer.byteLength(l) + 1;
      });
    }),
    { numRuns: 200 },
  );
});

test.run();
