import { randomBytes } from 'node:crypto';
// `sync-agent demo`: on-boards a sample project on the sandbox and runs the tuning loop through the
// real queues and pipelines, printing what each iteration ran, cost, and predicted vs actual.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { appendFileSync } from 'node:fs';
import type { CliIo } from '../cli/io.js';
import { table } from '../cli/format.js';
import type { IterationRecord, Run } from '../domain/types.js';
import { shippedWorkloads } from '../sandbox/shipped-workloads.js';
import { startTuningEnvironment } from './environment.js';
import { startConfiguration } from './start-configuration.js';

export type DemoOptions = {
  io: CliIo;
  dir: string;
  iterations: number;
  timeScale: number;
  seed: number;
  /** Keep the dashboard up after the iterations until `untilStopped` resolves (Ctrl-C). */
  ui?: { port: number; untilStopped: Promise<unknown> };
};

export const DEMO_PROJECT = 'nightly-etl';

/** Where the demo starts: the careful engineer's rule of thumb (start-configuration.ts) on the demo's workload. */
export function demoStart(): ReturnType<typeof startConfiguration> {
  return startConfiguration(shippedWorkloads()['etl-shuffle']!);
}

/** The sample project: a nightly ETL step on the cluster a careful engineer sizes from its data (demoStart). */
export function demoProject(codeUrl: string): Record<string, unknown> {
  const start = demoStart();
  return {
    projectId: DEMO_PROJECT,
    name: 'Nightly ETL (sandbox)',
    platform: 'emr',
    mode: 'auto',
    preference: 'balanced',
    jobFlow: {
      Name: 'nightly-etl',
      ReleaseLabel: 'emr-6.15.0',
      Applications: [{ Name: 'Spark' }],
      Instances: {
        InstanceGroups: [
          { Name: 'Primary', InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 },
          { Name: 'Core', InstanceRole: 'CORE', InstanceType: start.instanceType, InstanceCount: start.nodes },
        ],
        KeepJobFlowAliveWhenNoSteps: false,
      },
      Steps: [{ Name: 'etl', ActionOnFailure: 'TERMINATE_CLUSTER', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', '--deploy-mode', 'cluster', codeUrl] } }],
      Tags: [{ Key: 'team', Value: 'data-platform' }],
      JobFlowRole: 'EMR_EC2_DefaultRole',
      ServiceRole: 'EMR_DefaultRole',
      VisibleToAllUsers: true,
    },
  };
}

const usd = (c: number | undefined) => (c === undefined ? '-' : `$${c.toFixed(2)}`);
const secs = (s: number | undefined) => (s === undefined ? '-' : `${Math.round(s)} s`);
/** (actual - predicted) / actual of a run that applied a prediction and was measured; undefined otherwise. */
export function predictionError(run: Run): number | undefined {
  if (!run.expected || !run.observed || !(run.observed.runtimeSeconds > 0)) return undefined;
  return (run.observed.runtimeSeconds - run.expected.runtimeSeconds) / run.observed.runtimeSeconds;
}
const errorText = (e: number | undefined) => (e === undefined ? '-' : `${e >= 0 ? '+' : ''}${(e * 100).toFixed(1)}%`);
const hw = (r: Run) => (r.cluster?.instanceType ? `${r.cluster.nodes} x ${r.cluster.instanceType}` : '-');

/** A plain-text bar chart: one labelled bar per value. */
export function barChart(label: string, values: { name: string; value: number; text: string }[], width = 40): string {
  const max = Math.max(...values.map((v) => v.value), 1e-9);
  const nameW = Math.max(...values.map((v) => v.name.length));
  return [label, ...values.map((v) => `  ${v.name.padEnd(nameW)} |${'#'.repeat(Math.max(1, Math.round((v.value / max) * width))).padEnd(width)}| ${v.text}`)].join('\n');
}

/** Runs the demo; resolves with the exit code. Everything it starts is stopped before it returns. */
export async function runDemo(opts: DemoOptions): Promise<number> {
  const { io } = opts;
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  const say = (text: string) => io.out(`[${elapsed().padStart(6)}] ${text}`);
  mkdirSync(opts.dir, { recursive: true });
  const logFile = join(opts.dir, 'agent.log');
  say(`starting: embedded redis-server, file state and run data in ${opts.dir}, simulated EMR (1 s = ${opts.timeScale / 60} min), local SQS`);
  const env = await startTuningEnvironment({
    dir: opts.dir,
    timeScale: opts.timeScale,
    seed: opts.seed,
    logSink: (line) => appendFileSync(logFile, line + '\n'),
    // The token is random and never printed: the one-time link below signs the browser in.
    ...(opts.ui ? { http: { token: randomBytes(24).toString('base64url'), port: opts.ui.port } } : {}),
  });
  try {
    const codeDir = join(opts.dir, 'code');
    mkdirSync(codeDir, { recursive: true });
    const code = join(codeDir, 'etl-shuffle.py');
    writeFileSync(code, '# the nightly ETL job (the sandbox replays a workload taken from a real Spark event log)\n');
    const created = await env.request('project.create', demoProject(pathToFileURL(code).href), { idempotencyKey: 'demo-create' });
    if (created.status !== 'completed') throw new Error(`project.create ${created.status}: ${created.error?.message}`);
    const start = demoStart();
    say(`project '${DEMO_PROJECT}' on-boarded: mode auto, preference balanced, starting on ${start.nodes} x ${start.instanceType} (${start.rule})`);

    const rows: { iteration: number; run: Run; record?: IterationRecord }[] = [];
    for (let i = 1; i <= opts.iterations; i += 1) {
      const res = await env.request('project.iterate', { projectId: DEMO_PROJECT }, { idempotencyKey: `demo-iterate-${i}`, timeoutMs: 120_000 });
      if (res.status !== 'completed') throw new Error(`project.iterate ${res.status}: ${res.error?.code}: ${res.error?.message}`);
      const out = res.result as { runId: string; clusterId: string; decision: string; reason: string };
      say(`iteration ${i}: ${out.decision} -> run ${out.runId} on cluster ${out.clusterId}`);
      say(`  why: ${out.reason}`);
      const run = await env.waitForRun(DEMO_PROJECT, out.runId, { timeoutMs: 120_000, onProgress: (what) => say(`  ${what}`) });
      rows.push({ iteration: i, run });
    }
    // Measure the last run the way the engine measures every run (its observed runtime and cost).
    const last = await env.request('prediction.create', { projectId: DEMO_PROJECT }, { idempotencyKey: 'demo-final-measure', timeoutMs: 60_000 });
    if (last.status !== 'completed') throw new Error(`prediction.create ${last.status}: ${last.error?.message}`);

    const state = await env.project(DEMO_PROJECT);
    const byId = new Map(state.runs.map((r) => [r.id, r]));
    const records = new Map((state.status?.iterations ?? []).map((it) => [it.runId, it]));
    const final = rows.map((r) => ({ ...r, run: byId.get(r.run.id) ?? r.run, record: records.get(r.run.id) }));
    io.out('');
    io.out(
      table(
        ['iter', 'decision', 'cluster', 'status', 'runtime', 'predicted', 'error', 'cost', 'predicted', 'billed'],
        final.map(({ iteration, run, record }) => [
          String(iteration),
          record?.decision ?? '-',
          hw(run),
          run.status,
          secs(run.observed?.runtimeSeconds),
          secs(run.expected?.runtimeSeconds),
          errorText(predictionError(run)),
          usd(run.observed?.costUsd),
          usd(run.expected?.costUsd),
          usd(run.costUsd),
        ]),
      ),
    );
    io.out('runtime: the Spark application, from its event log; cost: that runtime at on-demand EC2 + EMR prices;');
    io.out('predicted: what the applied prediction estimated; error: |runtime - predicted| / runtime (signed: + means slower than');
    io.out('predicted); billed: cluster creation to termination, provisioning included.');
    const errors = final.map(({ run }) => predictionError(run)).filter((e): e is number => e !== undefined);
    if (errors.length > 0) {
      const abs = errors.map(Math.abs).sort((a, b) => a - b);
      const median = abs.length % 2 ? abs[abs.length >> 1]! : (abs[abs.length / 2 - 1]! + abs[abs.length / 2]!) / 2;
      io.out(`prediction error over ${errors.length} run${errors.length === 1 ? '' : 's'} that applied a prediction: median ${(median * 100).toFixed(1)}%, max ${(abs[abs.length - 1]! * 100).toFixed(1)}%.`);
    }
    io.out('');
    io.out(barChart('billed cost per iteration', final.map(({ iteration, run }) => ({ name: `#${iteration}`, value: run.costUsd ?? 0, text: `${usd(run.costUsd)}  ${hw(run)}` }))));
    const first = final[0]?.run.costUsd;
    const end = final[final.length - 1]?.run.costUsd;
    io.out('');
    if (first !== undefined && end !== undefined) {
      const change = ((end - first) / first) * 100;
      say(`done: the last run cost ${usd(end)} against ${usd(first)} for the first (${change <= 0 ? '' : '+'}${change.toFixed(0)}%).`);
    }
    for (const w of state.status?.warnings ?? []) say(`warning: ${w}`);
    if (opts.ui) {
      io.out('');
      say(`dashboard: ${env.agent.httpUrl}/ui/`);
      say(`sign in once with: ${env.agent.dashboardSignInUrl()}`);
      say('the agent keeps running for the dashboard; press Ctrl-C to stop');
      await opts.ui.untilStopped;
    }
    return 0;
  } finally {
    await env.close();
    say(`stopped: nothing left running (agent log: ${logFile})`);
  }
}
