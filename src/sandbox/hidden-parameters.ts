// The sandbox's hidden truth about a workload: how CPU-, memory-, shuffle- and I/O-bound it really
// is, how it reacts to cores per executor, memory per core and network, and how it fails. Drawn per
// world seed and workload from the documented ranges below (README.md, "Hidden parameters", says why
// each range). Nothing outside the sandbox reads these: the engine only sees the event logs.
import { createRng } from './rng.js';

/** One workload's hidden parameters in one world. */
export type HiddenParameters = {
  /** Multiplies each stage's CPU share of task time (clamped to 0.05..0.97): more or less CPU-bound than the log it came from. */
  cpuBias: number;
  /** Share of CPU time stalled on memory: it scales with the instance's memory bandwidth, not its core speed. */
  memoryStall: number;
  /** Slowdown per extra core of an executor: tasks of one JVM share its heap, GC pauses and allocator (1 + k x (cores - 1)). */
  coreContention: number;
  /** Multiplies the non-CPU part of task time (waits on storage, locks, the driver). */
  ioScale: number;
  /** Share of the non-CPU part that is bandwidth (scales with the node's network per busy core) rather than latency. */
  ioBandwidthShare: number;
  /** Multiplies shuffle bytes (compression, record width): remote fetches go over the node's network. */
  shuffleScale: number;
  /** Share of the nominal network bandwidth shuffle fetches and storage reads actually get. */
  networkEfficiency: number;
  /** Multiplies each stage's execution-memory demand per task (spill and GC below it). */
  memoryScale: number;
  /** A task attempt dies with OutOfMemoryError (its executor lost) when execution memory is below this share of its demand. */
  oomFloor: number;
  /** Share of task attempts that straggle (slow node, bad disk, skewed record). */
  stragglerProbability: number;
  /** Stragglers run x1.5 .. x this. */
  stragglerMaxSlowdown: number;
  /** Spot interruptions per node-hour (only on SPOT core/task nodes). */
  spotInterruptionsPerNodeHour: number;
  /** Seconds of a task's time that do not shrink with a smaller partition (open, seek, commit, codegen): what more, smaller partitions cost. */
  taskFixedSeconds: number;
};

/** The documented range [low, high] of every hidden parameter (uniform draws). */
export const HIDDEN_RANGES: Readonly<Record<keyof HiddenParameters, readonly [number, number]>> = {
  cpuBias: [0.75, 1.2],
  memoryStall: [0.05, 0.45],
  coreContention: [0, 0.06],
  ioScale: [0.7, 1.5],
  ioBandwidthShare: [0.1, 0.7],
  shuffleScale: [0.6, 2.5],
  networkEfficiency: [0.4, 0.85],
  memoryScale: [0.6, 3],
  oomFloor: [0.2, 0.4],
  stragglerProbability: [0.005, 0.04],
  stragglerMaxSlowdown: [2.5, 6],
  spotInterruptionsPerNodeHour: [0.02, 0.15],
  taskFixedSeconds: [0.05, 0.6],
};

/** The hidden parameters of `workload` in world `worldSeed` (the same pair always gives the same draw). */
export function hiddenParameters(workload: string, worldSeed: number): HiddenParameters {
  const rng = createRng(worldSeed, `hidden:${workload}`);
  const out = {} as HiddenParameters;
  for (const [k, [lo, hi]] of Object.entries(HIDDEN_RANGES) as [keyof HiddenParameters, readonly [number, number]][]) out[k] = rng.uniform(lo, hi);
  return out;
}

/** Parameters that reproduce the sandbox before hidden parameters existed (neutral), for tests that isolate one effect. */
export const NEUTRAL_PARAMETERS: HiddenParameters = {
  cpuBias: 1,
  memoryStall: 0,
  coreContention: 0,
  ioScale: 1,
  ioBandwidthShare: 0,
  shuffleScale: 1,
  networkEfficiency: 1,
  memoryScale: 1,
  oomFloor: 0,
  stragglerProbability: 0.015,
  stragglerMaxSlowdown: 5,
  spotInterruptionsPerNodeHour: 0,
  taskFixedSeconds: 0,
};
