import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileStateStore } from '../../../src/adapters/state-file.js';
import { adoptRunCluster, endRun } from '../../../src/handlers/end-run.js';
import type { ProjectState, Run } from '../../../src/domain/types.js';

const run = (id: string, status: Run['status']): Run => ({ id, projectId: 'p1', status, location: `file:///runs/p1/${id}/`, createdAt: '2026-01-01T00:00:00.000Z', requestKey: `k-${id}` });

test("endRun fails a run still in the expected status with the reason, and leaves a run that moved on", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sync-end-run-'));
  try {
    const state = createFileStateStore(dir);
    const doc: ProjectState = {
      project: { id: 'p1', name: 'p1', platform: 'emr', tenantId: 't', createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' },
      runs: [run('r-1', 'starting'), run('r-2', 'recorded')],
      predictions: [],
    };
    await state.put('p1', doc, null);
    const now = new Date('2026-01-01T03:00:00.000Z');
    assert.is(await endRun(state, { projectId: 'p1', runId: 'r-1', expected: 'starting' }, { code: 'start_timeout', message: 'stuck' }, now), true);
    assert.is(await endRun(state, { projectId: 'p1', runId: 'r-2', expected: 'running' }, { code: 'cluster_not_found', message: 'gone' }, now), false);
    const after = (await state.get('p1'))!.value;
    assert.equal(after.runs[0], { ...run('r-1', 'failed'), error: { code: 'start_timeout', message: 'stuck' }, endedAt: now.toISOString() });
    assert.is(after.runs[1]!.status, 'recorded');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('adoptRunCluster puts a still-starting run on its cluster, once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sync-end-run-'));
  try {
    const state = createFileStateStore(dir);
    const project = { id: 'p1', name: 'p1', platform: 'emr' as const, tenantId: 't', createdAt: 'c', updatedAt: 'c' };
    await state.put('p1', { project, runs: [run('r-1', 'starting')], predictions: [] }, null);
    const now = new Date('2026-01-01T03:00:00.000Z');
    assert.is(await adoptRunCluster(state, { projectId: 'p1', runId: 'r-1' }, 'j-LATE', now), true);
    assert.is(await adoptRunCluster(state, { projectId: 'p1', runId: 'r-1' }, 'j-OTHER', now), false);
    const after = (await state.get('p1'))!.value.runs[0]!;
    assert.equal([after.status, after.clusterId, after.startedAt], ['running', 'j-LATE', now.toISOString()]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
