// Spark settings from the event log's evidence: executor cores, memory and overhead, shuffle
// partitions, max partition bytes and dynamic-allocation bounds, each with the evidence in words.
// Pure. The memory model is the simulator's (src/domain/prediction/scaling.ts), so a recommendation
// that says it removes a spill is one the simulator prices without it.
import type { ApplicationModel } from '../eventlog/model.js';
import { nextMemoryStep } from '../tuning-policy.js';
import { overheadMb } from './executor-layout.js';
import { MEMORY_FRACTION, RESERVED_HEAP_MB, usableTaskMemoryBytes } from './scaling.js';

/** One recommended Spark property, with why. */
export type SettingAdvice = { key: string; value: string; evidence: string };

/** How the application ran (what the advice is relative to). */
export type SettingsContext = {
  executorCores: number;
  /** Executor heap as run, MB. */
  executorMemoryMb: number;
  executorMemoryOverheadMb?: number;
  taskCpus: number;
  /** Task slots of the run. */
  slots: number;
  /** Keys the user pinned: never recommended (reported in `unchanged`). */
  pinned?: readonly string[];
  /** A floor for executor memory (the project's, raised after an OOM), MB. */
  memoryFloorMb?: number;
};

/** The advice: the settings to write and the executor sizing they amount to. */
export type SettingsAdvice = {
  settings: SettingAdvice[];
  /** Settings considered and left as they are, with why (pinned ones included). */
  unchanged: SettingAdvice[];
  executorCores: number;
  executorMemoryMb: number;
  executorMemoryOverheadMb: number;
  /** The shuffle partition change the simulator prices, when one is recommended. */
  shufflePartitions?: { from: number; to: number };
};

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** Default size of a shuffle partition aimed at (as AQE's advisory size, doubled). */
export const TARGET_PARTITION_BYTES = 128 * MiB;
/** Margin over an observed peak before memory is lowered to it. */
export const MEMORY_MARGIN = 0.25;
const DEFAULT_SHUFFLE_PARTITIONS = 200;
/** The most shuffle partitions are multiplied by in one recommendation. */
export const MAX_PARTITION_GROWTH = 8;
const DEFAULT_MAX_PARTITION_BYTES = 128 * MiB;

/** Bytes in words (GiB above 1 GiB, else MiB). */
export function bytesInWords(b: number): string {
  if (b >= GiB) return `${(b / GiB).toFixed(1)} GiB`;
  return b >= 10 * MiB ? `${Math.round(b / MiB)} MiB` : `${(b / MiB).toFixed(1)} MiB`;
}

const roundUpMb = (mb: number, step = 256) => Math.ceil(mb / step) * step;

/** Executor heap per core needed so that a task needing `needBytes` of execution memory keeps it in memory, MB. */
export function heapPerTaskForNeedMb(needBytes: number): number {
  return needBytes / MEMORY_FRACTION / MiB + RESERVED_HEAP_MB;
}

type StageNeed = { stageId: number; diskSpill: number; memorySpill: number; maxNeed: number; tasks: number; shuffleRead: number; input: number; reads: boolean; scans: boolean };

function stageNeeds(model: ApplicationModel): StageNeed[] {
  const out: StageNeed[] = [];
  for (const s of model.stages) {
    if (s.skipped) continue;
    const t = s.tasks;
    const n: StageNeed = { stageId: s.stageId, diskSpill: 0, memorySpill: 0, maxNeed: 0, tasks: t.count, shuffleRead: 0, input: 0, reads: false, scans: false };
    for (let k = 0; k < t.count; k++) {
      const ms = t.memorySpillBytes[k] ?? 0;
      n.diskSpill += t.diskSpillBytes[k] ?? 0;
      n.memorySpill += ms;
      if (ms > 0) n.maxNeed = Math.max(n.maxNeed, (t.peakExecutionMemoryBytes[k] ?? 0) + ms);
      n.shuffleRead += t.shuffleReadBytes[k] ?? 0;
      n.input += t.inputBytes[k] ?? 0;
    }
    n.reads = n.shuffleRead > 0;
    n.scans = n.input > 0 && !n.reads;
    out.push(n);
  }
  return out;
}

/** The settings the log's evidence supports (see the module comment). */
export function adviseSettings(model: ApplicationModel, ctx: SettingsContext): SettingsAdvice {
  const pinned = new Set(ctx.pinned ?? []);
  const settings: SettingAdvice[] = [];
  const unchanged: SettingAdvice[] = [];
  const add = (key: string, value: string, evidence: string) => {
    if (pinned.has(key)) unchanged.push({ key, value: model.sparkProperties[key] ?? '(unset)', evidence: `pinned by the project's policy; would be ${value}: ${evidence}` });
    else settings.push({ key, value, evidence });
  };
  const keep = (key: string, evidence: string) => unchanged.push({ key, value: model.sparkProperties[key] ?? '(unset)', evidence });
  const cores = Math.max(1, ctx.executorCores);
  const slotsPerExecutor = Math.max(1, Math.floor(cores / Math.max(1, ctx.taskCpus)));
  const needs = stageNeeds(model);

  // Executor cores: GC pressure on wide executors is the evidence for narrower ones.
  let gcMs = 0;
  let runMs = 0;
  for (const s of model.stages) for (let k = 0; k < s.tasks.count; k++) {
    gcMs += s.tasks.gcTimeMs[k] ?? 0;
    runMs += s.tasks.executorRunTimeMs[k] ?? 0;
  }
  const gcShare = runMs > 0 ? gcMs / runMs : 0;
  let newCores = cores;
  if (gcShare > 0.1 && cores > 5 && !pinned.has('spark.executor.cores')) {
    newCores = 5;
    add('spark.executor.cores', '5', `tasks spent ${(gcShare * 100).toFixed(0)}% of their run time in GC with ${cores} tasks sharing each executor heap; 5 per executor halves the heap contention per JVM`);
  } else if (pinned.has('spark.executor.cores')) keep('spark.executor.cores', `pinned by the project's policy (${cores})`);

  // Executor memory: enough heap per core for the largest spilling task; else a step down towards the observed peak.
  const heapPerCore = ctx.executorMemoryMb / slotsPerExecutor;
  const spilledAny = needs.filter((n) => n.diskSpill > 0 || n.memorySpill > 0);
  // A stage that spilled reading a shuffle is cut into more partitions (below) rather than given a
  // bigger heap: that keeps every instance type open; other spills need memory.
  // Only where MAX_PARTITION_GROWTH times more partitions fit the largest task in the memory a task has now.
  const usableNow = usableTaskMemoryBytes(ctx.executorMemoryMb / slotsPerExecutor);
  const byPartitions = pinned.has('spark.sql.shuffle.partitions') ? [] : spilledAny.filter((n) => n.reads && n.maxNeed > 0 && n.maxNeed * 1.1 <= usableNow * MAX_PARTITION_GROWTH);
  const spilling = spilledAny.filter((n) => !byPartitions.includes(n)).sort((a, b) => b.diskSpill + b.memorySpill - (a.diskSpill + a.memorySpill));
  let memoryMb = ctx.executorMemoryMb;
  let memoryEvidence: string | undefined;
  const floorMb = ctx.memoryFloorMb ?? 0;
  if (spilling.length === 0 && byPartitions.length > 0) {
    keep('spark.executor.memory', `the spill is in stages that read a shuffle (${byPartitions.map((n) => `stage ${n.stageId}`).join(', ')}): more shuffle partitions remove it, and memory is not lowered while anything spills`);
  } else if (spilling.length > 0) {
    const worst = spilling.reduce((a, b) => (b.maxNeed > a.maxNeed ? b : a));
    const perCore = roundUpMb(heapPerTaskForNeedMb(worst.maxNeed) * 1.05);
    const top = spilling[0]!;
    if (perCore > heapPerCore) {
      memoryMb = Math.max(floorMb, perCore * slotsPerExecutor);
      memoryEvidence =
        `stage ${top.stageId} spilled ${bytesInWords(top.diskSpill)} to disk (${bytesInWords(top.memorySpill)} in memory) at ${bytesInWords(heapPerCore * MiB)} heap per core; ` +
        `${bytesInWords(perCore * MiB)} per core holds the largest spilling task (stage ${worst.stageId}, ${bytesInWords(worst.maxNeed)}) in memory`;
    }
  } else {
    const heapPeak = Math.max(0, ...model.executors.filter((e) => e.id !== 'driver' || model.executors.length === 1).map((e) => e.peakMemory?.jvmHeapBytes ?? 0));
    let taskPeak = 0;
    for (const s of model.stages) for (let k = 0; k < s.tasks.count; k++) taskPeak = Math.max(taskPeak, s.tasks.peakExecutionMemoryBytes[k] ?? 0);
    if (heapPeak > 0) {
      const observedFloor = Math.max(floorMb, (heapPeak / MiB) * (1 + MEMORY_MARGIN), heapPerTaskForNeedMb(taskPeak * (1 + MEMORY_MARGIN)) * slotsPerExecutor);
      const next = nextMemoryStep(ctx.executorMemoryMb, observedFloor);
      if (next < ctx.executorMemoryMb) {
        memoryMb = next;
        memoryEvidence =
          `no stage spilled and the executors' heap peaked at ${bytesInWords(heapPeak)} of ${bytesInWords(ctx.executorMemoryMb * MiB)} (largest task ${bytesInWords(taskPeak)} of execution memory); ` +
          `one step down to ${bytesInWords(next * MiB)}, floor ${bytesInWords(observedFloor * MiB)} (peak + ${MEMORY_MARGIN * 100}%)`;
      } else keep('spark.executor.memory', `no spill; the heap peak (${bytesInWords(heapPeak)}) plus ${MEMORY_MARGIN * 100}% leaves no step down`);
    } else keep('spark.executor.memory', 'no stage spilled, and the log has no executor memory metrics (SparkListenerStageExecutorMetrics): memory is not lowered without a measured peak');
  }
  if (pinned.has('spark.executor.memory')) {
    if (memoryEvidence !== undefined) add('spark.executor.memory', `${roundUpMb(memoryMb)}m`, memoryEvidence);
    memoryMb = ctx.executorMemoryMb;
    memoryEvidence = undefined;
  }
  // Narrower executors keep the same heap per core.
  if (newCores !== cores) memoryMb = roundUpMb((memoryMb / slotsPerExecutor) * Math.max(1, Math.floor(newCores / Math.max(1, ctx.taskCpus))));
  if (!pinned.has('spark.executor.memory')) memoryMb = roundUpMb(memoryMb);
  if (!pinned.has('spark.executor.memory') && (memoryEvidence !== undefined || newCores !== cores)) {
    add('spark.executor.memory', `${memoryMb}m`, memoryEvidence ?? `the same heap per core on ${newCores}-core executors`);
  }

  // Overhead: off-heap and Python memory observed, plus the margin, when above Spark's default.
  const offHeap = Math.max(0, ...model.executors.map((e) => (e.peakMemory?.jvmOffHeapBytes ?? 0) + (e.peakMemory?.pythonRssBytes ?? 0)));
  const defaultOverhead = overheadMb(memoryMb);
  let overhead = ctx.executorMemoryOverheadMb ?? defaultOverhead;
  const observedOverhead = roundUpMb((offHeap / MiB) * (1 + MEMORY_MARGIN));
  if (pinned.has('spark.executor.memoryOverhead')) keep('spark.executor.memoryOverhead', "pinned by the project's policy");
  else if (offHeap > 0 && observedOverhead > Math.max(defaultOverhead, ctx.executorMemoryOverheadMb ?? 0)) {
    overhead = observedOverhead;
    add('spark.executor.memoryOverhead', `${overhead}m`, `off-heap and Python memory peaked at ${bytesInWords(offHeap)} per executor, above the ${defaultOverhead} MiB default overhead; + ${MEMORY_MARGIN * 100}%`);
  } else if (ctx.executorMemoryOverheadMb !== undefined && offHeap > 0 && ctx.executorMemoryOverheadMb > Math.max(defaultOverhead, observedOverhead) * 1.5) {
    overhead = Math.max(defaultOverhead, observedOverhead);
    add('spark.executor.memoryOverhead', `${overhead}m`, `off-heap and Python memory peaked at ${bytesInWords(offHeap)}; ${ctx.executorMemoryOverheadMb} MiB set aside is more than 1.5x what was used`);
  } else overhead = ctx.executorMemoryOverheadMb ?? defaultOverhead;

  // Shuffle partitions: stages that read a shuffle in exactly spark.sql.shuffle.partitions tasks.
  // AQE is on by default from Spark 3.2.
  const [major = 0, minor = 0] = (model.sparkVersion ?? '').split('.').map((x) => Number.parseInt(x, 10) || 0);
  const aqe = model.settings.adaptiveEnabled ?? (major > 3 || (major === 3 && minor >= 2));
  const partitions = model.settings.shufflePartitions ?? DEFAULT_SHUFFLE_PARTITIONS;
  const governed = needs.filter((n) => n.reads && n.tasks === partitions);
  let shufflePartitions: SettingsAdvice['shufflePartitions'];
  if (byPartitions.length > 0) {
    // Enough partitions that the largest task of the worst spilling shuffle stage fits its memory (10% spare), in whole waves.
    const newSlotsPerExecutor = Math.max(1, Math.floor(newCores / Math.max(1, ctx.taskCpus)));
    const perTaskUsable = usableTaskMemoryBytes(memoryMb / newSlotsPerExecutor);
    const worst = byPartitions.reduce((a, b) => (b.maxNeed / Math.max(1, b.tasks) > a.maxNeed / Math.max(1, a.tasks) ? b : a));
    const waves = Math.max(1, ctx.slots);
    const wanted = Math.ceil(Math.ceil((worst.tasks * worst.maxNeed * 1.1) / Math.max(1, perTaskUsable)) / waves) * waves;
    // At most MAX_PARTITION_GROWTH times more (and 20,000) partitions in one step: tiny tasks cost their launch each.
    const to = Math.min(wanted, worst.tasks * MAX_PARTITION_GROWTH, 20_000);
    if (to > worst.tasks) {
      shufflePartitions = { from: worst.tasks, to };
      add(
        'spark.sql.shuffle.partitions',
        String(to),
        `stage ${worst.stageId} spilled ${bytesInWords(worst.diskSpill)} to disk reading ${bytesInWords(worst.shuffleRead)} of shuffle in ${worst.tasks} partitions (largest task needed ${bytesInWords(worst.maxNeed)}, ` +
          `${bytesInWords(perTaskUsable)} of execution memory per task); ${to} partitions of ~${bytesInWords(worst.shuffleRead / to)} fit in memory${aqe ? ' (adaptive execution only coalesces partitions, it does not split a spilling one)' : ''}`,
      );
    }
  } else if (aqe) keep('spark.sql.shuffle.partitions', 'adaptive query execution is on: it coalesces shuffle partitions itself');
  else if (governed.length > 0) {
    const big = governed.reduce((a, b) => (b.shuffleRead > a.shuffleRead ? b : a));
    const newSlotsPerExecutor = Math.max(1, Math.floor(newCores / Math.max(1, ctx.taskCpus)));
    const perTaskUsable = usableTaskMemoryBytes(memoryMb / newSlotsPerExecutor);
    const worstNeed = Math.max(0, ...governed.map((g) => g.maxNeed));
    // Enough partitions that the largest one still fits in a task's memory, and about TARGET_PARTITION_BYTES each.
    const bySize = Math.ceil(big.shuffleRead / TARGET_PARTITION_BYTES);
    const byMemory = worstNeed > 0 && perTaskUsable > 0 ? Math.ceil((partitions * worstNeed) / perTaskUsable) : 1;
    const waves = Math.max(1, ctx.slots);
    let to = Math.max(bySize, byMemory, 1);
    to = Math.ceil(to / waves) * waves; // whole waves of the run's slots
    if (to < partitions * 0.75 || to > partitions * 1.25) {
      shufflePartitions = { from: partitions, to };
      add(
        'spark.sql.shuffle.partitions',
        String(to),
        `stage ${big.stageId} read ${bytesInWords(big.shuffleRead)} of shuffle in ${partitions} partitions (${bytesInWords(big.shuffleRead / partitions)} each); ` +
          `${to} partitions of ~${bytesInWords(big.shuffleRead / to)} fill ${to / waves} wave(s) of ${waves} slots`,
      );
    } else keep('spark.sql.shuffle.partitions', `stage ${big.stageId}'s ${partitions} partitions are ${bytesInWords(big.shuffleRead / partitions)} each, near the ${bytesInWords(TARGET_PARTITION_BYTES)} aimed at`);
  }

  // Max partition bytes: scans with fewer tasks than slots leave cores idle; scans that spill read too much per task.
  const scans = needs.filter((n) => n.scans);
  if (scans.length > 0) {
    const current = model.sparkProperties['spark.sql.files.maxPartitionBytes'];
    const currentBytes = current !== undefined && /^\d+$/.test(current.trim()) ? Number(current) : DEFAULT_MAX_PARTITION_BYTES;
    const spill = scans.find((s) => s.diskSpill > 0);
    const narrow = scans.find((s) => s.tasks < ctx.slots && s.input / Math.max(1, ctx.slots) >= 16 * MiB && s.input / s.tasks >= currentBytes * 0.5);
    if (spill) {
      const to = Math.max(16 * MiB, Math.floor(currentBytes / 2));
      add('spark.sql.files.maxPartitionBytes', String(to), `scan stage ${spill.stageId} spilled ${bytesInWords(spill.diskSpill)}; halving the bytes per read task to ${bytesInWords(to)}`);
    } else if (narrow) {
      const to = Math.max(16 * MiB, Math.ceil(narrow.input / ctx.slots / MiB) * MiB);
      add('spark.sql.files.maxPartitionBytes', String(to), `scan stage ${narrow.stageId} read ${bytesInWords(narrow.input)} in ${narrow.tasks} tasks on ${ctx.slots} slots; ${bytesInWords(to)} per task uses every slot`);
    }
  }

  // Dynamic allocation: no more executors than the widest stage can keep busy.
  if (model.settings.dynamicAllocation) {
    const widest = Math.max(0, ...needs.map((n) => n.tasks));
    const useful = Math.max(1, Math.ceil((widest * Math.max(1, ctx.taskCpus)) / newCores));
    const max = model.settings.maxExecutors;
    if (widest > 0 && (max === undefined || max > useful)) {
      add('spark.dynamicAllocation.maxExecutors', String(useful), `the widest stage ran ${widest} tasks: more than ${useful} executors of ${newCores} cores would sit idle`);
    }
  }
  const advice: SettingsAdvice = { settings, unchanged, executorCores: newCores, executorMemoryMb: memoryMb, executorMemoryOverheadMb: overhead };
  if (shufflePartitions && !pinned.has('spark.sql.shuffle.partitions')) advice.shufflePartitions = shufflePartitions;
  return advice;
}

/** The advice as spark-defaults properties (keys the user pinned are never among them). */
export function adviceProperties(advice: SettingsAdvice): Record<string, string> {
  return Object.fromEntries(advice.settings.map((s) => [s.key, s.value]));
}

/** The advice's evidence as sentences, one per setting. */
export function describeAdvice(advice: SettingsAdvice): string {
  return advice.settings.map((s) => `${s.key}=${s.value}: ${s.evidence}`).join('; ');
}
