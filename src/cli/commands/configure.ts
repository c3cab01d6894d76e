// `sync-agent configure`: writes a starter sync.config.js from flags, asking for what is missing when
// stdin is a terminal. The file is validated with the same rules as loadConfig before it is written.
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_STATE, defaultRegion } from '../../config/defaults.js';
import { parseConfig } from '../../config/load-config.js';
import { checkLocation } from '../../config/locations.js';
import { formatProblems, type ConfigProblem } from '../../config/reader.js';
import { isSyncError } from '../../domain/errors.js';
import { PREFERENCES } from '../../domain/types.js';
import type { CliIo } from '../io.js';

const USAGE = `usage: sync-agent configure [options]

Writes a starter sync.config.js (ESM). Missing values are asked for when stdin is a terminal.

  --site-id ID              this installation (default: the host name)
  --tenant-id ID            the account (required)
  --state URL               where project state lives: file:///abs/path, file:./relative or s3://bucket/prefix
                            (default ${DEFAULT_STATE})
  --project-location URL    default run data location: s3://bucket/prefix or file:///abs/path
  --redis URL|embedded      an existing Redis (redis://host:port) or 'embedded' (default: embedded)
  --region REGION           AWS region (default: AWS_REGION, AWS_DEFAULT_REGION or us-east-1)
  --preference P            performance | balanced | economy
  --sqs-queue-url URL       SQS queue receiving EMR state-change events
  --http-port N             port of the health/metrics/request endpoint (default 8080)
  --out PATH                file to write (default ./sync.config.js)
  --force                   overwrite an existing file
  -y, --yes                 do not ask; use defaults for what is missing
  -h, --help                show this help

Credentials never go in this file: use SYNC_API_KEY_ID/SYNC_API_KEY_SECRET and SYNC_AGENT_TOKEN,
$CREDENTIALS_DIRECTORY (systemd LoadCredential=), or ~/.sync/credentials (mode 600).`;

type Answers = {
  siteId?: string;
  tenantId?: string;
  state?: string;
  projectLocation?: string;
  redis?: string;
  region?: string;
  preference?: string;
  sqsQueueUrl?: string;
  httpPort?: string;
};

type Question = {
  key: keyof Answers;
  text: string;
  /** The answer used for an empty reply (undefined: leave the setting out). */
  fallback: (io: CliIo) => string | undefined;
  check: (value: string) => string | undefined;
};

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const checkId = (v: string) => (ID.test(v) ? undefined : 'use letters, digits, _ . - (at most 128)');
const checkLoc = (v: string) => {
  const r = checkLocation(v, '/');
  return r.ok ? undefined : r.reason;
};
const checkUrl = (schemes: string[]) => (v: string) => {
  try {
    return schemes.includes(new URL(v).protocol) ? undefined : `must be a ${schemes.join(' or ')}// URL`;
  } catch {
    return `must be a ${schemes.join(' or ')}// URL`;
  }
};

const QUESTIONS: Question[] = [
  { key: 'siteId', text: 'Site id (this installation)', fallback: () => osHostname(), check: checkId },
  { key: 'tenantId', text: 'Tenant id (your account, e.g. acme)', fallback: () => undefined, check: checkId },
  { key: 'state', text: 'Project state location (file:///abs/path or s3://bucket/prefix)', fallback: () => DEFAULT_STATE, check: checkLoc },
  { key: 'projectLocation', text: 'Default run data location (s3://bucket/prefix; empty: none)', fallback: () => undefined, check: checkLoc },
  { key: 'redis', text: "Redis (redis://host:port, or 'embedded')", fallback: () => 'embedded', check: (v) => (v === 'embedded' ? undefined : checkUrl(['redis:', 'rediss:'])(v)) },
  { key: 'region', text: 'AWS region', fallback: (io) => defaultRegion(io.env), check: (v) => (/^[a-z0-9]+(-[a-z0-9]+)*$/.test(v) ? undefined : "e.g. 'us-east-1'") },
  { key: 'preference', text: `Prediction preference (${PREFERENCES.join(' | ')}; empty: balanced)`, fallback: () => undefined, check: (v) => (PREFERENCES.includes(v as never) ? undefined : `one of ${PREFERENCES.join(', ')}`) },
  { key: 'sqsQueueUrl', text: 'SQS queue URL for EMR events (empty: none)', fallback: () => undefined, check: checkUrl(['https:', 'http:']) },
  { key: 'httpPort', text: 'HTTP port', fallback: () => '8080', check: (v) => (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 65535 ? undefined : 'an integer between 1 and 65535') },
];

/** Writes a starter configuration file; exit code 0 when written, 1 when refused, 2 on bad input. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        'site-id': { type: 'string' },
        'tenant-id': { type: 'string' },
        state: { type: 'string' },
        'project-location': { type: 'string' },
        redis: { type: 'string' },
        region: { type: 'string' },
        preference: { type: 'string' },
        'sqs-queue-url': { type: 'string' },
        'http-port': { type: 'string' },
        out: { type: 'string' },
        force: { type: 'boolean', default: false },
        yes: { type: 'boolean', short: 'y', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    io.err(`sync-agent configure: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const v = parsed.values;
  if (v.help) {
    io.out(USAGE);
    return 0;
  }
  const answers: Answers = {};
  const flags: Array<[keyof Answers, string | undefined]> = [
    ['siteId', v['site-id']],
    ['tenantId', v['tenant-id']],
    ['state', v.state],
    ['projectLocation', v['project-location']],
    ['redis', v.redis],
    ['region', v.region],
    ['preference', v.preference],
    ['sqsQueueUrl', v['sqs-queue-url']],
    ['httpPort', v['http-port']],
  ];
  for (const [k, value] of flags) if (value !== undefined) answers[k] = value;

  let out = resolve(io.cwd, v.out ?? 'sync.config.js');
  if ((await stat(out).catch(() => undefined))?.isDirectory()) out = join(out, 'sync.config.js');
  if (!v.force && (await stat(out).catch(() => undefined))) {
    io.err(`sync-agent configure: ${out} already exists; not overwriting it (use --force)`);
    return 1;
  }

  const interactive = io.prompt !== undefined && !v.yes;
  for (const q of QUESTIONS) {
    if (answers[q.key] !== undefined) continue;
    if (!interactive) {
      if (q.key === 'tenantId') {
        io.err('sync-agent configure: --tenant-id is required (or run it in a terminal to be asked)');
        return 2;
      }
      continue;
    }
    const answer = await ask(io, q);
    if (answer === null) return 2;
    if (answer !== undefined) answers[q.key] = answer;
  }

  if (out.endsWith('.js') && (await nearestPackageType(dirname(out))) === 'commonjs') {
    io.err(`sync-agent configure: ${dirname(out)} belongs to a "type": "commonjs" package, where ${out} cannot be an ES module; use --out ${out.replace(/\.js$/, '.mjs')}`);
    return 2;
  }

  const document = buildDocument(answers);
  try {
    await parseConfig(document, { file: out, env: io.env });
  } catch (e) {
    if (!isSyncError(e, 'invalid_config')) throw e;
    const problems = (e.details?.problems ?? []) as ConfigProblem[];
    io.err(`sync-agent configure: these values are not valid, nothing was written:\n${problems.length > 0 ? formatProblems(problems) : e.message}`);
    return 2;
  }

  await mkdir(dirname(out), { recursive: true });
  try {
    await writeFile(out, renderConfig(document), { flag: v.force ? 'w' : 'wx', mode: 0o644 });
  } catch (e) {
    if ((e as { code?: string }).code === 'EEXIST') {
      io.err(`sync-agent configure: ${out} already exists; not overwriting it (use --force)`);
      return 1;
    }
    throw e;
  }
  io.out(`wrote ${out}\nNext: put credentials in ~/.sync/credentials (chmod 600) or the environment, then run \`sync-agent start --config ${out}\``);
  return 0;
}

async function ask(io: CliIo, q: Question): Promise<string | undefined | null> {
  const prompt = io.prompt;
  if (!prompt) return undefined;
  const fallback = q.fallback(io);
  for (let attempt = 0; attempt < 3; attempt++) {
    const reply = (await prompt(`${q.text}${fallback === undefined ? '' : ` [${fallback}]`}: `)).trim();
    if (reply === '') {
      if (fallback !== undefined || q.key !== 'tenantId') return fallback;
      io.err('a tenant id is required');
      continue;
    }
    const problem = q.check(reply);
    if (problem === undefined) return reply;
    io.err(`'${reply}': ${problem}`);
  }
  io.err(`sync-agent configure: no valid answer for "${q.text}"; nothing was written`);
  return null;
}

/** The configuration object the answers describe (the shape of the file, before defaults). */
export function buildDocument(a: Answers): { site: Record<string, unknown>; tenant: Record<string, unknown> } {
  const site: Record<string, unknown> = {};
  if (a.siteId !== undefined) site.id = a.siteId;
  site.redis = a.redis === undefined || a.redis === 'embedded' ? 'embedded' : { url: a.redis };
  if (a.region !== undefined) site.aws = { region: a.region };
  if (a.sqsQueueUrl !== undefined) site.sqs = { completionQueueUrl: a.sqsQueueUrl };
  if (a.httpPort !== undefined) site.http = { port: /^\d+$/.test(a.httpPort) ? Number(a.httpPort) : a.httpPort };
  const tenant: Record<string, unknown> = { id: a.tenantId, state: a.state ?? DEFAULT_STATE };
  if (a.preference !== undefined) tenant.predictionPreference = a.preference;
  if (a.projectLocation !== undefined) tenant.projectLocation = a.projectLocation;
  return { site, tenant };
}

/** The text of a sync.config.js exporting `document`. */
export function renderConfig(document: unknown): string {
  return [
    '// sync-agent configuration (written by `sync-agent configure`). Reference: the README, section Configuration.',
    '// Relative file: URLs (file:./state) are resolved against this file\'s folder.',
    '// Credentials never live here: SYNC_API_KEY_ID/SYNC_API_KEY_SECRET, SYNC_AGENT_TOKEN,',
    '// $CREDENTIALS_DIRECTORY (systemd LoadCredential=) or ~/.sync/credentials (mode 600).',
    `export default ${literal(document, '')};`,
    '',
  ].join('\n');
}

function literal(value: unknown, indent: string): string {
  if (typeof value === 'string') return `'${JSON.stringify(value).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'")}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return `[${value.map((x) => literal(x, indent)).join(', ')}]`;
  if (typeof value === 'object') {
    const inner = indent + '  ';
    const entries = Object.entries(value as Record<string, unknown>).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return '{}';
    const key = (k: string) => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) ? k : literal(k, inner));
    return `{\n${entries.map(([k, x]) => `${inner}${key(k)}: ${literal(x, inner)},`).join('\n')}\n${indent}}`;
  }
  return 'undefined';
}

async function nearestPackageType(dir: string): Promise<string | undefined> {
  for (let d = dir; ; d = dirname(d)) {
    const text = await readFile(join(d, 'package.json'), 'utf8').catch(() => undefined);
    if (text !== undefined) {
      try {
        const type = (JSON.parse(text) as { type?: unknown }).type;
        return typeof type === 'string' ? type : undefined;
      } catch {
        return undefined;
      }
    }
    if (dirname(d) === d) return undefined;
  }
}
