// Issue 13 part 6 wired: a project with no run with an event log and a declared input (policy.declaredInput)
// gets the cold-start table's guess from prediction.create (the table overridden by site.predictions.coldStart
// in a real configuration file), marked as a guess with no estimate; prediction.apply starts a run from it
// without judging the run by an estimate and without writing pinned keys; `sync-agent projects show` and
// `sync-agent predict --declared-input` (bin/sync-agent.js) say it is a guess.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { lastValueFrom } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createFileObjectStore } from '../../../src/adapters/file-object-store.js';
import { loadCatalog } from '../../../src/adapters/prediction/catalog-file.js';
import { createLocalPredictionBackend } from '../../../src/adapters/prediction/local-backend.js';
import { createFileStateStore } from '../../../src/adapters/state-file.js';
import { loadConfig } from '../../../src/config/load-config.js';
import type { SyncError } from '../../../src/domain/errors.js';
import type { ProjectState } from '../../../src/domain/types.js';
import type { HandlerDeps } from '../../../src/handlers/deps.js';
import { predictionApply } from '../../../src/handlers/prediction-apply.js';
import { predictionCreate } from '../../../src/handlers/prediction-create.js';
import { projectIterate } from '../../../src/handlers/project-iterate.js';
import { createFakeDeps, rejection, testContext, type FakeDeps } from '../../support/fakes.js';

const dir = mkdtempSync(join(tmpdir(), 'cold-start-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const GiB = 1024 ** 3;
const stateUrl = pathToFileURL(join(dir, 'state')).href;
const runsUrl = pathToFileURL(join(dir, 'runs')).href;
const configPath = join(dir, 'sync.json');
// The site's own sql rows: up to 500 GiB on 6 x r5.2xlarge, above on 12 x r5.4xlarge.
writeFileSync(
  configPath,
  JSON.stringify({
    site: {
      predictions: {
        coldStart: [
          { type: 'sql', maxInputGiB: 500, instanceType: 'r5.2xlarge', nodes: 6, executorCores: 4, executorMemoryMb: 12288, shufflePartitions: 800 },
          { type: 'sql', instanceType: 'r5.4xlarge', nodes: 12, executorCores: 4, executorMemoryMb: 12288, shufflePartitions: 3000 },
        ],
      },
    },
    tenant: { id: 'acme', state: stateUrl, projectLocation: runsUrl },
  }),
);
const jobFlow = {
  Name: 'nightly',
  ReleaseLabel: 'emr-6.15.0',
  Instances: { InstanceGroups: [{ InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 }, { InstanceRole: 'CORE', InstanceType: 'm5.xlarge', InstanceCount: 2 }] },
  Configurations: [{ Classification: 'spark-defaults', Properties: { 'spark.executor.memory': '6g' } }],
  Steps: [{ Name: 'etl', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', 'local-code/etl.py'] } }],
};

async function deps(): Promise<FakeDeps & HandlerDeps> {
  const config = await loadConfig({ cwd: dir, configPath, env: {} });
  const base = createFakeDeps({ projectLocation: runsUrl });
  const objects = createFileObjectStore();
  return { ...base, config: { ...base.config, site: { ...base.config.site, predictions: config.site.predictions }, tenant: config.tenant }, state: createFileStateStore(stateUrl) as FakeDeps['state'], objects: objects as FakeDeps['objects'], predictions: createLocalPredictionBackend({ objectStore: objects, catalog: loadCatalog() }) };
}

async function project(d: HandlerDeps, id: string, policy: ProjectState['project']['policy'], mode?: 'auto' | 'recommend'): Promise<void> {
  await d.state.put(id, { project: { id, name: id, platform: 'emr', tenantId: 'acme', createdAt: 'c', updatedAt: 'c', jobFlow: structuredClone(jobFlow), ...(policy ? { policy } : {}), ...(mode ? { mode } : {}) }, runs: [], predictions: [] }, null);
}

test('prediction.create with a declared input and no event log: the site table guess, marked as a guess, pinned keys untouched; apply runs it unjudged', async () => {
  const d = await deps();
  await project(d, 'fresh', { declaredInput: { bytes: 300 * GiB, type: 'sql' }, pinned: ['spark.executor.memory'] });
  const p = await lastValueFrom(predictionCreate({ projectId: 'fresh' }, d, testContext('cs-1', 'cs-1')));
  assert.is(p.coldStart?.guess, true);
  assert.match(p.warnings?.join('\n') ?? '', /a guess from the declared input/);
  for (const pref of ['performance', 'balanced', 'economy'] as const) {
    const s = p.solutions[pref];
    assert.is(s.guess, true, pref);
    assert.is(s.source, 'cold-start');
    assert.match(s.explanation, /^GUESS \(cold start, no estimate\): a guess from the declared input \(300 GiB, sql\): 6 x r5\.2xlarge/);
    assert.match(s.evidence?.[0] ?? '', /no run of this project has an event log yet.*row for sql jobs reading up to 500\.0 GiB/);
    const conf = s.configuration as { Instances: { InstanceGroups: { InstanceRole: string; InstanceType: string; InstanceCount: number }[] }; Configurations: { Properties: Record<string, string> }[] };
    const core = conf.Instances.InstanceGroups.find((g) => g.InstanceRole === 'CORE')!;
    assert.equal([core.InstanceType, core.InstanceCount], ['r5.2xlarge', 6]);
    assert.is(conf.Instances.InstanceGroups.find((g) => g.InstanceRole === 'MASTER')?.InstanceType, 'm5.xlarge', "the project's own master");
    assert.not.ok('spark.executor.memory' in conf.Configurations[0]!.Properties, 'pinned: never written');
    assert.is(conf.Configurations[0]!.Properties['spark.sql.shuffle.partitions'], '800');
  }
  const started = await lastValueFrom(predictionApply({ projectId: 'fresh', predictionId: p.predictionId, preference: 'balanced' }, d, testContext('cs-2', 'cs-2')));
  const sent = d.platform.clusters.get(started.clusterId)?.request as { Instances: { InstanceGroups: { InstanceRole: string; InstanceType: string }[] }; Configurations: { Classification: string; Properties: Record<string, string> }[] };
  assert.is(sent.Instances.InstanceGroups.find((g) => g.InstanceRole === 'CORE')?.InstanceType, 'r5.2xlarge');
  const props = sent.Configurations.find((c) => c.Classification === 'spark-defaults')!.Properties;
  assert.is(props['spark.executor.memory'], '6g', "the user's pinned value");
  assert.is(props['spark.executor.cores'], '4');
  const run = (await d.state.get('fresh'))!.value.runs.find((r) => r.id === started.runId)!;
  assert.is(run.predictionId, p.predictionId);
  assert.is(run.expected, undefined, 'a guess is no estimate to judge the run by');
  assert.is(run.baseline, undefined);

  // projects show says it is a guess.
  const cli = spawnSync(process.execPath, ['bin/sync-agent.js', 'projects', 'show', 'fresh', '--config', configPath], { encoding: 'utf8', timeout: 60_000 });
  assert.is(cli.status, 0, cli.stderr);
  assert.match(cli.stdout, /latest prediction p-\S+ \([^)]*\): GUESS — cold start from the declared input/);
  assert.match(cli.stdout, /balanced {5}guess, no estimate {2}GUESS \(cold start, no estimate\)/);
});

test('above the largest row, the open-ended row; without a declared input, the same error as before', async () => {
  const d = await deps();
  await project(d, 'big', { declaredInput: { bytes: 4096 * GiB, type: 'sql' } });
  const p = await lastValueFrom(predictionCreate({ projectId: 'big' }, d, testContext('cs-3', 'cs-3')));
  assert.match(p.solutions.economy.explanation, /12 x r5\.4xlarge/);
  await project(d, 'plain', undefined);
  const e = (await rejection(lastValueFrom(predictionCreate({ projectId: 'plain' }, d, testContext('cs-4', 'cs-4'))))) as SyncError;
  assert.is(e.code, 'not_found');
  assert.match(e.message, /no recorded run with an event log yet/);
});

test("project.iterate's first run: mode auto starts from the guess; mode recommend keeps the project's configuration and says a guess is there", async () => {
  const d = await deps();
  await project(d, 'auto-first', { declaredInput: { bytes: 20 * GiB, type: 'sql' } }, 'auto');
  const it = await lastValueFrom(projectIterate({ projectId: 'auto-first' }, d, testContext('cs-5', 'cs-5')));
  assert.is(it.decision, 'applied', it.reason);
  assert.match(it.reason, /^the project's first run, from the cold-start guess of prediction p-\S+: GUESS/);
  const sent = d.platform.clusters.get(it.clusterId)?.request as { Instances: { InstanceGroups: { InstanceRole: string; InstanceType: string; InstanceCount: number }[] } };
  const core = sent.Instances.InstanceGroups.find((g) => g.InstanceRole === 'CORE')!;
  assert.equal([core.InstanceType, core.InstanceCount], ['r5.2xlarge', 6]);
  await project(d, 'rec-first', { declaredInput: { bytes: 20 * GiB, type: 'sql' } }, 'recommend');
  const kept = await lastValueFrom(projectIterate({ projectId: 'rec-first' }, d, testContext('cs-6', 'cs-6')));
  assert.is(kept.decision, 'kept');
  assert.match(kept.reason, /on its own configuration \(mode recommend: the cold-start guess of prediction p-\S+ is not applied; send prediction.apply to use it\)/);
  const own = d.platform.clusters.get(kept.clusterId)?.request as { Instances: { InstanceGroups: { InstanceRole: string; InstanceType: string }[] } };
  assert.is(own.Instances.InstanceGroups.find((g) => g.InstanceRole === 'CORE')?.InstanceType, 'm5.xlarge');
});

test('a bad site.predictions.coldStart row is refused naming the field', async () => {
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ site: { predictions: { coldStart: [{ type: 'java', instanceType: 'r5.xlarge', nodes: 2, executorCores: 4, executorMemoryMb: 8192, shufflePartitions: 64 }] } }, tenant: { id: 'a', state: stateUrl } }));
  const e = (await rejection(loadConfig({ cwd: dir, configPath: bad, env: {} }))) as SyncError;
  assert.is(e.code, 'invalid_config');
  assert.match(e.message, /site\.predictions\.coldStart\[0\]\.type/);
});

test('sync-agent predict --declared-input prints the guess from the site table, marked as a guess', () => {
  const r = spawnSync(process.execPath, ['bin/sync-agent.js', 'predict', '--declared-input', '300GiB', '--job-type', 'sql', '--config', configPath], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /^GUESS \(cold start/);
  assert.match(r.stdout, /cluster {6}6 x r5\.2xlarge/);
  assert.match(r.stdout, /spark\.sql\.shuffle\.partitions=800/);
  const shipped = spawnSync(process.execPath, [join(process.cwd(), 'bin/sync-agent.js'), 'predict', '--declared-input', '300GiB', '--job-type', 'sql', '--json'], { encoding: 'utf8', timeout: 60_000, cwd: dir });
  assert.is(shipped.status, 0, shipped.stderr);
  const shippedGuess = (JSON.parse(shipped.stdout) as { coldStart: { instanceType: string; nodes: number; guess: boolean } }).coldStart;
  assert.is(shippedGuess.guess, true);
  assert.equal([shippedGuess.nodes, shippedGuess.instanceType], [10, 'm5.4xlarge'], 'no configuration there: the documented table');
  const bad = spawnSync(process.execPath, ['bin/sync-agent.js', 'predict', '--declared-input', 'lots', '--job-type', 'sql'], { encoding: 'utf8', timeout: 60_000 });
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /--declared-input SIZE/);
});

test.run();
