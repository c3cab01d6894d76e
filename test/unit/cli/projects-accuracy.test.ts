import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createFileObjectStore } from '../../../src/adapters/file-object-store.js';
import { createStateStore } from '../../../src/adapters/state-store.js';
import { run as projects } from '../../../src/cli/commands/projects.js';
import { memoryIo } from '../../../src/cli/io.js';
import type { ProjectState, Run } from '../../../src/domain/types.js';

const dir = mkdtempSync(join(tmpdir(), 'sync-projects-accuracy-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const run = (id: string, predicted: number, actual: number): Run => ({
  id,
  projectId: 'acc',
  status: 'recorded',
  location: `file:///r/${id}/`,
  createdAt: '2026-12-01T00:00:00Z',
  requestKey: id,
  predictionId: `p-${id}`,
  preference: 'economy',
  expected: { runtimeSeconds: predicted, costUsd: 1 },
  observed: { runtimeSeconds: actual, costUsd: 1 },
});

test('projects show prints the project error distribution and confidence; --json carries it', async () => {
  // The embedded defaults keep state under <cwd>/.sync-agent/state (no config file needed).
  const state = createStateStore(pathToFileURL(join(dir, '.sync-agent', 'state')).href, { objectStore: createFileObjectStore() });
  const doc: ProjectState = {
    project: { id: 'acc', name: 'acc', platform: 'emr', tenantId: 'local', createdAt: 'c', updatedAt: 'c', policy: { maxRuntimeSeconds: 900 } },
    runs: [run('r1', 100, 130), run('r2', 100, 110), run('r3', 100, 95)],
    predictions: [],
  };
  await state.put('acc', doc, null);
  let io = memoryIo({}, dir);
  assert.is(await projects(['show', 'acc'], io), 0, io.stderr.join('\n'));
  const text = io.stdout.join('\n');
  assert.match(text, /prediction accuracy: 3 runs with a prediction applied: median runtime error 10%, p90 30%/);
  assert.match(text, /confidence medium/);
  assert.match(text, /widened x1\.30/);
  assert.match(text, /exploration: off \(set policy\.exploreEvery/);
  io = memoryIo({}, dir);
  assert.is(await projects(['show', 'acc', '--json'], io), 0);
  const json = JSON.parse(io.stdout.join('\n')) as { predictionAccuracy: { samples: unknown[]; confidence: string; runtimeWidening: number } };
  assert.is(json.predictionAccuracy.samples.length, 3);
  assert.equal((json as unknown as { exploration: { trials: number } }).exploration.trials, 0);
  assert.is(json.predictionAccuracy.confidence, 'medium');
  assert.ok(Math.abs(json.predictionAccuracy.runtimeWidening - 1.3) < 1e-9);
});

test.run();
