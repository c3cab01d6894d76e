// Issue 13 part 4 through project.iterate and `sync-agent projects show`, on a real event log
// (test/fixtures/eventlogs/rapids-tools/attempt_1_eventlog.zstd) and two copies of it: one with only its byte
// counts doubled ("Bytes Read", the same plan with more data) and one whose first SQL query's join
// strategy changed (SortMergeJoin <-> BroadcastHashJoin, a plan change). Each follows a run that applied a
// prediction with an estimate it misses by far: within the group the regression guard rolls it back; after
// the plan change the run starts a new learning group, is not judged against the old plan, and says so.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { decompress } from 'fzstd';
import { lastValueFrom } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createFileObjectStore } from '../../../src/adapters/file-object-store.js';
import { loadCatalog } from '../../../src/adapters/prediction/catalog-file.js';
import { createLocalPredictionBackend } from '../../../src/adapters/prediction/local-backend.js';
import { createFileStateStore } from '../../../src/adapters/state-file.js';
import type { ProjectState, Run } from '../../../src/domain/types.js';
import type { HandlerDeps } from '../../../src/handlers/deps.js';
import { predictionCreate } from '../../../src/handlers/prediction-create.js';
import { projectIterate } from '../../../src/handlers/project-iterate.js';
import { runPage } from '../../../src/ui/pages.js';
import { createFakeDeps, testContext } from '../../support/fakes.js';

const dir = mkdtempSync(join(tmpdir(), 'plan-groups-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const SQL_START = 'org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart';
const LINES = Buffer.from(decompress(readFileSync('test/fixtures/eventlogs/rapids-tools/attempt_1_eventlog.zstd'))).toString('utf8').split('\n').filter((l) => l.length > 0);
const JOIN = /SortMergeJoin|BroadcastHashJoin/g;
const FIRST_QUERY = (JSON.parse(LINES.find((l) => l.includes(SQL_START) && /SortMergeJoin|BroadcastHashJoin/.test(l))!) as { executionId: number }).executionId;
const variants: Record<'original' | 'more' | 'join', string> = {
  original: LINES.join('\n'),
  // Only the byte counts change: the same plan reading twice the data.
  more: LINES.map((l) => l.replace(/"Bytes Read":(\d+)/g, (_, n: string) => `"Bytes Read":${Number(n) * 2}`)).join('\n'),
  join: LINES.map((l) => {
    if (!l.includes(SQL_START)) return l;
    const e = JSON.parse(l) as { executionId: number; physicalPlanDescription: string };
    if (e.executionId === FIRST_QUERY) e.physicalPlanDescription = e.physicalPlanDescription.replace(JOIN, (j) => (j === 'SortMergeJoin' ? 'BroadcastHashJoin' : 'SortMergeJoin'));
    return JSON.stringify(e);
  }).join('\n'),
};
const report = {
  Cluster: { Id: 'j-BASIS', ReleaseLabel: 'emr-6.9.0', InstanceCollectionType: 'INSTANCE_GROUP', Configurations: [] },
  Instances: [],
  InstanceGroups: [
    { InstanceGroupType: 'MASTER', InstanceType: 'm5.xlarge', RequestedInstanceCount: 1, RunningInstanceCount: 0 },
    { InstanceGroupType: 'CORE', InstanceType: 'm5.xlarge', RequestedInstanceCount: 2, RunningInstanceCount: 0 },
  ],
  Steps: [],
  BootstrapActions: [],
  Region: 'us-east-1',
};
const jobFlow = {
  Name: 'nightly',
  ReleaseLabel: 'emr-6.9.0',
  Instances: { InstanceGroups: [{ InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 }, { InstanceRole: 'CORE', InstanceType: 'm5.xlarge', InstanceCount: 2 }] },
  Steps: [{ Name: 'etl', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', 'local-code/etl.py'] } }],
};

function recordedRun(projectId: string, id: string, log: keyof typeof variants, extra: Partial<Run> = {}): Run {
  const location = pathToFileURL(join(dir, 'runs', projectId, id)).href + '/';
  mkdirSync(join(dir, 'runs', projectId, id, 'eventlog'), { recursive: true });
  writeFileSync(join(dir, 'runs', projectId, id, 'eventlog', 'application_1'), `${variants[log]}\n`);
  writeFileSync(join(dir, 'runs', projectId, id, 'emr-cluster-report.json'), JSON.stringify(report));
  return {
    id,
    projectId,
    status: 'recorded',
    location,
    createdAt: '2026-12-01T00:00:00.000Z',
    requestKey: `k-${id}`,
    clusterId: `j-${id}`,
    reportUrl: `${location}emr-cluster-report.json`,
    eventLogUrl: `${location}eventlog/`,
    eventLog: { status: 'complete' },
    ...extra,
  } as Run;
}

const stateUrl = pathToFileURL(join(dir, 'state')).href;
function deps(): HandlerDeps {
  const base = createFakeDeps({ projectLocation: pathToFileURL(join(dir, 'runs')).href });
  const objects = createFileObjectStore();
  return { ...base, state: createFileStateStore(stateUrl), objects, predictions: createLocalPredictionBackend({ objectStore: objects, catalog: loadCatalog() }) };
}

/** r-1 on the real log, a prediction from it, then r-2 on `second` applying that prediction with an estimate it misses by far. */
async function iterateAfter(projectId: string, second: 'more' | 'join') {
  const d = deps();
  const state: ProjectState = { project: { id: projectId, name: projectId, platform: 'emr', tenantId: 'acme', createdAt: 'c', updatedAt: 'c', jobFlow, mode: 'auto' }, runs: [recordedRun(projectId, 'r-1', 'original')], predictions: [] };
  await d.state.put(projectId, state, null);
  const p1 = await lastValueFrom(predictionCreate({ projectId, runId: 'r-1' }, d, testContext(`${projectId}-p1`, `${projectId}-p1`)));
  const tiny = { runtimeSeconds: 1, costUsd: 0.0001 };
  const loaded = (await d.state.get(projectId))!;
  await d.state.put(projectId, { ...loaded.value, runs: [...loaded.value.runs, recordedRun(projectId, 'r-2', second, { predictionId: p1.predictionId, preference: 'balanced', expected: tiny, baseline: tiny })] }, loaded.version);
  const result = await lastValueFrom(projectIterate({ projectId }, d, testContext(`${projectId}-it`, `${projectId}-it`)));
  const after = (await d.state.get(projectId))!.value;
  return { result, r2: after.runs.find((r) => r.id === 'r-2')!, r1: after.runs.find((r) => r.id === 'r-1')! };
}

test('the same plan with twice the input stays in the group: no plan change, and the regression guard judges the run', async () => {
  const { result, r1, r2 } = await iterateAfter('more-data', 'more');
  assert.ok((r2.inputBytes ?? 0) > 0 && r2.inputBytes === 2 * (r1.inputBytes ?? 0), `input ${r1.inputBytes} -> ${r2.inputBytes}`);
  assert.is(r2.structure?.fingerprint, r1.structure?.fingerprint);
  assert.is(r2.planChange, undefined);
  assert.is(result.decision, 'rolled-back', result.reason);
  assert.not.match(result.reason, /plan changed/);
  assert.ok(r2.regressed, 'judged a regression within its group');
});

test('a changed plan starts a new learning group: not judged against the old plan, and says what changed (iterate, run, projects show)', async () => {
  const { result, r1, r2 } = await iterateAfter('new-join', 'join');
  assert.is.not(r2.structure?.fingerprint, r1.structure?.fingerprint);
  const words = new RegExp(`the plan of query ${FIRST_QUERY} changed: new (BroadcastHashJoin|SortMergeJoin) Inner`);
  assert.is(r2.planChange?.since, 'r-1');
  assert.match(r2.planChange?.changes.join('; ') ?? '', words);
  assert.is.not(result.decision, 'rolled-back', result.reason);
  assert.is(r2.regressed, undefined);
  assert.match(result.reason, /^the application's plan changed since run r-1 \(/);
  assert.match(result.reason, words);
  assert.match(result.reason, /run r-2 starts a new learning group/);

  // The dashboard's run page says so too.
  const after = (await deps().state.get('new-join'))!.value;
  const html = runPage({ state: after, run: r2, region: 'us-east-1' }, { title: 'run' });
  assert.match(html, new RegExp(`<dt>Plan changed</dt><dd>against run r-1: the plan of query ${FIRST_QUERY} changed: new (BroadcastHashJoin|SortMergeJoin) Inner`));

  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify({ tenant: { id: 'acme', state: stateUrl, projectLocation: pathToFileURL(join(dir, 'runs')).href } }));
  const cli = spawnSync(process.execPath, ['bin/sync-agent.js', 'projects', 'show', 'new-join', '--config', configPath], { encoding: 'utf8', timeout: 60_000 });
  assert.is(cli.status, 0, cli.stderr);
  assert.match(cli.stdout, /plan changes \(each starts a new learning group/);
  assert.match(cli.stdout, new RegExp(`run r-2, against run r-1: the plan of query ${FIRST_QUERY} changed: new (BroadcastHashJoin|SortMergeJoin) Inner`));
  assert.match(cli.stdout, /decisions:[\s\S]*the application's plan changed since run r-1/);
});

test.run();
