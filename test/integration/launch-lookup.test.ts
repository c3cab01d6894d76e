// run.start's tag lookup against the project's own EMR protocol server, through the real EMR adapter:
// the lookup is scoped by tenant (another tenant in the same AWS account may have a cluster with the
// same run id), filtered by creation time and state, and describes only clusters of the run's name.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lastValueFrom } from 'rxjs';
import { createEmrPlatform } from '../../src/adapters/emr-platform.js';
import { deriveRunId } from '../../src/domain/ids.js';
import type { HandlerDeps } from '../../src/handlers/deps.js';
import { runStart } from '../../src/handlers/run-start.js';
import { createFakeDeps, testContext } from '../support/fakes.js';
import { startEmr } from '../support/emr.js';

const HELD = { startingMs: Infinity, bootstrappingMs: Infinity, runningMs: Infinity, terminatingMs: Infinity };
const KEY = 'nightly-2026-12-04';

test('a retried run.start adopts only its own tenant\'s cluster and describes only clusters of its name', async () => {
  const emr = await startEmr({ timeline: HELD, pageSize: 3 });
  try {
    const platform = createEmrPlatform({ client: emr.client, region: 'us-east-1', retry: { sleep: async () => {}, random: () => 0 } });
    const fakes = createFakeDeps();
    const deps: HandlerDeps = { ...fakes, platform, clock: { now: () => new Date() } };
    const jobFlow = { Name: 'nightly etl', ReleaseLabel: 'emr-6.15.0', Instances: { InstanceGroups: [{ InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 }] } };
    await deps.state.put('p1', { project: { id: 'p1', name: 'nightly', platform: 'emr', tenantId: 'acme', createdAt: 'c', updatedAt: 'c', jobFlow }, runs: [], predictions: [] }, null);
    const runId = deriveRunId('p1', KEY);
    // Tenant globex shares the account, has a project p1 too and used the same key: the same run id.
    const tags = (tenant: string) => [{ Key: 'sync:tenant-id', Value: tenant }, { Key: 'sync:project-id', Value: 'p1' }, { Key: 'sync:run-id', Value: runId }];
    const { clusterId: theirs } = await platform.startCluster({ ...jobFlow, Tags: tags('globex') });
    // Other work in the account.
    for (let i = 0; i < 6; i++) await platform.startCluster({ ...jobFlow, Name: `other job ${i}`, Tags: [{ Key: 'team', Value: 'x' }] });
    // acme's run was reserved and claimed by an attempt whose RunJobFlow was refused (throttled).
    const now = new Date().toISOString();
    const location = `file:///tmp/runs/p1/x/${runId}/`;
    const doc = (await deps.state.get('p1'))!;
    await deps.state.put('p1', { ...doc.value, runs: [{ id: runId, projectId: 'p1', status: 'starting', location, createdAt: now, requestKey: KEY, launch: { token: 'earlier', at: now, endedAt: now } }] }, doc.version);

    const mark = emr.server.calls().length;
    const r = await lastValueFrom(runStart({ projectId: 'p1' }, deps, testContext('req-2', KEY)));
    const calls = emr.server.calls().slice(mark).map((c) => c.op);
    assert.is.not(r.clusterId, theirs, "globex's cluster was not adopted");
    const ours = await platform.describeCluster(r.clusterId);
    assert.is(ours.tags['sync:tenant-id'], 'acme');
    assert.is(ours.tags['sync:run-id'], runId);
    assert.is(calls.filter((op) => op === 'DescribeCluster').length, 1, `only the one cluster named "nightly etl" was described: ${calls.join(', ')}`);
    assert.is(calls.filter((op) => op === 'RunJobFlow').length, 1);
  } finally {
    await emr.stop();
  }
});

test.run();
