// The sandbox platform: the project's EMR server whose clusters really "run" their steps. Each
// Spark step replays a workload on the requested cluster through the ground truth, writes a
// genuine Spark event log to the object store at spark.eventLog.dir, and the cluster's states and
// timestamps follow the simulated times on a clock that runs `timeScale` x faster than real time.
import type { ObjectStore } from '../domain/ports.js';
import { SyncError } from '../domain/errors.js';
import { createEmrServer, eventBridgeClusterEvent, eventBridgeStepEvent, stepLogPrefix } from './emr-server.js';
import { startStepLogs } from './step-logs.js';
import type { ClusterRecord, EmrServer, StepRecord } from './emr-server.js';
import type { ClusterStateChangeDetail, EventBridgeEvent } from './emr-events.js';
import { assembleRun, planExecutors, provisioningSeconds, runApplication, teardownSeconds } from './ground-truth.js';
import type { SandboxCluster, SimulatedRun } from './ground-truth.js';
import { writeEventLog, writeEventLogHead } from './eventlog-writer.js';
import type { EventLogMeta } from './eventlog-writer.js';
import { readInstanceFacts } from './instance-facts.js';
import type { InstanceFactsTable } from './instance-facts.js';
import { createSimClock } from './sim-clock.js';
import type { SimClock } from './sim-clock.js';
import type { Workload } from './workload.js';

/** Picks the workload a step replays; `step` is undefined for a cluster without steps. */
export type WorkloadChooser = (cluster: ClusterRecord, step: StepRecord | undefined) => Workload;

export type SandboxPlatformOptions = {
  /** Where event logs go (s3:// and file:// URLs; s3a:// in spark.eventLog.dir is written as s3://). */
  objects: ObjectStore;
  /**
   * Workloads by name: a step replays the one named by the cluster tag `sync:sandbox-workload`,
   * else the first whose name appears in the step's name or arguments, else the first listed.
   */
  workloads: Record<string, Workload> | WorkloadChooser;
  /** Simulated seconds per real second (600: a 20-minute run takes 2 s). */
  timeScale: number;
  /**
   * The world seed (default 1): instance speeds and every workload's hidden parameters are drawn
   * from it, and each cluster's noise seed derives from it.
   */
  seed?: number;
  /** Every "EMR Cluster State Change" event, in order (awaited one at a time). */
  onEvent?: (event: EventBridgeEvent<ClusterStateChangeDetail> | EventBridgeEvent<Record<string, string>>) => void | Promise<void>;
  /** Failures of onEvent and of event-log writes (default: ignored; they never stop a cluster). */
  onError?: (error: unknown, context: string) => void;
  region?: string;
  account?: string;
  port?: number;
  /** Simulated time at start (epoch ms; default real now). */
  startAt?: number;
  /** Instance hardware facts (default: data/instances.json). */
  instances?: InstanceFactsTable;
  /** Access key ids the EMR server accepts (default: any signed request). */
  accessKeyIds?: string[];
};

/** One Spark application the sandbox ran. Times are simulated epoch ms. */
export type SandboxApplication = {
  stepId?: string;
  workload: string;
  appId: string;
  eventLogUrl?: string;
  appStartedAt: number;
  appEndedAt: number;
  applicationSeconds: number;
  /** Executors YARN could place at once (the cluster's capacity for this executor size). */
  executors: number;
  /** Executors started over the run (more than `executors` when dynamic allocation released idle ones and asked again). */
  executorsStarted: number;
  executorCores: number;
  executorMemoryMb: number;
  tasks: number;
  stragglers: number;
  diskSpillBytes: number;
};

/** What the sandbox did with one cluster (ground truth, for comparing with predictions). */
export type SandboxRunSummary = {
  clusterId: string;
  name: string;
  tags: Record<string, string>;
  instanceType: string;
  nodes: number;
  /** The cluster's seed: a one-step cluster ran exactly runWorkload(workload, cluster, { seed, startedAt: createdAt, world }). */
  seed: number;
  /** The sandbox's world seed (instance speeds, hidden parameters). */
  world: number;
  state: string;
  createdAt: number;
  readyAt?: number;
  endedAt?: number;
  /** ReadyDateTime to EndDateTime, seconds (how the agent measures a run). */
  clusterSeconds?: number;
  /** Request to TERMINATED, seconds. */
  runtimeSeconds?: number;
  applications: SandboxApplication[];
  error?: string;
};

/** A running sandbox: an EMR endpoint plus the ground truth of everything it ran. */
export type SandboxPlatform = {
  /** The EMR endpoint (`http://host:port`). */
  url: string;
  server: EmrServer;
  /** The simulated clock (epoch ms): give it to anything that must agree with the cluster times. */
  clock: SimClock;
  /** Stops the clock, the server and waits for pending event deliveries; safe to call twice. */
  close(): Promise<void>;
  /** One summary per cluster, oldest first. */
  runs(): SandboxRunSummary[];
  /** The full simulated runs (every task) of one cluster's applications. */
  simulatedRuns(clusterId: string): SimulatedRun[];
};

const HELD = { startingMs: Infinity, bootstrappingMs: Infinity, runningMs: Infinity, terminatingMs: Infinity };

type ClusterPlan = { cluster: SandboxCluster; seed: number; starting: number; bootstrapping: number; stepEnd: number; terminating: number };

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Spark memory string ("4g", "4096m", "4096") in MiB. */
export function parseMemoryMb(v: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)b?\s*$/i.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase();
  const mb = unit === 'k' ? n / 1024 : unit === 'g' ? n * 1024 : unit === 't' ? n * 1024 * 1024 : n;
  return Math.floor(mb);
}

/** spark-defaults of the cluster's Configurations, then the step's own `--conf`/`--executor-*` flags. */
export function sparkConfOf(cluster: ClusterRecord, step: StepRecord | undefined): Record<string, string> {
  const conf: Record<string, string> = {};
  for (const c of cluster.configurations) {
    if (isObject(c) && c.Classification === 'spark-defaults' && isObject(c.Properties)) {
      for (const [k, v] of Object.entries(c.Properties)) if (typeof v === 'string') conf[k] = v;
    }
  }
  const args = step?.config.Args ?? [];
  const flags: Record<string, string> = { '--executor-cores': 'spark.executor.cores', '--executor-memory': 'spark.executor.memory', '--num-executors': 'spark.executor.instances' };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    if (a === '--conf' && next !== undefined) {
      const eq = next.indexOf('=');
      if (eq > 0) conf[next.slice(0, eq)] = next.slice(eq + 1);
      i++;
    } else if (a.startsWith('--conf=')) {
      const kv = a.slice('--conf='.length);
      const eq = kv.indexOf('=');
      if (eq > 0) conf[kv.slice(0, eq)] = kv.slice(eq + 1);
    } else if (flags[a] && next !== undefined) {
      conf[flags[a]] = next;
      i++;
    }
  }
  return conf;
}

/** The worker nodes of a cluster: the type most core/task nodes have, and how many nodes there are. */
export function workerNodesOf(cluster: ClusterRecord): { instanceType: string; nodes: number; masterType?: string } {
  const master = cluster.instances.find((i) => i.role === 'MASTER')?.instanceType;
  const workers = cluster.instances.filter((i) => i.role !== 'MASTER');
  if (workers.length === 0) {
    // A single-node cluster: YARN runs on the master.
    return master ? { instanceType: master, nodes: 1, masterType: master } : { instanceType: 'unknown', nodes: 0 };
  }
  const counts = new Map<string, number>();
  for (const w of workers) counts.set(w.instanceType, (counts.get(w.instanceType) ?? 0) + 1);
  const type = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  return master ? { instanceType: type, nodes: workers.length, masterType: master } : { instanceType: type, nodes: workers.length };
}

/** The sandbox cluster a step gets: worker nodes plus the Spark sizing its settings ask for. */
export function sandboxClusterOf(cluster: ClusterRecord, conf: Record<string, string>): SandboxCluster {
  const w = workerNodesOf(cluster);
  const out: SandboxCluster = { instanceType: w.instanceType, nodes: w.nodes, bootstrapActions: cluster.bootstrapActions.length };
  if (w.masterType !== undefined) out.masterType = w.masterType;
  const cores = Number(conf['spark.executor.cores']);
  if (Number.isInteger(cores) && cores > 0) out.executorCores = cores;
  const mem = conf['spark.executor.memory'] !== undefined ? parseMemoryMb(conf['spark.executor.memory']) : undefined;
  if (mem !== undefined && mem > 0) out.executorMemoryMb = mem;
  const inst = Number(conf['spark.executor.instances']);
  if (Number.isInteger(inst) && inst > 0) out.executorInstances = inst;
  const max = Number(conf['spark.dynamicAllocation.maxExecutors']);
  if (Number.isInteger(max) && max > 0) out.maxExecutors = max;
  const overhead = conf['spark.executor.memoryOverhead'] !== undefined ? parseMemoryMb(conf['spark.executor.memoryOverhead']) : undefined;
  if (overhead !== undefined && overhead > 0) out.executorMemoryOverheadMb = overhead;
  const partitions = Number(conf['spark.sql.shuffle.partitions']);
  if (Number.isInteger(partitions) && partitions > 0) out.shufflePartitions = partitions;
  const split = conf['spark.sql.files.maxPartitionBytes'] !== undefined ? Number(conf['spark.sql.files.maxPartitionBytes']) : NaN;
  if (Number.isFinite(split) && split > 0) out.maxPartitionBytes = split;
  if (conf['spark.sql.adaptive.enabled'] !== undefined) out.adaptive = conf['spark.sql.adaptive.enabled'].trim().toLowerCase() === 'true';
  if (conf['spark.dynamicAllocation.enabled'] !== undefined) out.dynamicAllocation = conf['spark.dynamicAllocation.enabled'].trim().toLowerCase() === 'true';
  const workers = cluster.instances.filter((i) => i.role !== 'MASTER');
  if (workers.some((i) => i.market === 'SPOT')) out.spotNodes = workers.map((i) => i.market === 'SPOT');
  return out;
}

/** Where the object store keeps a Spark event-log directory (s3a:// and s3n:// are s3://), or undefined (e.g. hdfs://). */
export function eventLogStoreUrl(dir: string | undefined): string | undefined {
  if (!dir) return undefined;
  const d = dir.trim().replace(/^s3[an]:\/\//, 's3://');
  if (!d.startsWith('s3://') && !d.startsWith('file://')) return undefined;
  return d.endsWith('/') ? d : d + '/';
}

/** A step runs a Spark application unless it is plainly another tool (s3-dist-cp, Hive, Pig, streaming). */
function isSparkStep(step: StepRecord): boolean {
  const text = [step.config.Jar, ...step.config.Args].join(' ').toLowerCase();
  return text.includes('spark') || !/s3-dist-cp|hive-script|pig-script|hadoop-streaming/.test(text);
}

function chooser(workloads: Record<string, Workload> | WorkloadChooser): WorkloadChooser {
  if (typeof workloads === 'function') return workloads;
  const names = Object.keys(workloads);
  if (names.length === 0) throw new SyncError('invalid_config', 'createSandboxPlatform: workloads must name at least one workload');
  return (cluster, step) => {
    const tagged = cluster.tags['sync:sandbox-workload'];
    if (tagged !== undefined) {
      const w = workloads[tagged];
      if (!w) throw new SyncError('invalid_request', `sync:sandbox-workload names '${tagged}', which the sandbox does not have (it has ${names.join(', ')})`);
      return w;
    }
    if (step) {
      const text = [step.name, ...step.config.Args].join(' ');
      const hit = names.find((n) => text.includes(n));
      if (hit) return workloads[hit]!;
    }
    return workloads[names[0]!]!;
  };
}

const pad4 = (n: number) => String(n).padStart(4, '0');

/** Starts the sandbox: an EMR server on loopback whose clusters replay workloads on simulated time. */
export async function createSandboxPlatform(opts: SandboxPlatformOptions): Promise<SandboxPlatform> {
  const clock = createSimClock(opts.startAt === undefined ? { timeScale: opts.timeScale } : { timeScale: opts.timeScale, start: opts.startAt });
  const instances = opts.instances ?? readInstanceFacts();
  const choose = chooser(opts.workloads);
  const baseSeed = opts.seed ?? 1;
  const region = opts.region ?? 'us-east-1';
  const account = opts.account ?? '123456789012';
  const onError = opts.onError ?? (() => {});
  const plans = new Map<string, ClusterPlan>();
  const summaries = new Map<string, SandboxRunSummary>();
  const simRuns = new Map<string, SimulatedRun[]>();
  const phaseAborts = new Map<string, AbortController>();
  let ordinal = 0;
  let events: Promise<void> = Promise.resolve();
  // The server is created below; callbacks only run after it exists.
  let server!: EmrServer;

  const phaseSignal = (id: string) => {
    phaseAborts.get(id)?.abort();
    const ac = new AbortController();
    phaseAborts.set(id, ac);
    return ac.signal;
  };
  const advanceAt = (id: string, at: number) => {
    clock.at(Math.round(at), () => void server.advance(id), phaseSignal(id)).catch(() => {});
  };

  const planFor = (c: ClusterRecord): ClusterPlan => {
    const seed = (baseSeed * 1_000_003 + ordinal++) >>> 0;
    const cluster = sandboxClusterOf(c, sparkConfOf(c, c.steps[0]));
    cluster.hosts = c.instances.filter((i) => i.role !== 'MASTER').map((i) => i.privateDns);
    const prov = provisioningSeconds(cluster, seed);
    const tail = teardownSeconds(cluster, seed);
    return { cluster, seed, starting: prov.starting, bootstrapping: prov.bootstrapping, stepEnd: tail.stepEnd, terminating: tail.terminating };
  };

  const onStateChange = (c: ClusterRecord) => {
    // STARTING is reported at the request's own timestamp; later states at their exact simulated times.
    const now = c.state === 'STARTING' ? c.createdAt : clock.now();
    if (opts.onEvent) {
      const event = eventBridgeClusterEvent(c, region, account, now);
      const deliver = opts.onEvent;
      events = events.then(() => deliver(event)).catch((e: unknown) => onError(e, `onEvent ${c.id} ${c.state}`));
    }
    let plan = plans.get(c.id);
    if (!plan) {
      plan = planFor(c);
      plans.set(c.id, plan);
      const w = workerNodesOf(c);
      summaries.set(c.id, { clusterId: c.id, name: c.name, tags: { ...c.tags }, instanceType: w.instanceType, nodes: w.nodes, seed: plan.seed, world: baseSeed, state: c.state, createdAt: c.createdAt, applications: [] });
    }
    const summary = summaries.get(c.id)!;
    summary.state = c.state;
    switch (c.state) {
      case 'STARTING':
        advanceAt(c.id, c.createdAt + Math.round(plan.starting * 1000));
        break;
      case 'BOOTSTRAPPING':
        advanceAt(c.id, now + Math.round(plan.bootstrapping * 1000));
        break;
      case 'RUNNING':
        if (c.readyAt !== undefined) summary.readyAt = c.readyAt;
        break;
      case 'TERMINATING':
        advanceAt(c.id, now + Math.round(plan.terminating * 1000));
        break;
      case 'TERMINATED':
      case 'TERMINATED_WITH_ERRORS':
        phaseAborts.delete(c.id);
        if (c.endedAt !== undefined) summary.endedAt = c.endedAt;
        if (summary.readyAt !== undefined && summary.endedAt !== undefined) summary.clusterSeconds = (summary.endedAt - summary.readyAt) / 1000;
        if (summary.endedAt !== undefined) summary.runtimeSeconds = (summary.endedAt - summary.createdAt) / 1000;
        if (c.state === 'TERMINATED_WITH_ERRORS' && c.reason.Message) summary.error = c.reason.Message;
        break;
      default:
        break;
    }
  };

  // Steps report their own changes too ("EMR Step Status Change"), in order with the cluster's.
  const onStepChange = (c: ClusterRecord, step: StepRecord) => {
    if (!opts.onEvent) return;
    const event = eventBridgeStepEvent(c, step, region, account, clock.now());
    const deliver = opts.onEvent;
    events = events.then(() => deliver(event)).catch((e: unknown) => onError(e, `onEvent ${c.id} ${step.id} ${step.state}`));
  };

  const put = async (url: string, body: string, signal: AbortSignal) => {
    try {
      await opts.objects.put(url, body, { signal, contentType: 'application/octet-stream' });
    } catch (e) {
      onError(e, `writing ${url}`);
    }
  };

  /** Runs one step's application; resolves at the step's end (simulated), having advanced the server unless it was the last. */
  const runStep = async (c: ClusterRecord, step: StepRecord | undefined, k: number, isLast: boolean, signal: AbortSignal): Promise<void> => {
    const plan = plans.get(c.id)!;
    const start = clock.now();
    const logs =
      step && c.logUri !== undefined
        ? startStepLogs({ objects: opts.objects, clock, prefix: stepLogPrefix(c.logUri, c.id, step.id), step: { id: step.id, name: step.name, args: step.config.Args }, start, signal, onError })
        : undefined;
    // The step's last log part is uploaded before the step is seen to end.
    const commitEnd = async () => {
      await logs?.close(clock.now());
      if (!isLast) server.advance(c.id);
    };
    try {
      await runStepWork(c, step, k, isLast, signal, plan, start, commitEnd);
      await logs?.close(clock.now());
    } catch (e) {
      await logs?.close(clock.now(), e instanceof Error ? e.message : String(e));
      throw e;
    }
  };

  const runStepWork = async (
    c: ClusterRecord,
    step: StepRecord | undefined,
    k: number,
    isLast: boolean,
    signal: AbortSignal,
    plan: ClusterPlan,
    start: number,
    commitEnd: () => Promise<void>,
  ): Promise<void> => {
    if (step && !isSparkStep(step)) {
      await clock.at(start + 20_000, commitEnd, signal);
      return;
    }
    const conf = sparkConfOf(c, step);
    const cluster = sandboxClusterOf(c, conf);
    cluster.hosts = plan.cluster.hosts ?? [];
    const workload = choose(c, step);
    let layout;
    try {
      layout = planExecutors(cluster, instances);
    } catch (e) {
      // spark-submit gives up after starting its JVM and asking YARN.
      await clock.at(start + 8_000, () => {}, signal);
      throw e;
    }
    // The first step uses the cluster's seed, so a one-step cluster is exactly runWorkload(workload, cluster, { seed }).
    const seed = (plan.seed + 7919 * k) >>> 0;
    const app = runApplication(workload, layout, { seed, submittedAt: start, world: baseSeed, hosts: cluster.hosts });
    const rmStart = (c.readyAt ?? start) - 30_000;
    const appId = `application_${rmStart}_${pad4(k + 1)}`;
    const dirConf = conf['spark.eventLog.enabled'] === 'false' ? undefined : conf['spark.eventLog.dir'];
    const dir = eventLogStoreUrl(dirConf);
    const stepEnd = app.appEndedAt + Math.round(plan.stepEnd * 1000);
    const readyAt = c.readyAt ?? start;
    const run = assembleRun(workload, cluster, layout, seed, app, {
      createdAt: c.createdAt,
      bootstrappingAt: c.createdAt + Math.round(plan.starting * 1000),
      readyAt,
      stepStartedAt: start,
      stepEndedAt: stepEnd,
      terminatingAt: isLast ? stepEnd : app.appEndedAt,
      // For steps before the last, the cluster's end is not known yet: the step's end stands in.
      endedAt: isLast ? stepEnd + Math.round(plan.terminating * 1000) : stepEnd,
    });
    const list = simRuns.get(c.id) ?? [];
    list.push(run);
    simRuns.set(c.id, list);
    const meta: EventLogMeta = { appId, appName: workload.appName, driverHost: c.instances.find((i) => i.role === 'MASTER')?.privateDns ?? 'ip-10-0-0-10.ec2.internal' };
    if (dirConf !== undefined) meta.eventLogDir = dirConf;
    const application: SandboxApplication = {
      workload: workload.name,
      appId,
      appStartedAt: app.appStartedAt,
      appEndedAt: app.appEndedAt,
      applicationSeconds: run.totals.applicationSeconds,
      executors: layout.executors,
      executorsStarted: app.executors.length,
      executorCores: layout.executorCores,
      executorMemoryMb: layout.executorMemoryMb,
      tasks: app.tasks.length,
      stragglers: run.totals.stragglers,
      diskSpillBytes: run.totals.diskSpillBytes,
    };
    if (step) application.stepId = step.id;
    if (dir) application.eventLogUrl = dir + appId;
    summaries.get(c.id)?.applications.push(application);
    if (dir) {
      const inProgress = `${dir}${appId}.inprogress`;
      await clock.at(app.appStartedAt, () => put(inProgress, writeEventLogHead(run, workload, meta), signal), signal);
      // Spark on S3 "renames" at the end: the final object is written, the .inprogress one deleted.
      await clock.at(
        stepEnd,
        async () => {
          await put(dir + appId, writeEventLog(run, workload, meta), signal);
          await opts.objects.delete(inProgress, { signal }).catch((e: unknown) => onError(e, `deleting ${inProgress}`));
          if (!app.failure) await commitEnd();
        },
        signal,
      );
    } else {
      await clock.at(stepEnd, () => (app.failure ? undefined : commitEnd()), signal);
    }
    // The application failed (its log is written, as Spark writes it): spark-submit exits non-zero.
    if (app.failure) throw new SyncError('internal', `Application ${appId} finished with failed status: ${app.failure}`);
  };

  const onStepsRun = async (c: ClusterRecord, signal: AbortSignal): Promise<void> => {
    const steps = c.steps.filter((s) => s.state === 'RUNNING' || s.state === 'PENDING');
    if (steps.length === 0) {
      await runStep(c, undefined, 0, true, signal);
    } else {
      for (const [k, step] of steps.entries()) await runStep(c, step, c.steps.indexOf(step), k === steps.length - 1, signal);
    }
    // The last step's runningMs wait ends now, together with the work.
    server.advance(c.id);
  };

  server = await createEmrServer({
    region,
    account,
    timeline: HELD,
    clock: { now: () => clock.now() },
    onStateChange,
    onStepChange,
    onStepsRun,
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.accessKeyIds ? { accessKeyIds: opts.accessKeyIds } : {}),
  });

  let closed: Promise<void> | undefined;
  return {
    url: server.url,
    server,
    clock,
    close() {
      closed ??= (async () => {
        clock.close();
        await server.close();
        await events;
      })();
      return closed;
    },
    runs: () => [...summaries.values()].map((s) => structuredClone(s)),
    simulatedRuns: (id) => simRuns.get(id) ?? [],
  };
}
