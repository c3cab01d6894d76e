import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildReplayPlan } from '../../../src/domain/prediction/plan.js';
import { observedCluster, simulate, simulateBaseline, simulatePlan, supplyParameters } from '../../../src/domain/prediction/simulator.js';
import { buildModel, packedTasks } from './model-builder.js';

test('static cluster: 8 tasks of 1 s on 2 one-core executors take 4 s of job time plus driver time', () => {
  const model = buildModel({
    end: 6000,
    executors: [{ cores: 1, added: 0 }, { cores: 1, added: 0 }],
    jobs: [{ id: 0, submit: 1000, complete: 5000, stages: [0] }],
    stages: [{ id: 0, job: 0, submit: 1000, tasks: packedTasks(8, 1000, 2, 1000) }],
  });
  const r = simulate(model);
  assert.is(r.driverMs, 2000);
  assert.is(r.jobMs, 4000);
  assert.is(r.estimatedMs, 6000);
  // On 4 executors the same work takes 2 s.
  assert.is(simulate(model, { executors: 4, cores: 1 }).jobMs, 2000);
  // On 1 executor with 4 cores: also 2 s.
  assert.is(simulate(model, { executors: 1, cores: 4 }).jobMs, 2000);
});

test('a child stage starts only when both parents have finished', () => {
  const model = buildModel({
    end: 10_000,
    executors: [{ cores: 2, added: 0 }],
    jobs: [{ id: 0, submit: 0, complete: 4000, stages: [0, 1, 2] }],
    stages: [
      { id: 0, job: 0, submit: 0, tasks: [{ exec: 0, launch: 0, finish: 1000 }] },
      { id: 1, job: 0, submit: 0, tasks: [{ exec: 0, launch: 0, finish: 3000 }] },
      { id: 2, job: 0, parents: [0, 1], submit: 3000, tasks: [{ exec: 0, launch: 3000, finish: 4000 }] },
    ],
  });
  // Parent 1 ends at 3 s, the child runs 1 s: 4 s, on any number of slots.
  assert.is(simulate(model).jobMs, 4000);
  assert.is(simulate(model, { executors: 10, cores: 4 }).jobMs, 4000);
  // With a single slot the parents run one after the other: 1 + 3 + 1 s.
  assert.is(simulate(model, { executors: 1, cores: 1 }).jobMs, 5000);
});

test('a retried task waits for its failed attempt to end', () => {
  const model = buildModel({
    end: 5000,
    executors: [{ cores: 2, added: 0 }],
    jobs: [{ id: 0, submit: 0, complete: 3500, stages: [0] }],
    stages: [
      {
        id: 0,
        job: 0,
        submit: 0,
        tasks: [
          { exec: 0, launch: 0, finish: 2000, status: 1, index: 0 },
          { exec: 0, launch: 0, finish: 500, index: 1 },
          { exec: 0, launch: 2000, finish: 3500, index: 0 },
        ],
      },
    ],
  });
  const plan = buildReplayPlan(model);
  assert.is(plan.stages[0]!.failed, 1);
  // 2 s failed attempt, then the 1.5 s retry, even though a slot was free at 0.5 s.
  assert.is(simulate(model).jobMs, 3500);
});

test('executors that arrive late delay the job; the baseline ignores it and under-estimates', () => {
  const model = buildModel({
    end: 9000,
    executors: [{ cores: 1, added: 3000 }, { cores: 1, added: 3000 }],
    jobs: [{ id: 0, submit: 1000, complete: 7000, stages: [0] }],
    stages: [{ id: 0, job: 0, submit: 1000, tasks: packedTasks(8, 1000, 2, 3000) }],
  });
  const r = simulate(model);
  assert.is(r.estimatedMs, 9000);
  const b = simulateBaseline(model);
  assert.is(b.estimatedMs, 7000);
  const p = supplyParameters(buildReplayPlan(model));
  assert.equal(p.startupOffsetsMs, [3000, 3000]);
});

test('jobs separated by driver time keep that gap; concurrent jobs share the slots', () => {
  const model = buildModel({
    end: 10_000,
    executors: [{ cores: 1, added: 0 }, { cores: 1, added: 0 }],
    jobs: [
      { id: 0, submit: 0, complete: 2000, stages: [0] },
      { id: 1, submit: 0, complete: 2000, stages: [1] },
      { id: 2, submit: 5000, complete: 6000, stages: [2] },
    ],
    stages: [
      { id: 0, job: 0, submit: 0, tasks: packedTasks(2, 1000, 1, 0).map((t) => ({ ...t, exec: 0 })) },
      { id: 1, job: 1, submit: 0, tasks: packedTasks(2, 1000, 1, 0).map((t) => ({ ...t, exec: 1 })) },
      { id: 2, job: 2, submit: 5000, tasks: [{ exec: 0, launch: 5000, finish: 6000 }] },
    ],
  });
  const plan = buildReplayPlan(model);
  assert.is(plan.groups.length, 2);
  assert.is(plan.groups[1]!.gapBeforeMs, 3000);
  const r = simulatePlan(plan);
  assert.equal(r.jobMs, 3000);
  assert.is(r.estimatedMs, 10_000);
  // One executor: the two concurrent jobs (4 s of work) take 4 s.
  assert.is(simulatePlan(plan, { executors: 1, cores: 1 }).jobMs, 5000);
});

test('dynamic allocation: after idle removal, executors come back after the observed latency', () => {
  // One executor for job 0, removed when idle; job 1 at 20 s waits for a new one added at 24 s.
  const model = buildModel({
    end: 30_000,
    dynamic: true,
    props: { 'spark.dynamicAllocation.executorIdleTimeout': '5s' },
    executors: [
      { cores: 1, added: 500, removed: 7000 },
      { cores: 1, added: 24_000 },
    ],
    jobs: [
      { id: 0, submit: 0, complete: 2000, stages: [0] },
      { id: 1, submit: 20_000, complete: 26_000, stages: [1] },
    ],
    stages: [
      { id: 0, job: 0, submit: 0, tasks: [{ exec: 0, launch: 500, finish: 2000 }] },
      { id: 1, job: 1, submit: 20_000, tasks: [{ exec: 1, launch: 24_000, finish: 26_000 }] },
    ],
  });
  const model2 = { ...model, settings: { ...model.settings, dynamicAllocation: true } };
  const plan = buildReplayPlan(model2);
  const p = supplyParameters(plan);
  // Latency = 24 s - 20 s job submission - 1 s backlog timeout.
  assert.is(p.startupLatencyMs, 3000);
  assert.is(p.idleTimeoutMs, 5000);
  const r = simulatePlan(plan, observedCluster(plan), p);
  // Job 1: 1 s backlog + 3 s latency + 2 s task = 6 s; job 0: 0.5 s start-up + 1.5 s = 2 s.
  assert.is(r.jobMs, 8000);
  assert.is(r.estimatedMs, 30_000);
});

test('faster cores shorten only the CPU part of each task', () => {
  const model = buildModel({
    end: 3000,
    executors: [{ cores: 1, added: 0 }],
    jobs: [{ id: 0, submit: 0, complete: 2000, stages: [0] }],
    stages: [{ id: 0, job: 0, submit: 0, tasks: [{ exec: 0, launch: 0, finish: 2000, cpuMs: 1000 }] }],
  });
  const scaling = { cpuFactor: 0.5, gcFactor: 1, fetchFactor: 1, memoryPerTaskBytes: Infinity, spillMsPerByte: 0 };
  // 1 s of CPU at twice the speed: 2 s -> 1.5 s.
  assert.is(simulate(model, { executors: 1, cores: 1, scaling }).jobMs, 1500);
});

test('a task that fails with its executor takes the executor down; the retry waits for a replacement', () => {
  const model = buildModel({
    end: 8000,
    executors: [
      { cores: 1, added: 0, removed: 2000, reason: 'Container marked as failed: exit code 137' },
      { cores: 1, added: 5000 },
    ],
    jobs: [{ id: 0, submit: 0, complete: 6000, stages: [0] }],
    stages: [
      {
        id: 0,
        job: 0,
        submit: 0,
        tasks: [
          { exec: 0, launch: 0, finish: 2000, status: 1, index: 0 },
          { exec: 1, launch: 5000, finish: 6000, index: 0 },
        ],
      },
    ],
  });
  const plan = buildReplayPlan(model);
  assert.equal([...plan.stages[0]!.killsExecutor], [1, 0]);
  const p = supplyParameters(plan);
  // Static allocation: the replacement came 3 s after the loss.
  assert.is(p.startupLatencyMs, 3000);
  assert.is(simulatePlan(plan, { executors: 1, cores: 1 }, p).jobMs, 6000);
  // With a second executor the retry runs on it at once.
  assert.is(simulatePlan(plan, { executors: 2, cores: 1 }, p).jobMs, 3000);
});

test.run();
