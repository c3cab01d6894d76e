// Seeded randomness for the sandbox: every draw is reproducible from a seed and a named stream.
/** A seeded PRNG (mulberry32) with normal and lognormal draws. */
export type Rng = { next(): number; normal(): number; lognormal(median: number, sigma: number): number; uniform(lo: number, hi: number): number };

/** A PRNG for `seed` and a named stream, so draws for one purpose never shift another's. */
export function createRng(seed: number, stream = ''): Rng {
  let h = (seed >>> 0) ^ 0x9e3779b9;
  for (let i = 0; i < stream.length; i++) h = Math.imul(h ^ stream.charCodeAt(i), 0x01000193) >>> 0;
  let a = h >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => {
    const u = Math.max(next(), 1e-12);
    const v = next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  return { next, normal, lognormal: (median, sigma) => median * Math.exp(sigma * normal()), uniform: (lo, hi) => lo + (hi - lo) * next() };
}

