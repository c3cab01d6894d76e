// `sync-agent runs` and `sync-agent projects show` name a Databricks run's VM and DBU cost apart; an EMR
// project's table keeps its columns.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createFileStateStore } from '../../../src/adapters/state-file.js';
import { run as projectsCommand } from '../../../src/cli/commands/projects.js';
import { run as runsCommand } from '../../../src/cli/commands/runs.js';
import type { CliIo } from '../../../src/cli/io.js';
import type { Run } from '../../../src/domain/types.js';

function capture(cwd: string): CliIo & { text(): string } {
  const lines: string[] = [];
  return { out: (t) => lines.push(t), err: (t) => lines.push(t), env: {}, cwd, text: () => lines.join('\n') };
}

test('runs and projects show: VM cost and DBU cost columns for Databricks runs, none for EMR', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sync-dbx-view-'));
  try {
    const stateUrl = pathToFileURL(join(dir, 'state')).href;
    const configPath = join(dir, 'sync.config.mjs');
    writeFileSync(configPath, `export default { site: { id: 'h' }, tenant: { id: 'acme', state: ${JSON.stringify(stateUrl)} } };\n`);
    const base = { createdAt: '2026-12-01T00:00:00.000Z', status: 'recorded' as const, reportUrl: 'file:///r/report.json' };
    const dbx: Run[] = [
      { ...base, projectId: 'd1', id: 'r-dbx', clusterId: '1001', location: 'file:///r/d/', requestKey: 'k1', runtimeSeconds: 600, costUsd: 4.2, costBreakdown: { vmUsd: 3.1, dbuUsd: 1.1, dbus: 3.7 }, cluster: { instanceType: 'm5.4xlarge', nodes: 12 } },
      // Read by a prediction: its runtime and cost as the engine measures them differ from the bill.
      { ...base, projectId: 'd1', id: 'r-read', clusterId: '1002', location: 'file:///r/d2/', requestKey: 'k3', runtimeSeconds: 443, costUsd: 3.15, costBreakdown: { vmUsd: 2.05, dbuUsd: 1.1, dbus: 7.3 }, observed: { runtimeSeconds: 367, costUsd: 1.5 }, cluster: { instanceType: 'm5.4xlarge', nodes: 12 } },
      { id: 'r-live', projectId: 'd1', createdAt: '2026-12-01T00:00:00.000Z', status: 'running', location: 'file:///r/live/', requestKey: 'k2' },
    ];
    const emr: Run[] = [{ ...base, projectId: 'e1', id: 'r-emr', clusterId: 'j-1', location: 'file:///r/e/', requestKey: 'k1', costUsd: 2.5 }];
    const store = createFileStateStore(stateUrl);
    await store.put('d1', { project: { id: 'd1', name: 'orders', platform: 'databricks', tenantId: 'acme', createdAt: 'c', updatedAt: 'c' }, runs: dbx, predictions: [] }, null);
    await store.put('e1', { project: { id: 'e1', name: 'etl', platform: 'emr', tenantId: 'acme', createdAt: 'c', updatedAt: 'c' }, runs: emr, predictions: [] }, null);

    for (const [name, cmd] of [
      ['runs', (io: CliIo) => runsCommand(['d1', '--config', configPath], io)],
      ['projects show', (io: CliIo) => projectsCommand(['show', 'd1', '--config', configPath], io)],
    ] as const) {
      const io = capture(dir);
      assert.is(await cmd(io), 0, name);
      const lines = io.text().split('\n');
      const header = lines.find((l) => l.startsWith('run '))!;
      const cols = header.split(/\s{2,}/);
      assert.ok(cols.includes('billed') && cols.includes('VM cost') && cols.includes('DBU cost'), `${name}: ${header}`);
      const row = lines.find((l) => l.startsWith('r-dbx'))!;
      assert.match(row, /\$4\.20\s+\$4\.20\s+\$3\.10\s+\$1\.10/, `${name}: cost, billed, then VM and DBU: ${row}`);
      // The engine's measure in 'cost', the bill beside it: VM + DBU add up to 'billed', not to 'cost'.
      assert.match(lines.find((l) => l.startsWith('r-read'))!, /367 s\s+\$1\.50\s+\$3\.15\s+\$2\.05\s+\$1\.10/, name);
      assert.ok(lines.some((l) => l.startsWith('runtime, cost: the Spark application') && l.includes('billed: VM cost + DBU cost')), `${name}: the columns are explained`);
      assert.match(lines.find((l) => l.startsWith('r-live'))!, /-\s+-\s+-\s+-/, name);
    }
    const io = capture(dir);
    assert.is(await runsCommand(['e1', '--config', configPath], io), 0);
    assert.not.match(io.text(), /VM cost|DBU cost/, 'EMR runs keep their columns');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
