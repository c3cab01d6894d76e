// How a task's time changes when it runs on other hardware: per-core speed (CoreMark per vCPU, on
// the CPU part of the task only), memory per task (GC and spill grow when it shrinks) and the share
// of shuffle data read over the network (grows with the node count).
import type { TaskScaling } from './engine.js';
import type { InstanceSpec } from './catalog.js';

/** Assumed cost of spilling one byte (write + read back at ~100 MB/s each), ms per byte. */
export const SPILL_MS_PER_BYTE = 2 / 100_000;
/** Spark's usable execution+storage share of the heap (spark.memory.fraction, after 300 MB reserved). */
export const MEMORY_FRACTION = 0.6;
/** Heap Spark reserves before the unified memory pool, MB. */
export const RESERVED_HEAP_MB = 300;

/** One side of a hardware comparison. */
export type HardwareSide = {
  instance?: Pick<InstanceSpec, 'vcpu' | 'coremark'>;
  nodes: number;
  /** Executor heap per concurrently running task, MB. */
  memoryPerTaskMb: number;
};

/** CoreMark per vCPU, undefined when the catalog has no CoreMark for the type. */
export function perCoreSpeed(spec: Pick<InstanceSpec, 'vcpu' | 'coremark'> | undefined): number | undefined {
  return spec?.coremark !== undefined ? spec.coremark / spec.vcpu : undefined;
}

/** Execution memory a task may use with `heapPerTaskMb` of executor heap per running task, bytes. */
export function usableTaskMemoryBytes(heapPerTaskMb: number): number {
  return Math.max(0, heapPerTaskMb - RESERVED_HEAP_MB) * MEMORY_FRACTION * 1024 * 1024;
}

/** The scaling from the observed hardware to a candidate; identity when they are the same. */
export function taskScaling(observed: HardwareSide, candidate: HardwareSide): TaskScaling {
  const so = perCoreSpeed(observed.instance);
  const sc = perCoreSpeed(candidate.instance);
  const cpuFactor = so !== undefined && sc !== undefined ? so / sc : 1;
  const memRatio = observed.memoryPerTaskMb / Math.max(1, candidate.memoryPerTaskMb);
  const gcFactor = Math.max(1, memRatio);
  const remote = (n: number) => (n <= 1 ? 0 : 1 - 1 / n);
  const ro = remote(observed.nodes);
  const rc = remote(candidate.nodes);
  const fetchFactor = ro > 0 ? Math.min(2, Math.max(0.5, rc / ro)) : 1;
  const usable = (mb: number) => usableTaskMemoryBytes(mb);
  return {
    cpuFactor,
    gcFactor,
    fetchFactor,
    memoryPerTaskBytes: memRatio > 1 ? usable(candidate.memoryPerTaskMb) : Infinity,
    spillMsPerByte: SPILL_MS_PER_BYTE,
    ...(memRatio < 1 ? { spillReliefBytes: usable(candidate.memoryPerTaskMb) } : {}),
  };
}
