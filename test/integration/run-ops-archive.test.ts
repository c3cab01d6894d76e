// run.logs, run.step and run.cancel on a run that the bounded project document moved to its archive
// (file state store, the project's EMR server through the real EMR client): the run is found there,
// its log is read, its kept steps are answered, a cancel answers it as it is; nothing is written.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { lastValueFrom } from 'rxjs';
import { createEmrPlatform } from '../../src/adapters/emr-platform.js';
import { createFileObjectStore } from '../../src/adapters/file-object-store.js';
import { createFileStateStore } from '../../src/adapters/state-file.js';
import type { SyncError } from '../../src/domain/errors.js';
import { stepLogPrefix } from '../../src/domain/run-steps.js';
import type { ProjectState, Run } from '../../src/domain/types.js';
import type { HandlerDeps } from '../../src/handlers/deps.js';
import { runCancel } from '../../src/handlers/run-cancel.js';
import { runLogs } from '../../src/handlers/run-logs.js';
import { runStep } from '../../src/handlers/run-step.js';
import { rejection } from '../support/async.js';
import { startEmr, type TestEmr } from '../support/emr.js';
import { createFakeDeps, testContext } from '../support/fakes.js';

type Ctx = { dir: string; emr: TestEmr };
const A = suite<Ctx>('run operations on archived runs');

A.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'sync-ops-archive-'));
  ctx.emr = await startEmr({ timeline: { startingMs: 10, bootstrappingMs: 10, runningMs: 30, terminatingMs: 10 } });
});
A.after(async (ctx) => {
  await ctx.emr.stop();
  rmSync(ctx.dir, { recursive: true, force: true });
});

A('logs, steps and cancel of an archived run', async (ctx) => {
  const base = pathToFileURL(ctx.dir).href;
  const objects = createFileObjectStore();
  const state = createFileStateStore(`${base}/state`);
  const platform = createEmrPlatform({ client: ctx.emr.client, region: 'us-east-1' });
  const deps: HandlerDeps = { ...createFakeDeps(), state, objects, platform };

  // The old run's cluster ran one step and uploaded its stderr under LogUri (EMR's part, played here).
  const logUri = `${base}/emr-logs/`;
  const { clusterId } = await platform.startCluster({
    Name: 'old',
    ReleaseLabel: 'emr-6.10.0',
    LogUri: logUri,
    Instances: { InstanceGroups: [{ InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 }] },
    Steps: [{ Name: 'etl', ActionOnFailure: 'CONTINUE', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', 's3://code/etl.py'] } }],
  });
  const ended = await ctx.emr.server.waitForState(clusterId, ['TERMINATED', 'TERMINATED_WITH_ERRORS'], 10_000);
  const step = ended.steps[0]!;
  const stderr = 'INFO starting\nWARN slow stage 3\nINFO done\n';
  await objects.put(`${stepLogPrefix(logUri, clusterId, step.id)}stderr.gz`, gzipSync(stderr));

  // 200 recorded runs: the oldest (with that cluster) leaves the document for the archive.
  const t0 = Date.parse('2026-01-01T02:00:00Z');
  const runs: Run[] = Array.from({ length: 200 }, (_, i) => ({
    id: `r-${String(i).padStart(4, '0')}`,
    projectId: 'p',
    status: 'recorded',
    location: `${base}/runs/${i}/`,
    createdAt: new Date(t0 + i * 86_400_000).toISOString(),
    requestKey: `k${i}`,
    ...(i === 0 ? { clusterId, steps: [{ id: step.id, name: 'etl', state: 'COMPLETED' }] } : {}),
  }));
  const doc: ProjectState = { project: { id: 'p', name: 'P', platform: 'emr', tenantId: 'acme', createdAt: runs[0]!.createdAt, updatedAt: runs[0]!.createdAt }, runs, predictions: [] };
  await state.put('p', doc, null);
  const stored = (await state.get('p'))!;
  assert.not.ok(stored.value.runs.some((r) => r.id === 'r-0000'), 'r-0000 is archived');

  const log = await lastValueFrom(runLogs({ projectId: 'p', runId: 'r-0000', stream: 'stderr' }, deps, testContext('logs-1')));
  assert.is(log.text, stderr);
  assert.is(log.stepId, step.id);
  assert.is(log.done, true);

  const steps = await lastValueFrom(runStep({ projectId: 'p', clusterId, runId: 'r-0000' }, deps, testContext('step-1')));
  assert.equal(steps, { runId: 'r-0000', steps: [{ id: step.id, name: 'etl', state: 'COMPLETED' }] });
  const byCluster = await lastValueFrom(runStep({ projectId: 'p', clusterId }, deps, testContext('step-2')));
  assert.is(byCluster.runId, 'r-0000', 'found by its cluster too');

  const cancel = await lastValueFrom(runCancel({ projectId: 'p', runId: 'r-0000', by: 'ops' }, deps, testContext('cancel-1')));
  assert.equal(cancel, { runId: 'r-0000', status: 'recorded', clusterId });
  assert.is((await state.get('p'))!.version, stored.version, 'nothing was written');

  for (const attempt of [
    () => lastValueFrom(runLogs({ projectId: 'p', runId: 'r-nope' }, deps, testContext('logs-2'))),
    () => lastValueFrom(runCancel({ projectId: 'p', runId: 'r-nope' }, deps, testContext('cancel-2'))),
    () => lastValueFrom(runStep({ projectId: 'p', clusterId: 'j-NOPE', runId: 'r-nope' }, deps, testContext('step-3'))),
  ]) {
    // One at a time: a rejection made before it is awaited would be an unhandled one.
    const e = (await rejection(attempt())) as SyncError;
    assert.is(e.code, 'not_found');
    assert.match(e.message, /has no run .*neither in its document nor in its archive/);
  }
});

A.run();
