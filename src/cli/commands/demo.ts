import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { hasRedisServer } from '../../agent/embedded-redis.js';
import { runDemo } from '../../demo/run-demo.js';
import { runDatabricksDemo } from '../../demo/databricks-demo.js';
import type { CliIo } from '../io.js';

/** `sync-agent demo`: the tuning loop on embedded defaults and the sandbox EMR; no AWS account needed. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      iterations: { type: 'string', default: '4' },
      dir: { type: 'string' },
      keep: { type: 'boolean', default: false },
      'time-scale': { type: 'string', default: '600' },
      seed: { type: 'string', default: '42' },
      ui: { type: 'boolean', default: false },
      port: { type: 'string', default: '0' },
      platform: { type: 'string', default: 'emr' },
    },
  });
  if (values.platform !== 'emr' && values.platform !== 'databricks') {
    io.err(`sync-agent demo: --platform must be emr or databricks, got '${values.platform}'`);
    return 2;
  }
  if (values.platform === 'databricks' && values.ui) {
    io.err('sync-agent demo: --ui is for the EMR demo; the Databricks demo prints its runs and ends (--keep keeps its folder to inspect)');
    return 2;
  }
  const iterations = Number(values.iterations);
  const timeScale = Number(values['time-scale']);
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > 20) {
    io.err('sync-agent demo: --iterations must be a whole number from 1 to 20');
    return 2;
  }
  if (!(timeScale >= 1 && timeScale <= 100_000)) {
    io.err('sync-agent demo: --time-scale must be between 1 and 100000 (simulated seconds per real second)');
    return 2;
  }
  if (!hasRedisServer()) {
    io.err('sync-agent demo needs redis-server on the PATH (it starts a private one and stops it afterwards).');
    io.err('Install it: Debian/Ubuntu `sudo apt-get install redis-server`, Fedora `sudo dnf install redis`, macOS `brew install redis`.');
    return 1;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    io.err('sync-agent demo: --port must be a port number (0 picks a free one)');
    return 2;
  }
  const dir = values.dir ? resolve(io.cwd, values.dir) : mkdtempSync(join(tmpdir(), 'sync-agent-demo-'));
  // With --ui the dashboard stays up after the iterations until Ctrl-C (or SIGTERM).
  let onSignal: (() => void) | undefined;
  const untilStopped = new Promise<void>((r) => {
    onSignal = r;
  });
  if (values.ui) for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, onSignal!);
  const kept = values.keep || values.dir !== undefined;
  const config = join(dir, 'sync.config.mjs');
  if (kept) {
    mkdirSync(dir, { recursive: true });
    // A configuration pointing at the demo's state, so its projects and runs can be inspected; with the
    // demo's queue prefix, and written before the loop starts, so that while --ui keeps its agent up,
    // enqueue/status/cancel with it reach that agent.
    const prefix = values.platform === 'databricks' ? 'dbxdemo' : 'demo';
    writeFileSync(config, `export default ${JSON.stringify({ site: { redis: 'embedded', queues: { prefix } }, tenant: { id: 'sandbox', state: 'file:./state', projectLocation: 'file:./runs' } }, null, 2)};\n`);
  }
  try {
    if (values.platform === 'databricks') return await runDatabricksDemo({ io, dir, iterations, timeScale, seed: Number(values.seed) });
    return await runDemo({ io, dir, iterations, timeScale, seed: Number(values.seed), keep: kept, ...(values.ui ? { ui: { port, untilStopped } } : {}) });
  } finally {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.removeListener(sig, onSignal!);
    if (!kept) rmSync(dir, { recursive: true, force: true });
    else {
      io.out(`kept ${dir}; inspect it with:\n  sync-agent projects show nightly-etl --config ${config}\n  sync-agent runs nightly-etl --config ${config}`);
    }
  }
}
