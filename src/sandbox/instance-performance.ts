// How fast an EC2 instance type really is, in the sandbox's world: per-vCPU compute speed, memory
// bandwidth, network and disk, relative to an m5 (Skylake/Cascade Lake, the reference the workloads'
// task times are expressed in). Deliberately NOT the prediction engine's CoreMark column: these are
// per processor platform ranges written from AWS's own instance-type pages and launch claims (see
// README.md, "Instance speed"), and each world seed draws one value inside each range, so the
// engine cannot know them and can only learn them from runs.
import { createRng } from './rng.js';

/** A processor platform: what the families built on it share. */
export type ProcessorPlatform = {
  name: string;
  /** Full-load throughput of one vCPU relative to an m5 vCPU: [low, high], drawn per world seed. */
  cpu: readonly [number, number];
  /** Memory bandwidth per vCPU relative to an m5: [low, high]. */
  memoryBandwidth: readonly [number, number];
  /** Baseline network per vCPU, Gbit/s (before the size cap and the "n" variants' uplift). */
  networkGbpsPerVcpu: number;
};

/** The platforms, from the processor AWS names for each family (see README.md for the sources of each range). */
export const PLATFORMS: Readonly<Record<string, ProcessorPlatform>> = {
  'intel-legacy': { name: 'Intel Sandy/Ivy Bridge (m1-m3, c1, c3, r3, i2)', cpu: [0.45, 0.7], memoryBandwidth: [0.55, 0.75], networkGbpsPerVcpu: 0.12 },
  'intel-haswell': { name: 'Intel Haswell/Broadwell (m4, c4, r4, i3, d2, h1, x1)', cpu: [0.72, 0.9], memoryBandwidth: [0.7, 0.85], networkGbpsPerVcpu: 0.16 },
  'intel-skylake': { name: 'Intel Skylake/Cascade Lake (m5, r5, c5, d3, i3en, ...)', cpu: [1, 1], memoryBandwidth: [1, 1], networkGbpsPerVcpu: 0.3125 },
  'intel-skylake-fast': { name: 'Intel Skylake/Cascade Lake at 3.4-3.6 GHz (c5, c5d)', cpu: [1.04, 1.18], memoryBandwidth: [0.95, 1.05], networkGbpsPerVcpu: 0.3125 },
  'intel-high-frequency': { name: 'Intel at 4.0-4.5 GHz (z1d, m5zn, x2iezn, r7iz)', cpu: [1.18, 1.4], memoryBandwidth: [1, 1.15], networkGbpsPerVcpu: 0.5 },
  'intel-icelake': { name: 'Intel Ice Lake (m6i, c6i, r6i, i4i, x2idn)', cpu: [1.06, 1.22], memoryBandwidth: [1.1, 1.3], networkGbpsPerVcpu: 0.39 },
  'intel-sapphire': { name: 'Intel Sapphire Rapids (m7i, c7i, r7i)', cpu: [1.15, 1.35], memoryBandwidth: [1.35, 1.65], networkGbpsPerVcpu: 0.39 },
  'intel-sapphire-flex': { name: 'Intel Sapphire Rapids, flex (m7i-flex, c7i-flex)', cpu: [0.9, 1.25], memoryBandwidth: [1.3, 1.6], networkGbpsPerVcpu: 0.3125 },
  'intel-granite': { name: 'Intel Granite Rapids (m8i, c8i, r8i)', cpu: [1.3, 1.55], memoryBandwidth: [1.5, 1.85], networkGbpsPerVcpu: 0.39 },
  'amd-naples': { name: 'AMD EPYC 7571 (m5a, r5a)', cpu: [0.78, 0.92], memoryBandwidth: [0.8, 0.95], networkGbpsPerVcpu: 0.3125 },
  'amd-rome': { name: 'AMD EPYC 7R32 (c5a, c5ad)', cpu: [0.95, 1.1], memoryBandwidth: [0.95, 1.1], networkGbpsPerVcpu: 0.3125 },
  'amd-milan': { name: 'AMD EPYC 3rd gen (m6a, c6a, r6a)', cpu: [1.05, 1.22], memoryBandwidth: [1.05, 1.25], networkGbpsPerVcpu: 0.39 },
  'amd-genoa': { name: 'AMD EPYC 4th gen, one vCPU per core (m7a, c7a, r7a)', cpu: [1.45, 1.8], memoryBandwidth: [1.5, 1.9], networkGbpsPerVcpu: 0.39 },
  'amd-turin': { name: 'AMD EPYC 5th gen, one vCPU per core (m8a, c8a, r8a, x8aedz)', cpu: [1.7, 2.1], memoryBandwidth: [1.7, 2.1], networkGbpsPerVcpu: 0.39 },
  'graviton1': { name: 'AWS Graviton (a1)', cpu: [0.45, 0.62], memoryBandwidth: [0.6, 0.8], networkGbpsPerVcpu: 0.3125 },
  'graviton2': { name: 'AWS Graviton2, one vCPU per core (m6g, c6g, r6g, x2gd, i4g, im4gn, is4gen)', cpu: [0.92, 1.2], memoryBandwidth: [1.1, 1.35], networkGbpsPerVcpu: 0.3125 },
  'graviton3': { name: 'AWS Graviton3, one vCPU per core, DDR5 (m7g, c7g, r7g)', cpu: [1.15, 1.45], memoryBandwidth: [1.4, 1.8], networkGbpsPerVcpu: 0.39 },
  'graviton4': { name: 'AWS Graviton4, one vCPU per core, DDR5 (m8g, c8g, r8g, x8g, i8g)', cpu: [1.45, 1.8], memoryBandwidth: [1.6, 2], networkGbpsPerVcpu: 0.39 },
  'graviton5': { name: 'AWS Graviton5 (m9g, c9g)', cpu: [1.6, 2.1], memoryBandwidth: [1.8, 2.3], networkGbpsPerVcpu: 0.39 },
};

const FAMILY_PLATFORM: Readonly<Record<string, string>> = {
  m1: 'intel-legacy', m2: 'intel-legacy', m3: 'intel-legacy', c1: 'intel-legacy', c3: 'intel-legacy', r3: 'intel-legacy', i2: 'intel-legacy',
  m4: 'intel-haswell', c4: 'intel-haswell', r4: 'intel-haswell', i3: 'intel-haswell', d2: 'intel-haswell', h1: 'intel-haswell', x1: 'intel-haswell', x1e: 'intel-haswell',
  c5: 'intel-skylake-fast', c5d: 'intel-skylake-fast', c5n: 'intel-skylake-fast',
  z1d: 'intel-high-frequency', m5zn: 'intel-high-frequency', x2iezn: 'intel-high-frequency', r7iz: 'intel-high-frequency',
  m5a: 'amd-naples', m5ad: 'amd-naples', r5a: 'amd-naples', r5ad: 'amd-naples', c5a: 'amd-rome', c5ad: 'amd-rome',
  a1: 'graviton1', i4g: 'graviton2', im4gn: 'graviton2', is4gen: 'graviton2', x2gd: 'graviton2',
  x2idn: 'intel-icelake', x2iedn: 'intel-icelake', i4i: 'intel-icelake', i7i: 'intel-sapphire', i7ie: 'intel-sapphire', x8aedz: 'amd-turin',
};

/** The platform of an instance family: the table above, else a rule on the name (generation, processor letter). */
export function platformOf(family: string): string {
  const known = FAMILY_PLATFORM[family];
  if (known) return known;
  const m = /^([a-z]+?)(\d)([a-z]*)(-flex)?$/.exec(family);
  if (!m) return 'intel-skylake';
  const gen = Number(m[2]);
  const attrs = m[3] ?? '';
  const flex = m[4] !== undefined;
  if (attrs.startsWith('g')) return gen <= 6 ? 'graviton2' : gen === 7 ? 'graviton3' : gen === 8 ? 'graviton4' : 'graviton5';
  if (attrs.startsWith('a')) return gen <= 5 ? 'amd-naples' : gen === 6 ? 'amd-milan' : gen === 7 ? 'amd-genoa' : 'amd-turin';
  if (gen <= 3) return 'intel-legacy';
  if (gen === 4) return 'intel-haswell';
  if (gen === 5) return 'intel-skylake';
  if (gen === 6) return 'intel-icelake';
  if (gen === 7) return flex ? 'intel-sapphire-flex' : 'intel-sapphire';
  return 'intel-granite';
}

/** What the ground truth uses of an instance type beyond its vCPU and memory. */
export type InstancePerformance = {
  platform: string;
  /** Full-load speed of one vCPU relative to an m5 vCPU (task CPU time divides by it). */
  cpuSpeed: number;
  /** Memory bandwidth per vCPU relative to an m5 (the memory-stall part of CPU time divides by it). */
  memoryBandwidth: number;
  /** Sustained network of the whole node, bytes/s. */
  networkBytesPerSecond: number;
  /** Spill/shuffle-file throughput of the node, bytes/s (local NVMe for the "d" variants, else EBS). */
  diskBytesPerSecond: number;
};

/**
 * The performance of `instanceType` (with `vcpu` vCPUs) in world `worldSeed`: the platform's ranges
 * drawn once per world (every family on a platform shares the draw) with a small per-family jitter.
 */
export function instancePerformance(instanceType: string, vcpu: number, worldSeed: number): InstancePerformance {
  const family = instanceType.split('.')[0] ?? instanceType;
  const platform = platformOf(family);
  const p = PLATFORMS[platform]!;
  const shared = createRng(worldSeed, `platform:${platform}`);
  const jitter = createRng(worldSeed, `family:${family}`);
  const cpuSpeed = shared.uniform(p.cpu[0], p.cpu[1]) * jitter.uniform(0.97, 1.03);
  const memoryBandwidth = shared.uniform(p.memoryBandwidth[0], p.memoryBandwidth[1]);
  const attrs = /^[a-z]+?\d([a-z-]*)$/.exec(family)?.[1] ?? '';
  // "n" variants (c5n, m5dn, c6gn, r6in, ...) have about four times the network per vCPU.
  const networkBoost = /n/.test(attrs.replace('-flex', '')) ? 4 : 1;
  const gbps = Math.min(100, Math.max(0.75, vcpu * p.networkGbpsPerVcpu * networkBoost));
  // Local NVMe ("d" variants, storage-optimised i/d/h families) vs EBS (gp3-like, grows a little with size).
  const local = /d/.test(attrs) || /^(i\d|d\d|h1|im4gn|is4gen)/.test(family);
  const disk = local ? Math.min(4e9, 400e6 + 60e6 * vcpu) : Math.min(600e6, 125e6 + 10e6 * vcpu);
  return { platform, cpuSpeed, memoryBandwidth, networkBytesPerSecond: (gbps * 1e9) / 8, diskBytesPerSecond: disk };
}
