// Server-side render time of the dashboard's project page for a project with 1,000 runs (target: under
// 300 ms), beside the same page for a project with 10 runs, through the real handler, file state store
// and HTTP on loopback. The time measured is the server's: from the request to the last byte written.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createFileObjectStore } from '../src/adapters/file-object-store.js';
import { createFileStateStore } from '../src/adapters/state-file.js';
import { silentLogger } from '../src/adapters/logger.js';
import type { ProjectState, Run } from '../src/domain/types.js';
import { createUi } from '../src/ui/server.js';

const TOKEN = 'bench-token';
const ROUNDS = Number(process.env.BENCH_UI_ROUNDS ?? 30);

function project(id: string, runs: number): ProjectState {
  const t0 = Date.parse('2026-01-01T02:00:00Z');
  const list: Run[] = Array.from({ length: runs }, (_, i) => {
    const at = new Date(t0 + i * 86_400_000).toISOString();
    const applied = i > 0 && i % 3 !== 0;
    return {
      id: `r-${id}-${String(i).padStart(5, '0')}`,
      projectId: id,
      status: i % 97 === 5 ? 'failed' : 'recorded',
      location: `file:///nowhere/${id}/${at}/r-${i}/`,
      createdAt: at,
      startedAt: at,
      endedAt: at,
      requestKey: `k-${i}`,
      clusterId: `j-${(1e12 + i).toString(36).toUpperCase()}`,
      runtimeSeconds: 400 + (i % 17) * 10,
      costUsd: 3 - (i % 11) * 0.1,
      cluster: { instanceType: i % 2 ? 'm5.4xlarge' : 'c7g.8xlarge', nodes: 4 + (i % 5), masterInstanceType: 'm5.xlarge' },
      ...(applied ? { predictionId: `p-${i}`, preference: 'balanced' as const, expected: { runtimeSeconds: 410, costUsd: 2.5 } } : {}),
      ...(i % 50 === 7 ? { regressed: 'it ran 900 s against 410 s estimated' } : {}),
    };
  });
  return {
    project: { id, name: `Project ${id}`, platform: 'emr', tenantId: 'bench', createdAt: list[0]?.createdAt ?? '', updatedAt: '', mode: 'auto', policy: { maxRuntimeSeconds: 900 } },
    runs: list,
    predictions: [],
    status: { warnings: [], iterations: list.filter((r) => r.predictionId).map((r) => ({ at: r.createdAt, runId: r.id, decision: 'applied' as const, reason: 'saves 12% of cost' })) },
  };
}

async function timePage(url: string, cookie: string, serverMs: number[]): Promise<number> {
  const before = serverMs.length;
  const res = await fetch(url, { headers: { cookie } });
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  await res.text();
  return serverMs[before]!;
}

/** Prints the median and p95 server time of the 1,000-run project page against the 10-run one. */
export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sync-bench-ui-'));
  const stateUrl = pathToFileURL(join(dir, 'state')).href;
  const state = createFileStateStore(stateUrl);
  await state.put('big', project('big', 1000), null);
  await state.put('small', project('small', 10), null);
  const ui = createUi({
    token: () => TOKEN,
    secureCookies: false,
    state,
    objects: createFileObjectStore(),
    enqueue: () => Promise.reject(new Error('read-only bench')),
    queue: () => Promise.resolve({ counts: {}, failed: [] }),
    logger: silentLogger,
    region: 'us-east-1',
    defaultPreference: 'balanced',
  });
  const serverMs: number[] = [];
  const server = createServer((req, res) => {
    const t = process.hrtime.bigint();
    res.on('finish', () => serverMs.push(Number(process.hrtime.bigint() - t) / 1e6));
    void ui.handle(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const signIn = await fetch(`${base}/ui/sign-in`, { method: 'POST', body: new URLSearchParams({ token: TOKEN }), redirect: 'manual' });
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0]!;
    const stats = async (path: string) => {
      await timePage(`${base}${path}`, cookie, serverMs); // warm-up
      const xs: number[] = [];
      for (let i = 0; i < ROUNDS; i += 1) xs.push(await timePage(`${base}${path}`, cookie, serverMs));
      xs.sort((a, b) => a - b);
      return { median: xs[Math.floor(xs.length / 2)]!, p95: xs[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))]! };
    };
    const big = await stats('/ui/projects/big');
    const oldest = await stats('/ui/projects/big?page=20');
    const small = await stats('/ui/projects/small');
    const list = await stats('/ui/');
    const f = (n: number) => `${n.toFixed(1)} ms`;
    console.log(`project page, 1,000 runs (50 a page): median ${f(big.median)}, p95 ${f(big.p95)} server-side (target < 300 ms)`);
    console.log(`  its last page (reads the archived runs): median ${f(oldest.median)}, p95 ${f(oldest.p95)}`);
    console.log(`project page, 10 runs (baseline):     median ${f(small.median)}, p95 ${f(small.p95)}; ratio ${(big.median / small.median).toFixed(2)}x`);
    console.log(`projects page (both projects):        median ${f(list.median)}, p95 ${f(list.p95)}`);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
}
