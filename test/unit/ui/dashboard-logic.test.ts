// The dashboard's pure parts: formatting, savings and cadence, diffs, sessions and CSRF, charts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createUiAuth, parseCookies } from '../../../src/ui/auth.js';
import { candidateScatter, runChart } from '../../../src/ui/charts.js';
import { duration, esc, money, percent } from '../../../src/ui/format.js';
import { describeJobFlow, jsonDiff, savingOf, warningsOf } from '../../../src/ui/model.js';
import type { ProjectState, Run } from '../../../src/domain/types.js';

const t = suite('dashboard logic');

t('numbers as people read them', () => {
  assert.is(money(1.284), '$1.28');
  assert.is(money(1234.4), '$1,234');
  assert.is(money(0.004), '<$0.01');
  assert.is(money(undefined), '—');
  assert.is(duration(117), '1 min 57 s');
  assert.is(duration(45.2), '45 s');
  assert.is(duration(0.84), '0.8 s');
  assert.is(duration(7380), '2 h 3 min');
  assert.is(percent(-0.323), '-32%');
  assert.is(percent(0.06), '+6%');
  assert.is(percent(0), '0%');
  assert.is(esc('<a href="x">&\'</a>'), '&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;');
});

const run = (id: string, at: string, cost: number, extra: Partial<Run> = {}): Run => ({
  id,
  projectId: 'p',
  status: 'recorded',
  location: `file:///runs/p/${id}/`,
  createdAt: at,
  startedAt: at,
  requestKey: id,
  costUsd: cost,
  runtimeSeconds: 100,
  ...extra,
});
const state = (runs: Run[], policy = {}): ProjectState => ({
  project: { id: 'p', name: 'P', platform: 'emr', tenantId: 't', createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z', policy },
  runs,
  predictions: [],
});

t('saving: last against first, per month at the median daily cadence', () => {
  const s = savingOf(
    state([run('a', '2026-01-01T02:00:00Z', 10), run('b', '2026-01-02T02:00:00Z', 8), run('c', '2026-01-03T02:00:00Z', 7.5, { observed: { runtimeSeconds: 90, costUsd: 6 } })]),
  )!;
  assert.is(s.firstCostUsd, 10);
  assert.is(s.lastCostUsd, 6, 'the engine-measured cost is preferred');
  assert.is(Math.round(s.change * 100), -40);
  assert.is(s.perRunUsd, 4);
  assert.is(s.cadenceSeconds, 86_400);
  assert.is(Math.round(s.perMonthUsd!), Math.round(4 * 30.4375));
});

t('saving: no monthly figure for a burst of runs seconds apart, nor from one gap', () => {
  const burst = savingOf(state([run('a', '2026-01-01T02:00:00Z', 10), run('b', '2026-01-01T02:00:05Z', 8), run('c', '2026-01-01T02:00:09Z', 7)]))!;
  assert.is(burst.perMonthUsd, undefined);
  const two = savingOf(state([run('a', '2026-01-01T02:00:00Z', 10), run('b', '2026-01-02T02:00:00Z', 8)]))!;
  assert.is(two.perMonthUsd, undefined);
  assert.is(savingOf(state([run('a', '2026-01-01T02:00:00Z', 10)])), undefined);
});

t('warnings: the project’s own, regressions, SLA breaches and a failed last run', () => {
  const s = state(
    [run('a', '2026-01-01T02:00:00Z', 10, { runtimeSeconds: 700 }), run('b', '2026-01-02T02:00:00Z', 8, { regressed: 'it ran 900 s' }), run('c', '2026-01-03T02:00:00Z', 8, { status: 'failed', error: { code: 'platform', message: 'bootstrap failed' } })],
    { maxRuntimeSeconds: 600 },
  );
  s.status = { warnings: ['code changed'], iterations: [] };
  const w = warningsOf(s);
  assert.ok(w.includes('code changed'));
  assert.ok(w.some((x) => x.includes('Run b regressed')));
  assert.ok(w.some((x) => x.includes('Run a broke the SLA')));
  assert.ok(w.some((x) => x.includes('last run failed: bootstrap failed')));
});

t('configuration and diff of RunJobFlow requests', () => {
  const a = { Instances: { InstanceGroups: [{ InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 }, { InstanceRole: 'CORE', InstanceType: 'm5.4xlarge', InstanceCount: 12 }] }, Tags: [{ Key: 'sync:run-id', Value: 'r-1' }, { Key: 'team', Value: 'x' }] };
  const b = { Instances: { InstanceGroups: [{ InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 }, { InstanceRole: 'CORE', InstanceType: 'c7g.12xlarge', InstanceCount: 4 }] }, Tags: [{ Key: 'sync:run-id', Value: 'r-2' }, { Key: 'team', Value: 'x' }] };
  assert.is(describeJobFlow(a), '12 x m5.4xlarge');
  const d = jsonDiff(a, b, (p) => p.includes('sync:run-id'));
  assert.equal(
    d.map((x) => x.path),
    ['Instances.InstanceGroups[CORE].InstanceCount', 'Instances.InstanceGroups[CORE].InstanceType'],
  );
  assert.is(d[1]!.before, '"m5.4xlarge"');
  assert.is(d[1]!.after, '"c7g.12xlarge"');
});

t('sessions: signed, expiring, revocable; CSRF bound to the session; wrong tokens rate-limited', () => {
  let now = 1_000_000;
  let token: string | undefined = 'secret-token';
  const auth = createUiAuth({ token: () => token, secure: true, now: () => now, ttlMs: 60_000, maxFailures: 3, failureWindowMs: 10_000 });
  const ok = auth.signIn('secret-token', '1.2.3.4');
  assert.ok(ok.ok);
  if (!ok.ok) return;
  assert.match(ok.cookie, /HttpOnly; SameSite=Strict; Max-Age=60; Secure$/);
  const header = ok.cookie.split(';')[0]!;
  const s = auth.session(header)!;
  assert.ok(s);
  assert.ok(auth.csrfMatches(s, ok.session.csrf));
  assert.not.ok(auth.csrfMatches(s, 'forged'));
  assert.not.ok(auth.csrfMatches(s, undefined));
  // A tampered cookie, a cookie after expiry, after sign-out, or after the token changed is no session.
  assert.is(auth.session(header.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))), undefined);
  now += 61_000;
  assert.is(auth.session(header), undefined);
  now -= 61_000;
  auth.signOut(s);
  assert.is(auth.session(header), undefined);
  const again = auth.signIn('secret-token', '1.2.3.4');
  token = 'rotated';
  assert.is(again.ok && auth.session(again.cookie.split(';')[0]), undefined);
  token = 'secret-token';
  for (let i = 0; i < 3; i += 1) assert.equal(auth.signIn('wrong', '5.6.7.8'), { ok: false, reason: 'wrong-token' });
  const limited = auth.signIn('secret-token', '5.6.7.8');
  assert.is(limited.ok, false);
  assert.is(!limited.ok && limited.reason, 'rate-limited');
  assert.ok(auth.signIn('secret-token', '9.9.9.9').ok, 'another client is not limited');
  now += 10_001;
  assert.ok(auth.signIn('secret-token', '5.6.7.8').ok, 'the limit lifts after the window');
  const code = auth.oneTimeCode();
  assert.ok(auth.redeem(code).ok);
  assert.is(auth.redeem(code).ok, false, 'a one-time code works once');
  assert.equal(parseCookies('a=1; sync_ui=x.y.z; a=2'), { a: '1', sync_ui: 'x.y.z' });
});

t('charts: points for each run, predicted marks, annotations; scatter with picks', () => {
  const svg = runChart([
    { label: 'r1', at: '2026-01-01T00:00:00Z', runtimeSeconds: 300, costUsd: 2 },
    { label: 'r2', at: '2026-01-02T00:00:00Z', runtimeSeconds: 200, costUsd: 1.5, predicted: { runtimeSeconds: 210, costUsd: 1.4 }, mark: 'applied' },
  ]);
  assert.is((svg.match(/<circle class="dot/g) ?? []).length, 4);
  assert.is((svg.match(/class="predicted"/g) ?? []).length, 2);
  assert.match(svg, 'applied');
  assert.match(svg, 'aria-label="Runtime and cost of 2 runs');
  const sc = candidateScatter([
    { label: '4 x a', runtimeSeconds: 100, costUsd: 1 },
    { label: '2 x a', runtimeSeconds: 190, costUsd: 0.9, role: 'economy' },
    { label: 'now', runtimeSeconds: 150, costUsd: 1.2, role: 'current' },
  ]);
  assert.is((sc.match(/class="candidate"/g) ?? []).length, 1);
  assert.match(sc, 'class="pick economy"');
  assert.match(sc, 'class="pick current"');
  assert.match(runChart([]), 'No recorded runs');
});

t.run();
