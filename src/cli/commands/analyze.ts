// `sync-agent analyze PATH|s3://... [--json]`: reads a Spark event log and prints what the prediction
// engine sees: duration and driver share, executors, jobs, stages, tasks, skew, spill, biggest stages.
import { loadApplicationModel } from '../../adapters/eventlog-source.js';
import type { EventLogDeps } from '../../adapters/eventlog-source.js';
import type { ApplicationModel } from '../../domain/eventlog/model.js';
import { allStageStats } from '../../domain/eventlog/stage-stats.js';
import { buildReplayPlan } from '../../domain/prediction/plan.js';
import { simulateBaselinePlan, simulatePlan } from '../../domain/prediction/simulator.js';
import type { StageStats } from '../../domain/eventlog/stage-stats.js';
import type { ObjectStore } from '../../domain/ports.js';
import { parseCommand } from '../args.js';
import { syncErrorExit, type CliIo } from '../io.js';

const USAGE = 'usage: sync-agent analyze PATH|file://...|s3://... [--json] [--top N] [--config PATH]';

type StageSummary = Pick<
  StageStats,
  | 'stageId'
  | 'attemptId'
  | 'name'
  | 'tasks'
  | 'failedTasks'
  | 'wallMs'
  | 'taskTimeMs'
  | 'executorRunTimeMs'
  | 'inputBytes'
  | 'shuffleReadBytes'
  | 'shuffleWriteBytes'
  | 'memorySpillBytes'
  | 'diskSpillBytes'
  | 'medianTaskMs'
  | 'maxTaskMs'
  | 'skew'
>;

/** The JSON summary of a model (what `analyze --json` prints); extend by adding keys here. */
export function summarize(model: ApplicationModel, options: { top?: number } = {}): Record<string, unknown> {
  const stats = allStageStats(model);
  const sum = (k: keyof StageStats): number => stats.reduce((n, s) => n + (s[k] as number), 0);
  const tasks = stats.reduce((n, s) => n + s.tasks, 0);
  const failedTasks = stats.reduce((n, s) => n + s.failedTasks, 0);
  const pick = (s: StageStats): StageSummary => ({
    stageId: s.stageId,
    attemptId: s.attemptId,
    name: s.name,
    tasks: s.tasks,
    failedTasks: s.failedTasks,
    wallMs: s.wallMs,
    taskTimeMs: s.taskTimeMs,
    executorRunTimeMs: s.executorRunTimeMs,
    inputBytes: s.inputBytes,
    shuffleReadBytes: s.shuffleReadBytes,
    shuffleWriteBytes: s.shuffleWriteBytes,
    memorySpillBytes: s.memorySpillBytes,
    diskSpillBytes: s.diskSpillBytes,
    medianTaskMs: s.medianTaskMs,
    maxTaskMs: s.maxTaskMs,
    skew: round(s.skew, 2),
  });
  const biggest = [...stats].sort((a, b) => b.taskTimeMs - a.taskTimeMs || a.stageId - b.stageId).slice(0, options.top ?? 5);
  // Skew matters only where a stage has enough tasks for a median to mean something.
  const skewed = stats.filter((s) => s.tasks >= 4 && s.skew >= 2).sort((a, b) => b.skew - a.skew);
  const worst = skewed[0];
  const cores = model.executors.filter((e) => e.id !== 'driver' || model.executors.length === 1).reduce((n, e) => n + e.cores, 0);
  return {
    appId: model.appId,
    appName: model.appName,
    ...(model.attemptId !== undefined ? { attemptId: model.attemptId } : {}),
    ...(model.sparkVersion !== undefined ? { sparkVersion: model.sparkVersion } : {}),
    ...(model.master !== undefined ? { master: model.master } : {}),
    ...(model.user !== undefined ? { user: model.user } : {}),
    startTime: new Date(model.startTime).toISOString(),
    endTime: new Date(model.endTime).toISOString(),
    complete: model.complete,
    durationMs: model.durationMs,
    driverMs: model.driverMs,
    jobMs: model.jobMs,
    driverShare: model.durationMs > 0 ? round(model.driverMs / model.durationMs, 4) : 0,
    executors: model.executors.length,
    maxConcurrentExecutors: model.maxConcurrentExecutors,
    executorCores: cores,
    removedExecutors: model.executors.filter((e) => e.removedAt !== undefined).length,
    resourceProfiles: model.resourceProfiles.length,
    jobs: model.jobs.length,
    failedJobs: model.jobs.filter((j) => j.result === 'failed').length,
    sqlExecutions: model.sql.length,
    stages: model.stages.length,
    skippedStages: model.stages.filter((s) => s.skipped).length,
    failedStages: model.stages.filter((s) => s.failureReason !== undefined).length,
    tasks,
    failedTasks,
    totals: {
      taskTimeMs: sum('taskTimeMs'),
      executorRunTimeMs: sum('executorRunTimeMs'),
      executorCpuTimeMs: round(sum('executorCpuTimeMs'), 0),
      gcTimeMs: sum('gcTimeMs'),
      inputBytes: sum('inputBytes'),
      outputBytes: sum('outputBytes'),
      shuffleReadBytes: sum('shuffleReadBytes'),
      shuffleWriteBytes: sum('shuffleWriteBytes'),
      shuffleFetchWaitMs: sum('shuffleFetchWaitMs'),
      memorySpillBytes: sum('memorySpillBytes'),
      diskSpillBytes: sum('diskSpillBytes'),
    },
    skew: {
      skewedStages: skewed.length,
      ...(worst ? { worstStage: worst.stageId, worstSkew: round(worst.skew, 2) } : {}),
    },
    settings: model.settings,
    replay: replayOf(model),
    biggestStages: biggest.map(pick),
    warnings: model.warnings,
  };
}

/** The prediction engine's estimate at the observed configuration (and the Sparklens-style baseline's). */
function replayOf(model: ApplicationModel): { simulatedMs: number; baselineMs: number } {
  const plan = buildReplayPlan(model);
  return { simulatedMs: Math.round(simulatePlan(plan).estimatedMs), baselineMs: Math.round(simulateBaselinePlan(plan).estimatedMs) };
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** A byte count as people read it: `512 B`, `1.5 GiB`. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** The human-readable form of a summary. */
export function formatSummary(s: ReturnType<typeof summarize>): string {
  const t = s.totals as Record<string, number>;
  const skew = s.skew as { skewedStages: number; worstStage?: number; worstSkew?: number };
  const num = (k: string): number => s[k] as number;
  const lines = [
    `application  ${String(s.appName)} (${String(s.appId)})${s.sparkVersion ? `, Spark ${String(s.sparkVersion)}` : ''}${s.master ? `, master ${String(s.master)}` : ''}`,
    `time         ${String(s.startTime)} .. ${String(s.endTime)}${s.complete ? '' : ' (log incomplete)'}`,
    `duration     ${duration(num('durationMs'))}; driver only ${duration(num('driverMs'))} (${(num('driverShare') * 100).toFixed(1)}%), jobs ${duration(num('jobMs'))}`,
    `executors    ${num('executors')} (at most ${num('maxConcurrentExecutors')} at once, ${num('removedExecutors')} removed), ${num('executorCores')} cores in all`,
    `jobs         ${num('jobs')} (${num('failedJobs')} failed), ${num('sqlExecutions')} SQL executions`,
    `stages       ${num('stages')} attempts (${num('skippedStages')} skipped, ${num('failedStages')} failed)`,
    `tasks        ${num('tasks')} (${num('failedTasks')} failed), task time ${duration(t.taskTimeMs ?? 0)}, CPU ${duration(t.executorCpuTimeMs ?? 0)}, GC ${duration(t.gcTimeMs ?? 0)}`,
    `io           input ${bytes(t.inputBytes ?? 0)}, output ${bytes(t.outputBytes ?? 0)}, shuffle read ${bytes(t.shuffleReadBytes ?? 0)}, shuffle write ${bytes(t.shuffleWriteBytes ?? 0)}`,
    `spill        memory ${bytes(t.memorySpillBytes ?? 0)}, disk ${bytes(t.diskSpillBytes ?? 0)}`,
    `skew         ${skew.skewedStages === 0 ? 'no stage with max task >= 2x median' : `${skew.skewedStages} stage(s) with max task >= 2x median; worst: stage ${skew.worstStage} (${skew.worstSkew}x)`}`,
    '',
    'biggest stages (by task time)',
    '  stage   tasks   wall        task time   median/max task      shuffle r/w            spill      name',
  ];
  for (const st of s.biggestStages as StageSummary[]) {
    lines.push(
      `  ${`${st.stageId}.${st.attemptId}`.padEnd(7)} ${String(st.tasks).padStart(5)}   ${duration(st.wallMs).padEnd(11)} ${duration(st.taskTimeMs).padEnd(11)} ${`${duration(st.medianTaskMs)}/${duration(st.maxTaskMs)}`.padEnd(20)} ${`${bytes(st.shuffleReadBytes)}/${bytes(st.shuffleWriteBytes)}`.padEnd(22)} ${bytes(st.memorySpillBytes + st.diskSpillBytes).padEnd(10)} ${st.name.slice(0, 60)}`,
    );
  }
  const warnings = s.warnings as string[];
  if (warnings.length > 0) lines.push('', 'warnings', ...warnings.map((w) => `  - ${w}`));
  return lines.join('\n');
}

async function objectStoreFor(url: string, io: CliIo, configPath: string | undefined): Promise<ObjectStore | undefined> {
  if (!/^s3a?:\/\//.test(url)) return undefined;
  const [{ loadConfig }, { createAwsClients }, { createS3ObjectStore }] = await Promise.all([
    import('../../config/load-config.js'),
    import('../../adapters/aws-clients.js'),
    import('../../adapters/s3-object-store.js'),
  ]);
  const config = await loadConfig({ ...(configPath ? { configPath } : {}), cwd: io.cwd, env: io.env, allowDefaults: true });
  const aws = config.site.aws;
  const { s3 } = createAwsClients({ region: aws.region, endpoints: aws.endpoints, s3ForcePathStyle: aws.s3ForcePathStyle });
  return createS3ObjectStore({ client: s3 });
}

/** Runs `analyze`; exit 0 on success, 1 when the log cannot be read, 2 on bad usage. */
export async function run(argv: string[], io: CliIo, deps: EventLogDeps = {}): Promise<number> {
  const args = parseCommand(argv, io, USAGE, { json: { type: 'boolean' }, top: { type: 'string' }, config: { type: 'string' } });
  if ('exit' in args) return args.exit;
  const { values, positionals } = args;
  const target = positionals[0];
  const top = values.top === undefined ? 5 : Number(values.top);
  if (!Number.isInteger(top) || top < 0) {
    io.err(`sync-agent analyze: --top must be a whole number >= 0, got '${values.top}'\n${USAGE}`);
    return 2;
  }
  if (!target || positionals.length > 1) {
    io.err(USAGE);
    return 2;
  }
  try {
    const objectStore = deps.objectStore ?? (await objectStoreFor(target, io, values.config));
    const model = await loadApplicationModel(target, { ...deps, ...(objectStore ? { objectStore } : {}) });
    const summary = summarize(model, { top });
    io.out(values.json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
    return 0;
  } catch (e) {
    return syncErrorExit(io, 'analyze', e);
  }
}
