// Cost per update of a project that has run for a long time: time per run.start and per run.record
// (the real handlers, on the file state store and on the S3 one over s3rver; platform and run data in memory) for a project holding
// 5,000 runs against one holding 50, with the documents kept bounded (the stores' default), and the
// same with archiving off (the unbounded document, as before) as the baseline. Target: ratio near 1.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom } from 'rxjs';
import { createS3ObjectStore } from '../src/adapters/s3-object-store.js';
import { createFileStateStore } from '../src/adapters/state-file.js';
import { createS3StateStore } from '../src/adapters/state-s3.js';
import type { StateStore } from '../src/domain/ports.js';
import type { StateStoreOptions } from '../src/adapters/state-file.js';
import type { ProjectState, Run } from '../src/domain/types.js';
import { runRecord } from '../src/handlers/run-record.js';
import { runStart } from '../src/handlers/run-start.js';
import { createFakeDeps, testContext } from '../test/support/fakes.js';
import { startS3 } from '../test/support/s3.js';

const ITERATIONS = Number(process.env.BENCH_STATE_ITERATIONS ?? 100);
/** The unbounded baseline costs ~1 s per 5,000-run update: fewer of them. */
const BASELINE_ITERATIONS = 20;
const S3_ITERATIONS = Number(process.env.BENCH_STATE_S3_ITERATIONS ?? 40);
const S3_BASELINE_ITERATIONS = 8;
const WARMUP = 5;

function seeded(n: number): ProjectState {
  const at = (i: number) => new Date(Date.UTC(2025, 0, 1) + i * 3600_000).toISOString();
  const runs: Run[] = Array.from({ length: n }, (_, i) => ({
    id: `old-${i}`,
    projectId: 'p',
    status: 'recorded',
    location: `s3://runs-bucket/sync/p/${i}/`,
    createdAt: at(i),
    requestKey: `old-key-${i}`,
    clusterId: `j-OLD${i}`,
    clusterState: 'TERMINATED',
    startedAt: at(i),
    endedAt: at(i),
    recordedAt: at(i),
    reportUrl: `s3://runs-bucket/sync/p/${i}/emr-cluster-report.json`,
    eventLogUrl: `s3://runs-bucket/sync/p/${i}/eventlog/`,
    runtimeSeconds: 3600,
    costUsd: 4.2,
    cluster: { instanceType: 'm5.xlarge', nodes: 4, masterInstanceType: 'm5.xlarge' },
  }));
  return {
    project: { id: 'p', name: 'etl', platform: 'emr', tenantId: 'acme', createdAt: at(0), updatedAt: at(0), jobFlow: { Name: 'etl', ReleaseLabel: 'emr-7.1.0' } },
    runs,
    predictions: [],
    requests: Object.fromEntries(runs.map((r) => [r.requestKey, { runId: r.id, at: r.createdAt }])),
  };
}

type Timing = { start: number; record: number; docRuns: number };

/** One project seeded with `n` runs on its own file state store, stepped one run.start + run.record at a time. */
type StoreFactory = (options: StateStoreOptions, name: string) => StateStore;

async function project(n: number, options: StateStoreOptions, iterations: number, makeStore: StoreFactory) {
  const dir = mkdtempSync(join(tmpdir(), 'sync-bench-state-'));
  const deps = createFakeDeps();
  deps.state = makeStore(options, `${dir}/${n}`) as typeof deps.state;
  await deps.state.put('p', seeded(n), null);
  const total = { start: 0, record: 0 };
  return {
    async step(i: number, counted: boolean) {
      let t = performance.now();
      const r = await lastValueFrom(runStart({ projectId: 'p' }, deps, testContext(`start-${i}`, `key-${i}`)));
      const s = performance.now() - t;
      deps.platform.advance(r.clusterId, 'RUNNING', { readyAt: deps.clock.now() });
      deps.clock.advance(60_000);
      deps.platform.advance(r.clusterId, 'TERMINATED', { endedAt: deps.clock.now() });
      await deps.objects.put(`${r.location}eventlog/application_1_${i}`, '{"Event":"SparkListenerLogStart"}\n');
      t = performance.now();
      await lastValueFrom(runRecord({ projectId: 'p', clusterId: r.clusterId, runId: r.runId }, deps, testContext(`rec-${i}`)));
      if (counted) {
        total.start += s;
        total.record += performance.now() - t;
      }
    },
    async finish(): Promise<Timing> {
      const docRuns = (await deps.state.get('p'))!.value.runs.length;
      rmSync(dir, { recursive: true, force: true });
      return { start: total.start / iterations, record: total.record / iterations, docRuns };
    },
  };
}

/** Mean ms per run.start and per run.record for a 50-run and a 5,000-run project, stepped alternately (machine noise hits both alike). */
async function measure(options: StateStoreOptions, iterations: number, makeStore: StoreFactory): Promise<[Timing, Timing]> {
  const small = await project(50, options, iterations, makeStore);
  const big = await project(5000, options, iterations, makeStore);
  for (let i = 0; i < WARMUP + iterations; i++) {
    await small.step(i, i >= WARMUP);
    await big.step(i, i >= WARMUP);
  }
  return [await small.finish(), await big.finish()];
}

async function section(title: string, makeStore: StoreFactory, iterations: number, baselineIterations: number): Promise<void> {
  const rows: string[] = [];
  for (const [label, options, count] of [
    ['bounded (default)', {}, iterations],
    ['baseline: archiving off', { archive: false }, baselineIterations],
  ] as const) {
    const [small, big] = await measure(options, count, makeStore);
    rows.push(
      `${label.padEnd(24)} run.start ${small.start.toFixed(2)} -> ${big.start.toFixed(2)} ms (x${(big.start / small.start).toFixed(2)})   ` +
        `run.record ${small.record.toFixed(2)} -> ${big.record.toFixed(2)} ms (x${(big.record / small.record).toFixed(2)})   ` +
        `runs in document ${small.docRuns} / ${big.docRuns}`,
    );
  }
  console.log(`\n${title}, ${iterations} runs each (baseline ${baselineIterations}; after ${WARMUP} warm-up), alternating: project with 50 runs -> project with 5,000 runs (target: ratio near 1)`);
  for (const r of rows) console.log(r);
}

export async function run(): Promise<void> {
  await section('File state store', (options, dir) => createFileStateStore(dir, {}, options), ITERATIONS, BASELINE_ITERATIONS);
  const s3 = await startS3({ buckets: ['bench-state'] });
  try {
    const objectStore = createS3ObjectStore({ client: s3.client });
    let n = 0;
    await section('S3 state store (s3rver on loopback)', (options) => createS3StateStore({ objectStore, rootUrl: `s3://bench-state/run-${n++}`, ...options }), S3_ITERATIONS, S3_BASELINE_ITERATIONS);
  } finally {
    await s3.stop();
  }
}
