// run.cancel through the real EMR client against the project's EMR server: a running step and a
// pending one are cancelled, the cluster is terminated, and a second cancel answers the same.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { lastValueFrom } from 'rxjs';
import { createEmrPlatform } from '../../src/adapters/emr-platform.js';
import type { HandlerDeps } from '../../src/handlers/deps.js';
import { runCancel } from '../../src/handlers/run-cancel.js';
import { runStart } from '../../src/handlers/run-start.js';
import { startEmr, type TestEmr } from '../support/emr.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createFileStateStore } from '../../src/adapters/state-file.js';
import { eventually } from '../support/async.js';
import { createFakeDeps, testContext, type FakeDeps } from '../support/fakes.js';

type Ctx = { emr: TestEmr; deps: FakeDeps; handlerDeps: HandlerDeps };
const C = suite<Ctx>('run.cancel on EMR');

C.before(async (ctx) => {
  // Steps run until cancelled (runningMs: Infinity).
  ctx.emr = await startEmr({ timeline: { startingMs: 20, bootstrappingMs: 20, runningMs: Infinity, terminatingMs: 20 } });
  ctx.deps = createFakeDeps();
  ctx.handlerDeps = { ...ctx.deps, platform: createEmrPlatform({ client: ctx.emr.client, region: 'us-east-1' }) };
});

C.after(async (ctx) => {
  await ctx.emr.stop();
});

C('cancel a running run: steps cancelled, cluster terminated, run cancelled; the same cancel again answers the same', async (ctx) => {
  const step = (name: string) => ({ Name: name, ActionOnFailure: 'CONTINUE', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', `s3://code/${name}.py`] } });
  const jobFlow = {
    Name: 'nightly',
    ReleaseLabel: 'emr-6.10.0',
    Instances: { InstanceGroups: [{ InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 }] },
    Steps: [step('etl'), step('report')],
  };
  await ctx.deps.state.put('p1', { project: { id: 'p1', name: 'nightly', platform: 'emr', tenantId: 'acme', createdAt: 'c', updatedAt: 'c', jobFlow }, runs: [], predictions: [] }, null);
  const started = await lastValueFrom(runStart({ projectId: 'p1' }, ctx.handlerDeps, testContext('start-1', 'k1')));
  await ctx.emr.server.waitForState(started.clusterId, 'RUNNING');
  const before = ctx.emr.server.cluster(started.clusterId)!;
  assert.equal(before.steps.map((s) => s.state), ['RUNNING', 'PENDING']);

  const first = await lastValueFrom(runCancel({ projectId: 'p1', runId: started.runId, by: 'dagster', reason: 'interrupted' }, ctx.handlerDeps, testContext('c-1')));
  assert.is(first.status, 'cancelled');
  assert.equal(first.cancelledSteps?.sort(), before.steps.map((s) => s.id).sort());
  const ended = await ctx.emr.server.waitForState(started.clusterId, ['TERMINATED', 'TERMINATED_WITH_ERRORS']);
  assert.is(ended.state, 'TERMINATED');
  assert.is(ended.reason.Code, 'USER_REQUEST');
  assert.equal(ended.steps.map((s) => s.state), ['CANCELLED', 'CANCELLED']);
  assert.ok(ctx.emr.server.calls().some((c) => c.op === 'CancelSteps' && c.status === 200));
  const run = ctx.deps.state.read('p1')!.runs[0]!;
  assert.is(run.status, 'cancelled');
  assert.equal(run.cancelled, { at: first.cancelled!.at, by: 'dagster', reason: 'interrupted', terminate: true });

  const again = await lastValueFrom(runCancel({ projectId: 'p1', runId: started.runId, by: 'dagster' }, ctx.handlerDeps, testContext('c-2')));
  assert.equal({ ...again, cancelledSteps: [] }, { ...first, cancelledSteps: [] }, 'the same answer (no step is left to cancel)');
  assert.equal(again.cancelledSteps, []);
});

C('a cancel racing run.start, at any moment, never leaves a cluster running (real EMR server, file state)', async (ctx) => {
  const dir = mkdtempSync(join(tmpdir(), 'sync-cancel-race-'));
  try {
    const state = createFileStateStore(pathToFileURL(join(dir, 'state')).href);
    const deps: HandlerDeps = { ...ctx.handlerDeps, state };
    const jobFlow = {
      Name: 'race',
      ReleaseLabel: 'emr-6.10.0',
      Instances: { InstanceGroups: [{ InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 }] },
      Steps: [{ Name: 'etl', ActionOnFailure: 'CONTINUE', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', 's3://code/etl.py'] } }],
    };
    await state.put('race', { project: { id: 'race', name: 'race', platform: 'emr', tenantId: 'acme', createdAt: 'c', updatedAt: 'c', jobFlow }, runs: [], predictions: [] }, null);
    const outcomes: string[] = [];
    // The cancel lands at a different moment each time: while RunJobFlow is in flight (held 400 ms by
    // the server), about when it answers, and (last) after run.start has finished.
    for (const [i, delayMs] of [0, 20, 100, 300, 380, 420, 480, 'after' as const].entries()) {
      ctx.emr.server.inject({ op: 'RunJobFlow', kind: 'delay', delayMs: 400, times: 1 });
      const starting = lastValueFrom(runStart({ projectId: 'race' }, deps, testContext(`race-start-${i}`, `race-${i}`)));
      const runId = await eventually(async () => (await state.get('race'))!.value.runs.find((r) => r.requestKey === `race-${i}`)?.id, 10_000, 'the reserved run');
      if (delayMs === 'after') await starting;
      else await new Promise((r) => setTimeout(r, delayMs));
      const cancel = await lastValueFrom(runCancel({ projectId: 'race', runId, by: 'race' }, deps, testContext(`race-cancel-${i}`)));
      const started = await starting.then(
        () => 'started',
        (e: unknown) => (e as { code?: string }).code ?? 'error',
      );
      outcomes.push(`${delayMs}${delayMs === 'after' ? '' : 'ms'}:${started}`);
      assert.is(cancel.status, 'cancelled', `cancel at ${delayMs} ms`);
      // Every cluster this run launched ends: none is left running.
      const mine = () => ctx.emr.server.clusters().filter((c) => c.tags['sync:run-id'] === runId);
      await eventually(() => (mine().every((c) => c.state === 'TERMINATED' || c.state === 'TERMINATED_WITH_ERRORS') ? true : undefined), 10_000, `clusters of ${runId} terminated (cancel at ${delayMs} ms)`);
      assert.ok(mine().length <= 1, 'at most one cluster per run');
      assert.is((await state.get('race'))!.value.runs.find((r) => r.id === runId)!.status, 'cancelled');
    }
    // Both sides of the race were run: a cancel while RunJobFlow was in flight (run.start ends 'aborted'
    // and terminates what it launched), and a cancel after run.start finished (the cancel terminates).
    assert.ok(outcomes.some((o) => o.endsWith(':aborted')), outcomes.join(' '));
    assert.is(outcomes[outcomes.length - 1], 'after:started');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

C.run();
