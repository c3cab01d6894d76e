// Step logs through public interfaces: the sandbox EMR (real EMR client) runs a Spark step and
// uploads its logs under LogUri as growing multi-member gzip files; run.logs reads them by offset
// while the step runs, and the slices join up to the whole log, nothing repeated or lost.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { lastValueFrom } from 'rxjs';
import type { EMRClient } from '@aws-sdk/client-emr';
import { createAwsClients } from '../../src/adapters/aws-clients.js';
import { createEmrPlatform } from '../../src/adapters/emr-platform.js';
import { createFileObjectStore } from '../../src/adapters/file-object-store.js';
import type { HandlerDeps } from '../../src/handlers/deps.js';
import { createFileStateStore } from '../../src/adapters/state-file.js';
import { run as logsCommand } from '../../src/cli/commands/logs.js';
import { readRunLog } from '../../src/handlers/run-logs.js';
import { runStart } from '../../src/handlers/run-start.js';
import { createSandboxPlatform, type SandboxPlatform } from '../../src/sandbox/sandbox-platform.js';
import { shippedWorkloads } from '../../src/sandbox/shipped-workloads.js';
import { createFakeDeps, testContext, type FakeDeps } from '../support/fakes.js';

type Ctx = { dir: string; base: string; sandbox: SandboxPlatform; emr: EMRClient; deps: FakeDeps; handlerDeps: HandlerDeps };
const L = suite<Ctx>('step logs');

L.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'sync-step-logs-'));
  ctx.base = pathToFileURL(ctx.dir).href;
  const objects = createFileObjectStore();
  ctx.sandbox = await createSandboxPlatform({ objects, workloads: shippedWorkloads(), timeScale: 400, seed: 11 });
  const clients = createAwsClients({ region: 'us-east-1', endpoints: { emr: ctx.sandbox.url }, s3ForcePathStyle: true, credentials: { accessKeyId: 'AKIDSANDBOX', secretAccessKey: 'x' }, maxAttempts: 1 });
  clients.s3.destroy();
  clients.sqs.destroy();
  ctx.emr = clients.emr;
  ctx.deps = createFakeDeps({ projectLocation: `${ctx.base}/runs` });
  ctx.handlerDeps = { ...ctx.deps, objects, platform: createEmrPlatform({ client: ctx.emr, region: 'us-east-1' }) };
});

L.after(async (ctx) => {
  ctx.emr.destroy();
  await ctx.sandbox.close();
  rmSync(ctx.dir, { recursive: true, force: true });
});

L('tailing stderr by offset while the step runs: contiguous slices, the whole log, nothing repeated or lost across gzip parts', async (ctx) => {
  const jobFlow = {
    Name: 'nightly',
    ReleaseLabel: 'emr-6.15.0',
    Applications: [{ Name: 'Spark' }],
    LogUri: `${ctx.base}/emr-logs/`,
    Instances: { InstanceGroups: [{ InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 }, { InstanceRole: 'CORE', InstanceType: 'm5.xlarge', InstanceCount: 2 }] },
    Steps: [{ Name: 'etl', ActionOnFailure: 'TERMINATE_CLUSTER', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', 's3://code/etl.py'] } }],
  };
  const project = { id: 'p1', name: 'nightly', platform: 'emr' as const, tenantId: 'acme', createdAt: 'c', updatedAt: 'c', jobFlow };
  await ctx.deps.state.put('p1', { project, runs: [], predictions: [] }, null);
  const started = await lastValueFrom(runStart({ projectId: 'p1' }, ctx.handlerDeps, testContext('start-1', 'k1')));

  const slices: string[] = [];
  const sizes = new Set<number>();
  let offset = 0;
  let done = false;
  let url = '';
  let stepId = '';
  const deadline = Date.now() + 90_000;
  while (!done && Date.now() < deadline) {
    // Small slices, so reads end inside gzip members as well as at their edges.
    const r = await readRunLog(ctx.handlerDeps, { projectId: 'p1', runId: started.runId, stream: 'stderr', offset, maxBytes: 700 });
    assert.is(r.offset, offset, 'each slice starts where the last one ended');
    assert.is(Buffer.byteLength(r.text), r.nextOffset - r.offset);
    slices.push(r.text);
    if (r.text !== '') sizes.add(r.nextOffset);
    offset = r.nextOffset;
    done = r.done;
    url = r.url;
    stepId = r.stepId;
    if (r.text === '' && !done) await new Promise((res) => setTimeout(res, 30));
  }
  assert.ok(done, 'the tail ended with the step');
  const cluster = ctx.sandbox.server.cluster(started.clusterId)!;
  assert.is(stepId, cluster.steps[0]!.id);
  assert.ok(['COMPLETED', 'FAILED'].includes(cluster.steps[0]!.state), cluster.steps[0]!.state);
  assert.is(url, `${ctx.base}/emr-logs/${started.clusterId}/steps/${stepId}/stderr.gz`);
  const raw = (await ctx.handlerDeps.objects.get(url)).body;
  const members = raw.toString('latin1').split('\x1f\x8b\x08').length - 1;
  assert.ok(members >= 3, `the log was uploaded in parts (${members} gzip members)`);
  const whole = gunzipSync(raw).toString('utf8');
  assert.is(slices.join(''), whole, 'the slices are the whole log');
  const lines = whole.trimEnd().split('\n');
  assert.is(new Set(lines).size, lines.length, 'no line twice');
  assert.ok(lines.length > 10, `${lines.length} lines`);
  // A read past the end answers nothing more, and done.
  const past = await readRunLog(ctx.handlerDeps, { projectId: 'p1', runId: started.runId, stream: 'stderr', offset: offset + 1000 });
  assert.equal([past.text, past.nextOffset, past.done], ['', Buffer.byteLength(whole), true]);
  // The controller log says how the step ended.
  const controller = await readRunLog(ctx.handlerDeps, { projectId: 'p1', runId: started.runId, stepId, stream: 'controller' });
  assert.match(controller.text, /INFO startExec 'hadoop jar command-runner.jar spark-submit s3:\/\/code\/etl.py'/);
  assert.match(controller.text, /INFO Step (succeeded with exitCode 0|failed with exitCode 1)/);
});

L('sync-agent logs --follow prints a running step\'s stderr as it is written and stops when the step ends', async (ctx) => {
  const stateUrl = `${ctx.base}/state`;
  const state = createFileStateStore(stateUrl);
  const deps: HandlerDeps = { ...ctx.handlerDeps, state };
  const jobFlow = {
    Name: 'follow',
    ReleaseLabel: 'emr-6.15.0',
    Applications: [{ Name: 'Spark' }],
    LogUri: `${ctx.base}/emr-logs-2/`,
    Instances: { InstanceGroups: [{ InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 }, { InstanceRole: 'CORE', InstanceType: 'm5.xlarge', InstanceCount: 2 }] },
    Steps: [{ Name: 'etl', ActionOnFailure: 'TERMINATE_CLUSTER', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', 's3://code/etl.py'] } }],
  };
  await state.put('p2', { project: { id: 'p2', name: 'follow', platform: 'emr', tenantId: 'acme', createdAt: 'c', updatedAt: 'c', jobFlow }, runs: [], predictions: [] }, null);
  const started = await lastValueFrom(runStart({ projectId: 'p2' }, deps, testContext('start-2', 'k2')));
  const configPath = join(ctx.dir, 'sync.config.mjs');
  writeFileSync(configPath, `export default { site: { id: 'h', aws: { region: 'us-east-1', endpoints: { emr: ${JSON.stringify(ctx.sandbox.url)} } } }, tenant: { id: 'acme', state: ${JSON.stringify(stateUrl)} } };\n`);
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  process.env.AWS_ACCESS_KEY_ID = 'AKIDSANDBOX';
  process.env.AWS_SECRET_ACCESS_KEY = 'x';
  try {
    const out: string[] = [];
    const errors: string[] = [];
    const io = { out: (t: string) => void out.push(t), err: (t: string) => void errors.push(t), env: {}, cwd: ctx.dir };
    const following = logsCommand(['p2', started.runId, '--stream', 'stderr', '--follow', '--config', configPath], io);
    // While the step runs, the command is still following (it has not returned).
    await ctx.sandbox.server.waitForState(started.clusterId, 'RUNNING', 30_000);
    const early = await Promise.race([following.then(() => 'returned'), new Promise((r) => setTimeout(() => r('following'), 200))]);
    assert.is(early, 'following');
    const code = await following;
    assert.is(code, 0, errors.join('\n'));
    const step = ctx.sandbox.server.cluster(started.clusterId)!.steps[0]!;
    assert.ok(['COMPLETED', 'FAILED'].includes(step.state), `the step had ended when --follow stopped (${step.state})`);
    const whole = gunzipSync((await deps.objects.get(`${ctx.base}/emr-logs-2/${started.clusterId}/steps/${step.id}/stderr.gz`)).body).toString('utf8');
    assert.is(out.join('\n') + '\n', whole, 'printed the whole log once');
  } finally {
    if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
    else process.env.AWS_ACCESS_KEY_ID = saved.id;
    if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
    else process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
  }
});

L.run();
