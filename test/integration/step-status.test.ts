// Step status through public interfaces: the project's EMR server runs a step that fails, emits its
// Step Status Change events, and the agent's handlers (real EMR client and platform adapter) keep
// the steps and put the failing step's reason and log location in the run and the run.record result.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { lastValueFrom } from 'rxjs';
import { createEmrPlatform } from '../../src/adapters/emr-platform.js';
import type { RunStepData } from '../../src/domain/requests.js';
import type { HandlerDeps } from '../../src/handlers/deps.js';
import { runRecord } from '../../src/handlers/run-record.js';
import { runStart } from '../../src/handlers/run-start.js';
import { runStep } from '../../src/handlers/run-step.js';
import { parseEmrEvent } from '../../src/queues/completion-events.js';
import { eventBridgeStepEvent } from '../../src/sandbox/emr-server.js';
import type { StepWorkError } from '../../src/sandbox/emr-server.js';
import { startEmr, type TestEmr } from '../support/emr.js';
import { createFakeDeps, testContext, type FakeDeps } from '../support/fakes.js';

type Ctx = { emr: TestEmr; events: string[]; deps: FakeDeps; handlerDeps: HandlerDeps };
const S = suite<Ctx>('step status');

const OOM = 'Exception in thread "main" java.lang.OutOfMemoryError: Java heap space';

S.before(async (ctx) => {
  ctx.events = [];
  ctx.emr = await startEmr({
    timeline: { startingMs: 20, bootstrappingMs: 20, runningMs: 30, terminatingMs: 20 },
    onStepChange: (c, step) => ctx.events.push(JSON.stringify(eventBridgeStepEvent(c, step, 'us-east-1', '123456789012'))),
    onStepsRun: async () => {
      const e: StepWorkError = new Error(OOM);
      e.failureReason = 'Unknown Error.';
      throw e;
    },
  });
  ctx.deps = createFakeDeps();
  ctx.handlerDeps = { ...ctx.deps, platform: createEmrPlatform({ client: ctx.emr.client, region: 'us-east-1' }) };
});

S.after(async (ctx) => {
  await ctx.emr.stop();
});

S('a failed step: its events keep the steps, and the run and its record carry the reason and the log', async (ctx) => {
  const jobFlow = {
    Name: 'nightly',
    ReleaseLabel: 'emr-6.10.0',
    LogUri: 's3://logs-bucket/emr/',
    Instances: { InstanceGroups: [{ InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 }, { InstanceRole: 'CORE', InstanceType: 'm5.xlarge', InstanceCount: 2 }] },
    Steps: [
      { Name: 'etl', ActionOnFailure: 'TERMINATE_CLUSTER', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', 's3://code/etl.py'] } },
      { Name: 'report', ActionOnFailure: 'TERMINATE_CLUSTER', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', 's3://code/report.py'] } },
    ],
  };
  const project = { id: 'p1', name: 'nightly', platform: 'emr' as const, tenantId: 'acme', createdAt: 'c', updatedAt: 'c', jobFlow };
  await ctx.deps.state.put('p1', { project, runs: [], predictions: [] }, null);
  const started = await lastValueFrom(runStart({ projectId: 'p1' }, ctx.handlerDeps, testContext('start-1', 'k1')));
  await ctx.emr.server.waitForState(started.clusterId, 'TERMINATED_WITH_ERRORS');

  // What the completion consumer would hand over: one run.step per event.
  const parsed = ctx.events.map((e) => parseEmrEvent(e)).filter((e) => e.kind === 'step' && e.clusterId === started.clusterId);
  assert.equal(parsed.map((e) => e.state), ['RUNNING', 'FAILED', 'CANCELLED']);
  for (const e of parsed) {
    if (e.kind !== 'step') continue;
    const data: RunStepData = { projectId: 'p1', clusterId: e.clusterId, stepId: e.stepId, runId: started.runId };
    await lastValueFrom(runStep(data, ctx.handlerDeps, testContext(`step-${e.eventId}`)));
  }
  const etl = ctx.emr.server.cluster(started.clusterId)!.steps[0]!;
  const logFile = `s3://logs-bucket/emr/${started.clusterId}/steps/${etl.id}/stderr.gz`;
  const failure = { stepId: etl.id, stepName: 'etl', reason: 'Unknown Error.', message: OOM, logFile };
  let run = ctx.deps.state.read('p1')!.runs[0]!;
  assert.equal(run.failure, failure);
  assert.equal(run.steps?.map((s) => `${s.name} ${s.state}`), ['etl FAILED', 'report CANCELLED']);
  assert.ok(run.steps?.[0]?.startedAt !== undefined && run.steps[0].endedAt !== undefined, 'timings kept');

  const recorded = await lastValueFrom(runRecord({ projectId: 'p1', clusterId: started.clusterId }, ctx.handlerDeps, testContext('rec-1')));
  assert.is(recorded.status, 'failed');
  assert.equal(recorded.failure, failure);
  run = ctx.deps.state.read('p1')!.runs[0]!;
  assert.equal(run.failure, failure);
  assert.is(run.error?.code, 'STEP_FAILURE');
  // Asked again (how an HTTP client reads it: POST run.record, GET /v1/requests/:id), the answer is the same.
  const again = await lastValueFrom(runRecord({ projectId: 'p1', runId: started.runId }, ctx.handlerDeps, testContext('rec-2')));
  assert.equal(again, recorded);
});

S.run();
