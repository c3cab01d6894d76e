// Issue 14, "never worse than today": the current configuration is a candidate and the baseline, and
// no preference recommends a configuration it dominates or one that does not beat it by the margin.
// Property test over the real event logs in test/fixtures/eventlogs, with random catalogs and reports.
import fc from 'fast-check';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadApplicationModel } from '../../../src/adapters/eventlog-source.js';
import { readCatalogRows, shippedCatalogPath } from '../../../src/adapters/prediction/catalog-file.js';
import type { ApplicationModel } from '../../../src/domain/eventlog/model.js';
import type { ClusterReport } from '../../../src/domain/ports.js';
import { buildCatalog } from '../../../src/domain/prediction/catalog.js';
import { beatsCurrent, choosePreferencesOver } from '../../../src/domain/prediction/pareto.js';
import { predictFromModel } from '../../../src/domain/prediction/predict.js';
import { PREFERENCES } from '../../../src/domain/types.js';
import { REAL_LOGS as LOGS } from '../../support/real-logs.js';

const rows = readCatalogRows(shippedCatalogPath());
const models: ApplicationModel[] = [];

test.before(async () => {
  for (const l of LOGS) models.push(await loadApplicationModel(fileURLToPath(new URL(`../../fixtures/eventlogs/${l}`, import.meta.url))));
});

test('choosePreferencesOver: a point the current one dominates is never chosen; within the margin means keep', () => {
  const current = { runtimeSeconds: 100, costUsd: 1 };
  const points = [
    { runtimeSeconds: 100, costUsd: 1 }, // the current configuration itself
    { runtimeSeconds: 95, costUsd: 3 }, // 5% faster only
    { runtimeSeconds: 120, costUsd: 0.95 }, // 5% cheaper only
    { runtimeSeconds: 101, costUsd: 1.2 }, // dominated
  ];
  const { chosen } = choosePreferencesOver(points, current, {}, 0.1);
  assert.equal(chosen, { performance: undefined, balanced: undefined, economy: undefined });
  const withGood = choosePreferencesOver([...points, { runtimeSeconds: 80, costUsd: 1.5 }, { runtimeSeconds: 105, costUsd: 0.5 }], current, {}, 0.1).chosen;
  assert.equal(withGood.performance, { runtimeSeconds: 80, costUsd: 1.5 });
  assert.equal(withGood.economy, { runtimeSeconds: 105, costUsd: 0.5 });
  assert.ok(withGood.balanced && beatsCurrent('balanced', withGood.balanced, current, 0.1));
  assert.not.ok(beatsCurrent('performance', { runtimeSeconds: 100, costUsd: 1 }, current, 0));
  assert.not.ok(beatsCurrent('performance', { runtimeSeconds: 99.9, costUsd: 1 }, current, 0), "a 0.1% change is noise");
});

// A random catalog: a subset of the shipped types at random prices (0.3x .. 3x), CoreMark kept or dropped.
const catalogArb = fc
  .record({
    picks: fc.uniqueArray(fc.integer({ min: 0, max: rows.length - 1 }), { minLength: 3, maxLength: 25 }),
    factors: fc.array(fc.double({ min: 0.3, max: 3, noNaN: true }), { minLength: 25, maxLength: 25 }),
    dropCoremark: fc.boolean(),
  })
  .map(({ picks, factors, dropCoremark }) =>
    picks.map((i, k) => {
      const r = rows[i]!;
      const { coremark, emrUsdPerHour, ...rest } = r;
      const f = factors[k]!;
      return { ...rest, onDemandUsdPerHour: r.onDemandUsdPerHour * f, emrUsdPerHour: (emrUsdPerHour ?? 0) * f, ...(dropCoremark || coremark === undefined ? {} : { coremark }) };
    }),
  );

// A random report: none, or instance groups (top level or inside Cluster) of a catalog type or an unknown one.
const reportArb = fc.option(
  fc.record({ type: fc.integer({ min: 0, max: rows.length - 1 }), unknown: fc.boolean(), nodes: fc.integer({ min: 1, max: 12 }), inside: fc.boolean(), spotTask: fc.boolean() }),
  { nil: undefined },
);

function reportOf(r: { type: number; unknown: boolean; nodes: number; inside: boolean; spotTask: boolean } | undefined): ClusterReport | undefined {
  if (!r) return undefined;
  const core = r.unknown ? 'q9z.8xlarge' : rows[r.type]!.instanceType;
  const groups = [
    { Id: 'ig-m', InstanceGroupType: 'MASTER', InstanceType: 'm5.xlarge', RequestedInstanceCount: 1 },
    { Id: 'ig-c', InstanceGroupType: 'CORE', InstanceType: core, RequestedInstanceCount: r.nodes },
    ...(r.spotTask ? [{ Id: 'ig-t', InstanceGroupType: 'TASK', InstanceType: 'm4.large', RequestedInstanceCount: 1, Market: 'SPOT' }] : []),
  ];
  const base = { Instances: [], Steps: [], BootstrapActions: [], Region: 'us-east-1' };
  return r.inside ? { ...base, Cluster: { InstanceCollectionType: 'INSTANCE_GROUP', InstanceGroups: groups } } : { ...base, Cluster: {}, InstanceGroups: groups };
}

test('property: over the real logs, no preference recommends a configuration the current one dominates, or one within the margin', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: LOGS.length - 1 }), catalogArb, reportArb, fc.constantFrom(0, 0.05, 0.1, 0.25), (li, catRows, rep, margin) => {
      const catalog = buildCatalog(catRows);
      const out = predictFromModel(models[li]!, reportOf(rep), { catalog, margin });
      const current = out.candidates.filter((c) => c.current);
      assert.is(current.length, 1, 'the current configuration is a candidate, once');
      assert.is(current[0]!.instanceType, out.basis.instanceType);
      assert.ok(Math.abs(current[0]!.runtimeSeconds - out.basis.runtimeSeconds) < 0.06);
      for (const pref of PREFERENCES) {
        const s = out.solutions[pref];
        const e = s.estimate;
        if (s.keep) {
          assert.equal(e, { runtimeSeconds: out.basis.runtimeSeconds, costUsd: out.basis.costUsd }, `${LOGS[li]} ${pref}: a keep carries the current estimate`);
          assert.match(s.explanation, /^keep: nothing beats the current cluster by \d+%/);
          continue;
        }
        const dominated = e.runtimeSeconds >= out.basis.runtimeSeconds && e.costUsd >= out.basis.costUsd;
        assert.not.ok(dominated, `${LOGS[li]} ${pref}: ${JSON.stringify(e)} is dominated by the current ${JSON.stringify(out.basis)}`);
        // Rounding of the reported estimate (0.1 s, 1e-4 USD) aside, it beats the current one by the margin.
        const slack = { runtimeSeconds: e.runtimeSeconds - 0.05, costUsd: e.costUsd - 0.00005 };
        assert.ok(beatsCurrent(pref, slack, out.basis, margin), `${LOGS[li]} ${pref}: ${JSON.stringify(e)} does not beat ${JSON.stringify(out.basis)} by ${margin}`);
      }
    }),
    { numRuns: 30, seed: 14 },
  );
});

test.run();
