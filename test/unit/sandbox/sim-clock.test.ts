import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSimClock } from '../../../src/sandbox/sim-clock.js';
import { sleep, rejection } from '../../support/async.js';



test('runs events in time order, each seeing exactly its own time', async () => {
  // Events must lie in the future when scheduled (else they run "now"): leave 300 ms of real time.
  const clock = createSimClock({ timeScale: 1_000, start: 1_000_000 });
  const seen: [string, number][] = [];
  await Promise.all([
    clock.at(1_000_000 + 600_000, () => void seen.push(['b', clock.now()])),
    clock.at(1_000_000 + 300_000, () => void seen.push(['a', clock.now()])),
    clock.at(1_000_000 + 600_000, () => void seen.push(['c', clock.now()])),
  ]);
  assert.equal(seen, [['a', 1_300_000], ['b', 1_600_000], ['c', 1_600_000]]);
  clock.close();
});

test('time runs timeScale x real time between events', async () => {
  // t0 before the clock starts, so that a pause between the two (a loaded machine) cannot make the clock look fast.
  const t0 = Date.now();
  const clock = createSimClock({ timeScale: 1000, start: 0 });
  await sleep(50);
  const sim = clock.now();
  const real = Date.now() - t0;
  assert.ok(sim >= 45_000 && sim <= real * 1000 + 1000, `${sim} after ${real} ms`);
  clock.close();
});

test('time holds at an event while its action is still busy, and never goes back', async () => {
  const clock = createSimClock({ timeScale: 100_000, start: 0 });
  const readings: number[] = [];
  const p = clock.at(5_000_000, async () => {
    readings.push(clock.now());
    await sleep(30); // 3,000 s of simulated time if the clock ran on
    readings.push(clock.now());
    return 'done';
  });
  assert.is(await p, 'done');
  assert.equal(readings, [5_000_000, 5_000_000]);
  const after = clock.now();
  assert.ok(after >= 5_000_000);
  await sleep(5);
  assert.ok(clock.now() > after);
  clock.close();
});

test('an action scheduled inside another at the same time runs after it, at that time', async () => {
  const clock = createSimClock({ timeScale: 1_000, start: 0 });
  const order: string[] = [];
  let inner: Promise<number> | undefined;
  await clock.at(100_000, () => {
    inner = clock.at(clock.now(), () => (order.push('inner'), clock.now()));
    order.push('outer');
  });
  assert.is(await inner, 100_000);
  assert.equal(order, ['outer', 'inner']);
  clock.close();
});

test('cancelled and closed events reject and do not hold the clock', async () => {
  const clock = createSimClock({ timeScale: 100_000, start: 0 });
  const ac = new AbortController();
  let ran = false;
  const p = clock.at(10_000_000, () => void (ran = true), ac.signal);
  ac.abort();
  const e = (await rejection(p)) as Error;
  assert.is(e.name, 'AbortError');
  assert.is(clock.pending(), 0);
  await sleep(20);
  assert.ok(clock.now() > 1_000_000, 'time moved on past the cancelled event');
  const q = clock.at(clock.now() + 1e12, () => 1);
  clock.close();
  assert.is(((await rejection(q)) as Error).name, 'AbortError');
  assert.not.ok(ran);
  clock.close();
});

test('refuses a non-positive time scale', () => {
  assert.throws(() => createSimClock({ timeScale: 0 }), /timeScale/);
});

test.run();
