import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startEmbeddedRedis } from '../../src/agent/embedded-redis.js';

test('an embedded redis-server left behind by a dead agent is stopped before a new one starts on its folder; the data survives', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sync-embedded-'));
  const first = await startEmbeddedRedis({ dir });
  const r1 = new Redis(first.url);
  await r1.set('kept', 'yes');
  const pid1 = Number(await r1.info('server').then((i) => /process_id:(\d+)/.exec(i)![1]));
  r1.disconnect();
  // The agent "dies" without stopping it: start again on the same folder.
  const second = await startEmbeddedRedis({ dir });
  try {
    let alive = true;
    try {
      process.kill(pid1, 0);
    } catch {
      alive = false;
    }
    assert.not.ok(alive, `the leftover server (pid ${pid1}) was stopped`);
    const r2 = new Redis(second.url);
    assert.is(await r2.get('kept'), 'yes', 'the append-only file carried the data over');
    r2.disconnect();
  } finally {
    await second.stop();
    await first.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
