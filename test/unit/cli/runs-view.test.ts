// `sync-agent runs` and `sync-agent projects show` on a file state store: each run's event log
// (complete, unfinished, missing) and, for a run without a usable log, why.
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

test('runs and projects show: an event-log column, and a warning naming each run without a usable log and why', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sync-runs-view-'));
  try {
    const stateUrl = pathToFileURL(join(dir, 'state')).href;
    const configPath = join(dir, 'sync.config.mjs');
    writeFileSync(configPath, `export default { site: { id: 'h' }, tenant: { id: 'acme', state: ${JSON.stringify(stateUrl)} } };\n`);
    const base = { projectId: 'p1', createdAt: '2026-12-01T00:00:00.000Z', status: 'recorded' as const, clusterId: 'j-1', reportUrl: 'file:///r/report.json' };
    const runs: Run[] = [
      { ...base, id: 'r-ok', location: 'file:///r/ok/', requestKey: 'k1', eventLogUrl: 'file:///r/ok/eventlog/', eventLog: { status: 'complete' } },
      { ...base, id: 'r-open', location: 'file:///r/open/', requestKey: 'k2', eventLogUrl: 'file:///r/open/eventlog/', eventLog: { status: 'unfinished', reason: 'the event log under file:///r/open/eventlog/ was never closed by Spark: app-1.inprogress' } },
      { ...base, id: 'r-none', location: 'file:///r/none/', requestKey: 'k3', eventLog: { status: 'missing', reason: 'no event log was written under file:///r/none/eventlog/' } },
      { id: 'r-live', projectId: 'p1', createdAt: '2026-12-01T00:00:00.000Z', status: 'running', location: 'file:///r/live/', requestKey: 'k4' },
    ];
    const project = { id: 'p1', name: 'etl', platform: 'emr' as const, tenantId: 'acme', createdAt: 'c', updatedAt: 'c' };
    await createFileStateStore(stateUrl).put('p1', { project, runs, predictions: [] }, null);

    const runsIo = capture(dir);
    assert.is(await runsCommand(['p1', '--config', configPath], runsIo), 0);
    const showIo = capture(dir);
    assert.is(await projectsCommand(['show', 'p1', '--config', configPath], showIo), 0);
    for (const [name, out] of [
      ['runs', runsIo.text()],
      ['projects show', showIo.text()],
    ] as const) {
      assert.match(out, /event log/, `${name}: the column`);
      const row = (id: string) => out.split('\n').find((l) => l.startsWith(id)) ?? '';
      assert.match(row('r-ok'), /\bcomplete\b/, name);
      assert.match(row('r-open'), /\bunfinished\b/, name);
      assert.match(row('r-none'), /\bmissing\b/, name);
      assert.match(out, /WARNING: run r-none has no event log: no event log was written under file:\/\/\/r\/none\/eventlog\/; no prediction can be based on it/, name);
      assert.match(out, /WARNING: run r-open has an unfinished event log: .*app-1\.inprogress/, name);
      assert.not.match(out, /WARNING: run r-ok|WARNING: run r-live/, `${name}: no warning for a complete or unfinished-yet run`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
