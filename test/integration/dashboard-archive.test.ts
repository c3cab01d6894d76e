// The dashboard over a project whose document was bounded (old runs archived beside it): the first run still
// counts for the saving, the pager counts every run, and the last page shows the oldest runs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createFileObjectStore } from '../../src/adapters/file-object-store.js';
import { createFileStateStore } from '../../src/adapters/state-file.js';
import { silentLogger } from '../../src/adapters/logger.js';
import type { ProjectState, Run } from '../../src/domain/types.js';
import { createUi } from '../../src/ui/server.js';

test('a 200-run project: all runs paged, the archived first run still the saving basis', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sync-ui-archive-'));
  const state = createFileStateStore(pathToFileURL(join(dir, 'state')).href);
  const t0 = Date.parse('2026-01-01T02:00:00Z');
  const runs: Run[] = Array.from({ length: 200 }, (_, i) => ({
    id: `r-${String(i).padStart(4, '0')}`,
    projectId: 'p',
    status: 'recorded',
    location: `file:///nowhere/${i}/`,
    createdAt: new Date(t0 + i * 86_400_000).toISOString(),
    startedAt: new Date(t0 + i * 86_400_000).toISOString(),
    requestKey: `k${i}`,
    runtimeSeconds: 100,
    costUsd: i === 0 ? 10 : 5,
  }));
  const doc: ProjectState = { project: { id: 'p', name: 'P', platform: 'emr', tenantId: 't', createdAt: runs[0]!.createdAt, updatedAt: runs[0]!.createdAt }, runs, predictions: [] };
  await state.put('p', doc, null);
  const stored = (await state.get('p'))!.value;
  assert.ok(stored.runs.length < 200 && (stored.archive?.runs ?? 0) > 0, `the document was bounded: ${stored.runs.length} runs kept`);
  const ui = createUi({
    token: () => 'tok',
    secureCookies: false,
    state,
    objects: createFileObjectStore(),
    enqueue: () => Promise.reject(new Error('read only')),
    queue: () => Promise.resolve({ counts: {}, failed: [] }),
    logger: silentLogger,
    region: 'us-east-1',
    defaultPreference: 'balanced',
  });
  const server = createServer((req, res) => void ui.handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const signIn = await fetch(`${base}/ui/sign-in`, { method: 'POST', body: new URLSearchParams({ token: 'tok' }), redirect: 'manual' });
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0]!;
    const list = await (await fetch(`${base}/ui/`, { headers: { cookie } })).text();
    assert.match(list, '-50%', 'the saving is against the archived first run ($10 -> $5)');
    const first = await (await fetch(`${base}/ui/projects/p`, { headers: { cookie } })).text();
    assert.match(first, 'Page 1 of 4');
    assert.match(first, 'r-0199');
    const last = await (await fetch(`${base}/ui/projects/p?page=4`, { headers: { cookie } })).text();
    const table = (html: string) => html.slice(html.indexOf('<h2 id="r">Runs</h2>'), html.indexOf('<h2 id="pr">'));
    assert.match(table(last), 'r-0000', 'the oldest (archived) run is on the last page');
    assert.not.match(table(last), 'r-0199');
    assert.match(table(first), 'r-0199');
    assert.not.match(table(first), 'r-0000');
    const run = await fetch(`${base}/ui/projects/p/runs/r-0003`, { headers: { cookie } });
    assert.is(run.status, 200, 'an archived run has its page');
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
