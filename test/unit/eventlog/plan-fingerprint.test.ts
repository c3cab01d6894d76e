// Issue 13 part 4: the application's structure from the event log. On real logs and copies of them:
// the same plan with more input (other literals, paths, expression ids, twice the bytes read) stays in
// the group; a log whose plan changed (a join strategy) starts a new group that says what changed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decompress } from 'fzstd';
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadApplicationModel } from '../../../src/adapters/eventlog-source.js';
import { planSkeleton } from '../../../src/domain/eventlog/plan-skeleton.js';
import { groupByStructure, storedStructure, structureChanges, structureOf } from '../../../src/domain/plan-fingerprint.js';
import { createLocalPredictionBackend } from '../../../src/adapters/prediction/local-backend.js';
import { pathToFileURL } from 'node:url';

const fixture = (l: string) => fileURLToPath(new URL(`../../fixtures/eventlogs/${l}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'plan-fp-'));
const SQL_START = 'org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart';

/** The log with every SQL plan's text passed through `plan`, and every "Bytes Read" multiplied by `inputFactor`. */
function variant(lines: string[], name: string, plan: (text: string, executionId: number) => string, inputFactor = 1): string {
  const out = lines.map((line) => {
    if (line.includes(SQL_START)) {
      const e = JSON.parse(line) as { physicalPlanDescription: string; executionId: number };
      e.physicalPlanDescription = plan(e.physicalPlanDescription, e.executionId);
      return JSON.stringify(e);
    }
    return inputFactor === 1 ? line : line.replace(/"Bytes Read":(\d+)/g, (_, n: string) => `"Bytes Read":${Number(n) * inputFactor}`);
  });
  const path = join(dir, name);
  writeFileSync(path, `${out.join('\n')}\n`);
  return path;
}

async function linesOf(l: string): Promise<string[]> {
  const raw = readFileSync(fixture(l));
  const text = l.endsWith('.zstd') ? Buffer.from(decompress(raw)).toString('utf8') : raw.toString('utf8');
  return text.split('\n').filter((x) => x.length > 0);
}

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('same plan with more data stays in the group; a changed join starts a new one and says so', async () => {
  for (const l of ['rapids-tools/attempt_1_eventlog.zstd', 'rapids-tools/rp_sql_eventlog.zstd', 'rapids-tools/eventlog_4nodes_8cores_dynamic_alloc.zstd']) {
    const lines = await linesOf(l);
    const original = await loadApplicationModel(fixture(l));
    // Month-end: other expression ids, other paths and literals, twice the input.
    const more = await loadApplicationModel(
      variant(
        lines,
        `${l.replace(/\W/g, '_')}-more`,
        (t) => t.replace(/#(\d+)/g, (_, n: string) => `#${Number(n) + 1000}`).replace(/(file:|s3a?:|hdfs:)\/[^\],\s]*/g, 's3://other-bucket/month=12').replace(/\b\d{2,}\b/g, (n) => String(Number(n) * 2)),
        2,
      ),
    );
    const first = original.sql.find((q) => (q.planSkeleton?.length ?? 0) > 0)!;
    const changed = await loadApplicationModel(
      variant(lines, `${l.replace(/\W/g, '_')}-join`, (t, id) => (id === first.id ? t.replace(/SortMergeJoin|BroadcastHashJoin/g, (j) => (j === 'SortMergeJoin' ? 'BroadcastHashJoin' : 'SortMergeJoin')) : t)),
    );
    const totalInput = (m: typeof original) => m.stages.reduce((s, st) => s + st.tasks.inputBytes.reduce((a, b) => a + b, 0), 0);
    if (totalInput(original) > 0) assert.ok(totalInput(more) > totalInput(original) * 1.9, `${l}: the copy read more`);
    const a = structureOf(original);
    const b = structureOf(more);
    const c = structureOf(changed);
    assert.is(b.fingerprint, a.fingerprint, `${l}: more input, same structure`);
    assert.is.not(c.fingerprint, a.fingerprint, `${l}: changed plan`);
    const groups = groupByStructure([
      { runId: 'r1', structure: a },
      { runId: 'r2', structure: b },
      { runId: 'r3', structure: c },
    ]);
    assert.equal(groups.map((g) => g.runIds), [['r1', 'r2'], ['r3']], l);
    const said = groups[1]!.changes.join('; ');
    assert.match(said, new RegExp(`the plan of query ${first.id} changed: new (BroadcastHashJoin|SortMergeJoin) Inner`), said);
    assert.equal(structureChanges(a, b), []);
  }
});

test('plan skeletons drop literals, paths and ids, keep operators, join types and scan formats (extended and formatted explain)', () => {
  const extended = [
    '== Physical Plan ==',
    '*(2) HashAggregate(keys=[k#12], functions=[sum(v#13)])',
    '+- Exchange hashpartitioning(k#12, 200), ENSURE_REQUIREMENTS, [id=#53]',
    '   +- *(1) BroadcastHashJoin [k#12], [k#20], LeftOuter, BuildRight, false',
    "      :- *(1) Filter (isnotnull(d#14) AND (d#14 = 2024-01-31))",
    '      :  +- *(1) ColumnarToRow',
    '      :     +- FileScan parquet db.sales[k#12,v#13,d#14] Batched: true, Location: InMemoryFileIndex[s3://bucket/sales/month=01], PushedFilters: [EqualTo(d,2024-01-31)]',
    '      +- BroadcastExchange HashedRelationBroadcastMode(List(input[0, int, true]),false), [id=#40]',
    '         +- LocalTableScan [k#20]',
  ].join('\n');
  const sk = planSkeleton(extended);
  assert.equal(sk, ['0:HashAggregate', '1:Exchange', '2:BroadcastHashJoin LeftOuter', '3:Filter', '4:ColumnarToRow', '5:FileScan parquet', '3:BroadcastExchange', '4:LocalTableScan']);
  const other = extended.replace(/2024-01-31/g, '2024-12-31').replace('month=01', 'month=12').replace(/#(\d+)/g, '#9$1');
  assert.equal(planSkeleton(other), sk);
  const formatted = '== Physical Plan ==\n* HashAggregate (3)\n+- Exchange (2)\n   +- Scan parquet default.t (1)\n\n\n(1) Scan parquet default.t\nOutput [1]: [a#1]\n';
  assert.equal(planSkeleton(formatted), ['0:HashAggregate', '1:Exchange', '2:Scan parquet']);
});

test('prediction: a run whose plan changed starts a new learning group (history of the old structure left out) and says what changed', async () => {
  const l = 'rapids-tools/rp_sql_eventlog.zstd';
  const lines = await linesOf(l);
  const original = structureOf(await loadApplicationModel(fixture(l)));
  const changedPath = variant(lines, 'rp-join-backend', (t) => t.replace(/SortMergeJoin/g, 'BroadcastHashJoin'));
  const backend = createLocalPredictionBackend();
  const report = {
    Cluster: { InstanceCollectionType: 'INSTANCE_GROUP' },
    Instances: [],
    InstanceGroups: [
      { InstanceGroupType: 'MASTER', InstanceType: 'm5.xlarge', RunningInstanceCount: 1 },
      { InstanceGroupType: 'CORE', InstanceType: 'm5.xlarge', RunningInstanceCount: 2 },
    ],
    Steps: [],
    BootstrapActions: [],
    Region: 'us-east-1',
  };
  const history = [
    { runId: 'r1', instanceType: 'm5.xlarge', nodes: 2, runtimeSeconds: 100, structure: original.fingerprint },
    { runId: 'r2', instanceType: 'm5.2xlarge', nodes: 2, runtimeSeconds: 60, structure: original.fingerprint },
  ];
  const base = { projectId: 'p1', basisRunId: 'r3', report, predictionId: 'pred-s', createdAt: new Date('2026-01-01T00:00:00Z'), history, previousStructure: { runId: 'r2', structure: storedStructure(original) } };
  const changed = await backend.predict({ ...base, eventLogUrl: pathToFileURL(changedPath).href });
  assert.is.not(changed.basisStructure?.fingerprint, original.fingerprint);
  assert.match(changed.warnings?.join('\n') ?? '', /structure changed since run r2 \(the plan of query 0 changed: new BroadcastHashJoin Inner, no SortMergeJoin Inner\): a new learning group starts, 2 earlier run\(s\) left out/);
  const same = await backend.predict({ ...base, eventLogUrl: pathToFileURL(fixture(l)).href });
  assert.is(same.basisStructure?.fingerprint, original.fingerprint);
  assert.not.ok((same.warnings ?? []).some((w) => /structure changed/.test(w)));
});

test.run();
