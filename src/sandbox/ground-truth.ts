// The sandbox's "reality": how a workload actually runs on an EMR cluster. Deliberately its own
// model (not the prediction engine's): EMR provisioning, YARN packing by memory with EMR's
// defaults, a dynamic-allocation ramp, task-level list scheduling with lognormal noise, stragglers,
// per-node speed, the sandbox's own instance speeds (instance-performance.ts, never the engine's
// CoreMark), per-workload hidden parameters (hidden-parameters.ts), network-bound remote shuffle and
// storage reads, spill and GC when execution memory per task is short, OutOfMemoryError below a
// memory floor (retried, then the application fails). Pure and seeded: the same inputs give the same run.
import { SyncError } from '../domain/errors.js';
import { hiddenParameters } from './hidden-parameters.js';
import type { HiddenParameters } from './hidden-parameters.js';
import type { InstanceFacts, InstanceFactsTable } from './instance-facts.js';
import { instancePerformance } from './instance-performance.js';
import { createRng } from './rng.js';
import { quantileAt, quantileMean } from './workload.js';
import type { Workload, WorkloadStage } from './workload.js';

/** The cluster a run gets: core/task nodes of one type, plus the Spark sizing the request asked for. */
export type SandboxCluster = {
  instanceType: string;
  /** Core + task nodes (the master runs only the driver). */
  nodes: number;
  executorCores?: number;
  executorMemoryMb?: number;
  /** spark.executor.instances: a cap on executors (and the static count without dynamic allocation). */
  executorInstances?: number;
  /** spark.dynamicAllocation.enabled (EMR's default: true). */
  dynamicAllocation?: boolean;
  /** spark.dynamicAllocation.maxExecutors: a cap on executors with dynamic allocation. */
  maxExecutors?: number;
  /** spark.executor.memoryOverhead (default max(384 MB, 10%)). */
  executorMemoryOverheadMb?: number;
  /** spark.sql.shuffle.partitions, when the request sets it (else each stage's own task count). */
  shufflePartitions?: number;
  /** spark.sql.files.maxPartitionBytes, when the request sets it (else 128 MiB, the workload's own split). */
  maxPartitionBytes?: number;
  /** spark.sql.adaptive.enabled (default true: partitions are coalesced to the advisory size). */
  adaptive?: boolean;
  masterType?: string;
  bootstrapActions?: number;
  /** Private DNS names of the core/task nodes (executor hosts in the event log); default ip-10-0-1-N. */
  hosts?: string[];
  /** Per core/task node: bought on the spot market (it may be interrupted). */
  spotNodes?: boolean[];
};

export type GroundTruthOptions = {
  seed: number;
  /** Epoch ms the cluster was requested (RunJobFlow). */
  startedAt: number;
  instances: InstanceFactsTable;
  /** The world: instance speeds and the workload's hidden parameters are drawn from it (default 1). */
  world?: number;
  /** Overrides the hidden parameters drawn for the workload (tests isolating one effect). */
  hidden?: HiddenParameters;
};

/** How YARN placed the executors. */
export type ExecutorLayout = {
  instance: InstanceFacts;
  nodes: number;
  yarnMemoryMb: number;
  executorCores: number;
  executorMemoryMb: number;
  memoryOverheadMb: number;
  executorsPerNode: number[];
  executors: number;
  dynamicAllocation: boolean;
  /** Unified execution memory one running task can use, bytes. */
  executionMemoryPerTaskBytes: number;
};

export type SimExecutor = { id: string; node: number; host: string; cores: number; addedAt: number; removedAt: number; removedReason?: string };

/** One task attempt as it ran. Times epoch ms; byte counts; CPU time in ns as Spark logs it. */
export type SimTask = {
  taskId: number;
  stageId: number;
  index: number;
  executor: number;
  launchedAt: number;
  finishedAt: number;
  runMs: number;
  cpuNs: number;
  gcMs: number;
  deserializeMs: number;
  resultSerializationMs: number;
  inputBytes: number;
  outputBytes: number;
  shuffleReadBytes: number;
  shuffleRemoteBytes: number;
  fetchWaitMs: number;
  shuffleWriteBytes: number;
  shuffleWriteNs: number;
  memorySpillBytes: number;
  diskSpillBytes: number;
  peakExecutionMemoryBytes: number;
  straggler: boolean;
  /** Attempt number of this task index (0 first; a retry after a failure counts up). */
  attempt: number;
  /** Why the attempt failed (undefined: it succeeded): OutOfMemoryError, or its executor was lost (spot interruption). */
  failure?: 'oom' | 'executor-lost';
};

export type SimStage = { id: number; name: string; jobId: number; parents: number[]; tasks: number; submittedAt: number; completedAt: number; failed?: boolean };
export type SimJob = { id: number; stages: number[]; submittedAt: number; completedAt: number; failed?: boolean };

/** One application run on one cluster: the ground truth the sandbox reports and logs. */
export type SimulatedRun = {
  workload: string;
  appName: string;
  seed: number;
  cluster: SandboxCluster;
  layout: ExecutorLayout;
  /** Epoch ms of each milestone. */
  timeline: {
    createdAt: number;
    bootstrappingAt: number;
    readyAt: number;
    stepStartedAt: number;
    appStartedAt: number;
    appEndedAt: number;
    stepEndedAt: number;
    terminatingAt: number;
    endedAt: number;
  };
  executors: SimExecutor[];
  jobs: SimJob[];
  stages: SimStage[];
  tasks: SimTask[];
  totals: {
    /** Request to TERMINATED, seconds. */
    runtimeSeconds: number;
    /** ReadyDateTime to EndDateTime, seconds (what the agent records as the run's runtime). */
    clusterSeconds: number;
    applicationSeconds: number;
    provisioningSeconds: number;
    tasks: number;
    stragglers: number;
    diskSpillBytes: number;
    gcSeconds: number;
    /** Failed task attempts (OutOfMemoryError or lost with their executor). */
    failedTasks: number;
    /** Spot nodes interrupted while the application ran. */
    interruptedNodes: number;
  };
  /** Why the application failed (a task failed spark.task.maxFailures times); undefined when it succeeded. */
  failure?: string;
};

/** Constants of the sandbox's reality (documented assumptions, not measurements). */
export const GROUND_TRUTH = {
  memoryFraction: 0.6,
  reservedMemoryMb: 300,
  taskNoiseSigma: 0.14,
  ioNoiseSigma: 0.22,
  nodeSpeedSigma: 0.06,
  runNoiseSigma: 0.03,
  /** Network of the reference node (m5.xlarge: 1.25 Gbit/s baseline) shared by its 4 busy cores, bytes/s per core. */
  referenceNetworkBytesPerCore: 1.25e9 / 8 / 4,
  /** Bytes of spilled (deserialized) data serialized per reference-CPU second. */
  spillSerializeBytesPerSecond: 250e6,
  /** Serialized, compressed share of spilled data written to disk. */
  spillDiskRatio: 0.45,
  /** Per fetch request to each executor holding map output, ms. */
  fetchRequestMs: 1.2,
  /** First task of an executor pays class loading and JIT warm-up, ms. */
  warmupMs: 800,
  /** AQE's spark.sql.adaptive.advisoryPartitionSizeInBytes (Spark's default 64 MiB): small partitions are coalesced to it. */
  advisoryPartitionBytes: 64 * 1024 * 1024,
  /** spark.sql.files.maxPartitionBytes the workloads were recorded with (Spark's default). */
  defaultMaxPartitionBytes: 128 * 1024 * 1024,
  /** spark.dynamicAllocation.executorIdleTimeout (Spark's default), ms. */
  idleTimeoutMs: 60_000,
} as const;

export { createRng } from './rng.js';
export type { Rng } from './rng.js';
/** spark.task.maxFailures: attempts of one task before its job (and here the application) fails. */
export const MAX_TASK_FAILURES = 4;

// ---- cluster sizing --------------------------------------------------------------------------

/** Memory YARN may hand out on a node (EMR leaves the rest to the OS and daemons). */
export function yarnMemoryMb(instance: InstanceFacts): number {
  const mb = instance.memoryGib * 1024;
  const share = instance.memoryGib <= 32 ? 0.75 : instance.memoryGib <= 64 ? 0.875 : 0.92;
  return Math.floor((mb * share) / 32) * 32;
}

const overheadOf = (memMb: number) => Math.max(384, Math.ceil(memMb * 0.1));
/** client-mode ApplicationMaster: 512 MB + 384 MB overhead, rounded to YARN's 1 GB steps on EMR. */
const AM_CONTAINER_MB = 1024;

/**
 * Places executors the way YARN with EMR's defaults would: containers packed by memory only
 * (DefaultResourceCalculator), the ApplicationMaster on the first node, EMR's default executor
 * size (up to 4 cores, memory so that vCPU/cores executors and the AM fit) when the request names
 * none; an explicit executor size may leave the AM's node one executor short.
 * Throws SyncError 'invalid_request' (spark-submit's own message) when one executor cannot fit a node.
 */
export function planExecutors(cluster: SandboxCluster, instances: InstanceFactsTable): ExecutorLayout {
  const instance = instances[cluster.instanceType];
  if (!instance) throw new SyncError('invalid_request', `The instance type '${cluster.instanceType}' is not supported by the sandbox (no catalog entry).`);
  if (!Number.isInteger(cluster.nodes) || cluster.nodes < 1) throw new SyncError('invalid_request', `A Spark cluster needs at least one core or task node, got ${cluster.nodes}.`);
  const yarnMb = yarnMemoryMb(instance);
  const cores = cluster.executorCores ?? Math.min(4, instance.vcpu);
  const perNodeDefault = Math.max(1, Math.floor(instance.vcpu / cores));
  // EMR's default size leaves room for the ApplicationMaster beside a full node of executors.
  const memMb = cluster.executorMemoryMb ?? Math.floor((yarnMb - AM_CONTAINER_MB) / perNodeDefault / 1.1);
  const overhead = cluster.executorMemoryOverheadMb ?? overheadOf(memMb);
  const container = memMb + overhead;
  if (container > yarnMb) {
    throw new SyncError(
      'invalid_request',
      `Required executor memory (${memMb} MB), offHeap memory (0) MB, overhead (${overhead} MB), and PySpark memory (0 MB) is above the max threshold (${yarnMb} MB) of this cluster! Please check the values of 'yarn.scheduler.maximum-allocation-mb' and/or 'yarn.nodemanager.resource.memory-mb'.`,
    );
  }
  const dynamic = cluster.dynamicAllocation ?? true;
  const cap = dynamic ? (cluster.maxExecutors ?? Infinity) : (cluster.executorInstances ?? Infinity);
  const perNode: number[] = [];
  let total = 0;
  for (let n = 0; n < cluster.nodes; n++) {
    const free = yarnMb - (n === 0 ? AM_CONTAINER_MB : 0);
    const fit = Math.floor(free / container);
    const take = Math.max(0, Math.min(fit, cap - total));
    perNode.push(take);
    total += take;
  }
  if (total === 0) throw new SyncError('invalid_request', `No executor of ${container} MB fits beside the ApplicationMaster on ${cluster.nodes} x ${cluster.instanceType}.`);
  const execution = ((memMb - GROUND_TRUTH.reservedMemoryMb) * 1024 * 1024 * GROUND_TRUTH.memoryFraction) / cores;
  return {
    instance,
    nodes: cluster.nodes,
    yarnMemoryMb: yarnMb,
    executorCores: cores,
    executorMemoryMb: memMb,
    memoryOverheadMb: overhead,
    executorsPerNode: perNode,
    executors: total,
    dynamicAllocation: dynamic,
    executionMemoryPerTaskBytes: Math.max(0, Math.round(execution)),
  };
}

// ---- the run -----------------------------------------------------------------------------------

/** A min-heap on `at` of free executor cores. */
class SlotHeap {
  private readonly items: { at: number; executor: number }[] = [];
  get size() {
    return this.items.length;
  }
  push(x: { at: number; executor: number }) {
    const a = this.items;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.at < x.at || (a[p]!.at === x.at && a[p]!.executor <= x.executor)) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = x;
  }
  pop(): { at: number; executor: number } | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || !last) return top;
    const less = (x: { at: number; executor: number }, y: { at: number; executor: number }) => x.at < y.at || (x.at === y.at && x.executor < y.executor);
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = last;
      let mi = -1;
      if (l < a.length && less(a[l]!, m)) (m = a[l]!), (mi = l);
      if (r < a.length && less(a[r]!, m)) (m = a[r]!), (mi = r);
      if (mi < 0) break;
      a[i] = m;
      i = mi;
    }
    a[i] = last;
    return top;
  }
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
/** Largest finish time (a loop: stages may have more tasks than a spread call takes arguments). */
const lastFinish = (tasks: SimTask[]) => tasks.reduce((m, t) => (t.finishedAt > m ? t.finishedAt : m), -Infinity);

/** Seconds EMR spends in STARTING and BOOTSTRAPPING for this cluster. */
export function provisioningSeconds(cluster: SandboxCluster, seed: number): { starting: number; bootstrapping: number } {
  const rng = createRng(seed, 'provisioning');
  const starting = rng.lognormal(230, 0.1) + 4 * Math.pow(cluster.nodes, 0.8);
  const bootstrapping = rng.lognormal(95, 0.12) + 20 * (cluster.bootstrapActions ?? 0) + 0.5 * cluster.nodes;
  return { starting, bootstrapping };
}

/** Seconds from the application's end to its step's end (spark-submit exits), and in TERMINATING. */
export function teardownSeconds(cluster: SandboxCluster, seed: number): { stepEnd: number; terminating: number } {
  const rng = createRng(seed, 'teardown');
  return { stepEnd: rng.lognormal(2.5, 0.2), terminating: rng.lognormal(50, 0.15) + 1.5 * cluster.nodes };
}

/**
 * Runs `workload` on `cluster` as EMR would: the cluster is requested at `startedAt`, provisioned,
 * runs the application as its step, and terminates. Throws SyncError 'invalid_request' when the
 * application cannot start on that cluster (see planExecutors).
 */
export function runWorkload(workload: Workload, cluster: SandboxCluster, options: GroundTruthOptions): SimulatedRun {
  const layout = planExecutors(cluster, options.instances);
  const prov = provisioningSeconds(cluster, options.seed);
  const createdAt = options.startedAt;
  const bootstrappingAt = createdAt + Math.round(prov.starting * 1000);
  const readyAt = bootstrappingAt + Math.round(prov.bootstrapping * 1000);
  const stepStartedAt = readyAt;
  const app = runApplication(withPartitioning(workload, cluster, options.hidden ?? hiddenParameters(workload.name, options.world ?? 1)), layout, {
    seed: options.seed,
    submittedAt: stepStartedAt,
    ...(options.world !== undefined ? { world: options.world } : {}),
    ...(options.hidden ? { hidden: options.hidden } : {}),
    ...(cluster.hosts ? { hosts: cluster.hosts } : {}),
    ...(cluster.spotNodes ? { spotNodes: cluster.spotNodes } : {}),
  });
  const tail = teardownSeconds(cluster, options.seed);
  const stepEndedAt = app.appEndedAt + Math.round(tail.stepEnd * 1000);
  const endedAt = stepEndedAt + Math.round(tail.terminating * 1000);
  return assembleRun(workload, cluster, layout, options.seed, app, { createdAt, bootstrappingAt, readyAt, stepStartedAt, stepEndedAt, terminatingAt: stepEndedAt, endedAt });
}

/**
 * The workload as the request's partitioning settings cut it: with spark.sql.shuffle.partitions set,
 * every stage that reads a shuffle runs that many tasks (AQE, on by default, coalesces them back to
 * the advisory size when they are smaller); with spark.sql.files.maxPartitionBytes set, scans split
 * their input by it. A task's time is its fixed part (hidden taskFixedSeconds, which smaller
 * partitions do not shrink) plus its share of the data; its execution memory follows its share.
 * Unset settings leave the workload as recorded.
 */
export function withPartitioning(workload: Workload, cluster: Pick<SandboxCluster, 'shufflePartitions' | 'maxPartitionBytes' | 'adaptive'>, hidden: HiddenParameters): Workload {
  const shuffle = cluster.shufflePartitions;
  const split = cluster.maxPartitionBytes;
  if (shuffle === undefined && split === undefined) return workload;
  const adaptive = cluster.adaptive ?? true;
  const stages = workload.stages.map((s) => {
    let tasks = s.tasks;
    if (shuffle !== undefined && s.shuffleReadBytes > 0) {
      const coalesced = Math.max(1, Math.ceil((s.shuffleReadBytes * hidden.shuffleScale) / GROUND_TRUTH.advisoryPartitionBytes));
      tasks = adaptive ? Math.min(shuffle, Math.max(s.tasks, coalesced)) : shuffle;
    } else if (split !== undefined && s.inputBytes > 0 && s.shuffleReadBytes === 0) {
      tasks = Math.max(1, Math.round((s.tasks * GROUND_TRUTH.defaultMaxPartitionBytes) / split));
    }
    if (tasks === s.tasks) return s;
    const share = s.tasks / tasks;
    const fixed = Math.min(hidden.taskFixedSeconds, 0.5 * (s.taskSeconds[0] ?? 0));
    return {
      ...s,
      tasks,
      taskSeconds: s.taskSeconds.map((x) => fixed + Math.max(0, x - fixed) * share),
      taskMemoryBytes: Math.round(s.taskMemoryBytes * share),
    };
  });
  return { ...workload, stages };
}

/** What runApplication returns: the application's own timeline, executors, jobs, stages and tasks. */
export type ApplicationRun = ReturnType<typeof runApplication>;

/** A SimulatedRun from an application run and the cluster milestones around it (totals computed here). */
export function assembleRun(
  workload: Workload,
  cluster: SandboxCluster,
  layout: ExecutorLayout,
  seed: number,
  app: ApplicationRun,
  m: Omit<SimulatedRun['timeline'], 'appStartedAt' | 'appEndedAt'>,
): SimulatedRun {
  let stragglers = 0, spill = 0, gc = 0, failed = 0;
  for (const t of app.tasks) {
    if (t.straggler) stragglers++;
    if (t.failure) failed++;
    spill += t.diskSpillBytes;
    gc += t.gcMs;
  }
  const run: SimulatedRun = {
    workload: workload.name,
    appName: workload.appName,
    seed,
    cluster: { ...cluster },
    layout,
    timeline: { ...m, appStartedAt: app.appStartedAt, appEndedAt: app.appEndedAt },
    executors: app.executors,
    jobs: app.jobs,
    stages: app.stages,
    tasks: app.tasks,
    totals: {
      runtimeSeconds: (m.endedAt - m.createdAt) / 1000,
      clusterSeconds: (m.endedAt - m.readyAt) / 1000,
      applicationSeconds: (app.appEndedAt - app.appStartedAt) / 1000,
      provisioningSeconds: (m.readyAt - m.createdAt) / 1000,
      tasks: app.tasks.length,
      stragglers,
      diskSpillBytes: spill,
      gcSeconds: gc / 1000,
      failedTasks: failed,
      interruptedNodes: new Set(app.executors.filter((e) => e.removedReason?.includes('spot')).map((e) => e.node)).size,
    },
  };
  if (app.failure !== undefined) run.failure = app.failure;
  return run;
}

/** The application part of a run: spark-submit at `submittedAt` to the application's end. */
export function runApplication(
  workload: Workload,
  layout: ExecutorLayout,
  opts: { seed: number; submittedAt: number; world?: number; hidden?: HiddenParameters; hosts?: string[]; spotNodes?: boolean[] },
): {
  appStartedAt: number;
  appEndedAt: number;
  executors: SimExecutor[];
  jobs: SimJob[];
  stages: SimStage[];
  tasks: SimTask[];
  failure?: string;
} {
  const rng = createRng(opts.seed, `app:${workload.name}`);
  const taskRng = createRng(opts.seed, `tasks:${workload.name}`);
  const inst = layout.instance;
  const world = opts.world ?? 1;
  const hidden = opts.hidden ?? hiddenParameters(workload.name, world);
  const perf = instancePerformance(inst.instanceType, inst.vcpu, world);
  const hostOf = (node: number) => opts.hosts?.[node] ?? `ip-10-0-1-${10 + node}.ec2.internal`;
  const runFactor = rng.lognormal(1, GROUND_TRUTH.runNoiseSigma);
  const nodeSpeed = layout.executorsPerNode.map(() => rng.lognormal(1, GROUND_TRUTH.nodeSpeedSigma));
  // spark-submit, JVM start, YARN ApplicationMaster registration.
  const appStartedAt = opts.submittedAt + Math.round(rng.lognormal(9000, 0.2));
  const firstJobAt = appStartedAt + Math.round(workload.driverStartSeconds * 1000);
  // Spot nodes are interrupted at exponential times (rate per node-hour); EMR does not replace them within the run.
  const spotRng = createRng(opts.seed, 'spot');
  const deadAt = layout.executorsPerNode.map((_, n) => {
    const u = spotRng.next();
    if (!opts.spotNodes?.[n] || hidden.spotInterruptionsPerNodeHour <= 0) return Infinity;
    return appStartedAt + Math.round((-Math.log(Math.max(u, 1e-12)) / hidden.spotInterruptionsPerNodeHour) * 3_600_000);
  });

  // Executors: requested at the start (static) or by the dynamic-allocation ramp once the first job
  // has a backlog (1, 2, 4, ... more per second), each starting after container launch + JVM start.
  const executors: SimExecutor[] = [];
  const order: number[] = [];
  const maxNode = Math.max(...layout.executorsPerNode);
  for (let k = 0; k < maxNode; k++) for (let n = 0; n < layout.nodes; n++) if (k < layout.executorsPerNode[n]!) order.push(n);
  let requested = 0;
  let round = 0;
  const requestBase = layout.dynamicAllocation ? firstJobAt + 1000 : appStartedAt + 2000;
  while (requested < order.length) {
    const batch = layout.dynamicAllocation ? Math.pow(2, round) : order.length;
    const at = requestBase + round * 1000;
    for (let b = 0; b < batch && requested < order.length; b++, requested++) {
      const node = order[requested]!;
      const launch = at + 1000 * rng.next() + rng.lognormal(5200, 0.25) * nodeSpeed[node]!;
      executors.push({ id: String(requested + 1), node, host: hostOf(node), cores: layout.executorCores, addedAt: Math.round(launch), removedAt: 0 });
    }
    round++;
  }
  const coresOnNode = layout.executorsPerNode.map((e) => e * layout.executorCores);
  const contention = coresOnNode.map((c) => Math.max(1, c / inst.vcpu));
  // CPU time on this instance per reference CPU-second: the core-speed part and the memory-stall part.
  const cpuTime = (1 - hidden.memoryStall) / perf.cpuSpeed + hidden.memoryStall / perf.memoryBandwidth;
  const executorContention = 1 + hidden.coreContention * (layout.executorCores - 1);
  const netPerTask = coresOnNode.map((c) => (perf.networkBytesPerSecond * hidden.networkEfficiency) / Math.max(1, c));
  // The bandwidth part of I/O waits stretches with less network per busy core than the reference's.
  const ioStretch = netPerTask.map((n) => 1 - hidden.ioBandwidthShare + hidden.ioBandwidthShare * ((GROUND_TRUTH.referenceNetworkBytesPerCore * hidden.networkEfficiency) / Math.max(1, n)));
  const diskPerTask = coresOnNode.map((c) => perf.diskBytesPerSecond / Math.max(1, c));
  const remoteShare = layout.nodes > 1 ? 1 - 1 / layout.nodes : 0;
  const stagesById = new Map<number, WorkloadStage>(workload.stages.map((s) => [s.id, s]));

  const jobs: SimJob[] = [];
  const stages: SimStage[] = [];
  let failure: string | undefined;
  const tasks: SimTask[] = [];
  const warm = new Set<number>();
  // Heap entries and slotFree are per executor *seat* (a container slot on a node); with dynamic
  // allocation an executor idle for executorIdleTimeout is released and its seat later refilled by
  // a newly requested executor (new id, new start-up, new JIT warm-up).
  const seatExec = executors.map((_, i) => i);
  const busyUntil = executors.map((e) => e.addedAt);
  let taskId = 0;
  let t = firstJobAt;
  const slots = new SlotHeap();
  const slotFree: number[][] = executors.map((e) => new Array<number>(e.cores).fill(e.addedAt));

  for (const [ji, job] of workload.jobs.entries()) {
    const submittedAt = ji === 0 ? firstJobAt : t + Math.round(job.gapBeforeSeconds * 1000);
    const inJob = job.stages.map((id) => stagesById.get(id)!).filter(Boolean);
    const readyAt = new Map<number, number>();
    const doneAt = new Map<number, number>();
    const remaining = new Map<number, Pending[]>();
    for (const s of inJob) {
      // Task sizes keep the observed distribution: a shuffled, evenly spaced walk through its quantiles.
      const u = Array.from({ length: s.tasks }, (_, i) => (i + 0.5) / s.tasks);
      for (let i = u.length - 1; i > 0; i--) {
        const j = Math.floor(taskRng.next() * (i + 1));
        [u[i], u[j]] = [u[j]!, u[i]!];
      }
      remaining.set(s.id, u.map((q, k) => ({ u: q, index: s.tasks - 1 - k, attempt: 0, failures: 0 })));
      if (s.parents.every((p) => !job.stages.includes(p))) readyAt.set(s.id, submittedAt + 20);
    }
    // Rebuild the slot heap from the executors' cores at the job's start.
    while (slots.size > 0) slots.pop();
    for (const [e, frees] of slotFree.entries()) for (const f of frees) slots.push({ at: f, executor: e });
    const stageTasks = new Map<number, SimTask[]>();
    let left = inJob.reduce((n, s) => n + s.tasks, 0);
    const perTaskMean = new Map(inJob.map((s) => [s.id, quantileMean(s.taskSeconds)]));
    while (left > 0 && failure === undefined) {
      const slot = slots.pop();
      if (!slot) {
        failure = `Job aborted: no executor left to run stage tasks (every node was lost to spot interruptions)`;
        for (const x of inJob) {
          const ran = stageTasks.get(x.id);
          if (!ran || ran.length === 0) continue;
          const done = doneAt.get(x.id);
          const entry: SimStage = { id: x.id, name: x.name, jobId: job.id, parents: [...x.parents], tasks: x.tasks, submittedAt: readyAt.get(x.id)!, completedAt: (done ?? lastFinish(ran)) + 3 };
          if (done === undefined) entry.failed = true;
          stages.push(entry);
        }
        const endAt = Math.max(submittedAt, ...tasks.map((x) => x.finishedAt));
        jobs.push({ id: job.id, stages: inJob.map((x) => x.id), submittedAt, completedAt: endAt + 100, failed: true });
        t = endAt + 100;
        break;
      }
      let best: WorkloadStage | undefined;
      for (const s of inJob) {
        const r = readyAt.get(s.id);
        if (r === undefined || remaining.get(s.id)!.length === 0) continue;
        if (!best || r < readyAt.get(best.id)! || (r === readyAt.get(best.id)! && s.id < best.id)) best = s;
      }
      if (!best) throw new SyncError('internal', `workload ${workload.name}: job ${job.id} has stages whose parents never run`);
      const s = best;
      const pending = remaining.get(s.id)!.pop()!;
      const u = pending.u;
      const seat = slot.executor;
      let execIndex = seatExec[seat]!;
      const wanted = Math.max(slot.at, executors[execIndex]!.addedAt, readyAt.get(s.id)!);
      if (layout.dynamicAllocation && wanted - busyUntil[seat]! > GROUND_TRUTH.idleTimeoutMs) {
        const old = executors[execIndex]!;
        const removedAt = busyUntil[seat]! + GROUND_TRUTH.idleTimeoutMs;
        old.removedAt = removedAt;
        const requestAt = Math.max(removedAt, readyAt.get(s.id)!) + 1000;
        const addedAt = Math.round(requestAt + rng.lognormal(5200, 0.25) * nodeSpeed[old.node]!);
        executors.push({ id: String(executors.length + 1), node: old.node, host: old.host, cores: old.cores, addedAt, removedAt: 0 });
        execIndex = executors.length - 1;
        seatExec[seat] = execIndex;
        busyUntil[seat] = addedAt;
      }
      const exec = executors[execIndex]!;
      const node = exec.node;
      const launch = Math.max(wanted, exec.addedAt) + taskRng.lognormal(3, 0.5);
      if (launch >= deadAt[node]!) {
        // The node is gone: this seat never runs another task.
        remaining.get(s.id)!.push(pending);
        continue;
      }
      const work = Math.max(0.001, quantileAt(s.taskSeconds, u));
      const mean = Math.max(0.001, perTaskMean.get(s.id)!);
      const share = work / mean / s.tasks;
      const noise = taskRng.lognormal(1, GROUND_TRUTH.taskNoiseSigma) * runFactor * nodeSpeed[node]!;
      const straggler = taskRng.next() < hidden.stragglerProbability;
      const slow = straggler ? taskRng.uniform(1.5, hidden.stragglerMaxSlowdown) : 1;
      const cpuFraction = clamp(s.cpuFraction * hidden.cpuBias, 0.05, 0.97);
      let cpu = work * cpuFraction * cpuTime * contention[node]! * executorContention * noise;
      const wait = work * (1 - cpuFraction) * hidden.ioScale * ioStretch[node]! * taskRng.lognormal(1, GROUND_TRUTH.ioNoiseSigma);
      const shuffleRead = s.shuffleReadBytes * share * hidden.shuffleScale;
      const shuffleRemote = shuffleRead * Math.max(remoteShare, s.remoteShuffleFraction);
      const extraRemote = shuffleRead * Math.max(0, remoteShare - s.remoteShuffleFraction);
      const fetch = shuffleRead > 0 ? extraRemote / netPerTask[node]! + (executors.length * GROUND_TRUTH.fetchRequestMs) / 1000 : 0;
      const demand = s.taskMemoryBytes * hidden.memoryScale * clamp(work / mean, 0.5, 2);
      const avail = Math.max(1, layout.executionMemoryPerTaskBytes);
      const pressure = demand / avail;
      let memSpill = 0, diskSpill = 0, spillSeconds = 0;
      if (pressure > 1) {
        memSpill = demand - avail;
        diskSpill = memSpill * GROUND_TRUTH.spillDiskRatio;
        const serialize = (memSpill / GROUND_TRUTH.spillSerializeBytesPerSecond) * cpuTime;
        cpu += serialize;
        spillSeconds = (2 * diskSpill) / diskPerTask[node]!;
      }
      const gc = cpu * (0.02 + 0.18 * clamp(pressure - 0.6, 0, 1.5));
      // Below the memory floor the attempt dies with OutOfMemoryError part-way (after GC thrashing).
      const oom = hidden.oomFloor > 0 && avail < hidden.oomFloor * demand * taskRng.lognormal(1, 0.1);
      const runSeconds = (cpu + gc + wait + fetch + spillSeconds) * slow * (oom ? taskRng.uniform(0.3, 0.9) : 1);
      const deserializeMs = taskRng.lognormal(12, 0.4) + (warm.has(execIndex) ? 0 : GROUND_TRUTH.warmupMs);
      warm.add(execIndex);
      const resultMs = taskRng.lognormal(1.5, 0.5);
      const runMs = Math.max(1, Math.round(runSeconds * 1000));
      const launchedAt = Math.round(launch);
      const plannedEnd = launchedAt + Math.round(deserializeMs) + runMs + Math.round(resultMs) + 1;
      // A spot interruption while the attempt runs: it is lost with its executor (not the task's fault).
      const lost = plannedEnd > deadAt[node]!;
      const finishedAt = lost ? deadAt[node]! : plannedEnd;
      const shuffleWrite = oom ? 0 : s.shuffleWriteBytes * share * hidden.shuffleScale;
      const task: SimTask = {
        taskId: taskId++,
        stageId: s.id,
        index: pending.index,
        attempt: pending.attempt,
        executor: execIndex,
        launchedAt,
        finishedAt,
        runMs,
        cpuNs: Math.round(Math.min(runSeconds, (cpu + gc) * slow) * 1e9),
        gcMs: Math.round(gc * slow * 1000),
        deserializeMs: Math.round(deserializeMs),
        resultSerializationMs: Math.round(resultMs),
        inputBytes: Math.round(s.inputBytes * share),
        outputBytes: Math.round(s.outputBytes * share),
        shuffleReadBytes: Math.round(shuffleRead),
        shuffleRemoteBytes: Math.round(shuffleRemote),
        fetchWaitMs: Math.round(fetch * 1000),
        shuffleWriteBytes: Math.round(shuffleWrite),
        shuffleWriteNs: Math.round((shuffleWrite / diskPerTask[node]!) * 1e9),
        memorySpillBytes: Math.round(memSpill),
        diskSpillBytes: Math.round(diskSpill),
        peakExecutionMemoryBytes: Math.round(Math.min(demand, avail)),
        straggler,
      };
      if (lost) {
        task.failure = 'executor-lost';
        task.runMs = Math.max(1, finishedAt - launchedAt - task.deserializeMs);
        task.cpuNs = Math.min(task.cpuNs, task.runMs * 1e6);
        task.shuffleWriteBytes = 0;
        task.outputBytes = 0;
      } else if (oom) task.failure = 'oom';
      tasks.push(task);
      const list = stageTasks.get(s.id) ?? [];
      list.push(task);
      stageTasks.set(s.id, list);
      if (!lost) slots.push({ at: finishedAt, executor: seat });
      busyUntil[seat] = Math.max(busyUntil[seat]!, finishedAt);
      if (lost) {
        // Spark re-runs it elsewhere; a lost executor does not count against spark.task.maxFailures.
        remaining.get(s.id)!.push({ u, index: pending.index, attempt: pending.attempt + 1, failures: pending.failures });
        continue;
      }
      if (oom) {
        if (pending.failures + 1 >= MAX_TASK_FAILURES) {
          failure = `Job aborted due to stage failure: Task ${pending.index} in stage ${s.id}.0 failed ${MAX_TASK_FAILURES} times, most recent failure: java.lang.OutOfMemoryError: Java heap space`;
          // The job ends here: stages that ran tasks are logged (the failing one as failed), the rest never ran.
          for (const x of inJob) {
            const ran = stageTasks.get(x.id);
            if (!ran || ran.length === 0) continue;
            const done = doneAt.get(x.id);
            const entry: SimStage = { id: x.id, name: x.name, jobId: job.id, parents: [...x.parents], tasks: x.tasks, submittedAt: readyAt.get(x.id)!, completedAt: (done ?? finishedAt) + 3 };
            if (done === undefined) entry.failed = true;
            stages.push(entry);
          }
          jobs.push({ id: job.id, stages: inJob.map((x) => x.id), submittedAt, completedAt: finishedAt + 100, failed: true });
          t = finishedAt + 100;
          break;
        }
        // Spark re-launches the failed task at once (it goes back to the front of its stage's queue).
        remaining.get(s.id)!.push({ u, index: pending.index, attempt: pending.attempt + 1, failures: pending.failures + 1 });
        continue;
      }
      left--;
      if (remaining.get(s.id)!.length === 0) {
        const end = lastFinish(list);
        doneAt.set(s.id, end);
        for (const c of inJob) {
          if (readyAt.has(c.id)) continue;
          const inside = c.parents.filter((p) => job.stages.includes(p));
          if (inside.every((p) => doneAt.has(p))) readyAt.set(c.id, Math.max(...inside.map((p) => doneAt.get(p)!)) + 15);
        }
      }
    }
    if (failure !== undefined) break;
    // The job's cores are free again where its tasks left them.
    for (const frees of slotFree) frees.length = 0;
    const drained: { at: number; executor: number }[] = [];
    while (slots.size > 0) drained.push(slots.pop()!);
    for (const d of drained) slotFree[d.executor]!.push(d.at);
    let end = submittedAt;
    for (const s of inJob) {
      const list = stageTasks.get(s.id)!;
      const completedAt = lastFinish(list) + 3;
      end = Math.max(end, completedAt);
      stages.push({ id: s.id, name: s.name, jobId: job.id, parents: [...s.parents], tasks: s.tasks, submittedAt: readyAt.get(s.id)!, completedAt });
    }
    const completedAt = end + 5;
    jobs.push({ id: job.id, stages: inJob.map((s) => s.id), submittedAt, completedAt });
    t = completedAt;
  }
  // A failed application's driver stops at once; a successful one runs its closing driver-only part.
  const appEndedAt = t + (failure === undefined ? Math.round(workload.driverEndSeconds * 1000) + 300 : 2000);
  if (layout.dynamicAllocation) {
    for (const [seat, e] of seatExec.entries()) {
      const idleSince = busyUntil[seat]!;
      if (appEndedAt - 50 - idleSince > GROUND_TRUTH.idleTimeoutMs) executors[e]!.removedAt = idleSince + GROUND_TRUTH.idleTimeoutMs;
    }
  }
  // Executors on an interrupted node end with it; those that would have started after it never did.
  for (const e of executors) {
    const dead = deadAt[e.node]!;
    if (dead < appEndedAt - 50 && e.addedAt < dead && (e.removedAt === 0 || e.removedAt > dead)) {
      e.removedAt = dead;
      e.removedReason = 'Executor lost: the spot instance was interrupted (EC2 spot interruption notice)';
    }
  }
  // Executors that would have come up after the application ended never registered.
  const used = new Set(tasks.map((x) => x.executor));
  const kept = executors.map((e, i) => ({ e, i })).filter(({ e, i }) => used.has(i) || (e.addedAt < appEndedAt - 50 && e.addedAt < deadAt[e.node]!));
  const renumber = new Map(kept.map(({ i }, k) => [i, k]));
  for (const x of tasks) x.executor = renumber.get(x.executor)!;
  const alive = kept.map(({ e }) => ({ ...e, removedAt: e.removedAt > 0 ? e.removedAt : Math.max(e.addedAt, appEndedAt - 50) }));
  return failure === undefined ? { appStartedAt, appEndedAt, executors: alive, jobs, stages, tasks } : { appStartedAt, appEndedAt, executors: alive, jobs, stages, tasks, failure };
}

/** A task still to run: its place in the stage's size distribution, its index and attempt. */
type Pending = { u: number; index: number; attempt: number; failures: number };
