// How Spark on EMR/YARN lays executors out on a node: the YARN memory EMR gives each instance type
// and the executor size (the user's spark.executor.* settings, else an EMR-like default).
import type { InstanceSpec } from './catalog.js';

/** Executor sizing on one node type. */
export type ExecutorLayout = {
  executorCores: number;
  executorMemoryMb: number;
  executorsPerNode: number;
  /** Task slots per node = executorsPerNode x executorCores / taskCpus. */
  slotsPerNode: number;
  /** Executor memory per concurrently running task. */
  memoryPerTaskMb: number;
};

/** The user's executor settings, any of which may be absent. */
export type ExecutorSettings = { executorCores?: number; executorMemoryMb?: number; executorMemoryOverheadMb?: number; taskCpus?: number };

/**
 * YARN NodeManager memory EMR configures for an instance (approximation of the table in the EMR
 * documentation: 75% of RAM up to 32 GiB, RAM minus 8 GiB above).
 */
export function yarnMemoryMb(spec: Pick<InstanceSpec, 'memoryGib'>): number {
  const mem = spec.memoryGib;
  return Math.floor(mem <= 32 ? mem * 1024 * 0.75 : (mem - 8) * 1024);
}

/** Spark's default executor memory overhead: max(384 MB, 10%). */
export function overheadMb(executorMemoryMb: number): number {
  return Math.max(384, Math.ceil(executorMemoryMb * 0.1));
}

/** The largest divisor of `vcpu` that is at most 4 (the default executor width used here). */
function defaultCores(vcpu: number): number {
  for (let c = Math.min(4, vcpu); c > 1; c--) if (vcpu % c === 0) return c;
  return 1;
}

/** The executor layout on one node of `spec` given the user's settings (missing ones defaulted). */
export function executorLayout(spec: Pick<InstanceSpec, 'vcpu' | 'memoryGib'>, settings: ExecutorSettings = {}): ExecutorLayout {
  const yarnMb = yarnMemoryMb(spec);
  const cores = Math.max(1, Math.min(settings.executorCores ?? defaultCores(spec.vcpu), spec.vcpu));
  let perNode = Math.max(1, Math.floor(spec.vcpu / cores));
  let memoryMb: number;
  if (settings.executorMemoryMb !== undefined) {
    memoryMb = settings.executorMemoryMb;
    const container = memoryMb + (settings.executorMemoryOverheadMb ?? overheadMb(memoryMb));
    perNode = Math.max(0, Math.min(perNode, Math.floor(yarnMb / container)));
  } else {
    memoryMb = Math.floor(yarnMb / perNode / 1.1);
  }
  const taskCpus = Math.max(1, settings.taskCpus ?? 1);
  const slotsPerExecutor = Math.max(1, Math.floor(cores / taskCpus));
  return {
    executorCores: cores,
    executorMemoryMb: memoryMb,
    executorsPerNode: perNode,
    slotsPerNode: perNode * slotsPerExecutor,
    memoryPerTaskMb: memoryMb / slotsPerExecutor,
  };
}

/** YARN's container for Spark's client-mode ApplicationMaster (spark.yarn.am.memory 512 MB + 384 MB overhead, rounded up to YARN's 1 GB minimum allocation). */
export const AM_CONTAINER_MB = 1024;

/** Whether one executor of `layout` fits on a node beside the ApplicationMaster (a one-node cluster has no other node for it). */
export function fitsBesideApplicationMaster(spec: Pick<InstanceSpec, 'memoryGib'>, layout: Pick<ExecutorLayout, 'executorMemoryMb'>, executorMemoryOverheadMb?: number): boolean {
  return yarnMemoryMb(spec) - AM_CONTAINER_MB >= layout.executorMemoryMb + (executorMemoryOverheadMb ?? overheadMb(layout.executorMemoryMb));
}
