#!/usr/bin/env node
// Regenerates data/instances.json from data/ec2-instances-us-east-1.csv and
// data/ec2-instances-more-us-east-1.csv (verbatim copies of the files of the same name in
// ../shared/data) and the EMR surcharge rule in data/emr-pricing.json.
// From the second file only the families people run Spark on EMR with are taken (MORE_FAMILIES),
// plus the .large size of the first file's families (common master and task nodes).
// Run: node data/generate-instances.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const expected = ['instance_type', 'vcpu', 'memory_gib', 'ec2_linux_ondemand_usd_per_hr_us_east_1', 'coremark_iterations_per_sec'];

/** Previous-generation, storage-optimised, network- and memory-optimised families (see data/PROVENANCE.md). */
const MORE_FAMILIES = [
  'm4', 'c4', 'r4', 'r3', 'i2', 'i3', 'i3en', 'i4i', 'd2', 'd3', 'd3en', 'h1', 'z1d',
  'm5a', 'm5ad', 'm5n', 'm5dn', 'm5zn', 'c5a', 'c5ad', 'c5n', 'r5a', 'r5ad', 'r5n', 'r5dn', 'r5b',
  'm6a', 'c6a', 'r6a', 'x1', 'x1e', 'x2idn', 'x2iedn', 'x2iezn',
];
/**
 * Families without a CoreMark figure borrow their sibling's CoreMark per vCPU (an assumption, not
 * data: same processor generation, different network or disk). The row says which family it borrowed.
 */
const COREMARK_SIBLING = { m5n: 'm5', m5dn: 'm5', r5n: 'r5', r5dn: 'r5', r5b: 'r5', c5ad: 'c5a' };

function readCsv(name) {
  const lines = readFileSync(join(here, name), 'utf8').trim().split(/\r?\n/).map((l) => l.trim());
  if (lines[0] !== expected.join(',')) throw new Error(`${name}: unexpected header: ${lines[0]}`);
  return lines.slice(1).map((line, i) => {
    const [instanceType, vcpu, mem, price, coremark] = line.split(',');
    return { instanceType, vcpu: Number(vcpu), memoryGib: Number(mem), price: price === '' ? NaN : Number(price), coremark: coremark ? Number(coremark) : undefined, where: `${name} row ${i + 2}` };
  });
}

const familyOf = (t) => t.split('.')[0];
const base = readCsv('ec2-instances-us-east-1.csv');
const baseFamilies = new Set(base.map((r) => familyOf(r.instanceType)));
const more = readCsv('ec2-instances-more-us-east-1.csv').filter((r) => {
  const family = familyOf(r.instanceType);
  return r.vcpu >= 2 && (MORE_FAMILIES.includes(family) || (baseFamilies.has(family) && r.instanceType.endsWith('.large')));
});
for (const f of MORE_FAMILIES) if (!more.some((r) => familyOf(r.instanceType) === f)) throw new Error(`family ${f} has no row in ec2-instances-more-us-east-1.csv`);

const pricing = JSON.parse(readFileSync(join(here, 'emr-pricing.json'), 'utf8'));
const round = (x) => Math.round(x * 10000) / 10000;
const all = [...base, ...more];
const perVcpuCoremark = new Map();
for (const r of all) {
  if (r.coremark > 0 && r.vcpu >= 4) {
    const f = familyOf(r.instanceType);
    perVcpuCoremark.set(f, [...(perVcpuCoremark.get(f) ?? []), r.coremark / r.vcpu]);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const seen = new Set();
const instances = all.map((r) => {
  if (seen.has(r.instanceType)) throw new Error(`${r.where}: ${r.instanceType} appears twice`);
  seen.add(r.instanceType);
  if (!r.instanceType || !(r.vcpu > 0) || !(r.memoryGib > 0) || !(r.price > 0)) throw new Error(`bad row ${r.where}: ${r.instanceType}`);
  const emr = pricing.table[r.instanceType] ?? round(Math.min(r.price * pricing.rule.fractionOfEc2, pricing.rule.capUsdPerHour));
  const row = { instanceType: r.instanceType, vcpu: r.vcpu, memoryGib: r.memoryGib, onDemandUsdPerHour: r.price, emrUsdPerHour: emr };
  if (r.coremark > 0) row.coremark = r.coremark;
  else {
    const sibling = COREMARK_SIBLING[familyOf(r.instanceType)];
    const perVcpu = sibling ? perVcpuCoremark.get(sibling) : undefined;
    if (perVcpu) {
      row.coremark = Math.round(median(perVcpu) * r.vcpu);
      row.coremarkFrom = sibling;
    }
  }
  return row;
});
const out = {
  region: 'us-east-1',
  generatedFrom: ['data/ec2-instances-us-east-1.csv', 'data/ec2-instances-more-us-east-1.csv', 'data/emr-pricing.json'],
  provenance: 'data/PROVENANCE.md',
  instances,
};
const body = instances.map((r) => '    ' + JSON.stringify(r)).join(',\n');
const head = JSON.stringify({ ...out, instances: [] }, null, 2).replace('"instances": []', `"instances": [\n${body}\n  ]`);
writeFileSync(join(here, 'instances.json'), head + '\n');
console.log(`wrote ${instances.length} instance types (${base.length} + ${more.length}) to data/instances.json`);
