import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { memoryIo } from '../../../src/cli/io.js';
import { run as predict } from '../../../src/cli/commands/predict.js';
import { run as simulate } from '../../../src/cli/commands/simulate.js';
import { loadCatalog } from '../../../src/adapters/prediction/catalog-file.js';
import { clusterCostUsd } from '../../../src/domain/prediction/cost.js';

const cli = suite('predict and simulate commands');
const dir = mkdtempSync(join(tmpdir(), 'sync-predict-cli-'));
const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const eventLog = join(fixtures, 'eventlogs/dr-elephant/event_log_1');

cli.after(() => rmSync(dir, { recursive: true, force: true }));

// grep.spark from the bell data at 4, 12, 24, 40 and 60 nodes, mean runtime in seconds.
function bellHistory(): string {
  const rows = readFileSync(join(fixtures, 'bell/grep.spark.csv'), 'utf8').trim().split(/\r?\n/).slice(1).map((l) => l.split(',').map(Number));
  const lines = ['instanceType,nodes,runtimeSeconds'];
  for (const n of [4, 12, 24, 40, 60]) {
    const ts = rows.filter((r) => r[0] === n).map((r) => r[1]! / 1000);
    lines.push(`m5.xlarge,${n},${ts.reduce((a, b) => a + b, 0) / ts.length}`);
  }
  return lines.join('\n');
}

cli('predict --history FILE --json lists every candidate with its cost and the three solutions', async () => {
  const file = join(dir, 'history.csv');
  writeFileSync(file, bellHistory());
  const io = memoryIo({}, dir);
  const code = await predict(['--history', file, '--json'], io, { catalog: loadCatalog() });
  assert.is(code, 0, io.stderr.join('\n'));
  const out = JSON.parse(io.stdout.join('\n')) as {
    candidates: { instanceType: string; nodes: number; runtimeSeconds: number; costUsd: number }[];
    solutions: Record<string, { estimate: { runtimeSeconds: number; costUsd: number } }>;
    basis: { nodes: number };
  };
  assert.ok(out.candidates.length > 100);
  const catalog = loadCatalog();
  for (const c of out.candidates.slice(0, 50)) {
    const cost = clusterCostUsd(catalog, { instanceType: c.instanceType, nodes: c.nodes, masterInstanceType: 'm5.xlarge' }, c.runtimeSeconds);
    assert.ok(Math.abs(cost - c.costUsd) <= 0.0001 + cost * 0.01);
  }
  // The 32-node m5.xlarge run was not fitted on; the bell data says 186 s on average.
  const c32 = out.candidates.find((c) => c.instanceType === 'm5.xlarge' && c.nodes === 32)!;
  assert.ok(Math.abs(c32.runtimeSeconds - 185.7) / 185.7 < 0.1, String(c32.runtimeSeconds));
  assert.equal(Object.keys(out.solutions).sort(), ['balanced', 'economy', 'performance']);
  assert.is(out.basis.nodes, 60);
});

cli('predict --history: a bad row is named; a missing file and bad usage fail cleanly', async () => {
  const file = join(dir, 'bad.csv');
  writeFileSync(file, 'instanceType,nodes,runtimeSeconds\nm5.xlarge,4,100\nm5.xlarge,zero,50\n');
  let io = memoryIo({}, dir);
  assert.is(await predict(['--history', file], io, { catalog: loadCatalog() }), 1);
  assert.match(io.stderr.join('\n'), /row 2: nodes/);
  io = memoryIo({}, dir);
  assert.is(await predict(['--history', join(dir, 'nope.csv')], io, { catalog: loadCatalog() }), 1);
  io = memoryIo({}, dir);
  assert.is(await predict([], io), 2);
  const json = join(dir, 'history.json');
  writeFileSync(json, JSON.stringify([{ instanceType: 'r5.xlarge', nodes: 2, runtimeSeconds: 400 }, { instanceType: 'r5.xlarge', nodes: 8, runtimeSeconds: 130 }]));
  io = memoryIo({}, dir);
  assert.is(await predict(['--history', json], io, { catalog: loadCatalog() }), 0, io.stderr.join('\n'));
  assert.match(io.stdout.join('\n'), /performance/);
});

cli('predict --history: previous-generation types are priced from the history columns (or assumed, with a warning), not refused', async () => {
  const file = join(dir, 'old-types.csv');
  // The c4 rows use the old three-column form; the r4 rows carry their own description and price.
  writeFileSync(file, 'instanceType,nodes,runtimeSeconds,vcpu,memoryGib,usdPerHour\nc3.xlarge,4,900,,,\nc3.xlarge,8,500,,,\nm3.2xlarge,4,420,8,61,0.532\n');
  const io = memoryIo({}, dir);
  assert.is(await predict(['--history', file, '--json'], io, { catalog: loadCatalog() }), 0, io.stderr.join('\n'));
  const out = JSON.parse(io.stdout.join('\n')) as { basis: { instanceType: string; costUsd: number }; warnings: string[]; candidates: { instanceType: string; runtimeHighSeconds?: number }[] };
  assert.is(out.basis.instanceType, 'm3.2xlarge');
  assert.ok(out.warnings.some((w) => w.includes('c3.xlarge') && w.includes('assumed')), out.warnings.join('; '));
  assert.ok(out.candidates.some((c) => c.instanceType === 'c3.xlarge'));
  assert.ok(out.candidates.every((c) => c.runtimeHighSeconds !== undefined));
  const bad = join(dir, 'bad-price.csv');
  writeFileSync(bad, 'instanceType,nodes,runtimeSeconds,usdPerHour\nc3.xlarge,4,900,-1\n');
  const io2 = memoryIo({}, dir);
  assert.is(await predict(['--history', bad], io2, { catalog: loadCatalog() }), 1);
  assert.match(io2.stderr.join('\n'), /row 1: usdPerHour/);
});

cli('predict --history: a history on c4, m4, r4, r3 and i2 is priced from the catalog; a type the catalog lacks from the history; economy never costs more than the cheapest run', async () => {
  const file = join(dir, 'old-generation.csv');
  // Made-up runtimes of one job on old types (as in a history from 2018); m1.large is in no catalog and carries its own price.
  writeFileSync(
    file,
    [
      'instanceType,nodes,runtimeSeconds,vcpu,memoryGib,usdPerHour',
      'c4.large,10,780,,,',
      'm4.xlarge,8,520,,,',
      'r3.xlarge,6,610,,,',
      'i2.xlarge,6,640,,,',
      'm1.large,12,900,2,7.5,0.175',
      'r4.2xlarge,4,400,,,',
    ].join('\n'),
  );
  const io = memoryIo({}, dir);
  assert.is(await predict(['--history', file, '--json'], io, { catalog: loadCatalog() }), 0, io.stderr.join('\n'));
  const out = JSON.parse(io.stdout.join('\n')) as {
    basis: { instanceType: string; nodes: number; costUsd: number; runtimeSeconds: number };
    warnings: string[];
    candidates: { instanceType: string; nodes: number; costUsd: number; runtimeSeconds: number; runtimeHighSeconds?: number; current?: boolean }[];
    solutions: Record<string, { estimate: { costUsd: number; runtimeSeconds: number } }>;
  };
  const catalog = loadCatalog();
  for (const t of ['c4.large', 'm4.xlarge', 'r4.2xlarge', 'r3.xlarge', 'i2.xlarge']) {
    assert.ok(catalog.get(t), `${t} is in the shipped catalog`);
    assert.not.ok(out.warnings.some((w) => w.includes(t)), `no warning about ${t}: ${out.warnings.join('; ')}`);
  }
  assert.ok(out.warnings.some((w) => w.includes('m1.large') && w.includes("history's own columns")), out.warnings.join('; '));
  // The basis is the latest run, priced at the catalog's r4.2xlarge rate (core nodes and the master).
  assert.equal([out.basis.instanceType, out.basis.nodes, out.basis.runtimeSeconds], ['r4.2xlarge', 4, 400]);
  const expected = clusterCostUsd(catalog, { instanceType: 'r4.2xlarge', nodes: 4, masterInstanceType: 'r4.2xlarge' }, 400);
  assert.ok(Math.abs(out.basis.costUsd - expected) <= 1e-4 + expected * 0.001, `${out.basis.costUsd} vs ${expected}`);
  // Every run's configuration is a candidate, each at its known runtime as the upper estimate; m1.large at the history's price.
  for (const [t, n, s] of [['c4.large', 10, 780], ['m4.xlarge', 8, 520], ['r3.xlarge', 6, 610], ['i2.xlarge', 6, 640], ['m1.large', 12, 900]] as const) {
    const c = out.candidates.find((x) => x.instanceType === t && x.nodes === n && !x.current);
    assert.ok(c, `${t} x ${n} is a candidate`);
    assert.is(c.runtimeHighSeconds, s);
  }
  // m1.large is priced at the history's $0.175/h per node (plus the EMR rule's 25% and the r4.2xlarge master).
  const m1 = out.candidates.find((x) => x.instanceType === 'm1.large' && x.nodes === 12)!;
  const master = catalog.get('r4.2xlarge')!;
  const m1Hourly = 12 * 0.175 * 1.25 + master.onDemandUsdPerHour + master.emrUsdPerHour;
  assert.ok(Math.abs(m1.costUsd - (m1Hourly * m1.runtimeSeconds) / 3600) < 1e-3, `m1.large cost ${m1.costUsd}`);
  // Economy: no more than the basis, and a configuration not yet run only below the cheapest run already observed (known cost).
  const runs = out.candidates.filter((c) => !c.current && [780, 520, 610, 640, 900].includes(c.runtimeHighSeconds!));
  const cheapestRun = Math.min(out.basis.costUsd, ...runs.map((c) => (c.costUsd / c.runtimeSeconds) * c.runtimeHighSeconds!));
  const economy = out.solutions.economy!.estimate.costUsd;
  assert.ok(economy <= out.basis.costUsd + 1e-4, `economy ${economy} vs basis ${out.basis.costUsd}`);
  assert.ok(economy <= cheapestRun + 1e-4, `economy ${economy} vs the cheapest run ${cheapestRun}`);
});

// The application's own start and end, read straight from the log's JSON lines.
function observedMs(path: string): number {
  let start = 0;
  let end = 0;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.includes('"SparkListenerApplicationStart"')) start = JSON.parse(line).Timestamp as number;
    if (line.includes('"SparkListenerApplicationEnd"')) end = JSON.parse(line).Timestamp as number;
  }
  return end - start;
}

cli('simulate prints estimatedMs; at the observed 2 x 2 cores it is within 5% of the observed duration', async () => {
  const io = memoryIo({}, dir);
  assert.is(await simulate([eventLog, '--executors', '2', '--cores', '2', '--json'], io), 0, io.stderr.join('\n'));
  const out = JSON.parse(io.stdout.join('\n')) as { estimatedMs: number; observedMs: number };
  const obs = observedMs(eventLog);
  assert.is(out.observedMs, obs);
  assert.ok(Math.abs(out.estimatedMs - obs) / obs < 0.05, `${out.estimatedMs} vs ${obs}`);
  const more = memoryIo({}, dir);
  assert.is(await simulate([eventLog, '--executors', '8', '--cores', '2', '--json'], more), 0);
  assert.ok((JSON.parse(more.stdout.join('\n')) as { estimatedMs: number }).estimatedMs <= out.estimatedMs);
  const bad = memoryIo({}, dir);
  assert.is(await simulate([eventLog, '--executors', 'x'], bad), 2);
});

cli('predict EVENTLOG --json reports the replay and three solutions', async () => {
  const io = memoryIo({}, dir);
  assert.is(await predict([eventLog, '--json'], io, { catalog: loadCatalog() }), 0, io.stderr.join('\n'));
  const out = JSON.parse(io.stdout.join('\n')) as { replay: { observedMs: number; simulatedMs: number; baselineMs: number }; candidates: unknown[]; solutions: Record<string, unknown> };
  assert.is(out.replay.observedMs, observedMs(eventLog));
  assert.ok(out.candidates.length >= 200, `${out.candidates.length}`);
  assert.equal(Object.keys(out.solutions).sort(), ['balanced', 'economy', 'performance']);
});

cli('predict on the origin log + report: the observed line names the whole cluster, the basis row is the current cluster, --margin keeps', async () => {
  const io = memoryIo({}, dir);
  const log = join(fixtures, 'origin/application_1678162862227_0001.reconstructed');
  const code = await predict([log, '--cluster-report', join(fixtures, 'origin/emr-cluster-report.json'), '--margin', '0.99'], io, { catalog: loadCatalog() });
  assert.is(code, 0, io.stderr.join('\n'));
  const text = io.stdout.join('\n');
  assert.match(text, /observed\s+49\.9 s on 1 x c5a\.8xlarge \(8 executors x 4 cores\), master m4\.xlarge, 1 x m4\.large spot task/);
  assert.match(text, /\n\s+1\s+8 x 4\s+49\.9 s\s+\$[0-9.]+\s+\(basis: current cluster\)/);
  assert.match(text, /performance\s+49\.9 s, \$[0-9.]+\s+keep: nothing beats the current cluster by 99% on runtime/);
  const bad = memoryIo({}, dir);
  assert.is(await predict([log, '--margin', '1.5'], bad, { catalog: loadCatalog() }), 2);
  assert.match(bad.stderr.join('\n'), /--margin must be a fraction/);
});

cli.run();
