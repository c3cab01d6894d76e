import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { choosePreferences, kneePoint, paretoFront } from '../../../src/domain/prediction/pareto.js';

const p = (name: string, runtimeSeconds: number, costUsd: number) => ({ name, runtimeSeconds, costUsd });

test('front keeps only points no other beats on both runtime and cost', () => {
  const pts = [p('a', 10, 10), p('b', 20, 5), p('c', 15, 12), p('d', 40, 2), p('e', 40, 3), p('f', 30, 6)];
  assert.equal(paretoFront(pts).map((x) => x.name), ['a', 'b', 'd']);
});

test('knee: the point farthest below the line between the ends', () => {
  const front = [p('fast', 10, 100), p('knee', 12, 20), p('mid', 30, 15), p('cheap', 100, 10)];
  assert.is(kneePoint(front)!.name, 'knee');
});

test('preferences: performance within the cost ceiling, economy within the runtime ceiling', () => {
  const pts = [p('fast', 10, 100), p('knee', 12, 20), p('mid', 30, 15), p('cheap', 100, 10)];
  const all = choosePreferences(pts)!;
  assert.is(all.performance.name, 'fast');
  assert.is(all.economy.name, 'cheap');
  assert.is(all.balanced.name, 'knee');
  const bounded = choosePreferences(pts, { performanceMaxCostUsd: 50, economyMaxRuntimeSeconds: 40 })!;
  assert.is(bounded.performance.name, 'knee');
  assert.is(bounded.economy.name, 'mid');
  // Ceilings nothing meets: fall back to the cheapest / the fastest.
  const none = choosePreferences(pts, { performanceMaxCostUsd: 1, economyMaxRuntimeSeconds: 1 })!;
  assert.is(none.performance.name, 'cheap');
  assert.is(none.economy.name, 'fast');
  assert.is(choosePreferences([]), undefined);
});

test.run();
