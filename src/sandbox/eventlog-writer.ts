// Writes a simulated run as a genuine Spark event log: JSON lines with the event shapes Spark 3.3
// (EMR's 3.3.0-amzn-0) writes, in time order, so any Spark tool (and our own reader) can read it.
import type { SimTask, SimulatedRun } from './ground-truth.js';
import type { Workload } from './workload.js';

/** Identity and settings of the logged application. */
export type EventLogMeta = {
  /** YARN application id, e.g. application_1668520289000_0001. */
  appId: string;
  appName?: string;
  /** Default '3.3.0-amzn-0'. */
  sparkVersion?: string;
  user?: string;
  /** Written as spark.eventLog.dir (s3a:// as Spark sees it). */
  eventLogDir?: string;
  /** Host name of the driver (the master node). */
  driverHost?: string;
  /** Extra Spark properties to log (they override the sandbox's own). */
  sparkProperties?: Record<string, string>;
};

/** The TaskEndReason Spark logs for a task that died of java.lang.OutOfMemoryError. */
const OOM_REASON = {
  Reason: 'ExceptionFailure',
  'Class Name': 'java.lang.OutOfMemoryError',
  Description: 'Java heap space',
  'Stack Trace': [],
  'Full Stack Trace': 'java.lang.OutOfMemoryError: Java heap space',
  Accumulator: [],
};

type Timed = { at: number; order: number; seq: number; line: string };

/** Heap a Spark executor's JVM uses besides execution memory (classes, buffers, Spark's reserved 300 MB). */
const JVM_BASE_HEAP_BYTES = 300 * 1024 * 1024;

const ORDER = {
  executorAdded: 1,
  blockManagerAdded: 2,
  jobStart: 3,
  stageSubmitted: 4,
  taskStart: 5,
  taskEnd: 6,
  stageExecutorMetrics: 6.5,
  stageCompleted: 7,
  jobEnd: 8,
  executorRemoved: 9,
} as const;

function stageInfo(s: SimulatedRun['stages'][number], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'Stage ID': s.id,
    'Stage Attempt ID': 0,
    'Stage Name': s.name,
    'Number of Tasks': s.tasks,
    'RDD Info': [],
    'Parent IDs': s.parents,
    Details: '',
    ...extra,
    Accumulables: [],
    'Resource Profile Id': 0,
    'Shuffle Push Enabled': false,
    'Shuffle Push Mergers Count': 0,
  };
}

function taskInfo(t: SimTask, executorId: string, host: string, finished: boolean): Record<string, unknown> {
  return {
    'Task ID': t.taskId,
    Index: t.index,
    Attempt: t.attempt,
    'Partition ID': t.index,
    'Launch Time': t.launchedAt,
    'Executor ID': executorId,
    Host: host,
    Locality: t.inputBytes > 0 ? 'NODE_LOCAL' : 'PROCESS_LOCAL',
    Speculative: false,
    'Getting Result Time': 0,
    'Finish Time': finished ? t.finishedAt : 0,
    Failed: finished && t.failure !== undefined,
    Killed: false,
    Accumulables: [],
  };
}

function taskMetrics(t: SimTask, remoteBlocks: number): Record<string, unknown> {
  const records = (bytes: number) => Math.round(bytes / 100);
  return {
    'Executor Deserialize Time': t.deserializeMs,
    'Executor Deserialize CPU Time': t.deserializeMs * 600_000,
    'Executor Run Time': t.runMs,
    'Executor CPU Time': t.cpuNs,
    'Peak Execution Memory': t.peakExecutionMemoryBytes,
    'Result Size': 2500,
    'JVM GC Time': t.gcMs,
    'Result Serialization Time': t.resultSerializationMs,
    'Memory Bytes Spilled': t.memorySpillBytes,
    'Disk Bytes Spilled': t.diskSpillBytes,
    'Shuffle Read Metrics': {
      'Remote Blocks Fetched': t.shuffleReadBytes > 0 ? remoteBlocks : 0,
      'Local Blocks Fetched': t.shuffleReadBytes > 0 ? 1 : 0,
      'Fetch Wait Time': t.fetchWaitMs,
      'Remote Bytes Read': t.shuffleRemoteBytes,
      'Remote Bytes Read To Disk': 0,
      'Local Bytes Read': t.shuffleReadBytes - t.shuffleRemoteBytes,
      'Total Records Read': records(t.shuffleReadBytes),
      'Remote Requests Duration': t.fetchWaitMs,
      'Push Based Shuffle': {
        'Corrupt Merged Block Chunks': 0,
        'Merged Fetch Fallback Count': 0,
        'Merged Remote Blocks Fetched': 0,
        'Merged Local Blocks Fetched': 0,
        'Merged Remote Chunks Fetched': 0,
        'Merged Local Chunks Fetched': 0,
        'Merged Remote Bytes Read': 0,
        'Merged Local Bytes Read': 0,
        'Merged Remote Requests Duration': 0,
      },
    },
    'Shuffle Write Metrics': { 'Shuffle Bytes Written': t.shuffleWriteBytes, 'Shuffle Write Time': t.shuffleWriteNs, 'Shuffle Records Written': records(t.shuffleWriteBytes) },
    'Input Metrics': { 'Bytes Read': t.inputBytes, 'Records Read': records(t.inputBytes) },
    'Output Metrics': { 'Bytes Written': t.outputBytes, 'Records Written': records(t.outputBytes) },
    'Updated Blocks': [],
  };
}

/** The Spark properties the sandbox's application ran with (what EMR and spark-submit would set). */
export function sandboxSparkProperties(run: SimulatedRun, meta: EventLogMeta): Record<string, string> {
  const l = run.layout;
  const props: Record<string, string> = {
    'spark.app.name': meta.appName ?? run.appName,
    'spark.app.id': meta.appId,
    'spark.master': 'yarn',
    'spark.submit.deployMode': 'client',
    'spark.driver.host': meta.driverHost ?? 'ip-10-0-0-10.ec2.internal',
    'spark.driver.memory': '2048M',
    'spark.executor.cores': String(l.executorCores),
    'spark.executor.memory': `${l.executorMemoryMb}M`,
    'spark.executor.memoryOverhead': `${l.memoryOverheadMb}M`,
    'spark.emr.default.executor.cores': String(l.executorCores),
    'spark.emr.default.executor.memory': `${l.executorMemoryMb}M`,
    'spark.dynamicAllocation.enabled': String(l.dynamicAllocation),
    'spark.shuffle.service.enabled': 'true',
    'spark.eventLog.enabled': 'true',
    'spark.executor.id': 'driver',
    'spark.sync.sandbox.workload': run.workload,
    'spark.sync.sandbox.seed': String(run.seed),
    'spark.sync.sandbox.cluster': `${run.cluster.nodes} x ${run.cluster.instanceType}`,
  };
  if (run.cluster.executorInstances !== undefined) props['spark.executor.instances'] = String(run.cluster.executorInstances);
  if (run.cluster.maxExecutors !== undefined) props['spark.dynamicAllocation.maxExecutors'] = String(run.cluster.maxExecutors);
  if (run.cluster.shufflePartitions !== undefined) props['spark.sql.shuffle.partitions'] = String(run.cluster.shufflePartitions);
  if (run.cluster.maxPartitionBytes !== undefined) props['spark.sql.files.maxPartitionBytes'] = String(run.cluster.maxPartitionBytes);
  if (run.cluster.adaptive !== undefined) props['spark.sql.adaptive.enabled'] = String(run.cluster.adaptive);
  if (meta.eventLogDir !== undefined) props['spark.eventLog.dir'] = meta.eventLogDir;
  return { ...props, ...meta.sparkProperties };
}

/** The event log's lines (no newlines), in the order Spark writes them. */
export function eventLogLines(run: SimulatedRun, workload: Workload, meta: EventLogMeta): string[] {
  const sparkVersion = meta.sparkVersion ?? '3.3.0-amzn-0';
  const user = meta.user ?? 'hadoop';
  const driverHost = meta.driverHost ?? 'ip-10-0-0-10.ec2.internal';
  const head: string[] = [];
  const j = (o: Record<string, unknown>) => JSON.stringify(o);
  const l = run.layout;
  const start = run.timeline.appStartedAt;
  const storageBytes = (mb: number) => Math.round((mb - 300) * 1024 * 1024 * 0.6);

  head.push(j({ Event: 'SparkListenerLogStart', 'Spark Version': sparkVersion }));
  head.push(
    j({
      Event: 'SparkListenerResourceProfileAdded',
      'Resource Profile Id': 0,
      'Executor Resource Requests': {
        cores: { 'Resource Name': 'cores', Amount: l.executorCores, 'Discovery Script': '', Vendor: '' },
        memory: { 'Resource Name': 'memory', Amount: l.executorMemoryMb, 'Discovery Script': '', Vendor: '' },
        memoryOverhead: { 'Resource Name': 'memoryOverhead', Amount: l.memoryOverheadMb, 'Discovery Script': '', Vendor: '' },
        offHeap: { 'Resource Name': 'offHeap', Amount: 0, 'Discovery Script': '', Vendor: '' },
      },
      'Task Resource Requests': { cpus: { 'Resource Name': 'cpus', Amount: 1.0 } },
    }),
  );
  head.push(
    j({
      Event: 'SparkListenerBlockManagerAdded',
      'Block Manager ID': { 'Executor ID': 'driver', Host: driverHost, Port: 37_123 },
      'Maximum Memory': storageBytes(2048),
      Timestamp: start - 400,
      'Maximum Onheap Memory': storageBytes(2048),
      'Maximum Offheap Memory': 0,
    }),
  );
  head.push(
    j({
      Event: 'SparkListenerEnvironmentUpdate',
      'JVM Information': { 'Java Home': '/usr/lib/jvm/java-1.8.0-amazon-corretto.x86_64/jre', 'Java Version': '1.8.0_352 (Amazon.com Inc.)', 'Scala Version': 'version 2.12.15' },
      'Spark Properties': sandboxSparkProperties(run, meta),
      'Hadoop Properties': { 'yarn.nodemanager.resource.memory-mb': String(l.yarnMemoryMb), 'yarn.scheduler.maximum-allocation-mb': String(l.yarnMemoryMb) },
      'System Properties': { 'user.name': user, 'java.vendor': 'Amazon.com Inc.' },
      'Metrics Properties': {},
      'Classpath Entries': {},
    }),
  );
  head.push(j({ Event: 'SparkListenerApplicationStart', 'App Name': meta.appName ?? run.appName, 'App ID': meta.appId, Timestamp: start, User: user }));

  const timed: Timed[] = [];
  let seq = 0;
  const add = (at: number, order: number, line: string) => timed.push({ at, order, seq: seq++, line });
  for (const e of run.executors) {
    add(
      e.addedAt,
      ORDER.executorAdded,
      j({
        Event: 'SparkListenerExecutorAdded',
        Timestamp: e.addedAt,
        'Executor ID': e.id,
        'Executor Info': {
          Host: e.host,
          'Total Cores': e.cores,
          'Log Urls': { stdout: `http://${e.host}:8042/node/containerlogs/container_${meta.appId.slice('application_'.length)}_01_00000${e.id}/${user}/stdout?start=-4096` },
          Attributes: {},
          Resources: {},
          'Resource Profile Id': 0,
        },
      }),
    );
    add(
      e.addedAt + 20,
      ORDER.blockManagerAdded,
      j({
        Event: 'SparkListenerBlockManagerAdded',
        'Block Manager ID': { 'Executor ID': e.id, Host: e.host, Port: 41_000 + Number(e.id) },
        'Maximum Memory': storageBytes(l.executorMemoryMb),
        Timestamp: e.addedAt + 20,
        'Maximum Onheap Memory': storageBytes(l.executorMemoryMb),
        'Maximum Offheap Memory': 0,
      }),
    );
    add(e.removedAt, ORDER.executorRemoved, j({ Event: 'SparkListenerExecutorRemoved', Timestamp: e.removedAt, 'Executor ID': e.id, 'Removed Reason': e.removedReason ?? 'Executor killed by driver.' }));
  }
  const stageById = new Map(run.stages.map((s) => [s.id, s]));
  const childStages = new Set(run.stages.flatMap((s) => s.parents));
  for (const job of run.jobs) {
    // A failed job lists stages that never ran: Spark still names them in the job's start.
    const infos = job.stages.map((id) => {
      const ran = stageById.get(id);
      if (ran) return stageInfo(ran);
      const w = workload.stages.find((x) => x.id === id);
      return stageInfo({ id, name: w?.name ?? `stage ${id}`, jobId: job.id, parents: w?.parents ?? [], tasks: w?.tasks ?? 0, submittedAt: job.submittedAt, completedAt: job.completedAt });
    });
    add(
      job.submittedAt,
      ORDER.jobStart,
      j({
        Event: 'SparkListenerJobStart',
        'Job ID': job.id,
        'Submission Time': job.submittedAt,
        'Stage Infos': infos,
        'Stage IDs': job.stages,
        Properties: { 'spark.job.description': `${run.workload} job ${job.id}`, 'spark.rdd.scope': '{"id":"0","name":"collect"}' },
      }),
    );
    const result = job.failed
      ? { Result: 'JobFailed', Exception: { Message: run.failure ?? 'Job aborted', 'Stack Trace': [] } }
      : { Result: 'JobSucceeded' };
    add(job.completedAt, ORDER.jobEnd, j({ Event: 'SparkListenerJobEnd', 'Job ID': job.id, 'Completion Time': job.completedAt, 'Job Result': result }));
  }
  for (const s of run.stages) {
    add(s.submittedAt, ORDER.stageSubmitted, j({ Event: 'SparkListenerStageSubmitted', 'Stage Info': stageInfo(s, { 'Submission Time': s.submittedAt }), Properties: {} }));
    const failed = s.failed ? { 'Failure Reason': run.failure ?? 'stage failed' } : {};
    add(s.completedAt, ORDER.stageCompleted, j({ Event: 'SparkListenerStageCompleted', 'Stage Info': stageInfo(s, { 'Submission Time': s.submittedAt, 'Completion Time': s.completedAt, ...failed }) }));
  }
  const remoteBlocks = Math.max(0, run.executors.length - 1);
  for (const t of run.tasks) {
    const e = run.executors[t.executor]!;
    const type = childStages.has(t.stageId) ? 'ShuffleMapTask' : 'ResultTask';
    add(t.launchedAt, ORDER.taskStart, j({ Event: 'SparkListenerTaskStart', 'Stage ID': t.stageId, 'Stage Attempt ID': 0, 'Task Info': taskInfo(t, e.id, e.host, false) }));
    add(
      t.finishedAt,
      ORDER.taskEnd,
      j({
        Event: 'SparkListenerTaskEnd',
        'Stage ID': t.stageId,
        'Stage Attempt ID': 0,
        'Task Type': type,
        'Task End Reason':
          t.failure === 'oom'
            ? OOM_REASON
            : t.failure === 'executor-lost'
              ? { Reason: 'ExecutorLostFailure', 'Executor ID': e.id, 'Exit Caused By App': false, 'Loss Reason': e.removedReason ?? 'Executor lost' }
              : { Reason: 'Success' },
        'Task Info': taskInfo(t, e.id, e.host, true),
        'Task Executor Metrics': { JVMHeapMemory: Math.round(t.peakExecutionMemoryBytes + 300 * 1024 * 1024), JVMOffHeapMemory: 90_000_000 },
        'Task Metrics': taskMetrics(t, remoteBlocks),
      }),
    );
  }
  // Per stage and executor, the executor's peak memory as Spark 3 logs it (spark.eventLog.logStageExecutorMetrics):
  // the JVM's own heap plus the execution memory of as many of its tasks as it runs at once, within its heap.
  const peaks = new Map<string, { stage: number; executor: number; at: number; task: number }>();
  for (const t of run.tasks) {
    const k = `${t.stageId}/${t.executor}`;
    const p = peaks.get(k) ?? { stage: t.stageId, executor: t.executor, at: 0, task: 0 };
    p.task = Math.max(p.task, t.peakExecutionMemoryBytes);
    p.at = Math.max(p.at, t.finishedAt);
    peaks.set(k, p);
  }
  const stageEnd = new Map(run.stages.map((st) => [st.id, st.completedAt]));
  for (const p of peaks.values()) {
    const e = run.executors[p.executor]!;
    const heap = Math.min(l.executorMemoryMb * 1024 * 1024, JVM_BASE_HEAP_BYTES + p.task * e.cores);
    add(
      stageEnd.get(p.stage) ?? p.at,
      ORDER.stageExecutorMetrics,
      j({ Event: 'SparkListenerStageExecutorMetrics', 'Executor ID': e.id, 'Stage ID': p.stage, 'Stage Attempt ID': 0, 'Executor Metrics': { JVMHeapMemory: Math.round(heap), JVMOffHeapMemory: 90_000_000 } }),
    );
  }
  timed.sort((a, b) => a.at - b.at || a.order - b.order || a.seq - b.seq);
  const lines = head.concat(timed.map((x) => x.line));
  lines.push(j({ Event: 'SparkListenerApplicationEnd', Timestamp: run.timeline.appEndedAt }));
  return lines;
}

/** The whole event log as one string (JSON lines, each ending in a newline). */
export function writeEventLog(run: SimulatedRun, workload: Workload, meta: EventLogMeta): string {
  return eventLogLines(run, workload, meta).join('\n') + '\n';
}

/** The part Spark has flushed once the application started (what a `.inprogress` file holds early on). */
export function writeEventLogHead(run: SimulatedRun, workload: Workload, meta: EventLogMeta): string {
  const lines = eventLogLines(run, workload, meta);
  const cut = lines.findIndex((x) => x.startsWith('{"Event":"SparkListenerJobStart"'));
  return lines.slice(0, cut < 0 ? lines.length - 1 : cut).join('\n') + '\n';
}
