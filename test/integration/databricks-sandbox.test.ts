// The Databricks REST client and object store against the sandbox's Databricks server (a real HTTP peer
// on loopback): runs/submit idempotency, the life cycle, clusters/get and paginated events, cluster log
// delivery of a rolled event log read back through DBFS and the Files API, OAuth M2M, and each error
// status's retry decision.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { createDatabricksClient, type DatabricksClient } from '../../src/adapters/databricks-client.js';
import { createDatabricksObjectStore } from '../../src/adapters/databricks-object-store.js';
import { loadApplicationModel } from '../../src/adapters/eventlog-source.js';
import { planRunsSubmit, type DatabricksJob } from '../../src/domain/databricks-job.js';
import { createDatabricksServer, type DatabricksServer } from '../../src/sandbox/databricks-server.js';
import { shippedWorkloads } from '../../src/sandbox/shipped-workloads.js';
import { eventually, syncRejection } from '../support/async.js';

const TOKEN = 'dapi-sandbox-0123456789abcdef';
const fixture = (): DatabricksJob => JSON.parse(readFileSync(new URL('../fixtures/databricks/multi-task-job.json', import.meta.url), 'utf8')) as DatabricksJob;
let server: DatabricksServer;
let client: DatabricksClient;

test.before(async () => {
  server = await createDatabricksServer({
    tokens: [TOKEN],
    oauthClients: [{ clientId: 'sp-1', clientSecret: 'sp-secret-xyz' }],
    workloads: shippedWorkloads(),
    timeScale: 3000,
    pageSize: 2,
    logDeliveryDelayMs: 120_000,
  });
  client = createDatabricksClient({ host: server.url, auth: { kind: 'pat', token: TOKEN }, backoffMs: 10 });
});
test.after(async () => {
  await server?.close();
});

type RunGet = { run_id: number; state: { life_cycle_state: string; result_state?: string }; cluster_instance?: { cluster_id: string }; end_time: number };
const getRun = (id: number) => client.json<RunGet>('GET', '/api/2.1/jobs/runs/get', { query: { run_id: id } });

function submitBody(runUrl: string, cloud: 'aws' | 'azure', job = fixture()) {
  return planRunsSubmit({ job, project: { id: 'orders', name: 'orders' }, runId: runUrl.split('/').filter(Boolean).pop()!, runUrl, tenantId: 'acme', cloud, region: 'us-east-1' }).body;
}

test('runs/submit twice with one idempotency token makes one run; it goes PENDING -> RUNNING -> TERMINATED', async () => {
  const body = submitBody('dbfs:/sync/runs/orders/2026-12-04T01:00:00Z/r-1/', 'aws');
  const a = await client.json<{ run_id: number }>('POST', '/api/2.1/jobs/runs/submit', { body, idempotent: true });
  const b = await client.json<{ run_id: number }>('POST', '/api/2.1/jobs/runs/submit', { body, idempotent: true });
  assert.is(a.run_id, b.run_id);
  assert.is(server.runs().filter((r) => r.idempotencyToken === body.idempotency_token).length, 1);
  const seen = new Set<string>();
  const done = await eventually(async () => {
    const r = await getRun(a.run_id);
    seen.add(r.state.life_cycle_state);
    return r.state.life_cycle_state === 'TERMINATED' ? r : undefined;
  }, 30_000, 'the run to terminate');
  assert.is(done.state.result_state, 'SUCCESS');
  assert.ok(seen.has('PENDING') || seen.has('RUNNING'), `states seen: ${[...seen].join(', ')}`);
  const clusterId = done.cluster_instance?.cluster_id ?? '';
  const cluster = await client.json<Record<string, unknown>>('GET', '/api/2.0/clusters/get', { query: { cluster_id: clusterId } });
  assert.is(cluster.state, 'TERMINATED');
  assert.equal((cluster.custom_tags as Record<string, string>).team, 'orders');
  assert.is((cluster.custom_tags as Record<string, string>)['sync:run-id'], 'r-1');
  assert.equal((cluster.aws_attributes as Record<string, unknown>).instance_profile_arn, 'arn:aws:iam::123456789012:instance-profile/databricks-etl');
  // clusters/events pages (page size 2 here) add up to total_count.
  const events: unknown[] = [];
  let page: Record<string, unknown> | undefined = { cluster_id: clusterId };
  for (let i = 0; page && i < 50; i++) {
    const r: { events: unknown[]; total_count: number; next_page?: Record<string, unknown> } = await client.json('POST', '/api/2.0/clusters/events', { body: page, idempotent: true });
    events.push(...r.events);
    page = r.next_page;
    if (!page) assert.is(events.length, r.total_count);
  }
  assert.ok(events.length >= 4, `events: ${events.length}`);
});

test('cluster log delivery writes a rolled event log to dbfs:/ that the reader models through the DBFS API', async () => {
  const runUrl = 'dbfs:/sync/runs/orders/2026-12-04T02:00:00Z/r-2/';
  const { run_id } = await client.json<{ run_id: number }>('POST', '/api/2.1/jobs/runs/submit', { body: submitBody(runUrl, 'aws'), idempotent: true });
  const objects = createDatabricksObjectStore(client);
  const summary = await eventually(() => server.runs().find((r) => r.runId === run_id && r.eventLogDir !== undefined), 30_000, 'the cluster to run');
  assert.ok(summary.eventLogDir?.startsWith(`${runUrl}cluster-logs/${summary.clusterId}/eventlog/${summary.clusterId}_10_`), summary.eventLogDir);
  // The final delivery comes a delivery interval after the end: the eventlog file then holds the application's end.
  const dir = summary.eventLogDir!;
  await eventually(async () => {
    const run = await getRun(run_id);
    if (run.state.life_cycle_state !== 'TERMINATED') return undefined;
    const head = await objects.head(`${dir}eventlog`);
    return head && head.lastModified.getTime() > run.end_time ? head : undefined;
  }, 30_000, 'the final log delivery');
  const listed = [];
  for await (const o of objects.list(dir)) listed.push(o.url.slice(dir.length));
  assert.ok(listed.includes('eventlog'), listed.join(', '));
  const model = await loadApplicationModel(dir, { objectStore: objects });
  assert.ok(model.durationMs > 0 && model.executors.length > 0, `model: ${model.durationMs} ms, ${model.executors.length} executors`);
  assert.ok(listed.some((n) => /^eventlog-\d{4}-\d{2}-\d{2}--\d{2}-00\.gz$/.test(n)) || listed.length === 1, listed.join(", "));
});

test('Azure: Standard_* node types, a /Volumes destination read through the Files API, and a large DBFS file round-trips', async () => {
  const job = fixture();
  const c = (job.job_clusters as { new_cluster: Record<string, unknown> }[])[0]!.new_cluster;
  delete c.aws_attributes;
  c.azure_attributes = { availability: 'ON_DEMAND_AZURE', first_on_demand: 1 };
  c.node_type_id = 'Standard_E8ds_v4';
  c.driver_node_type_id = 'Standard_E4ds_v4';
  c.num_workers = 4;
  const runUrl = '/Volumes/main/etl/sync/orders/2026-12-04T03:00:00Z/r-3/';
  const body = submitBody(runUrl, 'azure', job);
  assert.equal((body.job_clusters as { new_cluster: Record<string, unknown> }[])[0]!.new_cluster.cluster_log_conf, { volumes: { destination: `${runUrl}cluster-logs` } });
  const { run_id } = await client.json<{ run_id: number }>('POST', '/api/2.1/jobs/runs/submit', { body, idempotent: true });
  const objects = createDatabricksObjectStore(client);
  const summary = await eventually(() => server.runs().find((r) => r.runId === run_id && r.eventLogDir !== undefined), 30_000, 'the cluster to run');
  assert.is(summary.nodeType, 'Standard_E8ds_v4');
  await eventually(async () => ((await objects.head(`${summary.eventLogDir}eventlog`)) ? true : undefined), 30_000, 'a log delivery');
  assert.ok(server.requests().some((r) => r.path.startsWith('/api/2.0/fs/files/Volumes/') && r.method === 'HEAD'));
  const big = Buffer.alloc(2_500_000, 7);
  big.write('start');
  await objects.put('dbfs:/sync/big.bin', big);
  const back = await objects.get('dbfs:/sync/big.bin');
  assert.is(back.body.length, big.length);
  assert.ok(back.body.equals(big));
  assert.ok(server.requests().filter((r) => r.path === '/api/2.0/dbfs/read').length >= 3, 'read in 1 MB slices');
  assert.is(server.requests().filter((r) => r.path === '/api/2.0/dbfs/add-block').length, 3);
  assert.is(await objects.head('dbfs:/sync/missing.bin'), undefined);
  const conflict = await syncRejection(objects.put('/Volumes/main/etl/once.txt', 'a').then(() => objects.put('/Volumes/main/etl/once.txt', 'b', { ifNoneMatch: '*' })));
  assert.is(conflict.code, 'conflict');
});

test('OAuth M2M: one token request for many calls; the secret is only ever sent to the token endpoint', async () => {
  const m2m = createDatabricksClient({ host: server.url, auth: { kind: 'oauth', clientId: 'sp-1', clientSecret: 'sp-secret-xyz' } });
  const before = server.requests().filter((r) => r.path === '/oidc/v1/token').length;
  await Promise.all([1, 2, 3].map(() => m2m.json('GET', '/api/2.1/jobs/runs/list', { query: { limit: 1 } })));
  await m2m.json('GET', '/api/2.1/jobs/runs/list');
  assert.is(server.requests().filter((r) => r.path === '/oidc/v1/token').length - before, 1);
  assert.not.ok(server.authorizations().some((h) => h.includes('sp-secret-xyz') || h.includes(Buffer.from('sp-1:sp-secret-xyz').toString('base64'))));
  const bad = createDatabricksClient({ host: server.url, auth: { kind: 'oauth', clientId: 'sp-1', clientSecret: 'wrong' } });
  const e = await syncRejection(bad.json('GET', '/api/2.1/jobs/runs/list'));
  assert.is(e.code, 'access_denied');
  assert.is(e.retryable, false);
  assert.not.ok(e.message.includes('wrong'));
});

test('401, 403, 404, 400, 429 (Retry-After) and 5xx each map to the right retry decision', async () => {
  const once = createDatabricksClient({ host: server.url, auth: { kind: 'pat', token: TOKEN }, attempts: 1 });
  const badToken = createDatabricksClient({ host: server.url, auth: { kind: 'pat', token: 'dapi-wrong-token' }, attempts: 3, backoffMs: 1 });
  const e401 = await syncRejection(badToken.json('GET', '/api/2.1/jobs/runs/list'));
  assert.equal([e401.code, e401.retryable], ['access_denied', false]);
  assert.not.ok(e401.message.includes('dapi-wrong-token'));
  server.inject({ path: '/api/2.1/jobs/runs/list', status: 403, times: 1 });
  const e403 = await syncRejection(once.json('GET', '/api/2.1/jobs/runs/list'));
  assert.equal([e403.code, e403.retryable, e403.details?.errorCode], ['access_denied', false, 'PERMISSION_DENIED']);
  const e404 = await syncRejection(once.json('GET', '/api/2.1/jobs/runs/get', { query: { run_id: 1 } }));
  assert.equal([e404.code, e404.retryable, e404.details?.errorCode], ['not_found', false, 'RESOURCE_DOES_NOT_EXIST']);
  const e400 = await syncRejection(once.json('POST', '/api/2.1/jobs/runs/submit', { body: { tasks: [] } }));
  assert.equal([e400.code, e400.retryable, e400.details?.status], ['invalid_request', false, 400]);
  server.inject({ path: '/api/2.1/jobs/runs/list', status: 429, times: 1, retryAfterSeconds: 7 });
  const e429 = await syncRejection(once.json('GET', '/api/2.1/jobs/runs/list'));
  assert.equal([e429.code, e429.retryable, e429.details?.retryAfterMs], ['throttled', true, 7000]);
  for (const status of [500, 503]) {
    server.inject({ path: '/api/2.1/jobs/runs/list', status, times: 1 });
    const e = await syncRejection(once.json('GET', '/api/2.1/jobs/runs/list'));
    assert.equal([e.code, e.retryable], ['unavailable', true], `status ${status}`);
  }
  // With attempts to spare, an idempotent call waits out a short Retry-After and succeeds.
  server.inject({ path: '/api/2.1/jobs/runs/list', status: 429, times: 1, retryAfterSeconds: 0 });
  server.inject({ path: '/api/2.1/jobs/runs/list', status: 503, times: 1 });
  const r = await client.json<{ runs: unknown[] }>('GET', '/api/2.1/jobs/runs/list');
  assert.ok(Array.isArray(r.runs));
  // A Retry-After longer than the client will wait goes back to the caller (the queue retries it later).
  server.inject({ path: '/api/2.1/jobs/runs/list', status: 429, times: 1, retryAfterSeconds: 3600 });
  assert.is((await syncRejection(client.json('GET', '/api/2.1/jobs/runs/list'))).code, 'throttled');
  // A submit whose answer was lost is safe to send again with the same token: still one run.
  const body = submitBody('dbfs:/sync/runs/orders/2026-12-04T04:00:00Z/r-4/', 'aws');
  server.inject({ path: '/api/2.1/jobs/runs/submit', status: 500, times: 1, afterHandling: true });
  const { run_id } = await client.json<{ run_id: number }>('POST', '/api/2.1/jobs/runs/submit', { body, idempotent: true });
  assert.is(server.runs().filter((x) => x.idempotencyToken === body.idempotency_token).length, 1);
  assert.is(server.runs().find((x) => x.idempotencyToken === body.idempotency_token)?.runId, run_id);
});

test.run();
