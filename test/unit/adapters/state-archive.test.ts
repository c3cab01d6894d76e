// Project documents stay bounded: a project with 5,000 runs keeps its recent runs (and those the
// tuning loop needs) in the document and the rest in archive chunks beside it, on both stores.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileStateStore } from '../../../src/adapters/state-file.js';
import { createS3StateStore } from '../../../src/adapters/state-s3.js';
import { DEFAULT_ARCHIVE_BATCH, DEFAULT_KEEP_RUNS, mergeRuns } from '../../../src/domain/run-archive.js';
import type { RunArchiveChunk } from '../../../src/domain/run-archive.js';
import type { StateStore } from '../../../src/domain/ports.js';
import type { ProjectState, Run } from '../../../src/domain/types.js';
import { updateProjectState } from '../../../src/handlers/update-project.js';
import { createMemoryObjectStore } from '../../support/memory-object-store.js';

const at = (i: number) => new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
const run = (i: number, status: Run['status'] = 'recorded'): Run => ({
  id: `r-${String(i).padStart(5, '0')}`,
  projectId: 'big',
  status,
  location: `file:///runs/big/${i}/`,
  createdAt: at(i),
  requestKey: `k-${i}`,
  ...(status === 'failed' ? { error: { code: i % 2 ? 'cluster_failed' : 'start_timeout', message: 'x' } } : {}),
  ...(status === 'recorded' ? { regressed: 'slower than promised' } : {}),
});

function project(n: number): ProjectState {
  const runs = Array.from({ length: n }, (_, i) => run(i, i % 10 === 3 ? 'failed' : 'recorded'));
  // The last good run (recorded, not regressed) is old: it must stay in the document.
  const { regressed: _drop, ...good } = runs[7]!;
  runs[7] = good;
  return {
    project: { id: 'big', name: 'big', platform: 'emr', tenantId: 't', createdAt: at(0), updatedAt: at(0) },
    runs,
    predictions: [{ id: 'pred-old', url: 'file:///p/old.json', basisRunId: runs[1]!.id, createdAt: at(1) }],
    requests: Object.fromEntries(runs.map((r) => [r.requestKey, { runId: r.id, at: r.createdAt }])),
  };
}

async function all(store: StateStore, id: string): Promise<Run[]> {
  const chunks: RunArchiveChunk[] = [];
  for await (const c of store.archivedRuns!(id)) chunks.push(c);
  return mergeRuns(chunks, (await store.get(id))!.value.runs);
}

const stores: [string, () => { store: StateStore; cleanup: () => void; docBytes?: () => number }][] = [
  [
    'file',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'sync-archive-'));
      return { store: createFileStateStore(dir), cleanup: () => rmSync(dir, { recursive: true, force: true }), docBytes: () => readFileSync(join(dir, 'projects', 'big.json')).length };
    },
  ],
  ['s3 (over an in-memory object store)', () => ({ store: createS3StateStore({ objectStore: createMemoryObjectStore(), rootUrl: 's3://bucket/state' }), cleanup: () => undefined })],
];

for (const [name, make] of stores) {
  test(`${name}: a 5,000-run project keeps a bounded document; every run is still readable, in order`, async () => {
    const { store, cleanup, docBytes } = make();
    try {
      const original = project(5000);
      await store.put('big', original, null);
      // One more update, as run.start makes: read, add a run, write.
      await updateProjectState(store, 'big', (s) => ({ ...s, runs: [...s.runs, run(5000, 'starting')] }));
      const doc = (await store.get('big'))!.value;
      assert.ok(doc.runs.length <= DEFAULT_KEEP_RUNS + DEFAULT_ARCHIVE_BATCH + 2, `${doc.runs.length} runs in the document`);
      assert.ok(doc.runs.some((r) => r.id === 'r-00007'), 'the last good run stays');
      assert.ok(doc.runs.some((r) => r.id === 'r-00001'), "a recent prediction's basis stays");
      assert.is(doc.runs[doc.runs.length - 1]!.id, 'r-05000');
      assert.is(doc.archive!.runs + doc.runs.length, 5001);
      assert.is(doc.archive!.byStatus.failed, (doc.archive!.errors.cluster_failed ?? 0) + (doc.archive!.errors.start_timeout ?? 0));
      assert.ok(Object.keys(doc.requests ?? {}).length <= doc.runs.length, 'request keys of archived runs moved with them');
      if (docBytes) assert.ok(docBytes() < 100_000, `document is ${docBytes()} bytes`);
      const every = await all(store, 'big');
      assert.is(every.length, 5001);
      assert.equal(new Set(every.map((r) => r.id)), new Set([...original.runs.map((r) => r.id), 'r-05000']));
      const archivedIds = every.slice(0, every.length - doc.runs.length).map((r) => r.id);
      assert.equal(archivedIds, [...archivedIds].sort(), 'archived runs come oldest first');
      // Nothing lost, nothing doubled.
      assert.is(new Set(every.map((r) => r.id)).size, 5001);
    } finally {
      cleanup();
    }
  });
}

test('a small project is left whole (no archive)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sync-archive-'));
  try {
    const store = createFileStateStore(dir);
    await store.put('big', project(50), null);
    const doc = (await store.get('big'))!.value;
    assert.is(doc.runs.length, 50);
    assert.is(doc.archive, undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
