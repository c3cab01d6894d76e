// The sandbox is the engine's ground truth only if it does not share the engine's model: nothing
// under src/sandbox may reach src/domain/prediction (directly or through another module), and the
// sandbox's speeds and hidden parameters are its own draws.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runWorkload } from '../../../src/sandbox/ground-truth.js';
import { HIDDEN_RANGES, hiddenParameters } from '../../../src/sandbox/hidden-parameters.js';
import { readInstanceFacts } from '../../../src/sandbox/instance-facts.js';
import { PLATFORMS, instancePerformance, platformOf } from '../../../src/sandbox/instance-performance.js';
import { shippedWorkloads } from '../../../src/sandbox/shipped-workloads.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const sandboxDir = join(root, 'src', 'sandbox');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/**
 * Relative imports of a TypeScript file (static `from '...'` and dynamic `import('...')`), resolved to .ts
 * paths. Type-only imports (`import type …`) are left out: they are erased at build time and carry no code
 * or constant (the sandbox's Databricks server uses the shared port types, which name the engine's catalog type).
 */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8').replace(/import\s+type\s[^;]*?from\s+['"][^'"]+['"]/gs, '');
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)].map((m) => m[1]!);
  return specs.filter((s) => s.startsWith('.')).map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')));
}

test('nothing under src/sandbox imports src/domain/prediction, directly or transitively', () => {
  const forbidden = join(root, 'src', 'domain', 'prediction');
  const seen = new Set<string>();
  const offenders: string[] = [];
  const visit = (file: string, path: string[]) => {
    if (file.startsWith(forbidden)) {
      offenders.push([...path, file].map((p) => relative(root, p)).join(' -> '));
      return;
    }
    if (seen.has(file)) return;
    seen.add(file);
    let next: string[];
    try {
      next = importsOf(file);
    } catch {
      return; // JSON or a non-TypeScript target
    }
    for (const n of next) visit(n, [...path, file]);
  };
  const files = tsFiles(sandboxDir);
  assert.ok(files.length >= 10, `found ${files.length} sandbox files`);
  for (const f of files) visit(f, []);
  assert.equal(offenders, []);
  // The check itself sees imports: the sandbox platform reaches the ground truth.
  assert.ok(seen.has(join(sandboxDir, 'ground-truth.ts')));
});

test('the sandbox reads no CoreMark: its instance facts are vCPU and memory only', () => {
  const facts = readInstanceFacts();
  assert.equal(Object.keys(facts['m5.xlarge']!).sort(), ['instanceType', 'memoryGib', 'vcpu']);
  for (const f of tsFiles(sandboxDir)) assert.not.match(readFileSync(f, 'utf8'), /\.coremark\b/, relative(root, f));
});

test('instance speeds come from the platform ranges, drawn per world; families of one platform share the draw', () => {
  assert.is(platformOf('m5'), 'intel-skylake');
  assert.is(platformOf('m7g'), 'graviton3');
  assert.is(platformOf('c6gd'), 'graviton2');
  assert.is(platformOf('r6a'), 'amd-milan');
  assert.is(platformOf('m6i'), 'intel-icelake');
  assert.is(platformOf('c4'), 'intel-haswell');
  assert.is(platformOf('c7i-flex'), 'intel-sapphire-flex');
  for (let world = 1; world <= 30; world++) {
    for (const type of ['m5.xlarge', 'c7g.2xlarge', 'r6i.4xlarge', 'm4.xlarge', 'c6a.xlarge']) {
      const p = instancePerformance(type, 4, world);
      const [lo, hi] = PLATFORMS[p.platform]!.cpu;
      assert.ok(p.cpuSpeed >= lo * 0.97 - 1e-9 && p.cpuSpeed <= hi * 1.03 + 1e-9, `${type} world ${world}: ${p.cpuSpeed}`);
    }
  }
  const a = instancePerformance('m7g.xlarge', 4, 1).cpuSpeed / instancePerformance('c7g.xlarge', 4, 1).cpuSpeed;
  assert.ok(Math.abs(a - 1) <= 0.07, 'm7g and c7g: the same Graviton3, within the family jitter');
  assert.is.not(instancePerformance('m7g.xlarge', 4, 1).cpuSpeed, instancePerformance('m7g.xlarge', 4, 2).cpuSpeed);
  // Network: the "n" variants have about four times the bandwidth of their siblings.
  assert.ok(instancePerformance('c5n.2xlarge', 8, 1).networkBytesPerSecond > 3 * instancePerformance('c5.2xlarge', 8, 1).networkBytesPerSecond);
});

test('hidden parameters: drawn inside their documented ranges, per workload and world, and they change the runtime', () => {
  for (let world = 1; world <= 40; world++) {
    const h = hiddenParameters('etl-shuffle', world);
    for (const [k, [lo, hi]] of Object.entries(HIDDEN_RANGES)) {
      const v = h[k as keyof typeof h];
      assert.ok(v >= lo && v <= hi, `${k} = ${v} outside [${lo}, ${hi}]`);
    }
  }
  assert.equal(hiddenParameters('etl-shuffle', 3), hiddenParameters('etl-shuffle', 3));
  assert.is.not(hiddenParameters('etl-shuffle', 3).cpuBias, hiddenParameters('skewed-etl', 3).cpuBias);
  const w = shippedWorkloads()['skewed-etl']!;
  const instances = readInstanceFacts();
  const secs = [1, 2, 3, 4, 5].map((world) => runWorkload(w, { instanceType: 'm5.2xlarge', nodes: 4 }, { seed: 1, startedAt: 0, instances, world }).totals.applicationSeconds);
  const spread = Math.max(...secs) / Math.min(...secs);
  assert.ok(spread > 1.1, `five worlds, one cluster and noise seed: runtimes ${secs.map((s) => s.toFixed(0)).join(', ')}`);
});

test.run();
