// The directory layouts Spark and Databricks write give the same model as one file of the same events.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { loadApplicationModel, openEventLog, resolveEventLog } from '../../../src/adapters/eventlog-source.js';
import type { ApplicationModel } from '../../../src/domain/eventlog/model.js';
import { createMemoryObjectStore } from '../../support/memory-object-store.js';
import { writeLz4BlockStream } from './spark-framings.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/eventlogs/', import.meta.url));
const DB = join(FIXTURES, 'rapids-tools/db_sim_eventlog');
const test = suite<{ dir: string }>('layouts', { dir: '' });

test.before(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'eventlog-layouts-'));
});
test.after(async (ctx) => {
  await rm(ctx.dir, { recursive: true, force: true });
});

const comparable = (m: ApplicationModel): unknown => ({ ...m, warnings: [] });

/** The Databricks parts' bytes in reading order (older gzip part, then the live one). */
async function databricksBytes(): Promise<Buffer> {
  return Buffer.concat([gunzipSync(await readFile(join(DB, 'eventlog-2021-06-15--15-00.gz'))), await readFile(join(DB, 'eventlog'))]);
}

/** Splits log text into `n` pieces at line boundaries. */
function splitLines(text: string, n: number): string[] {
  const ls = text.split('\n');
  if (ls[ls.length - 1] === '') ls.pop();
  const per = Math.ceil(ls.length / n);
  return Array.from({ length: n }, (_, i) => ls.slice(i * per, (i + 1) * per).join('\n') + '\n');
}

test('Databricks rolled directory == the same events as one file', async (ctx) => {
  const single = join(ctx.dir, 'db-single');
  await writeFile(single, await databricksBytes());
  const fromDir = await loadApplicationModel(DB);
  const fromFile = await loadApplicationModel(single);
  assert.equal(comparable(fromDir), comparable(fromFile));
  const layout = await resolveEventLog(DB);
  assert.equal(
    layout.parts.map((p) => p.name),
    ['eventlog-2021-06-15--15-00.gz', 'eventlog'],
  );
});

test('Spark 3 rolling eventlog_v2_ directory (plain and lz4 parts, appstatus) == one file', async (ctx) => {
  const text = (await databricksBytes()).toString('utf8');
  const single = join(ctx.dir, 'rolling-single');
  await writeFile(single, text);
  const expected = await loadApplicationModel(single);
  const appId = expected.appId;
  const pieces = splitLines(text, 11); // 11 parts: numeric order 1..11 differs from name order

  for (const codec of ['', '.lz4']) {
    const dir = join(ctx.dir, `eventlog_v2_${appId}${codec || '.plain'}`);
    await mkdir(dir);
    for (let i = 0; i < pieces.length; i++) {
      const body = Buffer.from(pieces[i] as string);
      await writeFile(join(dir, `events_${i + 1}_${appId}${codec}`), codec ? writeLz4BlockStream(body) : body);
    }
    await writeFile(join(dir, `appstatus_${appId}`), '');
    const m = await loadApplicationModel(dir);
    assert.equal(comparable(m), comparable(expected), codec || 'plain');
    assert.is(m.complete, true);

    // While running, appstatus carries .inprogress and the model says the app is not complete.
    await rm(join(dir, `appstatus_${appId}`));
    await writeFile(join(dir, `appstatus_${appId}.inprogress`), '');
    assert.is((await loadApplicationModel(dir)).complete, false);
  }
  const layout = await resolveEventLog(join(ctx.dir, `eventlog_v2_${appId}.plain`));
  assert.equal(
    layout.parts.map((p) => Number(p.name.split('_')[1])),
    Array.from({ length: 11 }, (_, i) => i + 1),
  );
});

test("a run's eventlog/ folder (or the run folder) holding one application is read through, local and file://", async (ctx) => {
  const folder = join(ctx.dir, 'run', 'eventlog');
  await mkdir(folder, { recursive: true });
  const src = join(FIXTURES, 'rapids-tools/attempt_1_eventlog.zstd');
  await writeFile(join(folder, 'application_1724877841851_0016.zstd'), await readFile(src));
  const expected = comparable(await loadApplicationModel(src));
  assert.equal(comparable(await loadApplicationModel(folder)), expected);
  assert.equal(comparable(await loadApplicationModel(pathToFileURL(folder).href)), expected);
  assert.equal(comparable(await loadApplicationModel(pathToFileURL(src).href)), expected);
  // The run folder itself: the JSON documents beside eventlog/ are not logs; the log under it is read.
  await writeFile(join(ctx.dir, 'run', 'job-flow.json'), JSON.stringify({ Name: 'x'.repeat(200_000) }));
  await writeFile(join(ctx.dir, 'run', 'emr-cluster-report.json'), '{}');
  assert.equal(comparable(await loadApplicationModel(join(ctx.dir, 'run'))), expected);
});

test('s3: rolling and Databricks directories through the ObjectStore port', async () => {
  const store = createMemoryObjectStore({ chunkSize: 8192 });
  for (const name of await readdir(DB)) await store.put(`s3://logs/db/${name}`, await readFile(join(DB, name)));
  const text = (await databricksBytes()).toString('utf8');
  const pieces = splitLines(text, 3);
  const appId = 'local-1623876083964';
  for (let i = 0; i < pieces.length; i++) await store.put(`s3://logs/run/eventlog/eventlog_v2_${appId}/events_${i + 1}_${appId}`, pieces[i] as string);
  await store.put(`s3://logs/run/eventlog/eventlog_v2_${appId}/appstatus_${appId}`, '');
  const local = comparable(await loadApplicationModel(DB));
  assert.equal(comparable(await loadApplicationModel('s3://logs/db', { objectStore: store })), local);
  assert.equal(comparable(await loadApplicationModel('s3://logs/db/', { objectStore: store })), local);
  assert.equal(comparable(await loadApplicationModel(`s3://logs/run/eventlog/eventlog_v2_${appId}`, { objectStore: store })), local);
  const lineCount = async (url: string): Promise<number> => {
    let n = 0;
    for await (const line of openEventLog(url, { objectStore: store })) if (line !== '') n++;
    return n;
  };
  assert.is(await lineCount('s3://logs/db'), text.split('\n').filter((l) => l !== '').length);
  // The run's eventlog/ prefix: the one application under it is found.
  assert.equal(comparable(await loadApplicationModel('s3://logs/run/eventlog/', { objectStore: store })), local);
  assert.is(store.getCalls, 0);
});

test('an aborted read stops with SyncError aborted (local and s3)', async () => {
  const controller = new AbortController();
  controller.abort();
  for (const [url, deps] of [
    [DB, { signal: controller.signal }],
    ['s3://logs/none/app', { signal: controller.signal, objectStore: createMemoryObjectStore() }],
  ] as const) {
    try {
      await loadApplicationModel(url, deps);
      assert.unreachable('should abort');
    } catch (e) {
      assert.is((e as { code?: string }).code, 'aborted', String(e));
    }
  }
});

test.run();
