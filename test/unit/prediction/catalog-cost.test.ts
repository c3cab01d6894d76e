import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadCatalog } from '../../../src/adapters/prediction/catalog-file.js';
import { buildCatalog, parseInstanceType } from '../../../src/domain/prediction/catalog.js';
import { clusterCostUsd, hourlyRate } from '../../../src/domain/prediction/cost.js';
import { isSyncError } from '../../../src/domain/errors.js';

const rows = [
  { instanceType: 'm5.xlarge', vcpu: 4, memoryGib: 16, onDemandUsdPerHour: 0.192, emrUsdPerHour: 0.048, coremark: 80000 },
  { instanceType: 'm5.24xlarge', vcpu: 96, memoryGib: 384, onDemandUsdPerHour: 4.608 },
  { instanceType: 'c7g.xlarge', vcpu: 4, memoryGib: 8, onDemandUsdPerHour: 0.145 },
];

test('parses instance types', () => {
  assert.equal(parseInstanceType('m5d.4xlarge'), { family: 'm5d', size: '4xlarge' });
  assert.is(parseInstanceType('nope'), undefined);
});

test('EMR surcharge: explicit value, else 25% of EC2 capped at $0.27/h; arch from the family', () => {
  const c = buildCatalog(rows);
  assert.is(c.get('m5.xlarge')!.emrUsdPerHour, 0.048);
  assert.is(c.get('m5.24xlarge')!.emrUsdPerHour, 0.27);
  assert.ok(Math.abs(c.get('c7g.xlarge')!.emrUsdPerHour - 0.145 * 0.25) < 1e-12);
  assert.is(c.get('c7g.xlarge')!.arch, 'arm64');
  assert.is(c.get('m5.xlarge')!.arch, 'x86_64');
});

test('overrides replace fields, add new types, and set EMR prices', () => {
  const c = buildCatalog(rows, {
    instances: [{ instanceType: 'm5.xlarge', onDemandUsdPerHour: 0.1 }, { instanceType: 'x9.large', vcpu: 2, memoryGib: 4, onDemandUsdPerHour: 0.05 }],
    emrPricing: { 'm5.24xlarge': 0.3 },
  });
  assert.is(c.get('m5.xlarge')!.onDemandUsdPerHour, 0.1);
  assert.is(c.get('m5.xlarge')!.vcpu, 4);
  assert.is(c.get('x9.large')!.vcpu, 2);
  assert.is(c.get('m5.24xlarge')!.emrUsdPerHour, 0.3);
  try {
    buildCatalog(rows, { instances: [{ instanceType: 'y1.large', vcpu: 2 }] });
    assert.unreachable('a row without memory must be rejected');
  } catch (e) {
    assert.ok(isSyncError(e, 'invalid_config'));
    assert.match((e as Error).message, /y1\.large/);
  }
});

test('cost: (EC2 + EMR) x nodes + master, per second with a one-minute minimum; spot discounts EC2 only', () => {
  const c = buildCatalog(rows);
  // 10 core m5.xlarge + 1 m5.xlarge master for 30 min: 11 x 0.24 x 0.5
  assert.ok(Math.abs(clusterCostUsd(c, { instanceType: 'm5.xlarge', nodes: 10, masterInstanceType: 'm5.xlarge' }, 1800) - 11 * 0.24 * 0.5) < 1e-9);
  // 10 s is billed as 60 s.
  assert.ok(Math.abs(clusterCostUsd(c, { instanceType: 'm5.xlarge', nodes: 1 }, 10) - 0.24 / 60) < 1e-12);
  assert.ok(Math.abs(hourlyRate(c, 'm5.xlarge', { spot: true, spotDiscount: 0.5 }) - (0.096 + 0.048)) < 1e-12);
});

test('the shipped catalog matches the shared CSVs it was generated from, previous generations included', () => {
  const catalog = loadCatalog();
  const read = (name: string) => readFileSync(new URL(`../../../data/${name}`, import.meta.url), 'utf8').trim().split(/\r?\n/).slice(1);
  const csv = read('ec2-instances-us-east-1.csv');
  const more = new Map(read('ec2-instances-more-us-east-1.csv').map((l) => [l.split(',')[0]!, l]));
  for (const line of [...csv, ...catalog.instances.filter((s) => more.has(s.instanceType)).map((s) => more.get(s.instanceType)!)]) {
    const [type, vcpu, mem, price, coremark] = line.trim().split(',');
    const spec = catalog.get(type!)!;
    assert.ok(spec, type);
    assert.is(spec.vcpu, Number(vcpu));
    assert.is(spec.memoryGib, Number(mem));
    assert.is(spec.onDemandUsdPerHour, Number(price));
    if (coremark) assert.is(spec.coremark, Number(coremark));
  }
  assert.ok(catalog.instances.every((s) => csv.some((l) => l.startsWith(`${s.instanceType},`)) || more.has(s.instanceType)), 'every row comes from one of the CSVs');
  // What people run: previous generations, storage-optimised, network-optimised and x-family types.
  for (const t of ['m4.large', 'm4.xlarge', 'c4.2xlarge', 'r4.4xlarge', 'r3.xlarge', 'i2.xlarge', 'i3.2xlarge', 'i3en.3xlarge', 'd3.xlarge', 'm5n.4xlarge', 'r5n.2xlarge', 'x1e.xlarge', 'c5a.8xlarge', 'm5.large']) {
    assert.ok(catalog.get(t), `${t} is in the catalog`);
  }
  assert.is(catalog.get('m5.xlarge')!.emrUsdPerHour, 0.048);
  const withOverride = loadCatalog({ emrPricing: { 'm5.xlarge': 0.05 } });
  assert.is(withOverride.get('m5.xlarge')!.emrUsdPerHour, 0.05);
});

test.run();
