import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lastValueFrom } from 'rxjs';
import type { SyncError } from '../../../src/domain/errors.js';
import { runStart } from '../../../src/handlers/run-start.js';
import { runStep } from '../../../src/handlers/run-step.js';
import { createFakeDeps, rejection, testContext, type FakeDeps } from '../../support/fakes.js';

async function started(deps: FakeDeps): Promise<{ runId: string; clusterId: string }> {
  const project = { id: 'p1', name: 'etl', platform: 'emr' as const, tenantId: 'acme', createdAt: 'c', updatedAt: 'c', jobFlow: { Name: 'etl' } };
  await deps.state.put('p1', { project, runs: [], predictions: [] }, null);
  return lastValueFrom(runStart({ projectId: 'p1' }, deps, testContext('start-1', 'k1')));
}

test('run.step keeps the steps on the run and the failing step as its failure', async () => {
  const deps = createFakeDeps();
  const r = await started(deps);
  const cluster = deps.platform.clusters.get(r.clusterId)!;
  cluster.steps = [{ id: 's-1', name: 'etl', state: 'RUNNING', startedAt: '2026-01-01T00:00:00.000Z' }];
  const first = await lastValueFrom(runStep({ projectId: 'p1', clusterId: r.clusterId, stepId: 's-1' }, deps, testContext('st-1')));
  assert.equal(first, { runId: r.runId, steps: cluster.steps });
  cluster.steps = [{ id: 's-1', name: 'etl', state: 'FAILED', failure: { reason: 'Unknown Error.', logFile: 's3://b/l/stderr.gz' } }];
  const second = await lastValueFrom(runStep({ projectId: 'p1', clusterId: r.clusterId, runId: r.runId }, deps, testContext('st-2')));
  const failure = { stepId: 's-1', stepName: 'etl', reason: 'Unknown Error.', logFile: 's3://b/l/stderr.gz' };
  assert.equal(second.failure, failure);
  const run = deps.state.read('p1')!.runs[0]!;
  assert.equal(run.failure, failure);
  assert.equal(run.steps, [{ id: 's-1', name: 'etl', state: 'FAILED', startedAt: '2026-01-01T00:00:00.000Z', failure: { reason: 'Unknown Error.', logFile: 's3://b/l/stderr.gz' } }]);
  // A late RUNNING listing (events arrive out of order) does not undo the failure, and writes nothing.
  cluster.steps = [{ id: 's-1', name: 'etl', state: 'RUNNING' }];
  const version = (await deps.state.get('p1'))!.version;
  await lastValueFrom(runStep({ projectId: 'p1', clusterId: r.clusterId }, deps, testContext('st-3')));
  assert.is((await deps.state.get('p1'))!.version, version);
});

test('run.step for an unknown run is not_found', async () => {
  const deps = createFakeDeps();
  await started(deps);
  const e = (await rejection(lastValueFrom(runStep({ projectId: 'p1', clusterId: 'j-NOPE' }, deps, testContext('st-1'))))) as SyncError;
  assert.is(e.code, 'not_found');
});

test.run();
