// The discrete-event core of the simulator: replays a plan's stage DAG on a supply of executors.
// Stages are released when their job is submitted and their parents have finished (plus the
// driver's observed submission delay); tasks go, in Spark's FIFO order, to free slots; executors
// arrive, get lost, or (with dynamic allocation) are requested and released as Spark's allocation
// manager would.
import { excessOver } from './compress.js';
import { EventHeap } from './event-heap.js';
import type { ReplayPlan } from './plan.js';

/** Where executors come from during the simulation. */
export type Supply =
  | {
      kind: 'fixed';
      /** Every executor: arrival (ms from application start), optional removal, slots. */
      executors: { arriveMs: number; removeMs?: number; slots: number }[];
    }
  | {
      kind: 'managed';
      slotsPerExecutor: number;
      /** Executors requested at application start, with their arrival offsets (ms). */
      initialArrivalsMs: number[];
      dynamic: boolean;
      minExecutors: number;
      maxExecutors: number;
      /** Delay between requesting an executor and it running tasks, ms. */
      startupLatencyMs: number;
      backlogTimeoutMs: number;
      idleTimeoutMs: number;
    };

/** How each task's time changes on the simulated hardware (all 1/0 = as observed). */
export type TaskScaling = {
  /** Multiplies CPU time (1 / relative per-core speed). */
  cpuFactor: number;
  /** Multiplies GC time (memory pressure). */
  gcFactor: number;
  /** Multiplies shuffle fetch wait (share of remote reads). */
  fetchFactor: number;
  /** Memory a task may use before spilling, bytes (Infinity: no new spill). */
  memoryPerTaskBytes: number;
  spillMsPerByte: number;
  /**
   * Memory a task may use on the candidate when it has more than observed, bytes: a task that spilled
   * and whose need (peak execution memory + what it spilled) fits is charged no spill. Omit: none removed.
   */
  spillReliefBytes?: number;
};

export type EngineOptions = {
  /** Added to each task's slot occupancy (scheduling overhead), ms. */
  taskOverheadMs: number;
  /** Use the observed per-stage submission delays (false: stages start when ready). */
  stageDelays: boolean;
  scaling?: TaskScaling;
};

export type EngineResult = {
  /** Simulated wall time of each job group, ms. */
  groupMs: number[];
  /** Simulated end of the last group, from application start, ms (driver gaps included). */
  endMs: number;
  /** Most executors alive at once. */
  peakExecutors: number;
  /** Executor-milliseconds alive while the simulation ran. */
  executorMs: number;
};

const TASK_END = 0;
const EXEC_ADD = 1;
const EXEC_LOST = 2;
const STAGE_READY = 3;
const JOB_RELEASE = 4;
const ALLOC_TICK = 5;
const IDLE_CHECK = 6;

/** Task times on the simulated hardware: the observed time plus what changes with the hardware. */
function scaledDurations(plan: ReplayPlan, sc: TaskScaling | undefined): Float64Array[] {
  if (!sc) return plan.stages.map((st) => st.durationMs);
  const fc = sc.cpuFactor - 1;
  const fg = sc.gcFactor - 1;
  const ff = sc.fetchFactor - 1;
  const mem = sc.memoryPerTaskBytes;
  const relief = sc.spillReliefBytes ?? 0;
  return plan.stages.map((st) => {
    if (st.chunks) return scaledChunks(st, sc);
    const n = st.durationMs.length;
    const out = new Float64Array(n);
    const { durationMs, cpuMs, gcMs, fetchWaitMs, peakMemoryBytes, memorySpillBytes } = st;
    for (let k = 0; k < n; k++) {
      let d = durationMs[k]! + cpuMs[k]! * fc + gcMs[k]! * fg + fetchWaitMs[k]! * ff;
      const peak = peakMemoryBytes[k]!;
      if (peak > mem) d += (peak - mem) * sc.spillMsPerByte;
      const spilled = memorySpillBytes?.[k] ?? 0;
      // The spill it no longer does (at most half the task: the rest is its own work).
      if (spilled > 0 && peak + spilled <= relief) d -= Math.min(spilled * sc.spillMsPerByte, durationMs[k]! / 2);
      out[k] = d < 1 ? 1 : d;
    }
    return out;
  });
}

/** scaledDurations for a compressed stage: the linear terms from the chunk sums, spill per task (each task at least 1 ms). */
function scaledChunks(st: ReplayPlan['stages'][number], sc: TaskScaling): Float64Array {
  const c = st.chunks!;
  const fc = sc.cpuFactor - 1;
  const fg = sc.gcFactor - 1;
  const ff = sc.fetchFactor - 1;
  const mem = sc.memoryPerTaskBytes;
  const relief = sc.spillReliefBytes ?? 0;
  const n = st.durationMs.length;
  const out = new Float64Array(n);
  const { durationMs, cpuMs, gcMs, fetchWaitMs } = st;
  for (let e = 0; e < n; e++) {
    let d = durationMs[e]! + cpuMs[e]! * fc + gcMs[e]! * fg + fetchWaitMs[e]! * ff;
    if (Number.isFinite(mem)) d += excessOver(c, e, mem) * sc.spillMsPerByte;
    for (let r = c.spillStart[e]!; r < c.spillStart[e + 1]! && c.spillNeed[r]! <= relief; r++) d -= Math.min(c.spillBytes[r]! * sc.spillMsPerByte, c.spillDurationMs[r]! / 2);
    const w = c.weight[e]!;
    out[e] = d < w ? w : d;
  }
  return out;
}

/** Runs the plan on the supply; pure and deterministic. */
export function runEngine(plan: ReplayPlan, supply: Supply, options: EngineOptions): EngineResult {
  const heap = new EventHeap();
  const nStages = plan.stages.length;
  const durations = scaledDurations(plan, options.scaling);
  const retries = plan.stages.map((st) => st.retry);
  const kills = plan.stages.map((st) => st.killsExecutor);
  const unmet = new Int32Array(nStages);
  // Per stage: the runnable task positions in launch order (retries appended when their failed
  // attempt ends), how many were launched, and how many have ended.
  const order: Int32Array[] = plan.stages.map((s) => {
    const o = new Int32Array(s.durationMs.length);
    let n = 0;
    for (let k = 0; k < s.durationMs.length; k++) if (!s.isRetry[k]) o[n++] = k;
    return o;
  });
  const taskCount = Int32Array.from(plan.stages, (s) => s.durationMs.length);
  const available = new Int32Array(nStages);
  for (let i = 0; i < nStages; i++) {
    const isRetry = plan.stages[i]!.isRetry;
    let n = 0;
    for (let k = 0; k < isRetry.length; k++) n += isRetry[k]!;
    available[i] = taskCount[i]! - n;
  }
  // Tasks each entry stands for (chunks of a compressed stage; else 1).
  const weights = plan.stages.map((st) => st.chunks?.weight);
  const nextTask = new Int32Array(nStages);
  const ended = new Int32Array(nStages);
  const running = new Int32Array(nStages);
  const lastFinish = new Float64Array(nStages).fill(-Infinity);
  const released = new Uint8Array(nStages);
  const children: number[][] = plan.stages.map(() => []);
  plan.stages.forEach((s, i) => {
    unmet[i] = s.parents.length + 1; // +1 for the job's submission
    for (const p of s.parents) children[p]!.push(i);
  });
  const jobStagesLeft = plan.jobs.map((j) => j.stages.length);
  const jobEnd = new Float64Array(plan.jobs.length).fill(-Infinity);
  const jobRelease = new Float64Array(plan.jobs.length);
  const groupJobsLeft = plan.groups.map((g) => g.jobs.length);
  const groupStart = new Float64Array(plan.groups.length);
  const groupMs: number[] = plan.groups.map(() => 0);
  let endMs = 0;

  // Executors, in growable typed arrays (the hot loop touches them for every task).
  let cap = 16;
  let alive = new Uint8Array(cap);
  let slots = new Int32Array(cap);
  let free = new Int32Array(cap);
  let idleEpoch = new Int32Array(cap);
  let addedAt = new Float64Array(cap);
  let nExec = 0;
  // Free slots as a stack of executor ids (entries of executors since lost are skipped when popped).
  let freeStack = new Int32Array(64);
  let freeTop = 0;
  let freeTotal = 0;
  let aliveCount = 0;
  let outstanding = 0;
  let peakExecutors = 0;
  let executorMs = 0;
  const managed = supply.kind === 'managed' ? supply : undefined;

  const pushFree = (e: number) => {
    if (freeTop === freeStack.length) {
      const next = new Int32Array(freeStack.length * 2);
      next.set(freeStack);
      freeStack = next;
    }
    freeStack[freeTop++] = e;
  };
  const newExecutor = (slotCount: number): number => {
    if (nExec === cap) {
      cap *= 2;
      const grow = <T extends Uint8Array | Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
        const b = make(cap);
        b.set(a);
        return b;
      };
      alive = grow(alive, (n) => new Uint8Array(n));
      slots = grow(slots, (n) => new Int32Array(n));
      free = grow(free, (n) => new Int32Array(n));
      idleEpoch = grow(idleEpoch, (n) => new Int32Array(n));
      addedAt = grow(addedAt, (n) => new Float64Array(n));
    }
    slots[nExec] = slotCount;
    return nExec++;
  };
  if (supply.kind === 'fixed') {
    for (const e of supply.executors) {
      const id = newExecutor(e.slots);
      heap.push(e.arriveMs, EXEC_ADD, id);
      if (e.removeMs !== undefined) heap.push(Math.max(e.removeMs, e.arriveMs), EXEC_LOST, id);
    }
  } else {
    for (const t of supply.initialArrivalsMs) {
      heap.push(t, EXEC_ADD, newExecutor(supply.slotsPerExecutor));
      outstanding++;
    }
  }

  // Ready stages in priority order (a short sorted array; stages are few compared with tasks).
  const ready: number[] = [];
  let pendingTasks = 0;
  let runningTasks = 0;
  let tickScheduled = false;
  let step = 1;

  const insertReady = (s: number) => {
    let i = ready.length;
    while (i > 0 && ready[i - 1]! > s) i--;
    ready.splice(i, 0, s);
  };
  const scheduleTick = (now: number) => {
    if (managed && managed.dynamic && !tickScheduled && pendingTasks > 0) {
      tickScheduled = true;
      heap.push(now + managed.backlogTimeoutMs, ALLOC_TICK);
    }
  };
  const markIdle = (e: number, now: number) => {
    if (managed && managed.dynamic && free[e] === slots[e]) heap.push(now + managed.idleTimeoutMs, IDLE_CHECK, e, ++idleEpoch[e]!);
  };
  const removeExecutor = (e: number, now: number) => {
    if (!alive[e]) return;
    alive[e] = 0;
    aliveCount--;
    freeTotal -= free[e]!;
    free[e] = 0;
    executorMs += now - addedAt[e]!;
  };

  const dispatch = (now: number) => {
    while (freeTotal > 0 && ready.length > 0) {
      const s = ready[0]!;
      const e = freeStack[--freeTop]!;
      if (!alive[e] || free[e]! <= 0) continue;
      free[e]!--;
      freeTotal--;
      idleEpoch[e]!++;
      const k = order[s]![nextTask[s]!++]!;
      const d = durations[s]![k]!;
      const w = weights[s]?.[k] ?? 1;
      running[s]!++;
      runningTasks += w;
      pendingTasks -= w;
      if (now + d > lastFinish[s]!) lastFinish[s] = now + d;
      heap.push(now + d + options.taskOverheadMs * w, TASK_END, e, s, k);
      if (nextTask[s] === available[s]) ready.shift();
    }
  };

  const stageReady = (s: number, now: number) => {
    if (plan.stages[s]!.durationMs.length === 0) {
      lastFinish[s] = now;
      finishStage(s, now);
      return;
    }
    if (available[s]! > 0) insertReady(s);
    const w = weights[s];
    if (w) for (let p = 0; p < available[s]!; p++) pendingTasks += w[order[s]![p]!]!;
    else pendingTasks += available[s]!;
    scheduleTick(now);
  };
  const releaseIfReady = (s: number, at: number) => {
    if (unmet[s] !== 0 || released[s]) return;
    released[s] = 1;
    const delay = options.stageDelays ? plan.stages[s]!.submitDelayMs : 0;
    heap.push(at + delay, STAGE_READY, s);
  };
  const finishStage = (s: number, now: number) => {
    const done = Math.min(lastFinish[s]!, now);
    for (const c of children[s]!) {
      unmet[c]!--;
      releaseIfReady(c, Math.max(done, jobRelease[plan.stages[c]!.job]!));
    }
    const j = plan.stages[s]!.job;
    jobEnd[j] = Math.max(jobEnd[j]!, done);
    if (--jobStagesLeft[j]! === 0) finishJob(j, now);
  };
  const releaseGroup = (g: number, at: number) => {
    groupStart[g] = at;
    for (const j of plan.groups[g]!.jobs) heap.push(at + plan.jobs[j]!.offsetMs, JOB_RELEASE, j);
  };
  const finishJob = (j: number, now: number) => {
    const g = plan.jobs[j]!.group;
    if (--groupJobsLeft[g]! > 0) return;
    let end = -Infinity;
    for (const jj of plan.groups[g]!.jobs) end = Math.max(end, jobEnd[jj]!);
    end = Math.max(end, groupStart[g]!);
    groupMs[g] = end - groupStart[g]!;
    endMs = end;
    if (g + 1 < plan.groups.length) releaseGroup(g + 1, Math.max(end, now - options.taskOverheadMs) + plan.groups[g + 1]!.gapBeforeMs);
  };

  if (plan.groups.length > 0) releaseGroup(0, plan.groups[0]!.gapBeforeMs);
  let now = 0;
  const dynamic = managed !== undefined && managed.dynamic;
  const overhead = options.taskOverheadMs;
  while (heap.peek()) {
    // Fast path, the common event of a large stage: a task ends (no retry, no executor loss, its
    // stage goes on) while every other slot is busy and tasks wait. dispatch() would hand the freed
    // slot the next waiting task; that is done here in place, replacing the event at the heap's top.
    if (heap.topKind === TASK_END && freeTotal === 0 && ready.length > 0) {
      const e = heap.topA;
      const s = heap.topB;
      const k = heap.topC;
      if (alive[e] && !kills[s]![k] && retries[s]![k]! < 0 && ended[s]! + 1 < taskCount[s]! && !(dynamic && free[e]! + 1 === slots[e]!)) {
        now = heap.topTime;
        running[s]!--;
        runningTasks -= weights[s]?.[k] ?? 1;
        ended[s]!++;
        const s2 = ready[0]!;
        idleEpoch[e]!++;
        const k2 = order[s2]![nextTask[s2]!++]!;
        const d = durations[s2]![k2]!;
        const w = weights[s2]?.[k2] ?? 1;
        running[s2]!++;
        runningTasks += w;
        pendingTasks -= w;
        if (now + d > lastFinish[s2]!) lastFinish[s2] = now + d;
        heap.replaceTop(now + d + overhead * w, TASK_END, e, s2, k2);
        if (nextTask[s2] === available[s2]) ready.shift();
        continue;
      }
    }
    heap.pop();
    now = heap.topTime;
    const a = heap.topA;
    switch (heap.topKind) {
      case TASK_END: {
        const s = heap.topB;
        const k = heap.topC;
        running[s]!--;
        runningTasks -= weights[s]?.[k] ?? 1;
        ended[s]!++;
        if (kills[s]![k] && alive[a]) {
          // The task failed because its executor died: the executor goes too.
          removeExecutor(a, now);
          if (managed && !managed.dynamic) {
            heap.push(now + managed.startupLatencyMs, EXEC_ADD, newExecutor(managed.slotsPerExecutor));
            outstanding++;
          }
        }
        const retry = retries[s]![k]!;
        if (retry >= 0) {
          order[s]![available[s]!++] = retry;
          pendingTasks++;
          if (nextTask[s] === available[s]! - 1) insertReady(s);
          scheduleTick(now);
        }
        if (alive[a]) {
          free[a]!++;
          freeTotal++;
          pushFree(a);
          markIdle(a, now);
        }
        if (ended[s] === taskCount[s]) finishStage(s, now);
        break;
      }
      case EXEC_ADD: {
        if (managed) outstanding--;
        alive[a] = 1;
        aliveCount++;
        addedAt[a] = now;
        free[a] = slots[a]!;
        freeTotal += slots[a]!;
        for (let i = 0; i < slots[a]!; i++) pushFree(a);
        peakExecutors = Math.max(peakExecutors, aliveCount);
        markIdle(a, now);
        break;
      }
      case EXEC_LOST: {
        removeExecutor(a, now);
        if (managed && !managed.dynamic) {
          // Static allocation: YARN replaces a lost container.
          heap.push(now + managed.startupLatencyMs, EXEC_ADD, newExecutor(managed.slotsPerExecutor));
          outstanding++;
        }
        scheduleTick(now);
        break;
      }
      case STAGE_READY:
        stageReady(a, now);
        break;
      case JOB_RELEASE: {
        if (a < 0) {
          finishJob(-1 - a, now);
          break;
        }
        jobRelease[a] = now;
        const stages = plan.jobs[a]!.stages;
        if (stages.length === 0) {
          jobEnd[a] = now + plan.jobs[a]!.observedMs;
          heap.push(jobEnd[a]!, JOB_RELEASE, -1 - a);
          break;
        }
        for (const s of stages) {
          unmet[s]!--;
          releaseIfReady(s, now);
        }
        break;
      }
      case ALLOC_TICK: {
        tickScheduled = false;
        if (!managed || pendingTasks <= 0) {
          step = 1;
          break;
        }
        const need = Math.min(managed.maxExecutors, Math.ceil((pendingTasks + runningTasks) / managed.slotsPerExecutor));
        const have = aliveCount + outstanding;
        if (need > have) {
          const add = Math.min(step, need - have);
          for (let i = 0; i < add; i++) heap.push(now + managed.startupLatencyMs, EXEC_ADD, newExecutor(managed.slotsPerExecutor));
          outstanding += add;
          step *= 2;
        } else step = 1;
        scheduleTick(now);
        break;
      }
      case IDLE_CHECK: {
        if (managed && alive[a] && idleEpoch[a] === heap.topB && free[a] === slots[a] && aliveCount > managed.minExecutors && pendingTasks === 0) {
          removeExecutor(a, now);
        }
        break;
      }
    }
    dispatch(now);
    if (heap.size === 0 && groupJobsLeft[plan.groups.length - 1]! > 0 && (pendingTasks > 0 || runningTasks > 0)) {
      // Every executor is gone and none is coming: Spark would ask for one more.
      heap.push(now + (managed?.startupLatencyMs ?? 1000), EXEC_ADD, newExecutor(managed?.slotsPerExecutor ?? Math.max(1, ...slots.subarray(0, nExec))));
      outstanding++;
    }
  }
  for (let e = 0; e < nExec; e++) if (alive[e]) executorMs += Math.max(0, endMs - addedAt[e]!);
  return { groupMs, endMs, peakExecutors, executorMs };
}
