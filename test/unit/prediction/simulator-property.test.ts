import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildReplayPlan } from '../../../src/domain/prediction/plan.js';
import { simulateBaselinePlan, simulatePlan } from '../../../src/domain/prediction/simulator.js';
import { buildModel } from './model-builder.js';
import type { StageSpec, TaskSpec } from './model-builder.js';

// Random applications: jobs in sequence, each with a few stages whose parents are earlier stages of
// the same job, tasks of random length, some failed and retried, on random executors.
const appArb = fc
  .record({
    dynamic: fc.boolean(),
    executors: fc.array(fc.record({ cores: fc.integer({ min: 1, max: 4 }), added: fc.integer({ min: 0, max: 5000 }), lostAfter: fc.option(fc.integer({ min: 100, max: 20_000 })) }), { minLength: 1, maxLength: 6 }),
    jobs: fc.array(
      fc.array(fc.record({ tasks: fc.array(fc.record({ ms: fc.integer({ min: 1, max: 3000 }), failed: fc.boolean() }), { minLength: 0, maxLength: 12 }), parentMask: fc.nat() }), { minLength: 1, maxLength: 4 }),
      { minLength: 0, maxLength: 4 },
    ),
  })
  .map(({ dynamic, executors, jobs }) => {
    let t = 6000;
    let stageId = 0;
    const stages: StageSpec[] = [];
    const jobSpecs = jobs.map((stagesOfJob, j) => {
      const submit = t;
      const ids: number[] = [];
      for (const st of stagesOfJob) {
        const parents = ids.filter((_, i) => (st.parentMask >> i) & 1);
        const tasks: TaskSpec[] = [];
        let end = t;
        st.tasks.forEach((task, i) => {
          const exec = i % executors.length;
          tasks.push({ exec, launch: t, finish: t + task.ms, status: task.failed ? 1 : 0, index: i });
          end = Math.max(end, t + task.ms);
          if (task.failed) tasks.push({ exec, launch: t + task.ms, finish: t + 2 * task.ms, index: i });
          end = Math.max(end, t + 2 * task.ms);
        });
        stages.push({ id: stageId, job: j, parents, submit: t, tasks });
        ids.push(stageId++);
        t = end + 10;
      }
      t += 500;
      return { id: j, submit, complete: t - 500, stages: ids };
    });
    return buildModel({
      end: t + 1000,
      dynamic,
      executors: executors.map((e) => ({ cores: e.cores, added: e.added, ...(e.lostAfter !== null ? { removed: e.added + e.lostAfter, reason: 'Container lost' } : {}) })),
      jobs: jobSpecs,
      stages,
    });
  });

test('the simulator finishes every random application with a finite estimate of at least the driver time', () => {
  fc.assert(
    fc.property(appArb, fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 8 }), (model, executors, cores) => {
      const plan = buildReplayPlan(model);
      for (const cluster of [undefined, { executors, cores }]) {
        const r = cluster ? simulatePlan(plan, cluster) : simulatePlan(plan);
        assert.ok(Number.isFinite(r.estimatedMs), 'finite');
        assert.ok(r.estimatedMs >= plan.driverMs - 1e-6, 'at least the driver time');
        assert.ok(r.jobMs >= 0);
      }
      const b = simulateBaselinePlan(plan, { executors, cores });
      assert.ok(Number.isFinite(b.estimatedMs) && b.estimatedMs >= plan.driverMs - 1e-6);
    }),
    { numRuns: 300 },
  );
});

test('with one slot per task and no delays, a job takes at least its longest task chain', () => {
  fc.assert(
    fc.property(appArb, (model) => {
      const plan = buildReplayPlan(model);
      const tasks = plan.stages.reduce((n, s) => n + s.durationMs.length, 0);
      const r = simulatePlan(plan, { executors: Math.max(1, tasks), cores: 1 });
      // Every group runs at least as long as its longest task chain through the stage DAG.
      let bound = 0;
      for (const group of plan.groups) {
        const finish = new Map<number, number>();
        let groupBound = 0;
        for (const j of group.jobs) {
          for (const s of plan.jobs[j]!.stages) {
            const st = plan.stages[s]!;
            const start = Math.max(0, ...st.parents.map((p) => finish.get(p) ?? 0));
            const f = start + Math.max(0, ...st.durationMs);
            finish.set(s, f);
            groupBound = Math.max(groupBound, f);
          }
        }
        bound += groupBound;
      }
      assert.ok(r.jobMs >= bound - 1e-6, `${r.jobMs} < ${bound}`);
    }),
    { numRuns: 200 },
  );
});

test('the baseline with its slots in a heap gives what a linear scan of the slots for each task gives', () => {
  // The reference: every slot scanned for each task.
  const linear = (plan: ReturnType<typeof buildReplayPlan>, slots: number): number => {
    let jobMs = 0;
    for (const job of plan.jobs) {
      if (job.stages.length === 0) continue;
      const free = new Float64Array(slots);
      const done = new Map<number, number>();
      let end = 0;
      for (const s of [...job.stages].sort((a, b) => plan.stages[a]!.stageId - plan.stages[b]!.stageId || a - b)) {
        const st = plan.stages[s]!;
        let start = 0;
        for (const p of st.parents) start = Math.max(start, done.get(p) ?? 0);
        let finish = start;
        for (let k = 0; k < st.durationMs.length; k++) {
          let best = 0;
          for (let i = 1; i < slots; i++) if (free[i]! < free[best]!) best = i;
          const t = Math.max(free[best]!, start) + st.durationMs[k]!;
          free[best] = t;
          finish = Math.max(finish, t);
        }
        done.set(s, finish);
        end = Math.max(end, finish);
      }
      jobMs += end;
    }
    return plan.driverMs + jobMs;
  };
  fc.assert(
    fc.property(appArb, fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 4 }), (model, executors, cores) => {
      const plan = buildReplayPlan(model);
      // Few distinct durations, so that slots often free at the same time.
      for (const st of plan.stages) for (let k = 0; k < st.durationMs.length; k++) st.durationMs[k] = 100 * Math.ceil(st.durationMs[k]! / 1000);
      assert.is(simulateBaselinePlan(plan, { executors, cores }).estimatedMs, linear(plan, Math.max(1, executors * Math.max(1, Math.floor(cores / plan.taskCpus)))));
    }),
    { numRuns: 300 },
  );
});

test.run();
