// Run operations through the real daemon (a child process) and the real CLI (bin/sync-agent.js), with
// a real Redis, file state and the project's EMR server holding each step until the test ends it:
// `enqueue --wait --until recorded` and `GET /v1/requests/:id?wait=&until=recorded` wait for the run
// to be recorded, not merely started; `sync-agent cancel PROJECT RUN` cancels a running run's steps,
// terminates its cluster and records it cancelled, and the same cancel again answers the same.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createFileStateStore } from '../../src/adapters/state-file.js';
import { startAgent, writeConfig, eventually, type AgentProcess } from '../support/agent-process.js';
import { EMR_TEST_CREDENTIALS, startEmr, type TestEmr } from '../support/emr.js';
import { freePort, startRedis, type TestRedis } from '../support/redis.js';

const TOKEN = 'ops-token-2b7c9e';
type Ctx = { dir: string; stateUrl: string; configPath: string; redis: TestRedis; emr: TestEmr; agent: AgentProcess };
const ops = suite<Ctx>('run operations through the daemon and the CLI');

const env = () => ({ ...process.env, USER: 'ops-tester', AWS_ACCESS_KEY_ID: EMR_TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: EMR_TEST_CREDENTIALS.secretAccessKey });

type CliRun = { status: number | null; stdout: string; stderr: string };
/** The CLI as a child process (asynchronously: the EMR server it reaches lives in this process). */
function cli(args: string[], timeoutMs = 120_000): { done: Promise<CliRun>; exited: () => boolean } {
  const child = spawn(process.execPath, ['bin/sync-agent.js', ...args], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let exited = false;
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<CliRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => {
      exited = true;
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
  return { done, exited: () => exited };
}

const JOB_FLOW = {
  Name: 'ops',
  ReleaseLabel: 'emr-6.10.0',
  Instances: { InstanceGroups: [{ InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 }, { InstanceRole: 'CORE', InstanceType: 'm5.xlarge', InstanceCount: 2 }] },
  Steps: [
    { Name: 'etl', ActionOnFailure: 'CONTINUE', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', 's3://code/etl.py'] } },
    { Name: 'report', ActionOnFailure: 'CONTINUE', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', 's3://code/report.py'] } },
  ],
};

ops.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'sync-ops-'));
  ctx.stateUrl = pathToFileURL(join(ctx.dir, 'state')).href;
  ctx.redis = await startRedis();
  // Each step runs until the test advances it (or it is cancelled).
  ctx.emr = await startEmr({ timeline: { startingMs: 50, bootstrappingMs: 50, runningMs: Infinity, terminatingMs: 50 } });
  const httpPort = await freePort();
  ctx.configPath = writeConfig(ctx.dir, {
    site: {
      id: 'ops-host',
      redis: { url: ctx.redis.url },
      queues: { prefix: 'ops', backoffMs: 200 },
      aws: { region: 'us-east-1', endpoints: { emr: ctx.emr.url } },
      http: { port: httpPort, ui: false },
      // No SQS here: the reconciler hands finished clusters to run.record.
      reconcile: { intervalMs: 1000 },
    },
    tenant: { id: 'acme', state: ctx.stateUrl, projectLocation: pathToFileURL(join(ctx.dir, 'runs')).href },
  });
  ctx.agent = startAgent({ configPath: ctx.configPath, httpPort, env: { SYNC_AGENT_TOKEN: TOKEN, AWS_ACCESS_KEY_ID: EMR_TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: EMR_TEST_CREDENTIALS.secretAccessKey } });
  await ctx.agent.ready();
  const created = await cli(['enqueue', 'project.create', '--data', JSON.stringify({ projectId: 'ops', name: 'ops', platform: 'emr', jobFlow: JOB_FLOW }), '--wait', '--timeout', '60', '--config', ctx.configPath]).done;
  assert.is(created.status, 0, created.stderr + created.stdout);
});

ops.after(async (ctx) => {
  if (ctx.agent && ctx.agent.child.exitCode === null) await ctx.agent.stop();
  await ctx.emr?.stop();
  await ctx.redis?.stop();
  rmSync(ctx.dir, { recursive: true, force: true });
});

const http = (ctx: Ctx, path: string, init: RequestInit = {}) =>
  fetch(`${ctx.agent.httpUrl}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...init.headers } });
const runsOf = async (ctx: Ctx) => (await createFileStateStore(ctx.stateUrl).get('ops'))!.value.runs;
const clusterOfRun = (ctx: Ctx, runId: string) => eventually(() => ctx.emr.server.clusters().find((c) => c.tags['sync:run-id'] === runId), 30_000, `the cluster of ${runId}`);
/** Ends each step of the cluster in turn until it terminates (auto-terminating cluster). */
async function finishSteps(ctx: Ctx, clusterId: string) {
  await eventually(() => {
    const c = ctx.emr.server.cluster(clusterId)!;
    if (c.state === 'TERMINATED' || c.state === 'TERMINATED_WITH_ERRORS') return c;
    if (c.state === 'RUNNING') ctx.emr.server.advance(clusterId);
    return undefined;
  }, 30_000, `cluster ${clusterId} finished`);
}

ops('enqueue run.start --wait --until recorded returns once the run is recorded, not when it has started', async (ctx) => {
  const bad = await cli(['enqueue', 'run.start', '--data', '{"projectId":"ops"}', '--wait', '--until', 'finished', '--config', ctx.configPath]).done;
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /--until must be one of started, recorded/);
  const noWait = await cli(['enqueue', 'run.start', '--data', '{"projectId":"ops"}', '--until', 'recorded', '--config', ctx.configPath]).done;
  assert.is(noWait.status, 2);
  assert.match(noWait.stderr, /--until recorded needs --wait/);
  const noRun = await cli(['enqueue', 'project.update', '--data', '{"projectId":"ops","name":"renamed"}', '--wait', '--until', 'recorded', '--config', ctx.configPath]).done;
  assert.is(noRun.status, 2, 'refused before it is sent: project.update starts no run to wait for');
  assert.match(noRun.stderr, /^--until recorded waits for the run a request starts \(run\.start, prediction\.apply, project\.iterate\); project\.update starts none/);
  assert.is(noRun.stdout, '', 'nothing was enqueued');

  const waiting = cli(['enqueue', 'run.start', '--id', 'cli-start-1', '--data', '{"projectId":"ops"}', '--wait', '--until', 'recorded', '--timeout', '90', '--config', ctx.configPath]);
  // run.start has its result (the run started) while the command keeps waiting.
  const started = await eventually(async () => (await runsOf(ctx)).find((r) => r.status === 'running'), 30_000, 'the run running');
  const cluster = await clusterOfRun(ctx, started.id);
  await ctx.emr.server.waitForState(cluster.id, 'RUNNING', 30_000);
  const result = await eventually(async () => {
    const res = await http(ctx, '/v1/requests/cli-start-1');
    const body = (await res.json()) as { status: string };
    return body.status === 'completed' ? body : undefined;
  }, 30_000, 'the run.start result');
  assert.is(result.status, 'completed');
  await new Promise((r) => setTimeout(r, 1500));
  assert.not.ok(waiting.exited(), 'still waiting after the run started');

  await finishSteps(ctx, cluster.id);
  const out = await waiting.done;
  assert.is(out.status, 0, out.stderr + out.stdout);
  const answer = JSON.parse(out.stdout) as { name: string; status: string; result: { runId: string }; run: { id: string; status: string; recordedAt?: string }; recorded: boolean };
  assert.is(answer.name, 'run.start');
  assert.is(answer.result.runId, started.id);
  assert.is(answer.recorded, true);
  assert.is(answer.run.id, started.id);
  assert.is(answer.run.status, 'recorded');
  assert.ok(answer.run.recordedAt);
  assert.is((await runsOf(ctx)).find((r) => r.id === started.id)!.status, 'recorded');
});

ops('GET /v1/requests/:id?wait=&until=recorded answers with the run, recorded only once it is', async (ctx) => {
  const post = await http(ctx, '/v1/requests', { method: 'POST', body: JSON.stringify({ id: 'http-start-1', name: 'run.start', data: { projectId: 'ops' } }) });
  assert.is(post.status, 202);
  assert.is((await http(ctx, '/v1/requests/http-start-1?until=done')).status, 400);

  // A short wait while the step is held: the run has started, it is not recorded.
  const early = await eventually(async () => {
    const body = (await (await http(ctx, '/v1/requests/http-start-1?wait=2&until=recorded')).json()) as { status: string; result?: { runId: string }; run?: { status: string }; recorded?: boolean };
    return body.status === 'completed' ? body : undefined;
  }, 30_000, 'run.start completed');
  assert.is(early.recorded, false);
  assert.ok(early.run && ['starting', 'running'].includes(early.run.status), JSON.stringify(early));
  const runId = early.result!.runId;
  const cluster = await clusterOfRun(ctx, runId);
  await ctx.emr.server.waitForState(cluster.id, 'RUNNING', 30_000);

  // The long wait returns when the run is recorded.
  const finishing = finishSteps(ctx, cluster.id);
  const final = await eventually(async () => {
    const res = await http(ctx, '/v1/requests/http-start-1?wait=25&until=recorded');
    assert.is(res.status, 200);
    const body = (await res.json()) as { run: { id: string; status: string }; recorded: boolean };
    return body.recorded ? body : undefined;
  }, 90_000, 'the run recorded');
  await finishing;
  assert.equal([final.run.id, final.run.status], [runId, 'recorded']);

  // Asked again, a recorded run answers at once; a request that started no run cannot be waited on that way.
  const again = (await (await http(ctx, '/v1/requests/http-start-1?until=recorded')).json()) as { recorded: boolean; run: { status: string } };
  assert.equal([again.recorded, again.run.status], [true, 'recorded']);
  const create = await http(ctx, '/v1/requests', { method: 'POST', body: JSON.stringify({ id: 'http-create-2', name: 'project.create', data: { projectId: 'ops-2', name: 'ops-2', platform: 'emr', jobFlow: JOB_FLOW } }) });
  assert.is(create.status, 202);
  const refused = await http(ctx, '/v1/requests/http-create-2?wait=20&until=recorded');
  assert.is(refused.status, 400);
  assert.match(((await refused.json()) as { error: { message: string } }).error.message, /started none/);
});

ops('sync-agent cancel PROJECT RUN: steps cancelled, cluster terminated, run cancelled; the same cancel again answers the same', async (ctx) => {
  const start = await cli(['enqueue', 'run.start', '--data', '{"projectId":"ops"}', '--wait', '--timeout', '60', '--config', ctx.configPath]).done;
  assert.is(start.status, 0, start.stderr);
  const { runId, clusterId } = (JSON.parse(start.stdout) as { result: { runId: string; clusterId: string } }).result;
  await ctx.emr.server.waitForState(clusterId, 'RUNNING', 30_000);
  const before = await eventually(() => {
    const c = ctx.emr.server.cluster(clusterId)!;
    return c.steps[0]?.state === 'RUNNING' ? c : undefined;
  }, 10_000, 'the first step running');
  assert.equal(before.steps.map((s) => s.state), ['RUNNING', 'PENDING']);

  const first = await cli(['cancel', 'ops', runId, '--reason', 'operator stop', '--config', ctx.configPath]).done;
  assert.is(first.status, 0, first.stderr);
  const answer = JSON.parse(first.stdout) as { status: string; result: { runId: string; status: string; clusterId: string; cancelledSteps: string[]; cancelled: { by: string; reason: string; terminate: boolean } } };
  assert.is(answer.status, 'completed');
  assert.is(answer.result.status, 'cancelled');
  assert.is(answer.result.clusterId, clusterId);
  assert.equal([...answer.result.cancelledSteps].sort(), before.steps.map((s) => s.id).sort());
  assert.equal([answer.result.cancelled.by, answer.result.cancelled.reason, answer.result.cancelled.terminate], ['cli:ops-tester', 'operator stop', true]);
  const ended = await ctx.emr.server.waitForState(clusterId, ['TERMINATED', 'TERMINATED_WITH_ERRORS'], 30_000);
  assert.equal(ended.steps.map((s) => s.state), ['CANCELLED', 'CANCELLED']);
  const run = (await runsOf(ctx)).find((r) => r.id === runId)!;
  assert.is(run.status, 'cancelled');
  assert.is(run.cancelled?.by, 'cli:ops-tester');

  const again = await cli(['cancel', 'ops', runId, '--config', ctx.configPath]).done;
  assert.is(again.status, 0, again.stderr);
  assert.equal((JSON.parse(again.stdout) as { result: unknown }).result, answer.result, 'the same answer');
  // The run stays cancelled: the reconciler's record of the terminated cluster does not turn it into a recorded run.
  await new Promise((r) => setTimeout(r, 2500));
  assert.is((await runsOf(ctx)).find((r) => r.id === runId)!.status, 'cancelled');
});

ops('cancel and logs: --help, and usage errors exit 2', async (ctx) => {
  for (const command of ['cancel', 'logs']) {
    const help = await cli([command, '--help']).done;
    assert.is(help.status, 0);
    assert.match(help.stdout, new RegExp(`usage: sync-agent ${command} PROJECT_ID RUN_ID`));
    const bogus = await cli([command, 'ops', 'r1', '--bogus', '--config', ctx.configPath]).done;
    assert.is(bogus.status, 2, `${command} --bogus`);
    assert.match(bogus.stderr, new RegExp(`usage: sync-agent ${command}`));
    const missing = await cli([command, 'ops', '--config', ctx.configPath]).done;
    assert.is(missing.status, 2, `${command} without RUN_ID`);
  }
  const badTimeout = await cli(['cancel', 'ops', 'r1', '--timeout', 'soon', '--config', ctx.configPath]).done;
  assert.is(badTimeout.status, 2);
  assert.match(badTimeout.stderr, /--timeout must be a positive number/);
});

ops.run();
