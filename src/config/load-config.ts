import { accessSync, constants as fsConstants } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { hostname as osHostname } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cosmiconfig, type Loader } from 'cosmiconfig';
import { SyncError } from '../domain/errors.js';
import { JOB_TYPES, type ColdStartRow } from '../domain/cold-start.js';
import { PREFERENCES } from '../domain/types.js';
import { DEFAULT_REDIS_URL, DEFAULT_STATE, embeddedDefaults, siteDefaults } from './defaults.js';
import { createReader, didYouMean, formatProblems, type ConfigProblem, type Reader } from './reader.js';
import type { Config, DatabricksPricingOverrides, InstanceOverride, RedisSentinelConfig, RedisServerConfig, RedisTlsConfig, SiteConfig, TenantConfig } from './types.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Options of loadConfig; everything defaults to the current process. */
export type LoadConfigOptions = {
  /** An explicit file (`--config PATH`), relative to `cwd`; no search happens then. */
  configPath?: string;
  /** The folder searched for a config file (default process.cwd()). */
  cwd?: string;
  env?: Env;
  /** Reads an `s3://` tenant document; injected so that config does not depend on the S3 adapter. */
  fetchTenant?: (url: string) => Promise<string>;
  /** When no config file exists, return embeddedDefaults(cwd) instead of failing. */
  allowDefaults?: boolean;
  /** Default for site.id (default os.hostname()). */
  hostname?: string;
};

/** The files looked for, in order, in the search folder (cosmiconfig, module name `sync`). */
export const SEARCH_PLACES: readonly string[] = [
  'package.json',
  '.syncrc',
  '.syncrc.json',
  '.syncrc.yaml',
  '.syncrc.yml',
  'sync.config.js',
  'sync.config.mjs',
  'sync.config.cjs',
];

let generation = 0;

// cosmiconfig's own JS loader uses a plain import(), which Node caches for the life of the process;
// a reload (SIGHUP) must see the file as it is now, so each load imports a fresh copy.
const loadFreshModule: Loader = async (filepath) => {
  const real = await realpath(filepath);
  const require = createRequire(real);
  delete require.cache[real];
  const url = pathToFileURL(real);
  url.search = `?generation=${++generation}`;
  const mod = (await import(url.href)) as { default?: unknown };
  return mod.default;
};

/**
 * Finds, reads, validates and defaults the configuration. Reports every problem at once as
 * SyncError('invalid_config') with `details.problems`. Has no side effects and may be called again (reload).
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<Config> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const explorer = cosmiconfig('sync', {
    searchPlaces: [...SEARCH_PLACES],
    searchStrategy: 'none',
    cache: false,
    ignoreEmptySearchPlaces: false,
    loaders: { '.js': loadFreshModule, '.mjs': loadFreshModule, '.cjs': loadFreshModule },
  });
  explorer.clearCaches();
  let found: { config: unknown; filepath: string; isEmpty?: boolean } | null;
  const explicit = options.configPath === undefined ? undefined : resolve(cwd, options.configPath);
  try {
    found = explicit ? await explorer.load(explicit) : await explorer.search(cwd);
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (explicit && err.code === 'ENOENT') throw new SyncError('invalid_config', `config file not found: ${explicit}`, { cause: e });
    throw new SyncError('invalid_config', `could not load the configuration${explicit ? ` ${explicit}` : ` from ${cwd}`}: ${err.message ?? String(e)}`, { cause: e });
  }
  if (!found) {
    if (explicit) throw new SyncError('invalid_config', `${explicit} has no 'sync' configuration`);
    if (options.allowDefaults) return embeddedDefaults(cwd, { env, ...(options.hostname === undefined ? {} : { hostname: options.hostname }) });
    const places = SEARCH_PLACES.map((p) => join(cwd, p) + (p === 'package.json' ? ' (key "sync")' : ''));
    throw new SyncError('invalid_config', `no configuration file found; searched ${places.join(', ')}. Run \`sync-agent configure\` to write one, or pass --config PATH`, {
      details: { searched: places },
    });
  }
  return parseConfig(found.isEmpty ? undefined : found.config, {
    file: found.filepath,
    env,
    ...(options.fetchTenant ? { fetchTenant: options.fetchTenant } : {}),
    ...(options.hostname === undefined ? {} : { hostname: options.hostname }),
  });
}

/** Validates and defaults an already loaded configuration object as if it had been read from `file`. */
export async function parseConfig(
  raw: unknown,
  options: { file: string; env?: Env; hostname?: string; fetchTenant?: (url: string) => Promise<string> },
): Promise<Config> {
  const env = options.env ?? process.env;
  const r = createReader(options.file, dirname(options.file));
  const problems: ConfigProblem[] = r.problems;
  const sources = [options.file];
  if (raw === undefined || raw === null) r.add('(top level)', 'the file defines nothing: it must contain (or `export default`) an object { site, tenant }');
  const top = raw === undefined || raw === null ? undefined : r.object(raw, '', ['site', 'tenant']);
  const site = readSite(r, top?.site, env, options.hostname ?? osHostname());

  let tenant: TenantConfig = { id: 'unknown', state: DEFAULT_STATE };
  const tenantValue = top?.tenant;
  if (top !== undefined && tenantValue === undefined) r.add('tenant', 'is required: an object { id, state } or the path/s3:// URL of a JSON document');
  else if (typeof tenantValue === 'string') {
    const doc = await readTenantDocument(r, tenantValue, options.fetchTenant);
    if (doc) {
      sources.push(doc.source);
      const tr = createReader(doc.source, doc.baseDir);
      tenant = readTenant(tr, doc.value, 'tenant');
      problems.push(...tr.problems);
    }
  } else if (tenantValue !== undefined) {
    tenant = readTenant(r, tenantValue, 'tenant');
  }

  if (problems.length > 0) {
    throw new SyncError('invalid_config', `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${formatProblems(problems)}`, {
      details: { problems },
    });
  }
  return { site, tenant, sources };
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const ID_WHAT = 'an id of letters, digits, _ . - (at most 128)';
const INSTANCE_TYPE = /^[a-z0-9-]+\.[a-z0-9-]+$/;
const REGION = /^[a-z0-9]+(-[a-z0-9]+)*$/;

function readSite(r: Reader, value: unknown, env: Env, defaultId: string): SiteConfig {
  const d = siteDefaults(env);
  if (value === undefined) return { id: defaultId, redis: { url: DEFAULT_REDIS_URL }, ...d };
  const s = r.object(value, 'site', [
    'id',
    'predictionPreference',
    'projectLocation',
    'redis',
    'queues',
    'sqs',
    'aws',
    'predictions',
    'http',
    'shutdown',
    'reconcile',
    'orphans',
    'eventLog',
    'logLevel',
    'databricks',
  ]);
  const site: SiteConfig = {
    id: r.string(s, 'site', 'id', { pattern: ID, what: ID_WHAT }) ?? defaultId,
    redis: readRedis(r, s?.redis),
    queues: readQueues(r, s?.queues, d.queues),
    aws: readAws(r, s?.aws, d.aws),
    predictions: readPredictions(r, s?.predictions, d.predictions),
    http: readHttp(r, s?.http, d.http),
    shutdown: { graceMs: r.integer(r.object(s?.shutdown, 'site.shutdown', ['graceMs']), 'site.shutdown', 'graceMs', 0, 3_600_000) ?? d.shutdown.graceMs },
    reconcile: {
      intervalMs: r.integer(r.object(s?.reconcile, 'site.reconcile', ['intervalMs']), 'site.reconcile', 'intervalMs', 1000, 86_400_000) ?? d.reconcile.intervalMs,
    },
    eventLog: readEventLog(r, s?.eventLog, d.eventLog),
    orphans: readOrphans(r, s?.orphans, d.orphans!),
    logLevel: r.oneOf(s, 'site', 'logLevel', ['debug', 'info', 'warn', 'error'] as const) ?? d.logLevel,
  };
  const preference = r.oneOf(s, 'site', 'predictionPreference', PREFERENCES);
  if (preference) site.predictionPreference = preference;
  const projectLocation = r.location(s, 'site', 'projectLocation');
  if (projectLocation) site.projectLocation = projectLocation;
  const sqs = readSqs(r, s?.sqs);
  if (sqs) site.sqs = sqs;
  const databricks = readDatabricks(r, s?.databricks);
  if (databricks) site.databricks = databricks;
  return site;
}

const REDIS_PASSWORD_HINT =
  "credentials never live in the config file: put the Redis password in SYNC_REDIS_PASSWORD, $CREDENTIALS_DIRECTORY/redis-password (systemd LoadCredential=) or `redis_password` in ~/.sync/credentials, and an ACL user name in site.redis.username";
const REDIS_WHAT = "must be 'embedded', a redis:// or rediss:// URL, { url, username?, tls? }, { sentinel: { name, sentinels }, username?, tls? } or { embedded: true, dir? }";
const HOST = /^[A-Za-z0-9.:[\]_-]+$/;

function readRedis(r: Reader, value: unknown): SiteConfig['redis'] {
  if (value === undefined) return { url: DEFAULT_REDIS_URL };
  if (value === 'embedded') return { embedded: true };
  if (typeof value === 'string' && !value.includes('://')) {
    r.add('site.redis', `${REDIS_WHAT}, got '${value}'${didYouMean(value, ['embedded']) ? "; did you mean 'embedded'?" : ''}`);
    return { embedded: true };
  }
  if (typeof value === 'string') return readRedisServer(r, { url: value }, 'site.redis');
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && 'embedded' in value) {
    const o = r.object(value, 'site.redis', ['embedded', 'dir']);
    if (o?.embedded !== true) r.add('site.redis.embedded', `must be true (use { url } for an existing Redis), got ${JSON.stringify(o?.embedded)}`);
    const dir = r.string(o, 'site.redis', 'dir', { what: 'a folder for the embedded redis-server' });
    if (dir === undefined) return { embedded: true };
    if (!isAbsolute(dir) && r.baseDir === undefined) {
      r.add('site.redis.dir', 'must be an absolute path in a document that is not a local file');
      return { embedded: true };
    }
    return { embedded: true, dir: resolve(r.baseDir ?? '/', dir) };
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && 'sentinel' in value) {
    return readRedisSentinel(r, r.object(value, 'site.redis', ['sentinel', 'username', 'tls', 'db']) ?? {});
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return readRedisServer(r, r.object(value, 'site.redis', ['url', 'username', 'tls']) ?? {}, 'site.redis.url');
  }
  r.add('site.redis', REDIS_WHAT);
  return { url: DEFAULT_REDIS_URL };
}

// `o.url` is the URL (reported as `at`); `username` and `tls` are read beside it (absent in the plain-string form).
function readRedisServer(r: Reader, o: Record<string, unknown>, at: string): RedisServerConfig {
  const raw = o.url;
  let parsed: URL | undefined;
  if (raw === undefined) r.add(at, 'is required (a redis:// or rediss:// URL)');
  else if (typeof raw !== 'string') r.add(at, 'must be a redis:// or rediss:// URL');
  else {
    try {
      parsed = new URL(raw);
    } catch {
      // The text may hold a password: name the problem, never echo the value.
      r.add(at, 'must be a redis:// or rediss:// URL (it does not parse as a URL)');
    }
  }
  if (parsed && parsed.password !== '') {
    r.add(at, `must not contain a password: ${REDIS_PASSWORD_HINT}`);
    parsed = undefined;
  } else if (parsed && parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    r.add(at, `must be a redis:// or rediss:// (TLS) URL, got a ${parsed.protocol}// URL`);
    parsed = undefined;
  } else if (parsed && (parsed.hostname === '' || !/^\/?\d*$/.test(parsed.pathname))) {
    r.add(at, 'must be redis[s]://host[:port][/db] (a database number is the only path allowed)');
    parsed = undefined;
  }
  const out: RedisServerConfig = { url: DEFAULT_REDIS_URL };
  let username = r.string(o, 'site.redis', 'username', { what: 'an ACL user name' });
  if (parsed) {
    if (parsed.username !== '') {
      const fromUrl = decodeURIComponent(parsed.username);
      if (username !== undefined && username !== fromUrl) r.add(at, `names the user '${fromUrl}' but site.redis.username is '${username}': give the user once`);
      username ??= fromUrl;
      parsed.username = '';
    }
    out.url = parsed.href.replace(/\/$/, '');
  }
  if (username !== undefined) out.username = username;
  if (o.tls !== undefined) {
    const tls = readRedisTls(r, o.tls, 'site.redis.tls');
    if (parsed && parsed.protocol !== 'rediss:') r.add('site.redis.tls', `applies only to a rediss:// URL: use rediss:// in ${at} to turn TLS on`);
    else if (tls) out.tls = tls;
  }
  return out;
}

function readRedisSentinel(r: Reader, o: Record<string, unknown>): RedisSentinelConfig {
  const s = r.object(o.sentinel, 'site.redis.sentinel', ['name', 'sentinels', 'tls', 'username']);
  const sentinel: RedisSentinelConfig['sentinel'] = {
    name: r.string(s, 'site.redis.sentinel', 'name', { required: true, what: 'the master group name the sentinels monitor' }) ?? '',
    sentinels: [],
  };
  const list = s?.sentinels;
  if (!Array.isArray(list) || list.length === 0) r.add('site.redis.sentinel.sentinels', 'is required: a non-empty array of { host, port }');
  else {
    list.forEach((item: unknown, i) => {
      const p = `site.redis.sentinel.sentinels[${i}]`;
      const e = item === null || typeof item !== 'object' || Array.isArray(item) ? r.add(p, 'must be an object { host, port }') : r.object(item, p, ['host', 'port']);
      const host = e && r.string(e, p, 'host', { required: true, pattern: HOST, what: 'a host name or IP address' });
      const port = e && (r.integer(e, p, 'port', 1, 65535) ?? 26379);
      if (host && port) sentinel.sentinels.push({ host, port });
    });
  }
  const sentinelUser = r.string(s, 'site.redis.sentinel', 'username', { what: 'an ACL user name on the sentinels' });
  if (sentinelUser !== undefined) sentinel.username = sentinelUser;
  if (s?.tls !== undefined) {
    const tls = readRedisTls(r, s.tls, 'site.redis.sentinel.tls');
    if (tls) sentinel.tls = tls;
  }
  const out: RedisSentinelConfig = { sentinel };
  const username = r.string(o, 'site.redis', 'username', { what: 'an ACL user name on the master' });
  if (username !== undefined) out.username = username;
  if (o.tls !== undefined) {
    const tls = readRedisTls(r, o.tls, 'site.redis.tls');
    if (tls) out.tls = tls;
  }
  const db = r.integer(o, 'site.redis', 'db', 0, 15);
  if (db !== undefined) out.db = db;
  return out;
}

// `true` or { ca?, servername?, rejectUnauthorized? }; a relative `ca` is resolved against the config file's folder.
function readRedisTls(r: Reader, value: unknown, path: string): RedisTlsConfig | undefined {
  if (value === true) return { rejectUnauthorized: true };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return r.add(path, 'must be true or an object { ca?, servername?, rejectUnauthorized? }');
  const o = r.object(value, path, ['ca', 'servername', 'rejectUnauthorized']);
  const tls: RedisTlsConfig = { rejectUnauthorized: r.boolean(o, path, 'rejectUnauthorized') ?? true };
  const servername = r.string(o, path, 'servername', { pattern: /^[A-Za-z0-9.*-]+$/, what: 'the host name in the server certificate' });
  if (servername !== undefined) tls.servername = servername;
  const ca = r.string(o, path, 'ca', { what: 'the path of a PEM CA bundle' });
  if (ca !== undefined) {
    if (!isAbsolute(ca) && r.baseDir === undefined) return r.add(`${path}.ca`, 'must be an absolute path in a document that is not a local file');
    const file = resolve(r.baseDir ?? '/', ca);
    try {
      accessSync(file, fsConstants.R_OK);
      tls.ca = file;
    } catch (e) {
      r.add(`${path}.ca`, `cannot read the CA file ${file} (${(e as { code?: string }).code ?? 'error'})`);
    }
  }
  return tls;
}

function readQueues(r: Reader, value: unknown, d: SiteConfig['queues']): SiteConfig['queues'] {
  const o = r.object(value, 'site.queues', ['prefix', 'concurrency', 'attempts', 'backoffMs', 'lockDurationMs']);
  return {
    prefix: r.string(o, 'site.queues', 'prefix', { pattern: /^[A-Za-z0-9_-]{1,64}$/, what: 'letters, digits, _ or - (at most 64)' }) ?? d.prefix,
    concurrency: r.integer(o, 'site.queues', 'concurrency', 1, 1000) ?? d.concurrency,
    attempts: r.integer(o, 'site.queues', 'attempts', 1, 100) ?? d.attempts,
    backoffMs: r.integer(o, 'site.queues', 'backoffMs', 0, 3_600_000) ?? d.backoffMs,
    lockDurationMs: r.integer(o, 'site.queues', 'lockDurationMs', 1_000, 3_600_000) ?? d.lockDurationMs,
  };
}

function readSqs(r: Reader, value: unknown): SiteConfig['sqs'] {
  const o = r.object(value, 'site.sqs', ['completionQueueUrl', 'waitTimeSeconds', 'visibilityTimeoutSeconds']);
  if (o === undefined) return undefined;
  return {
    completionQueueUrl: r.url(o, 'site.sqs', 'completionQueueUrl', ['http:', 'https:'], true) ?? '',
    waitTimeSeconds: r.integer(o, 'site.sqs', 'waitTimeSeconds', 0, 20) ?? 20,
    visibilityTimeoutSeconds: r.integer(o, 'site.sqs', 'visibilityTimeoutSeconds', 0, 43_200) ?? 60,
  };
}

function readAws(r: Reader, value: unknown, d: SiteConfig['aws']): SiteConfig['aws'] {
  const o = r.object(value, 'site.aws', ['region', 'endpoints', 's3ForcePathStyle']);
  const e = r.object(o?.endpoints, 'site.aws.endpoints', ['emr', 's3', 'sqs']);
  const endpoints: SiteConfig['aws']['endpoints'] = {};
  for (const k of ['emr', 's3', 'sqs'] as const) {
    const u = r.url(e, 'site.aws.endpoints', k);
    if (u !== undefined) endpoints[k] = u;
  }
  return {
    region: r.string(o, 'site.aws', 'region', { pattern: REGION, what: "an AWS region such as 'us-east-1'" }) ?? d.region,
    endpoints,
    s3ForcePathStyle: r.boolean(o, 'site.aws', 's3ForcePathStyle') ?? endpoints.s3 !== undefined,
  };
}

function readPredictions(r: Reader, value: unknown, d: SiteConfig['predictions']): SiteConfig['predictions'] {
  const o = r.object(value, 'site.predictions', ['backend', 'apiUrl', 'instances', 'emrPricing', 'coldStart', 'databricks']);
  const out: SiteConfig['predictions'] = {
    backend: r.oneOf(o, 'site.predictions', 'backend', ['local', 'sync-api'] as const) ?? d.backend,
    apiUrl: r.url(o, 'site.predictions', 'apiUrl') ?? d.apiUrl,
  };
  if (o?.instances !== undefined) {
    if (!Array.isArray(o.instances)) r.add('site.predictions.instances', 'must be an array of { instanceType, vcpu?, memoryGib?, ... }');
    else out.instances = o.instances.map((item: unknown, i) => readInstance(r, item, `site.predictions.instances[${i}]`));
  }
  if (o?.coldStart !== undefined) {
    if (!Array.isArray(o.coldStart)) r.add('site.predictions.coldStart', 'must be an array of { type, maxInputGiB, instanceType, nodes, executorCores, executorMemoryMb, shufflePartitions }');
    else out.coldStart = o.coldStart.map((item: unknown, i) => readColdStartRow(r, item, `site.predictions.coldStart[${i}]`));
  }
  const pricing = r.object(o?.emrPricing, 'site.predictions.emrPricing', null);
  if (pricing !== undefined) {
    out.emrPricing = {};
    for (const [type, price] of Object.entries(pricing)) {
      if (!INSTANCE_TYPE.test(type)) r.add(`site.predictions.emrPricing.${type}`, "must be keyed by an instance type such as 'm5.xlarge'");
      const p = r.number(pricing, 'site.predictions.emrPricing', type, 0);
      if (p !== undefined) out.emrPricing[type] = p;
    }
  }
  const databricks = readDatabricksPricing(r, o?.databricks);
  if (databricks) out.databricks = databricks;
  return out;
}

const DBU_COMPUTE_TYPES = ['jobs', 'jobs-photon', 'all-purpose', 'all-purpose-photon'] as const;
const NODE_TYPE_KEYS = ['nodeTypeId', 'vcpu', 'memoryGib', 'dbuPerHour', 'dbuPerHourPhoton', 'vmUsdPerHour'] as const;

/** `site.predictions.databricks`: { plan?, dbuPrices?: { plan: { computeType: $/DBU } }, nodeTypes?: [{ nodeTypeId, ... }] }. */
function readDatabricksPricing(r: Reader, value: unknown): DatabricksPricingOverrides | undefined {
  const path = 'site.predictions.databricks';
  const o = r.object(value, path, ['plan', 'dbuPrices', 'nodeTypes']);
  if (o === undefined) return undefined;
  const out: DatabricksPricingOverrides = {};
  const plan = r.string(o, path, 'plan', { pattern: /^[a-z][a-z0-9-]*$/, what: "a plan name such as 'premium'" });
  if (plan !== undefined) out.plan = plan;
  const prices = r.object(o.dbuPrices, `${path}.dbuPrices`, null);
  if (prices !== undefined) {
    out.dbuPrices = {};
    for (const [p, byType] of Object.entries(prices)) {
      if (!/^[a-z][a-z0-9-]*$/.test(p)) r.add(`${path}.dbuPrices.${p}`, "must be keyed by a plan name such as 'premium' or 'enterprise'");
      const types = r.object(byType, `${path}.dbuPrices.${p}`, DBU_COMPUTE_TYPES);
      if (types === undefined) continue;
      const row: Record<string, number> = {};
      for (const t of DBU_COMPUTE_TYPES) {
        const n = r.number(types, `${path}.dbuPrices.${p}`, t, 0);
        if (n !== undefined) row[t] = n;
      }
      out.dbuPrices[p] = row;
    }
  }
  if (o.nodeTypes !== undefined) {
    if (!Array.isArray(o.nodeTypes)) r.add(`${path}.nodeTypes`, 'must be an array of { nodeTypeId, vcpu?, memoryGib?, dbuPerHour?, dbuPerHourPhoton?, vmUsdPerHour? }');
    else {
      out.nodeTypes = o.nodeTypes.map((item: unknown, i) => {
        const at = `${path}.nodeTypes[${i}]`;
        const n = item === undefined ? r.add(at, 'must be an object { nodeTypeId, ... }') : r.object(item, at, NODE_TYPE_KEYS);
        const id = n && r.string(n, at, 'nodeTypeId', { pattern: /^[A-Za-z0-9][A-Za-z0-9_.-]*$/, what: "a Databricks node_type_id such as 'm5.xlarge' or 'Standard_E8ds_v4'", required: true });
        const row: NonNullable<DatabricksPricingOverrides['nodeTypes']>[number] = { nodeTypeId: id ?? '' };
        const vcpu = r.integer(n, at, 'vcpu', 1, 100_000);
        if (vcpu !== undefined) row.vcpu = vcpu;
        for (const k of ['memoryGib', 'dbuPerHour', 'dbuPerHourPhoton', 'vmUsdPerHour'] as const) {
          const v = r.number(n, at, k, 0);
          if (v !== undefined) row[k] = v;
        }
        return row;
      });
    }
  }
  return out;
}

const COLD_START_KEYS = ['type', 'maxInputGiB', 'instanceType', 'nodes', 'executorCores', 'executorMemoryMb', 'shufflePartitions'] as const;

/** One cold-start row; maxInputGiB omitted: any size above the type's other rows. */
function readColdStartRow(r: Reader, value: unknown, path: string): ColdStartRow {
  const o = value === undefined ? r.add(path, 'must be an object { type, maxInputGiB, instanceType, ... }') : r.object(value, path, COLD_START_KEYS);
  const type = r.oneOf(o, path, 'type', JOB_TYPES) ?? (o ? r.add(`${path}.type`, `is required: one of ${JOB_TYPES.join(', ')}`) : undefined);
  const maxInputGiB = r.number(o, path, 'maxInputGiB', 0);
  const instanceType = o && r.string(o, path, 'instanceType', { pattern: INSTANCE_TYPE, what: "an instance type such as 'm5.xlarge'", required: true });
  const need = (k: 'nodes' | 'executorCores' | 'executorMemoryMb' | 'shufflePartitions', max: number) => r.integer(o, path, k, 1, max) ?? (o ? r.add(`${path}.${k}`, 'is required') : undefined) ?? 1;
  return {
    type: type ?? 'sql',
    maxInputBytes: maxInputGiB === undefined ? Infinity : maxInputGiB * 1024 ** 3,
    instanceType: instanceType ?? '',
    nodes: need('nodes', 10_000),
    executorCores: need('executorCores', 1024),
    executorMemoryMb: need('executorMemoryMb', 4_194_304),
    shufflePartitions: need('shufflePartitions', 1_000_000),
  };
}

const INSTANCE_KEYS = ['instanceType', 'vcpu', 'memoryGib', 'onDemandUsdPerHour', 'emrUsdPerHour', 'spotUsdPerHour', 'coremark'] as const;

function readInstance(r: Reader, value: unknown, path: string): InstanceOverride {
  const o = value === undefined ? r.add(path, 'must be an object { instanceType, ... }') : r.object(value, path, INSTANCE_KEYS);
  const instanceType = o && r.string(o, path, 'instanceType', { pattern: INSTANCE_TYPE, what: "an instance type such as 'm5.xlarge'", required: true });
  const out: InstanceOverride = { instanceType: instanceType ?? '' };
  for (const k of INSTANCE_KEYS) {
    if (k === 'instanceType') continue;
    const n = k === 'vcpu' ? r.integer(o, path, k, 1, 100_000) : r.number(o, path, k, 0);
    if (n !== undefined) out[k] = n;
  }
  return out;
}

function readHttp(r: Reader, value: unknown, d: SiteConfig['http']): SiteConfig['http'] {
  const o = r.object(value, 'site.http', ['enabled', 'port', 'host', 'ui']);
  return {
    enabled: r.boolean(o, 'site.http', 'enabled') ?? d.enabled,
    ui: r.boolean(o, 'site.http', 'ui') ?? d.ui,
    port: r.integer(o, 'site.http', 'port', 1, 65535) ?? d.port,
    host: r.string(o, 'site.http', 'host', { pattern: /^[A-Za-z0-9.:[\]-]+$/, what: 'a host name or IP address' }) ?? d.host,
  };
}

function readOrphans(r: Reader, value: unknown, d: NonNullable<SiteConfig['orphans']>): NonNullable<SiteConfig['orphans']> {
  const o = r.object(value, 'site.orphans', ['graceMs', 'terminate', 'maxDescribesPerPass', 'lookbackMs']);
  return {
    graceMs: r.integer(o, 'site.orphans', 'graceMs', 0, 30 * 86_400_000) ?? d.graceMs,
    terminate: r.boolean(o, 'site.orphans', 'terminate') ?? d.terminate,
    maxDescribesPerPass: r.integer(o, 'site.orphans', 'maxDescribesPerPass', 1, 1000) ?? d.maxDescribesPerPass,
    lookbackMs: r.integer(o, 'site.orphans', 'lookbackMs', 60_000, 365 * 86_400_000) ?? d.lookbackMs,
  };
}

function readEventLog(r: Reader, value: unknown, d: SiteConfig['eventLog']): SiteConfig['eventLog'] {
  const o = r.object(value, 'site.eventLog', ['waitTimeoutMs', 'pollMs']);
  return {
    waitTimeoutMs: r.integer(o, 'site.eventLog', 'waitTimeoutMs', 0, 86_400_000) ?? d.waitTimeoutMs,
    pollMs: r.integer(o, 'site.eventLog', 'pollMs', 100, 3_600_000) ?? d.pollMs,
  };
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

function readDatabricks(r: Reader, value: unknown): SiteConfig['databricks'] {
  const o = r.object(value, 'site.databricks', ['host', 'cloud', 'pollIntervalMs', 'maxCallsPerPass', 'logDelivery']);
  if (o === undefined) return undefined;
  let host = r.url(o, 'site.databricks', 'host', ['https:', 'http:'], true);
  if (host !== undefined) {
    const u = new URL(host);
    if (u.protocol === 'http:' && !LOOPBACK.test(u.hostname)) {
      host = r.add('site.databricks.host', `must be an https:// workspace URL (plain http:// only for a loopback test server), got '${host}'`);
    } else if (u.pathname !== '/' || u.search !== '' || u.username !== '') {
      host = r.add('site.databricks.host', `must be the workspace URL alone (scheme, host and port), got '${host}'`);
    } else host = u.origin;
  }
  const cloud = r.oneOf(o, 'site.databricks', 'cloud', ['aws', 'azure'] as const) ?? (host !== undefined && /(^|\.)azuredatabricks\.net$/i.test(new URL(host).hostname) ? 'azure' : 'aws');
  const l = r.object(o.logDelivery, 'site.databricks.logDelivery', ['waitTimeoutMs', 'pollMs']);
  return {
    host: host ?? '',
    cloud,
    pollIntervalMs: r.integer(o, 'site.databricks', 'pollIntervalMs', 100, 3_600_000) ?? 30_000,
    maxCallsPerPass: r.integer(o, 'site.databricks', 'maxCallsPerPass', 1, 10_000) ?? 50,
    logDelivery: {
      waitTimeoutMs: r.integer(l, 'site.databricks.logDelivery', 'waitTimeoutMs', 0, 86_400_000) ?? 600_000,
      pollMs: r.integer(l, 'site.databricks.logDelivery', 'pollMs', 50, 3_600_000) ?? 15_000,
    },
  };
}

function readTenant(r: Reader, value: unknown, path: string): TenantConfig {
  const o = r.object(value, path, ['id', 'state', 'predictionPreference', 'projectLocation']);
  const tenant: TenantConfig = {
    id: r.string(o, path, 'id', { pattern: ID, what: ID_WHAT, required: true }) ?? 'unknown',
    state: r.location(o, path, 'state') ?? DEFAULT_STATE,
  };
  const preference = r.oneOf(o, path, 'predictionPreference', PREFERENCES);
  if (preference) tenant.predictionPreference = preference;
  const projectLocation = r.location(o, path, 'projectLocation');
  if (projectLocation) tenant.projectLocation = projectLocation;
  return tenant;
}

async function readTenantDocument(
  r: Reader,
  ref: string,
  fetchTenant: ((url: string) => Promise<string>) | undefined,
): Promise<{ value: unknown; source: string; baseDir: string | undefined } | undefined> {
  let text: string;
  let source: string;
  let baseDir: string | undefined;
  if (ref.startsWith('s3://')) {
    source = ref;
    if (!fetchTenant) return r.add('tenant', `is the S3 document ${ref}, but this caller cannot read S3 (no fetchTenant was given to loadConfig)`);
    try {
      text = await fetchTenant(ref);
    } catch (e) {
      return r.add('tenant', `could not read the tenant document ${ref}: ${(e as Error).message ?? String(e)}`);
    }
  } else {
    let path: string;
    try {
      path = ref.startsWith('file://') ? fileURLToPath(ref) : resolve(r.baseDir ?? '/', ref.startsWith('file:') ? ref.slice(5) : ref);
    } catch {
      return r.add('tenant', `must be an object, a path, or an s3:// URL of a JSON document, got '${ref}'`);
    }
    source = path;
    baseDir = dirname(path);
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      const code = (e as { code?: string }).code;
      return r.add('tenant', code === 'ENOENT' ? `the tenant document ${path} does not exist` : `could not read the tenant document ${path}: ${(e as Error).message}`);
    }
  }
  try {
    return { value: JSON.parse(text) as unknown, source, baseDir };
  } catch (e) {
    return r.add('tenant', `the tenant document ${source} is not valid JSON: ${(e as Error).message}`);
  }
}
