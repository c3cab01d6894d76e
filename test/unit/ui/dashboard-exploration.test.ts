// The project page's policy section says what exploration is set to, what its trials cost and what they bought.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { projectPage } from '../../../src/ui/pages.js';
import { projectRow } from '../../../src/ui/model.js';
import type { ProjectState, Run } from '../../../src/domain/types.js';

const run = (id: string, extra: Partial<Run> = {}): Run => ({ id, projectId: 'p', status: 'recorded', location: `s3://runs/p/${id}/`, createdAt: '2026-12-01T00:00:00.000Z', requestKey: id, runtimeSeconds: 600, ...extra });
const page = (state: ProjectState) => projectPage({ state, row: projectRow(state, 'economy'), region: 'us-east-1', page: 1, pageSize: 50, nonce: 'n' }, { csrf: 'c', title: 'p' });
const project = (policy: ProjectState['project']['policy']): ProjectState['project'] => ({ id: 'p', name: 'p', platform: 'emr', tenantId: 't', createdAt: 'c', updatedAt: 'c', mode: 'auto', ...(policy ? { policy } : {}) });

test('exploration off, then two trials with what they cost and bought', () => {
  assert.match(page({ project: project(undefined), runs: [run('r1')], predictions: [] }), /<dt>Exploration<\/dt><dd>off \(set policy\.exploreEvery/);
  const runs = [
    run('r1'),
    run('r2', { trial: true, predictionId: 'a', preference: 'economy', baseline: { runtimeSeconds: 600, costUsd: 5 }, observed: { runtimeSeconds: 700, costUsd: 5.25 }, regressed: 'trial lost' }),
    run('r3', { trial: true, predictionId: 'b', preference: 'economy', baseline: { runtimeSeconds: 600, costUsd: 5 }, observed: { runtimeSeconds: 550, costUsd: 4.5 } }),
  ];
  const html = page({ project: project({ exploreEvery: 4 }), runs, predictions: [] });
  assert.match(html, /<dt>Exploration<\/dt><dd>one trial per 8 runs \(exploreEvery 4, doubled per lost trial\), budget \+10% per trial; 2 trials: 1 lost and rolled back, costing \$0\.25 above the runs they replaced; 1 won, saving \$0\.50 a run<\/dd>/);
});

test.run();
