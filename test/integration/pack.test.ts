// The package as a user gets it: `npm pack` (prepack builds dist/), then `npm install --omit=dev` of the
// tarball into an empty folder, then the installed `sync-agent` runs --help, analyze on a real event log
// and the demo, with production dependencies only (no tsx, no TypeScript, no test servers), and leaves
// nothing running. The slowest test file: a build, an install and a three-iteration demo.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const REPO = resolve('.');
const EVENT_LOG = join(REPO, 'test/fixtures/eventlogs/apache-spark/application_1506645932520_24630151');

type Ran = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number };

/**
 * The environment of a user's shell: without the outer `npm test`'s npm_* variables (npm_config_local_prefix
 * would point the inner npm at this checkout) and without NODE_OPTIONS (a tsx loader would hide a missing dependency).
 */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'NODE_OPTIONS' && k !== 'INIT_CWD') env[k] = v;
  return { ...env, NO_UPDATE_NOTIFIER: '1', FORCE_COLOR: '0' };
}

/** Runs a command to completion in its own process group; after `timeoutMs` the whole group is killed. */
function run(cmd: string, args: string[], opts: { cwd: string; timeoutMs: number }): Promise<Ran> {
  return new Promise((done) => {
    const started = Date.now();
    const child = spawn(cmd, args, { cwd: opts.cwd, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      stderr += `\n[pack.test] ${cmd} ${args.join(' ')} exceeded ${opts.timeoutMs} ms; killed\n`;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, opts.timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Processes whose working folder or command line lies under `dir`. */
function processesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cwd.startsWith(dir) || cmdline.includes(dir)) found.push(`${entry}: ${cmdline}`);
    } catch {
      /* gone, or not ours to read */
    }
  }
  return found;
}

type Ctx = { dir: string; tarball: string; files: string[]; bin: string; timings: Record<string, number> };
const pack = suite<Ctx>('npm pack, install --omit=dev, run');

pack.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'sync-pack-'));
  ctx.timings = {};
  // prepack runs `npm run build`, which starts from an empty dist/.
  const packed = await run('npm', ['pack', '--json', '--pack-destination', ctx.dir], { cwd: REPO, timeoutMs: 180_000 });
  ctx.timings.pack = packed.ms;
  assert.is(packed.code, 0, packed.stderr + packed.stdout);
  // The build's own output may come first; npm's JSON report starts at the first line that opens an array.
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.startsWith('[') ? 0 : packed.stdout.indexOf('\n[') + 1)) as { filename: string; size: number; files: { path: string }[] }[];
  ctx.tarball = join(ctx.dir, info!.filename);
  ctx.files = info!.files.map((f) => f.path);
  ctx.timings.tarballBytes = info!.size;

  // An empty folder with nothing but a package.json, as `npm init -y` leaves it.
  const app = join(ctx.dir, 'app');
  rmSync(app, { recursive: true, force: true });
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'pack-test-app', version: '1.0.0', private: true }));
  const installed = await run('npm', ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', ctx.tarball], { cwd: app, timeoutMs: 240_000 });
  ctx.timings.install = installed.ms;
  assert.is(installed.code, 0, installed.stderr + installed.stdout);
  ctx.bin = join(app, 'node_modules', '.bin', 'sync-agent');
});

pack.after((ctx) => {
  const t = ctx.timings;
  console.log(`[pack.test] tarball ${t.tarballBytes} bytes; ms: npm pack ${t.pack}, npm install ${t.install}, --help ${t.help}, analyze ${t.analyze}, demo ${t.demo}`);
  if (ctx.dir) rmSync(ctx.dir, { recursive: true, force: true });
});

pack('the tarball holds the build, schema, data, unit, example config, README and LICENSE; no sources or source maps', (ctx) => {
  for (const f of ['bin/sync-agent.js', 'dist/cli/main.js', 'dist/sandbox/workloads/etl-shuffle.json', 'schema/requests.schema.json', 'data/instances.json', 'data/PROVENANCE.md', 'systemd/sync-agent.service', 'sync.config.js', 'README.md', 'LICENSE', 'package.json']) {
    assert.ok(ctx.files.includes(f), `${f} is in the tarball`);
  }
  assert.equal(ctx.files.filter((f) => f.startsWith('src/') || f.startsWith('test/') || f.endsWith('.map') || (f.endsWith('.ts') && !f.endsWith('.d.ts'))), []);
});

pack('only production dependencies are installed', (ctx) => {
  const modules = join(ctx.dir, 'app', 'node_modules');
  for (const dev of ['tsx', 'typescript', 'esbuild', 'uvu', 's3rver', 'eslint']) assert.not.ok(existsSync(join(modules, dev)), `${dev} is not installed`);
  assert.ok(existsSync(join(modules, 'sync-agent', 'dist', 'cli', 'main.js')));
  assert.not.ok(existsSync(join(modules, 'sync-agent', 'src')));
});

pack('sync-agent --help', async (ctx) => {
  const r = await run(ctx.bin, ['--help'], { cwd: join(ctx.dir, 'app'), timeoutMs: 30_000 });
  ctx.timings.help = r.ms;
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^usage: sync-agent <command>/);
  for (const command of ['start', 'demo', 'analyze', 'predict']) assert.match(r.stdout, new RegExp(`\\n\\s+${command}\\s`));
});

pack('sync-agent analyze on a real Spark event log', async (ctx) => {
  const r = await run(ctx.bin, ['analyze', EVENT_LOG], { cwd: join(ctx.dir, 'app'), timeoutMs: 60_000 });
  ctx.timings.analyze = r.ms;
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /application\s+Spark shell \(application_1506645932520_24630151\), Spark 2\.4\.0-SNAPSHOT/);
  assert.match(r.stdout, /tasks\s+9 \(0 failed\)/);
  assert.match(r.stdout, /executors\s+7 /);
});

pack('sync-agent analyze on a missing file exits non-zero with a clear message', async (ctx) => {
  const r = await run(ctx.bin, ['analyze', join(ctx.dir, 'no-such-log')], { cwd: join(ctx.dir, 'app'), timeoutMs: 30_000 });
  assert.ok(r.code !== 0 && r.code !== null, `exit code ${r.code}`);
  assert.match(r.stderr, /no-such-log/);
});

pack('sync-agent demo --iterations 3 runs the loop and leaves nothing running', async (ctx) => {
  const app = join(ctx.dir, 'app');
  const r = await run(ctx.bin, ['demo', '--iterations', '3', '--seed', '3'], { cwd: app, timeoutMs: 150_000 });
  ctx.timings.demo = r.ms;
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /iteration 1: kept -> run r-/);
  assert.match(r.stdout, /iteration 3: (applied|kept|held|rolled-back) -> run r-/);
  assert.match(r.stdout, /billed cost per iteration\n\s+#1 \|#+/);
  assert.match(r.stdout, /done: the last run cost \$\d+\.\d\d against \$\d+\.\d\d for the first/);
  const demoDir = /agent log: (\S+)\/agent\.log/.exec(r.stdout)?.[1];
  assert.ok(demoDir, 'the demo names its folder');
  assert.not.ok(existsSync(demoDir!), 'its temporary folder is removed');
  assert.equal(processesUnder(demoDir!), [], 'no process (redis-server, agent) is left in its folder');
  assert.equal(processesUnder(app), [], 'no process is left running from the installed package');
});

pack.run();
