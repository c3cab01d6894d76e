// Scenario 8, security: with an HTTP token, a Sync API key, a Redis password (Redis runs with
// requirepass) and AWS keys configured, a full run cycle plus refused and hostile requests leave none
// of those secrets in the daemon's output, the results, any Redis key, /metrics, or any file written.
// The HTTP ingress refuses missing or wrong tokens and listens on loopback only; ids cannot leave
// the state or run locations. (The systemd unit's exposure is checked by test/unit/agent/systemd-unit.test.ts.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readdirSync } from 'node:fs';
import { Redis } from 'ioredis';
import type { AgentProcess } from '../support/agent-process.js';
import { filesUnder, projectCreate, report, sleep, startWorld, stopDaemon } from './harness.js';

const TOKEN = 'tok-S3cr3t-4a1f9e77c2d0b';
const API_KEY_ID = 'keyid-7d31c0a9e2f4';
const API_KEY_SECRET = 'apisecret-b94e1c0d7a2f6e58';
const REDIS_PASSWORD = 'redispw-0f9e8d7c6b5a';
const AWS_SECRET = 'awssecret-5c4b3a2918f7e6d5c4b3';
const SECRETS = { TOKEN, API_KEY_ID, API_KEY_SECRET, REDIS_PASSWORD, AWS_SECRET };

/** Every value stored in Redis, as text, key by key. */
async function dumpRedis(r: Redis): Promise<string> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const type = await r.type(key);
      let value: unknown;
      if (type === 'string') value = await r.get(key);
      else if (type === 'hash') value = await r.hgetall(key);
      else if (type === 'list') value = await r.lrange(key, 0, -1);
      else if (type === 'set') value = await r.smembers(key);
      else if (type === 'zset') value = await r.zrange(key, 0, -1, 'WITHSCORES');
      else if (type === 'stream') value = await r.xrange(key, '-', '+');
      out.push(`${key} ${JSON.stringify(value)}`);
    }
  } while (cursor !== '0');
  return out.join('\n');
}

const leaks = (where: string, text: string) => Object.entries(SECRETS).filter(([, v]) => text.includes(v)).map(([k]) => `${k} in ${where}`);

test('secrets never leave the process; the HTTP ingress needs the token and listens on loopback; ids stay inside their locations', async () => {
  const started = Date.now();
  const world = await startWorld({ prefix: 'sec' });
  let agent: AgentProcess | undefined;
  const r = new Redis(world.redis.url, { password: REDIS_PASSWORD, lazyConnect: true });
  try {
    await world.r.config('SET', 'requirepass', REDIS_PASSWORD);
    await r.connect();
    const noAuth = new Redis(world.redis.url, { maxRetriesPerRequest: 0 });
    noAuth.on('error', () => undefined);
    const refused = await noAuth.call('GET', 'x').then(() => 'served', (e: Error) => e.message);
    noAuth.disconnect();
    assert.match(refused, /NOAUTH|auth/i, `Redis really requires the password: ${refused}`);

    agent = await world.daemon('sec-host', {
      env: { SYNC_AGENT_TOKEN: TOKEN, SYNC_API_KEY_ID: API_KEY_ID, SYNC_API_KEY_SECRET: API_KEY_SECRET, SYNC_REDIS_PASSWORD: REDIS_PASSWORD, AWS_SECRET_ACCESS_KEY: AWS_SECRET },
    });
    const send = (req: Record<string, unknown>) => r.xadd('sec:inbox', '*', 'request', JSON.stringify(req));
    const waitFor = async (id: string) => {
      for (let i = 0; i < 200; i++) {
        const h = await r.hgetall(`sec:result:${id}`);
        if (h.status) return h;
        await sleep(200);
      }
      throw new Error(`no result for ${id}`);
    };
    // `auth` null sends no Authorization header at all.
    const http = (path: string, init: RequestInit = {}, auth: string | null = `Bearer ${TOKEN}`) =>
      fetch(`${agent!.httpUrl}${path}`, { ...init, headers: { 'content-type': 'application/json', ...(auth !== null ? { authorization: auth } : {}), ...init.headers } });

    // A full cycle: project, run through HTTP, completion through SQS, run.record.
    await send(projectCreate('p1'));
    assert.is((await waitFor('create-p1')).status, 'completed');
    const post = await http('/v1/requests', { method: 'POST', body: JSON.stringify({ id: 'start-1', name: 'run.start', data: { projectId: 'p1' }, idempotencyKey: 'k1' }) });
    assert.is(post.status, 202);
    const startRes = await waitFor('start-1');
    assert.is(startRes.status, 'completed', JSON.stringify(startRes));
    for (let i = 0; i < 150 && world.states().p1?.runs[0]?.status !== 'recorded'; i++) await sleep(200);
    assert.is(world.states().p1?.runs[0]?.status, 'recorded');

    // The ingress refuses missing, wrong, near-miss and misplaced tokens.
    const authCases: [string, string | null, string][] = [
      ['missing', null, '/v1/requests'],
      ['wrong', 'Bearer nope', '/v1/requests'],
      ['token plus a suffix', `Bearer ${TOKEN}x`, '/v1/requests'],
      ['token prefix', `Bearer ${TOKEN.slice(0, -1)}`, '/v1/requests'],
      ['basic scheme', `Basic ${Buffer.from(`user:${TOKEN}`).toString('base64')}`, '/v1/requests'],
      ['in the query string', null, `/v1/requests?token=${TOKEN}`],
    ];
    for (const [what, auth, path] of authCases) {
      const res = await http(path, { method: 'POST', body: JSON.stringify({ name: 'project.create', data: { name: 'x', platform: 'emr' } }) }, auth);
      assert.is(res.status, 401, `POST with ${what}`);
      const get = await http('/v1/requests/start-1', {}, auth);
      assert.is(get.status, 401, `GET with ${what}`);
    }

    // Ids that try to leave their location are refused before anything is read or written.
    const escapes = [
      { id: 'esc-1', name: 'project.create', data: { projectId: '../../PWNED1', name: 'x', platform: 'emr' } },
      { id: 'esc-2', name: 'run.start', data: { projectId: 'p1', predictionId: '../../../../../../etc/passwd' } },
      { id: 'esc-3', name: 'run.record', data: { projectId: 'p1', runId: '../../PWNED3' } },
      { id: 'esc-4', name: 'run.start', data: { projectId: '..' } },
      { id: 'esc-5', name: 'prediction.create', data: { projectId: 'p1', runId: '../../../PWNED5' } },
      { id: 'esc-6', name: 'project.create', data: { projectId: 'PWNED6/../../x', name: 'x', platform: 'emr' } },
      { id: 'esc-7', name: 'run.start', data: { projectId: '%2e%2e%2fPWNED7' } },
    ];
    for (const e of escapes) await send(e);
    for (const e of escapes) {
      const res = await waitFor(e.id);
      assert.ok(res.status === 'rejected' || res.status === 'failed', `${e.id}: ${JSON.stringify(res)}`);
      if (res.status === 'failed') assert.not.match(res.error ?? '', /passwd|root:/, `${e.id} read nothing outside`);
    }
    const pwned = (dir: string) => readdirSync(dir).filter((n) => n.includes('PWNED'));
    assert.equal([...pwned(world.dir), ...pwned(join(world.dir, '..')), ...pwned(tmpdir())], [], 'nothing written outside the locations');
    const written = filesUnder(world.dir).filter((f) => !f.endsWith('.config.mjs'));
    const outside = written.filter((f) => !f.startsWith(world.stateDir + '/') && !f.startsWith(world.runsDir + '/') && !f.startsWith(join(world.dir, 'redis') + '/'));
    assert.equal(outside, [], 'every file the daemon wrote is under the state or run location');

    // Loopback only by default.
    const listening = agent.logs.find((l) => l.msg === 'http listening');
    assert.match(String(listening?.url), /^http:\/\/127\.0\.0\.1:/);
    const port = Number(new URL(agent.httpUrl).port);
    const external = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
    if (external) {
      const reached = await fetch(`http://${external}:${port}/healthz`, { signal: AbortSignal.timeout(2_000) }).then(() => true, () => false);
      assert.is(reached, false, `not reachable on ${external}`);
    }

    // Scan everything for the secrets.
    const metricsText = await (await fetch(`${agent.httpUrl}/metrics`)).text();
    const statusText = await (await http('/v1/requests/start-1')).text();
    // Files while running (the runtime file is removed at stop) and after.
    const whileRunning = filesUnder(world.dir).filter((f) => !f.endsWith('.config.mjs')).flatMap((f) => leaks(f, readFileSync(f, 'latin1')));
    assert.is(await agent.stop(), 0);
    const found = [
      ...leaks('daemon stdout/stderr', agent.output()),
      ...leaks('redis', await dumpRedis(r)),
      ...leaks('/metrics', metricsText),
      ...leaks('GET /v1/requests/:id', statusText),
      ...whileRunning,
      ...filesUnder(world.dir).filter((f) => !f.endsWith('.config.mjs')).flatMap((f) => leaks(f, readFileSync(f, 'latin1'))),
    ];
    assert.equal(found, [], 'no secret anywhere');
    // The scan is not vacuous: the places scanned hold real content.
    assert.ok(agent.output().length > 1_000 && written.length >= 4 && metricsText.includes('sync_requests_total'));
    report('security', {
      secretsChecked: Object.keys(SECRETS).length,
      scanned: { logBytes: agent.output().length, redisKeys: (await r.dbsize()), files: written.length, metricsBytes: metricsText.length },
      leaks: found.length,
      authCasesRefused: authCases.length * 2,
      escapeAttemptsRefused: escapes.length,
      durationS: Math.round((Date.now() - started) / 1000),
    });
  } finally {
    r.disconnect();
    await stopDaemon(agent);
    await world.stop();
  }
});

test.run();
