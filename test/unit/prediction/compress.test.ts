import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CHUNKS_PER_SLOT, adaptiveLine, chunkBounds, compressPlan, compressStage, excessOver, memoryReach } from '../../../src/domain/prediction/compress.js';
import { buildReplayPlan } from '../../../src/domain/prediction/plan.js';
import type { ReplayPlan } from '../../../src/domain/prediction/plan.js';
import { simulatePlan, supplyParameters } from '../../../src/domain/prediction/simulator.js';
import type { TaskSpec } from './model-builder.js';
import { buildModel } from './model-builder.js';

/** A seeded generator (the tests must not depend on Math.random). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** One job of one stage of `n` tasks with random durations, launched greedily on `slots` one-core executors. */
function stagePlan(n: number, slots: number, seed: number, failEvery = 0): ReplayPlan {
  const rand = rng(seed);
  const free = new Float64Array(slots);
  const tasks: TaskSpec[] = [];
  let index = 0;
  let retrySlot = -1;
  for (let i = 0; i < n; i++) {
    let e = 0;
    for (let j = 1; j < slots; j++) if (free[j]! < free[e]!) e = j;
    // A failed attempt's retry launches on its slot when it ends.
    if (retrySlot >= 0) e = retrySlot;
    const ms = 200 + Math.floor(rand() * 1800);
    const failed = failEvery > 0 && i % failEvery === failEvery - 1;
    tasks.push({ exec: e, launch: free[e]!, finish: free[e]! + ms, cpuMs: Math.floor(ms * 0.7), gcMs: Math.floor(ms / 20), ...(failed ? { status: 1, index } : { index: index++ }) });
    free[e] = free[e]! + ms;
    retrySlot = failed ? e : -1;
  }
  const end = Math.max(...free);
  return buildReplayPlan(
    buildModel({
      end: end + 1000,
      executors: Array.from({ length: slots }, () => ({ cores: 1, added: 0 })),
      jobs: [{ id: 0, submit: 0, complete: end, stages: [0] }],
      stages: [{ id: 0, job: 0, submit: 0, tasks }],
    }),
  );
}

test('chunkBounds: contiguous cover, sizes never grow, the last k x slots positions run one by one', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 1, max: 600 }), fc.double({ min: 1, max: 4, noNaN: true }), (n, slots, k) => {
      const b = chunkBounds(n, slots, k);
      assert.is(b[0], 0);
      assert.is(b[b.length - 1], n);
      let prev = Infinity;
      for (let e = 0; e + 1 < b.length; e++) {
        const size = b[e + 1]! - b[e]!;
        assert.ok(size >= 1);
        assert.ok(size <= prev, 'chunk sizes do not grow');
        prev = size;
        // Each chunk is at most remaining / (k x slots) tasks (or a single one).
        assert.ok(size === 1 || size <= (n - b[e]!) / (k * slots));
        if (n - b[e]! <= k * slots) assert.is(size, 1);
      }
      // Guided self-scheduling keeps the count near k x slots x (1 + ln(n / (k x slots))).
      const ks = k * slots;
      if (n > ks) assert.ok(b.length - 1 <= ks * (2 + Math.log(n / ks)), `${b.length - 1} entries for n=${n}, k*slots=${ks}`);
    }),
    { numRuns: 200 },
  );
});

test('chunkBounds: a position marked single is an entry of its own', () => {
  const special = new Set([0, 7, 8, 500, 999]);
  const b = chunkBounds(1000, 4, 2, (p) => special.has(p));
  for (const p of special) {
    const e = b.findIndex((x) => x === p);
    assert.ok(e >= 0, `an entry starts at ${p}`);
    assert.is(b[e + 1], p + 1, `the entry at ${p} holds only it`);
  }
});

test('compressStage: columns summed, weights add up to the tasks, retry links follow their entries', () => {
  const plan = stagePlan(3000, 8, 1, 97);
  const st = plan.stages[0]!;
  const special = (p: number) => st.retry[p]! >= 0 || st.isRetry[p] === 1 || st.killsExecutor[p] === 1;
  const b = chunkBounds(st.durationMs.length, 8, 2, special);
  const c = compressStage(st, b);
  assert.ok(c.durationMs.length < st.durationMs.length / 3, `compressed to ${c.durationMs.length}`);
  const sum = (a: Float64Array) => a.reduce((x, y) => x + y, 0);
  assert.is(sum(c.durationMs), sum(st.durationMs));
  assert.is(sum(c.cpuMs), sum(st.cpuMs));
  assert.is(sum(c.gcMs), sum(st.gcMs));
  assert.is(c.chunks!.weight.reduce((x, y) => x + y, 0), st.durationMs.length);
  let links = 0;
  for (let p = 0; p < st.retry.length; p++) {
    if (st.retry[p]! < 0) continue;
    links++;
    const e = b.indexOf(p);
    const r = b.indexOf(st.retry[p]!);
    assert.is(c.retry[e], r, 'a failed attempt still points at its retry');
    assert.is(c.isRetry[r], 1);
  }
  assert.ok(links > 20, `${links} retried attempts`);
});

test('excessOver equals the sum of max(0, peak - limit) over the entry', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: -10, max: 1100 }), (peaks, slots, limit) => {
      const plan = stagePlan(peaks.length, slots, 3);
      const st = plan.stages[0]!;
      st.peakMemoryBytes.set(peaks);
      const b = chunkBounds(peaks.length, slots, 1);
      const c = compressStage(st, b);
      for (let e = 0; e + 1 < b.length; e++) {
        let want = 0;
        for (let p = b[e]!; p < b[e + 1]!; p++) want += Math.max(0, st.peakMemoryBytes[p]! - limit);
        const got = c.chunks ? excessOver(c.chunks, e, limit) : want;
        assert.ok(Math.abs(got - want) < 1e-6, `entry ${e}: ${got} vs ${want}`);
      }
    }),
    { numRuns: 100 },
  );
});

test('on one slot a compressed stage takes exactly the time of its tasks, spill and relief included', () => {
  const plan = stagePlan(400, 1, 5);
  const st = plan.stages[0]!;
  const rand = rng(9);
  for (let k = 0; k < st.durationMs.length; k++) {
    st.peakMemoryBytes[k] = Math.floor(rand() * 4e8);
    st.memorySpillBytes[k] = rand() < 0.3 ? Math.floor(rand() * 2e8) : 0;
  }
  const compressed = compressPlan(plan, 1);
  assert.ok(compressed.stages[0]!.durationMs.length < 100, 'the stage is compressed');
  const params = supplyParameters(plan);
  for (const scaling of [
    { cpuFactor: 1.3, gcFactor: 1.5, fetchFactor: 1, memoryPerTaskBytes: 2e8, spillMsPerByte: 2e-5 },
    { cpuFactor: 0.6, gcFactor: 1, fetchFactor: 0.8, memoryPerTaskBytes: Infinity, spillMsPerByte: 2e-5, spillReliefBytes: 3e8 },
  ]) {
    const a = simulatePlan(plan, { executors: 1, cores: 1, scaling }, params).jobMs;
    const b = simulatePlan(compressed, { executors: 1, cores: 1, scaling }, params).jobMs;
    assert.ok(Math.abs(a - b) < 1e-6 * a, `${b} vs ${a}`);
  }
});

test('compressed replay of a many-wave stage stays within 1% of the full one, on every slot count', () => {
  for (const [n, observedSlots] of [
    [5000, 40],
    [20_000, 160],
  ] as const) {
    const plan = stagePlan(n, observedSlots, n);
    const params = supplyParameters(plan);
    for (const slots of [16, 40, 100, 160, 400]) {
      const bucket = 2 ** Math.ceil(Math.log2(slots));
      const compressed = compressPlan(plan, bucket);
      assert.ok(compressed.stages[0]!.durationMs.length < n, 'compressed');
      const cluster = { executors: slots, cores: 1, scaling: { cpuFactor: 1.2, gcFactor: 1, fetchFactor: 1, memoryPerTaskBytes: Infinity, spillMsPerByte: 2e-5 } };
      const full = simulatePlan(plan, cluster, params).jobMs;
      const fast = simulatePlan(compressed, cluster, params).jobMs;
      assert.ok(Math.abs(fast - full) / full < 0.01, `${n} tasks on ${slots} slots: ${fast} vs ${full}`);
    }
  }
});

test('compressPlan leaves stages of at most 2 x k x slots tasks as they are', () => {
  const plan = stagePlan(300, 4, 2);
  const slots = Math.ceil(300 / (2 * CHUNKS_PER_SLOT));
  assert.is(compressPlan(plan, slots), plan);
  assert.ok(compressPlan(plan, slots - 1) !== plan);
});

test('memoryReach: the largest peak and the relief level with the same effect', () => {
  const plan = stagePlan(5, 1, 4);
  const st = plan.stages[0]!;
  st.peakMemoryBytes.set([10, 50, 20, 5, 0]);
  st.memorySpillBytes.set([0, 30, 5, 0, 100]);
  const r = memoryReach(plan);
  assert.is(r.maxPeakBytes, 50);
  // Needs of the spilled tasks: 80, 25, 100.
  assert.is(r.reliefLevel(24), 0);
  assert.is(r.reliefLevel(25), 25);
  assert.is(r.reliefLevel(79), 25);
  assert.is(r.reliefLevel(99), 80);
  assert.is(r.reliefLevel(1e9), 100);
});

test('adaptiveLine: a straight line costs three evaluations and is exact', () => {
  const calls: number[] = [];
  const line = adaptiveLine(0.53, 1.87, 0.1, (x) => (calls.push(x), 1000 + 400 * x));
  assert.equal(calls.sort(), [0.5, 1.2, 1.9]);
  for (const x of [0.53, 0.77, 1, 1.5, 1.87]) assert.ok(Math.abs(line(x) - (1000 + 400 * x)) < 1e-9);
});

test('adaptiveLine: a curved function is refined until each midpoint is within the tolerance, each grid point evaluated once', () => {
  fc.assert(
    fc.property(fc.double({ min: 0.2, max: 1, noNaN: true }), fc.double({ min: 1, max: 3, noNaN: true }), fc.double({ min: 0, max: 2, noNaN: true }), (lo, hi, curve) => {
      const f = (x: number) => 100 + 50 * x + curve * 40 * x * x;
      const seen = new Set<number>();
      const line = adaptiveLine(lo, hi, 0.1, (x) => {
        assert.not.ok(seen.has(x), `f(${x}) asked twice`);
        seen.add(x);
        return f(x);
      }, 0.001);
      // A chord of a quadratic is furthest off at its middle; the check is at the grid point nearest it (at
      // worst a third of the way along an interval of three steps, 8/9 of the largest gap): within 0.15%,
      // or within the chord error of one grid step (curve x 40 x 0.1^2 / 4), which no refinement goes below.
      const oneStep = (curve * 40 * 0.01) / 4;
      for (let k = 0; k <= 37; k++) {
        const x = lo + ((hi - lo) * k) / 37;
        assert.ok(Math.abs(line(x) - f(x)) <= Math.max(0.0015 * f(x), oneStep + 1e-9), `x=${x}: ${line(x)} vs ${f(x)}`);
      }
      for (const x of seen) assert.ok(Math.abs(line(x) - f(x)) < 1e-9, 'exact at the points evaluated');
    }),
    { numRuns: 100 },
  );
});

test.run();
