// The dashboard's project and run pages for a Databricks project: each recorded run is a point on the cost
// chart with its VM and DBU parts, the run row and run page name both, the cluster is the job cluster
// (linked to the workspace) and a Databricks solution's configuration is described.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { projectPage, runPage } from '../../../src/ui/pages.js';
import { projectRow } from '../../../src/ui/model.js';
import type { Prediction, ProjectState, Run } from '../../../src/domain/types.js';

const run = (id: string, at: string, extra: Partial<Run>): Run => ({ id, projectId: 'orders', status: 'recorded', location: `dbfs:/runs/orders/${id}/`, createdAt: at, startedAt: at, requestKey: id, runtimeSeconds: 600, ...extra });
const runs: Run[] = [
  run('r-1', '2026-12-01T00:00:00.000Z', { clusterId: '1001', databricksClusterId: '1201-000000-abcd1234', costUsd: 4.2, costBreakdown: { vmUsd: 3.1, dbuUsd: 1.1, dbus: 3.7 }, cluster: { instanceType: 'm5.4xlarge', nodes: 12 } }),
  run('r-2', '2026-12-02T00:00:00.000Z', { clusterId: '1011', databricksClusterId: '1202-000000-efgh5678', costUsd: 2.6, costBreakdown: { vmUsd: 1.9, dbuUsd: 0.7, dbus: 2.3 }, cluster: { instanceType: 'r5.2xlarge', nodes: 8 } }),
  run('r-3', '2026-12-03T00:00:00.000Z', { clusterId: '1021', status: 'running' }),
];
delete (runs[2] as { runtimeSeconds?: number }).runtimeSeconds;
const state: ProjectState = { project: { id: 'orders', name: 'Orders', platform: 'databricks', tenantId: 'acme', createdAt: 'c', updatedAt: 'c' }, runs, predictions: [] };
const prediction: Prediction = {
  predictionId: 'p-1',
  projectId: 'orders',
  basisRunId: 'r-2',
  createdAt: '2026-12-02T01:00:00.000Z',
  basis: { runtimeSeconds: 600, costUsd: 2.6 },
  solutions: {
    performance: { configuration: { node_type_id: 'r5.4xlarge', driver_node_type_id: 'm5.xlarge', num_workers: 6 }, estimate: { runtimeSeconds: 400, costUsd: 3 }, source: 'simulator', explanation: 'x', costBreakdown: { vmUsd: 2, dbuUsd: 1, dbus: 3 } },
    balanced: { configuration: { node_type_id: 'r5.2xlarge', num_workers: 8 }, estimate: { runtimeSeconds: 600, costUsd: 2.6 }, source: 'simulator', explanation: 'y' },
    economy: { configuration: { node_type_id: 'm5.2xlarge', autoscale: { min_workers: 2, max_workers: 5 } }, estimate: { runtimeSeconds: 900, costUsd: 2 }, source: 'simulator', explanation: 'z' },
  },
} as Prediction;
const host = 'https://dbc-a1b2c3d4-e5f6.cloud.databricks.com';

test('project page: Databricks runs are cost points with VM and DBU, their rows name both, the job cluster is linked', () => {
  const html = projectPage({ state, row: projectRow(state, 'balanced'), region: 'us-east-1', databricksHost: host, prediction, page: 1, pageSize: 50, nonce: 'n' }, { csrf: 'c', title: 'Orders' });
  const costDots = [...html.matchAll(/<circle class="dot cost"[^>]*><title>([^<]*)<\/title>/g)].map((m) => m[1]);
  assert.equal(costDots, ['r-1: $4.20 (actual; VM $3.10 + DBU $1.10)', 'r-2: $2.60 (actual; VM $1.90 + DBU $0.70)']);
  assert.match(html, /\$4\.20<br><span class="sub">VM \$3\.10 \+ DBU \$1\.10<\/span>/);
  assert.match(html, new RegExp(`<a href="${host}/#setting/clusters/1201-000000-abcd1234/configuration"[^>]*>1201-000000-abcd1234</a>`));
  assert.match(html, />run 1021</, 'a run without a known cluster shows its Databricks run id, unlinked');
  assert.not.match(html, /clusters\/1001\//, 'the run id is never linked as a cluster');
  assert.match(html, /6 x r5\.4xlarge/);
  assert.match(html, /2-5 x m5\.2xlarge/);
});

test('run page: the cost with its VM and DBU parts', () => {
  const html = runPage({ run: runs[0]!, state, region: 'us-east-1', databricksHost: host } as Parameters<typeof runPage>[0], { csrf: 'c', title: 'r-1' });
  assert.match(html, /<dt>Cost<\/dt><dd>\$4\.20 \(VM \$3\.10 \+ DBU \$1\.10\)<\/dd>/);
  assert.match(html, /1201-000000-abcd1234/);
});

test.run();
