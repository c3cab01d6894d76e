#!/usr/bin/env node
// Regenerates data/instances.json from data/ec2-instances-us-east-1.csv (a verbatim copy of
// ../shared/data/ec2-instances-us-east-1.csv) and the EMR surcharge rule in data/emr-pricing.json.
// Run: node data/generate-instances.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const csv = readFileSync(join(here, 'ec2-instances-us-east-1.csv'), 'utf8').trim().split(/\r?\n/).map((l) => l.trim());
const header = csv[0].split(',');
const expected = ['instance_type', 'vcpu', 'memory_gib', 'ec2_linux_ondemand_usd_per_hr_us_east_1', 'coremark_iterations_per_sec'];
if (header.join(',') !== expected.join(',')) throw new Error(`unexpected header: ${csv[0]}`);
const pricing = JSON.parse(readFileSync(join(here, 'emr-pricing.json'), 'utf8'));
const round = (x) => Math.round(x * 10000) / 10000;
const instances = csv.slice(1).map((line, i) => {
  const [instanceType, vcpu, mem, price, coremark] = line.split(',');
  const onDemand = Number(price);
  if (!instanceType || !(Number(vcpu) > 0) || !(Number(mem) > 0) || !(onDemand > 0)) throw new Error(`bad row ${i + 2}: ${line}`);
  const emr = pricing.table[instanceType] ?? round(Math.min(onDemand * pricing.rule.fractionOfEc2, pricing.rule.capUsdPerHour));
  const row = { instanceType, vcpu: Number(vcpu), memoryGib: Number(mem), onDemandUsdPerHour: onDemand, emrUsdPerHour: emr };
  if (coremark && Number(coremark) > 0) row.coremark = Number(coremark);
  return row;
});
const out = {
  region: 'us-east-1',
  generatedFrom: ['data/ec2-instances-us-east-1.csv', 'data/emr-pricing.json'],
  provenance: 'data/PROVENANCE.md',
  instances,
};
const body = instances.map((r) => '    ' + JSON.stringify(r)).join(',\n');
const head = JSON.stringify({ ...out, instances: [] }, null, 2).replace('"instances": []', `"instances": [\n${body}\n  ]`);
writeFileSync(join(here, 'instances.json'), head + '\n');
console.log(`wrote ${instances.length} instance types to data/instances.json`);
