import type { ColdStartRow } from '../domain/cold-start.js';
import type { Preference } from '../domain/types.js';

/** The fully defaulted, validated configuration. Only src/config builds it; everything else reads it. */
export type Config = {
  site: SiteConfig;
  tenant: TenantConfig;
  /** Files the configuration was read from, in the order applied (site file, then tenant document). */
  sources: string[];
};

export type SiteConfig = {
  id: string;
  predictionPreference?: Preference;
  projectLocation?: string;
  /** An existing Redis (`{ url }`, TLS when rediss://), one found through Sentinel, or `{ embedded: true }` (a private redis-server). */
  redis: RedisConfig;
  queues: {
    prefix: string; // default 'sync'
    concurrency: number; // default 4
    attempts: number; // default 5 (retryable failures)
    backoffMs: number; // default 2000 (exponential, with jitter)
    /** A request whose agent died is taken over by another (or the restarted) agent after this long; default 30000. */
    lockDurationMs: number;
  };
  sqs?: {
    completionQueueUrl: string;
    waitTimeSeconds: number; // default 20
    visibilityTimeoutSeconds: number; // default 60
  };
  aws: {
    region: string; // default 'us-east-1' (or AWS_REGION)
    endpoints: { emr?: string; s3?: string; sqs?: string };
    /** Path-style S3 URLs, needed by local S3 servers; default true when endpoints.s3 is set. */
    s3ForcePathStyle: boolean;
  };
  predictions: {
    backend: 'local' | 'sync-api';
    apiUrl: string; // default 'https://api.synccomputing.com'
    /** Extra or overriding instance catalog rows (see data/instances.json). */
    instances?: InstanceOverride[];
    /** EMR surcharge per instance type, USD/hour, overriding the shipped table. */
    emrPricing?: Record<string, number>;
    /** Cold-start rows (src/domain/cold-start.ts): the rows given for a job type replace the shipped rows of that type. */
    coldStart?: ColdStartRow[];
    /** Overrides of the shipped Databricks catalog (data/databricks-catalog.json) for the workspace's cloud. */
    databricks?: DatabricksPricingOverrides;
  };
  /** A Databricks workspace, for projects with platform 'databricks' (credentials come from Credentials). */
  databricks?: DatabricksSiteConfig;
  http: { enabled: boolean; port: number; host: string; /** The dashboard under /ui/ (default true). */ ui: boolean };
  shutdown: { graceMs: number }; // default 30000
  reconcile: { intervalMs: number }; // default 300000
  /** Orphan clusters (tagged for this tenant, no live run): reported, and terminated when `terminate`; checked each reconciler pass. loadConfig always sets it. */
  orphans?: OrphanSettings;
  /** How long run.record waits for a late event log on platforms that deliver logs after the cluster ends (Databricks; EMR never waits), polling every pollMs. */
  eventLog: { waitTimeoutMs: number; pollMs: number }; // defaults 900000 / 15000
  logLevel: 'debug' | 'info' | 'warn' | 'error';
};

/** `site.databricks`: the workspace, how often running runs are polled, how long run.record waits for log delivery. */
export type DatabricksSiteConfig = {
  /** The workspace URL (https://dbc-....cloud.databricks.com, https://adb-....azuredatabricks.net; http:// only on loopback). */
  host: string;
  /** From the host (azuredatabricks.net is Azure) unless set. */
  cloud: 'aws' | 'azure';
  /** How often the poller asks runs/get about running Databricks runs; default 30000. */
  pollIntervalMs: number;
  /** At most this many runs/get calls per poll pass, shared between agents on one Redis; default 50. */
  maxCallsPerPass: number;
  logDelivery: {
    /** How long run.record waits for cluster log delivery after the run ends; default 600000 (10 min). */
    waitTimeoutMs: number;
    /** How often it looks; default 15000. */
    pollMs: number;
  };
};

/** `site.orphans`: see src/queues/orphans.ts. */
export type OrphanSettings = {
  /** A cluster is an orphan once it has been without a live run this long; default 3600000 (1 h). */
  graceMs: number;
  /** Terminate orphans; default false (report only). */
  terminate: boolean;
  /** DescribeCluster calls per pass at most (for clusters not seen before); default 20. */
  maxDescribesPerPass: number;
  /** Only clusters created this recently are listed; default 1209600000 (14 days). */
  lookbackMs: number;
};

/** site.redis: where the agent's queues live. Passwords never appear here (see Credentials). */
export type RedisConfig = RedisServerConfig | RedisSentinelConfig | { embedded: true; dir?: string };

/** One Redis server: `redis://` or `rediss://` (TLS) host:port[/db], with an optional ACL user. */
export type RedisServerConfig = {
  /** Without user info: the user is `username`, the password comes from credentials. */
  url: string;
  username?: string;
  /** TLS settings; only with a rediss:// URL (which alone turns TLS on, verified against the system CAs). */
  tls?: RedisTlsConfig;
};

/** A Redis master found through Sentinel by its master-group `name`. */
export type RedisSentinelConfig = {
  sentinel: {
    name: string;
    sentinels: { host: string; port: number }[];
    /** TLS to the sentinels themselves. */
    tls?: RedisTlsConfig;
    /** ACL user on the sentinels (password: SYNC_REDIS_SENTINEL_PASSWORD / redis-sentinel-password). */
    username?: string;
  };
  /** ACL user on the master (password: SYNC_REDIS_PASSWORD / redis-password). */
  username?: string;
  /** TLS to the master the sentinels name. */
  tls?: RedisTlsConfig;
  db?: number;
};

/** TLS settings of a Redis connection. */
export type RedisTlsConfig = {
  /** Absolute path of a PEM CA bundle trusted instead of the system CAs. */
  ca?: string;
  /** Name checked against the server certificate (and sent as SNI) when it differs from the host connected to. */
  servername?: string;
  /** Default true; false accepts any certificate (logged as a warning at every start). */
  rejectUnauthorized: boolean;
};

export type InstanceOverride = {
  instanceType: string;
  vcpu?: number;
  memoryGib?: number;
  onDemandUsdPerHour?: number;
  emrUsdPerHour?: number;
  spotUsdPerHour?: number;
  coremark?: number;
};

export type TenantConfig = {
  id: string;
  /** `file:///path` or `s3://bucket/prefix`: where project state lives. */
  state: string;
  predictionPreference?: Preference;
  projectLocation?: string;
};

/** Secrets, kept apart from Config so that nothing that logs or serialises Config can leak them. */
export type Credentials = {
  apiKeyId?: string;
  apiKeySecret?: string;
  /** Bearer token for the HTTP ingress. */
  httpToken?: string;
  /** Password for site.redis (a Redis URL in the config file may not carry one). */
  redisPassword?: string;
  /** A Databricks personal access token (DATABRICKS_TOKEN). */
  databricksToken?: string;
  /** Databricks OAuth machine-to-machine credentials (DATABRICKS_CLIENT_ID + DATABRICKS_CLIENT_SECRET). */
  databricksClientId?: string;
  databricksClientSecret?: string;
  /** Password for the Sentinels of site.redis.sentinel. */
  redisSentinelPassword?: string;
  /** Where each came from (names of sources, never values), for diagnostics. */
  sources: string[];
};

/**
 * `site.predictions.databricks`: $/DBU by plan then compute type (`jobs`, `jobs-photon`, `all-purpose`,
 * `all-purpose-photon`), node types (replacing shipped rows field by field, or new ones with vcpu, memoryGib
 * and dbuPerHour), and the plan the workspace is on (default: the catalog's, premium).
 */
export type DatabricksPricingOverrides = {
  plan?: string;
  dbuPrices?: Record<string, Record<string, number>>;
  nodeTypes?: { nodeTypeId: string; vcpu?: number; memoryGib?: number; dbuPerHour?: number; dbuPerHourPhoton?: number; vmUsdPerHour?: number }[];
};
