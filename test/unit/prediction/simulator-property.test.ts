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

test.run();
