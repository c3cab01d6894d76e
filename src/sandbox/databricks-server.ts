// sync-agent's own Databricks: the REST protocol of a workspace (Jobs 2.1 runs/submit, get, cancel, list;
// Clusters get/events; Files and DBFS; the OAuth token endpoint) on plain node:http, with Databricks' error
// envelope and statuses. A submitted run replays a workload through the sandbox's ground truth on a
// simulated clock, and cluster log delivery writes a genuine rolled Spark event log to the run's
// cluster_log_conf destination: a partial `eventlog` while it runs, the final one a delivery interval
// after it ends.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { checkDatabricksJob, jobClusterOf } from '../domain/databricks-job.js';
import { SyncError } from '../domain/errors.js';
import type { ObjectStore } from '../domain/ports.js';
import { writeEventLog, writeEventLogHead } from './eventlog-writer.js';
import { assembleRun, planExecutors, provisioningSeconds, runApplication, teardownSeconds } from './ground-truth.js';
import type { SandboxCluster, SimulatedRun } from './ground-truth.js';
import { readInstanceFacts } from './instance-facts.js';
import type { InstanceFacts, InstanceFactsTable } from './instance-facts.js';
import { parseMemoryMb } from './sandbox-platform.js';
import { createSimClock } from './sim-clock.js';
import type { SimClock } from './sim-clock.js';
import type { Workload } from './workload.js';

/** A fault for the next matching requests: answer `status` with `errorCode` (and Retry-After for 429). */
export type DatabricksFault = {
  /** Only requests whose path starts with this (e.g. '/api/2.1/jobs/runs/submit'); every request when absent. */
  path?: string;
  status: number;
  errorCode?: string;
  message?: string;
  times: number;
  retryAfterSeconds?: number;
  /** Carry out the request first, then answer the error (a submit whose answer was lost). */
  afterHandling?: boolean;
};

export type DatabricksServerOptions = {
  port?: number;
  /** Personal access tokens accepted as `Authorization: Bearer`. */
  tokens?: string[];
  /** OAuth M2M service principals accepted by /oidc/v1/token. */
  oauthClients?: { clientId: string; clientSecret: string }[];
  /** Lifetime of an issued OAuth token, seconds (default 3600). */
  oauthTokenSeconds?: number;
  /** Workloads by name: a run replays the one named by custom tag `sync:sandbox-workload`, else the first. */
  workloads: Record<string, Workload>;
  /** Simulated seconds per real second. */
  timeScale: number;
  seed?: number;
  startAt?: number;
  /** Where s3:// log destinations are written (dbfs:/ and /Volumes live in this server's own file system). */
  objects?: ObjectStore;
  /** Simulated ms from a run's end to the log delivery that carries its final event log (default 300000). */
  logDeliveryDelayMs?: number;
  /** Items per page of clusters/events and fs/directories (default 50). */
  pageSize?: number;
  /** Called inside runs/submit once a new run exists, before the answer is written (crash tests). */
  onSubmit?: (runId: number) => void;
  /** Hardware facts by node type (default: EC2 from data/instances.json plus Azure from data/databricks-catalog.json). */
  instances?: InstanceFactsTable;
};

/** One run as the ground truth had it (simulated epoch ms). */
export type DatabricksRunSummary = {
  runId: number;
  clusterId: string;
  idempotencyToken?: string;
  runName: string;
  nodeType: string;
  workers: number;
  customTags: Record<string, string>;
  lifeCycleState: string;
  resultState?: string;
  submittedAt: number;
  endedAt?: number;
  applicationSeconds?: number;
  logDestination?: string;
  eventLogDir?: string;
  /** The exact runs/submit body received. */
  body: Record<string, unknown>;
};

export type DatabricksServer = {
  /** `http://127.0.0.1:<port>`: the workspace host. */
  url: string;
  clock: SimClock;
  runs(): DatabricksRunSummary[];
  /** Applies a fault to the next matching requests. */
  inject(fault: DatabricksFault): void;
  /** Every request seen (method, path, status), oldest first; bodies and headers are not kept. */
  requests(): { method: string; path: string; status: number }[];
  /** The raw Authorization headers seen (to check which credential was used). */
  authorizations(): string[];
  /** Files in the server's DBFS / Volumes, by absolute path (`/cluster-logs/...`, `/Volumes/...`). */
  files(): Map<string, { bytes: Buffer; modifiedAt: number }>;
  /** Simulated runs by Databricks run id (every task), for comparing with predictions. */
  simulatedRun(runId: number): SimulatedRun | undefined;
  close(): Promise<void>;
};

type Life = 'PENDING' | 'RUNNING' | 'TERMINATING' | 'TERMINATED' | 'SKIPPED' | 'INTERNAL_ERROR';

type RunRecord = {
  runId: number;
  clusterId: string;
  sparkContextId: string;
  driverIp: string;
  token?: string;
  body: Record<string, unknown>;
  cluster: Record<string, unknown>;
  life: Life;
  result?: 'SUCCESS' | 'FAILED' | 'CANCELED' | 'TIMEDOUT';
  message: string;
  submittedAt: number;
  runningAt?: number;
  terminatingAt?: number;
  endedAt?: number;
  events: { timestamp: number; type: string; details: Record<string, unknown> }[];
  sim?: SimulatedRun;
  abort: AbortController;
  workers: number;
  nodeType: string;
  error?: string;
};

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** EC2 facts plus Azure node types (vCPU, memory; the ground truth's speed table treats unknown families as Skylake-class). */
export function databricksInstanceFacts(): InstanceFactsTable {
  const out: Record<string, InstanceFacts> = { ...readInstanceFacts() };
  const catalog = JSON.parse(readFileSync(new URL('../../data/databricks-catalog.json', import.meta.url), 'utf8')) as {
    azure: { nodeTypes: { nodeTypeId: string; vcpu: number; memoryGib: number }[] };
  };
  for (const n of catalog.azure.nodeTypes) {
    out[n.nodeTypeId] ??= { instanceType: n.nodeTypeId, vcpu: n.vcpu, memoryGib: n.memoryGib };
  }
  return out;
}

/** The absolute file-system path of a dbfs:/ or /Volumes/ location, or undefined for other schemes. */
export function dbfsPathOf(location: string): string | undefined {
  if (location.startsWith('dbfs:/')) return `/${location.slice('dbfs:/'.length).replace(/^\/+/, '')}`;
  if (location.startsWith('/Volumes/')) return location;
  return undefined;
}

/** The hour of a timestamp as Databricks names rolled event-log parts: `YYYY-MM-DD--HH-00`. */
export function rolledPartName(at: number): string {
  const iso = new Date(at).toISOString();
  return `${iso.slice(0, 10)}--${iso.slice(11, 13)}-00`;
}

/**
 * The files one delivery writes for an event log: lines spread over the application's time, one gzip
 * part per whole hour before the last (`eventlog-YYYY-MM-DD--HH-00.gz`), the last hour as `eventlog`.
 */
export function rolledEventLog(text: string, startedAt: number, endedAt: number): { name: string; bytes: Buffer }[] {
  const lines = text.split('\n').filter((l) => l !== '');
  const span = Math.max(1, endedAt - startedAt);
  const buckets = new Map<string, string[]>();
  lines.forEach((line, i) => {
    const at = startedAt + Math.floor((span * i) / Math.max(1, lines.length));
    const key = rolledPartName(at);
    const list = buckets.get(key) ?? [];
    list.push(line);
    buckets.set(key, list);
  });
  const keys = [...buckets.keys()];
  return keys.map((k, i) => {
    const body = Buffer.from(`${buckets.get(k)!.join('\n')}\n`);
    return i === keys.length - 1 ? { name: 'eventlog', bytes: body } : { name: `eventlog-${k}.gz`, bytes: gzipSync(body) };
  });
}

function sandboxClusterOf(spec: Record<string, unknown>): SandboxCluster {
  const conf: Record<string, string> = {};
  if (isObject(spec.spark_conf)) for (const [k, v] of Object.entries(spec.spark_conf)) if (typeof v === 'string') conf[k] = v;
  const auto = isObject(spec.autoscale) ? spec.autoscale : undefined;
  const workers = typeof spec.num_workers === 'number' ? spec.num_workers : typeof auto?.max_workers === 'number' ? auto.max_workers : 0;
  const nodeType = String(spec.node_type_id ?? '');
  const out: SandboxCluster = { instanceType: nodeType, nodes: Math.max(1, workers), bootstrapActions: Array.isArray(spec.init_scripts) ? spec.init_scripts.length : 0 };
  if (typeof spec.driver_node_type_id === 'string') out.masterType = spec.driver_node_type_id;
  const cores = Number(conf['spark.executor.cores']);
  if (Number.isInteger(cores) && cores > 0) out.executorCores = cores;
  const mem = conf['spark.executor.memory'] !== undefined ? parseMemoryMb(conf['spark.executor.memory']) : undefined;
  if (mem !== undefined && mem > 0) out.executorMemoryMb = mem;
  const inst = Number(conf['spark.executor.instances']);
  if (Number.isInteger(inst) && inst > 0) out.executorInstances = inst;
  // Databricks runs a fixed set of executors unless dynamic allocation is asked for.
  out.dynamicAllocation = (conf['spark.dynamicAllocation.enabled'] ?? 'false').trim().toLowerCase() === 'true';
  return out;
}

async function readBody(req: IncomingMessage, limit = 64 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `request body over ${limit} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Starts a Databricks workspace on loopback. */
export async function createDatabricksServer(opts: DatabricksServerOptions): Promise<DatabricksServer> {
  const clock = createSimClock(opts.startAt === undefined ? { timeScale: opts.timeScale } : { timeScale: opts.timeScale, start: opts.startAt });
  const instances = opts.instances ?? databricksInstanceFacts();
  const names = Object.keys(opts.workloads);
  if (names.length === 0) throw new SyncError('invalid_config', 'createDatabricksServer: workloads must name at least one workload');
  const pageSize = opts.pageSize ?? 50;
  const deliveryDelay = opts.logDeliveryDelayMs ?? 300_000;
  const tokens = new Set(opts.tokens ?? []);
  const issued = new Map<string, number>();
  const runs = new Map<number, RunRecord>();
  const byToken = new Map<string, number>();
  const files = new Map<string, { bytes: Buffer; modifiedAt: number }>();
  const faults: DatabricksFault[] = [];
  const seen: { method: string; path: string; status: number }[] = [];
  const auths: string[] = [];
  let nextRunId = 1000 + Math.floor((opts.seed ?? 1) % 1000) * 1000;
  let ordinal = 0;
  const handles = new Map<number, { path: string; chunks: Buffer[] }>();
  let nextHandle = 1;
  const baseSeed = opts.seed ?? 1;

  const writeFile = async (location: string, bytes: Buffer) => {
    const path = dbfsPathOf(location);
    if (path !== undefined) {
      files.set(path, { bytes, modifiedAt: clock.now() });
      return;
    }
    if (location.startsWith('s3://') && opts.objects) {
      await opts.objects.put(location, bytes, { contentType: 'application/octet-stream' });
      return;
    }
    throw new Error(`the sandbox cannot deliver logs to ${location}`);
  };

  const event = (r: RunRecord, type: string, details: Record<string, unknown> = {}) => r.events.push({ timestamp: clock.now(), type, details });

  const logDestination = (cluster: Record<string, unknown>): string | undefined => {
    const conf = cluster.cluster_log_conf;
    if (!isObject(conf)) return undefined;
    for (const k of ['s3', 'dbfs', 'volumes'] as const) {
      const d = conf[k];
      if (isObject(d) && typeof d.destination === 'string') return d.destination.replace(/\/+$/, '');
    }
    return undefined;
  };
  const eventLogDirOf = (r: RunRecord): string | undefined => {
    const dest = logDestination(r.cluster);
    return dest === undefined ? undefined : `${dest}/${r.clusterId}/eventlog/${r.clusterId}_${r.driverIp.replace(/\./g, '_')}/${r.sparkContextId}/`;
  };

  const deliver = async (r: RunRecord, text: string, from: number, to: number) => {
    const dir = eventLogDirOf(r);
    if (dir === undefined) return;
    for (const f of rolledEventLog(text, from, to)) await writeFile(dir + f.name, f.bytes);
  };

  const start = (r: RunRecord) => {
    const signal = r.abort.signal;
    const seed = (baseSeed * 1_000_003 + ordinal++) >>> 0;
    const cluster = sandboxClusterOf(r.cluster);
    const tags = isObject(r.cluster.custom_tags) ? r.cluster.custom_tags : {};
    const wanted = typeof tags['sync:sandbox-workload'] === 'string' ? tags['sync:sandbox-workload'] : names[0]!;
    const workload = opts.workloads[wanted] ?? opts.workloads[names[0]!]!;
    const prov = provisioningSeconds(cluster, seed);
    const tail = teardownSeconds(cluster, seed);
    const fail = (message: string) => {
      r.life = 'INTERNAL_ERROR';
      r.result = 'FAILED';
      r.message = message;
      r.endedAt = clock.now();
      event(r, 'TERMINATING', { reason: { code: 'INVALID_ARGUMENT', type: 'CLIENT_ERROR', parameters: { databricks_error_message: message } } });
    };
    event(r, 'CREATING', { cluster_size: { num_workers: r.workers } });
    const running = r.submittedAt + Math.round((prov.starting + prov.bootstrapping) * 1000);
    void clock
      .at(
        running,
        () => {
          let layout;
          try {
            layout = planExecutors(cluster, instances);
          } catch (e) {
            fail(e instanceof Error ? e.message : String(e));
            return;
          }
          r.life = 'RUNNING';
          r.runningAt = clock.now();
          r.message = 'In run';
          event(r, 'RUNNING', { current_num_workers: r.workers, target_num_workers: r.workers });
          event(r, 'DRIVER_HEALTHY', {});
          const app = runApplication(workload, layout, { seed, submittedAt: r.runningAt });
          const stepEnd = app.appEndedAt + Math.round(tail.stepEnd * 1000);
          const endedAt = stepEnd + Math.round(tail.terminating * 1000);
          const sim = assembleRun(workload, cluster, layout, seed, app, {
            createdAt: r.submittedAt,
            bootstrappingAt: r.submittedAt + Math.round(prov.starting * 1000),
            readyAt: r.runningAt,
            stepStartedAt: r.runningAt,
            stepEndedAt: stepEnd,
            terminatingAt: stepEnd,
            endedAt,
          });
          r.sim = sim;
          const meta = { appId: `app-${new Date(r.runningAt).toISOString().replace(/\D/g, '').slice(0, 14)}-${String(r.runId % 10000).padStart(4, '0')}`, appName: 'Databricks Shell', driverHost: r.driverIp, sparkVersion: String(r.cluster.spark_version ?? '3.5.0') };
          // A delivery while it runs: the head of the log, as an unfinished `eventlog`.
          void clock
            .at(app.appStartedAt + 60_000, () => deliver(r, writeEventLogHead(sim, workload, meta), app.appStartedAt, app.appStartedAt + 60_000), signal)
            .catch(() => {});
          void clock
            .at(
              stepEnd,
              () => {
                r.life = 'TERMINATING';
                r.terminatingAt = clock.now();
                r.message = 'Terminating the cluster';
                event(r, 'TERMINATING', { reason: { code: 'JOB_FINISHED', type: 'SUCCESS' } });
              },
              signal,
            )
            .catch(() => {});
          void clock
            .at(
              endedAt,
              () => {
                r.life = 'TERMINATED';
                r.result = 'SUCCESS';
                r.endedAt = clock.now();
                r.message = '';
                event(r, 'TERMINATED', { reason: { code: 'JOB_FINISHED', type: 'SUCCESS' } });
              },
              signal,
            )
            .catch(() => {});
          // The final delivery, a delivery interval after the cluster is gone (not cancelled with the run).
          void clock.at(endedAt + deliveryDelay, () => deliver(r, writeEventLog(sim, workload, meta), app.appStartedAt, app.appEndedAt)).catch(() => {});
        },
        signal,
      )
      .catch(() => {});
  };

  const runJson = (r: RunRecord): Record<string, unknown> => {
    const state: Record<string, unknown> = { life_cycle_state: r.life, state_message: r.message, user_cancelled_or_timedout: r.result === 'CANCELED' };
    if (r.result) state.result_state = r.result;
    const end = r.endedAt ?? 0;
    const clusterInstance = r.runningAt === undefined ? { cluster_id: r.clusterId } : { cluster_id: r.clusterId, spark_context_id: r.sparkContextId };
    const tasks = (r.body.tasks as Record<string, unknown>[]).map((t, i) => ({
      ...t,
      run_id: r.runId + i + 1,
      state,
      cluster_instance: clusterInstance,
      start_time: r.submittedAt,
      end_time: end,
      attempt_number: 0,
    }));
    return {
      job_id: r.runId - 1,
      run_id: r.runId,
      number_in_job: r.runId,
      run_name: r.body.run_name ?? 'Untitled',
      run_type: 'SUBMIT_RUN',
      creator_user_name: 'sandbox@example.com',
      state,
      start_time: r.submittedAt,
      end_time: end,
      setup_duration: r.runningAt === undefined ? 0 : r.runningAt - r.submittedAt,
      execution_duration: r.runningAt === undefined ? 0 : (r.terminatingAt ?? r.endedAt ?? clock.now()) - r.runningAt,
      cleanup_duration: r.terminatingAt === undefined || r.endedAt === undefined ? 0 : r.endedAt - r.terminatingAt,
      run_duration: (r.endedAt ?? clock.now()) - r.submittedAt,
      cluster_instance: clusterInstance,
      job_clusters: r.body.job_clusters,
      tasks,
      run_page_url: `${url}/#job/${r.runId - 1}/run/${r.runId}`,
    };
  };

  const clusterState = (r: RunRecord): string => (r.life === 'PENDING' ? 'PENDING' : r.life === 'RUNNING' ? 'RUNNING' : r.life === 'TERMINATING' ? 'TERMINATING' : 'TERMINATED');
  const clusterJson = (r: RunRecord): Record<string, unknown> => {
    const userTags = isObject(r.cluster.custom_tags) ? r.cluster.custom_tags : {};
    const out: Record<string, unknown> = {
      ...r.cluster,
      cluster_id: r.clusterId,
      cluster_name: `job-${r.runId - 1}-run-${r.runId}`,
      creator_user_name: 'sandbox@example.com',
      cluster_source: 'JOB',
      state: clusterState(r),
      state_message: r.message,
      start_time: r.submittedAt,
      spark_context_id: Number(r.sparkContextId),
      default_tags: { Vendor: 'Databricks', Creator: 'sandbox@example.com', ClusterName: `job-${r.runId - 1}-run-${r.runId}`, ClusterId: r.clusterId, JobId: String(r.runId - 1), RunName: String(r.body.run_name ?? '') },
      custom_tags: userTags,
      driver: { private_ip: r.driverIp, node_id: `driver-${r.clusterId}`, instance_id: `i-${r.clusterId.replace(/\W/g, '').slice(-12)}`, start_timestamp: r.runningAt ?? r.submittedAt, host_private_ip: r.driverIp },
      executors: r.runningAt === undefined ? [] : Array.from({ length: r.workers }, (_, i) => ({ private_ip: `10.1.${Math.floor(i / 250)}.${(i % 250) + 2}`, node_id: `worker-${i}`, start_timestamp: r.runningAt })),
    };
    if (r.endedAt !== undefined) {
      out.terminated_time = r.endedAt;
      out.termination_reason = r.life === 'INTERNAL_ERROR' ? { code: 'INVALID_ARGUMENT', type: 'CLIENT_ERROR' } : r.result === 'CANCELED' ? { code: 'USER_REQUEST', type: 'SUCCESS' } : { code: 'JOB_FINISHED', type: 'SUCCESS' };
    }
    return out;
  };

  const runOf = (raw: unknown): RunRecord => {
    const id = Number(raw);
    const r = Number.isInteger(id) ? runs.get(id) : undefined;
    if (!r) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Run ${String(raw)} does not exist.`);
    return r;
  };
  const runOfCluster = (id: unknown): RunRecord => {
    const r = [...runs.values()].find((x) => x.clusterId === id);
    if (!r) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `Cluster ${String(id)} does not exist`);
    return r;
  };

  const submit = (body: Record<string, unknown>): Record<string, unknown> => {
    const token = typeof body.idempotency_token === 'string' ? body.idempotency_token : undefined;
    if (token !== undefined && token.length > 64) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', 'idempotency_token must be at most 64 characters');
    if (token !== undefined && byToken.has(token)) return { run_id: byToken.get(token) };
    let spec: Record<string, unknown>;
    try {
      checkDatabricksJob(body, 'tasks');
      spec = jobClusterOf(body);
    } catch (e) {
      throw new ApiError(400, 'INVALID_PARAMETER_VALUE', e instanceof Error ? e.message : String(e));
    }
    const nodeType = spec.node_type_id;
    if (typeof nodeType !== 'string' || !instances[nodeType]) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `Node type ${String(nodeType)} is not supported`);
    if (typeof spec.spark_version !== 'string') throw new ApiError(400, 'INVALID_PARAMETER_VALUE', 'Missing required field: spark_version');
    const runId = nextRunId;
    nextRunId += 10 + (body.tasks as unknown[]).length;
    const now = clock.now();
    const d = new Date(now).toISOString();
    const r: RunRecord = {
      runId,
      clusterId: `${d.slice(5, 7)}${d.slice(8, 10)}-${d.slice(11, 13)}${d.slice(14, 16)}${d.slice(17, 19)}-${randomBytes(4).toString('hex')}`,
      sparkContextId: String(BigInt(`0x${randomBytes(7).toString('hex')}`)),
      driverIp: `10.0.${Math.floor(runId / 250) % 250}.${(runId % 250) + 2}`,
      body: structuredClone(body),
      cluster: structuredClone(spec),
      life: 'PENDING',
      message: 'Waiting for cluster',
      submittedAt: now,
      events: [],
      abort: new AbortController(),
      workers: typeof spec.num_workers === 'number' ? spec.num_workers : isObject(spec.autoscale) && typeof spec.autoscale.max_workers === 'number' ? spec.autoscale.max_workers : 0,
      nodeType,
    };
    if (token !== undefined) {
      r.token = token;
      byToken.set(token, runId);
    }
    runs.set(runId, r);
    start(r);
    opts.onSubmit?.(runId);
    return { run_id: runId };
  };

  const cancel = (r: RunRecord) => {
    if (r.endedAt !== undefined) return;
    r.abort.abort();
    r.life = 'TERMINATING';
    r.terminatingAt = clock.now();
    r.result = 'CANCELED';
    r.message = 'Run cancelled';
    event(r, 'TERMINATING', { reason: { code: 'USER_REQUEST', type: 'SUCCESS' } });
    void clock
      .at(clock.now() + 30_000, () => {
        r.life = 'TERMINATED';
        r.endedAt = clock.now();
        event(r, 'TERMINATED', { reason: { code: 'USER_REQUEST', type: 'SUCCESS' } });
      })
      .catch(() => {});
  };

  const listDir = (path: string) => {
    const prefix = path.endsWith('/') ? path : `${path}/`;
    const children = new Map<string, { path: string; isDir: boolean; size: number; modifiedAt: number }>();
    for (const [p, f] of files) {
      if (!p.startsWith(prefix)) continue;
      const rest = p.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash < 0) children.set(p, { path: p, isDir: false, size: f.bytes.length, modifiedAt: f.modifiedAt });
      else {
        const dir = prefix + rest.slice(0, slash);
        const prev = children.get(dir);
        children.set(dir, { path: dir, isDir: true, size: 0, modifiedAt: Math.max(prev?.modifiedAt ?? 0, f.modifiedAt) });
      }
    }
    if (children.size === 0 && !files.has(path)) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `No file or directory exists on path ${path}.`);
    return [...children.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
  };
  const fileOf = (path: string) => {
    const f = files.get(path);
    if (!f) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `No file or directory exists on path ${path}.`);
    return f;
  };

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  const authorized = (req: IncomingMessage): boolean => {
    const h = req.headers.authorization ?? '';
    auths.push(h);
    const m = /^Bearer (.+)$/.exec(h);
    if (!m) return false;
    if (tokens.has(m[1]!)) return true;
    const exp = issued.get(m[1]!);
    return exp !== undefined && exp > Date.now();
  };

  const oauthToken = async (req: IncomingMessage, res: ServerResponse) => {
    const body = (await readBody(req)).toString('utf8');
    const params = new URLSearchParams(body);
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    const [id, secret] = basic ? Buffer.from(basic[1]!, 'base64').toString('utf8').split(':').map((s) => decodeURIComponent(s)) : [params.get('client_id'), params.get('client_secret')];
    const ok = (opts.oauthClients ?? []).some((c) => c.clientId === id && c.clientSecret === secret);
    if (params.get('grant_type') !== 'client_credentials') return json(res, 400, { error: 'unsupported_grant_type', error_description: 'grant_type must be client_credentials' });
    if (!ok) return json(res, 401, { error: 'invalid_client', error_description: 'Client authentication failed' });
    const ttl = opts.oauthTokenSeconds ?? 3600;
    const token = `eyJsandbox.${randomBytes(24).toString('base64url')}`;
    issued.set(token, Date.now() + ttl * 1000);
    return json(res, 200, { access_token: token, token_type: 'Bearer', scope: params.get('scope') ?? 'all-apis', expires_in: ttl });
  };

  const route = async (req: IncomingMessage, res: ServerResponse, u: URL, after: (() => void) | undefined): Promise<void> => {
    const method = req.method ?? 'GET';
    const p = u.pathname;
    const q = u.searchParams;
    const bodyJson = async (): Promise<Record<string, unknown>> => {
      const raw = (await readBody(req)).toString('utf8');
      if (raw === '') return {};
      try {
        const v = JSON.parse(raw) as unknown;
        if (!isObject(v)) throw new Error('not an object');
        return v;
      } catch {
        throw new ApiError(400, 'MALFORMED_REQUEST', 'Invalid JSON given in the body of the request - expected a map');
      }
    };
    const ok = (body: unknown) => {
      if (after) return after();
      json(res, 200, body);
    };
    const api = p.replace(/^\/api\/2\.[01]\//, '/');
    if (method === 'POST' && p === '/api/2.1/jobs/runs/submit') return ok(submit(await bodyJson()));
    if (method === 'GET' && (p === '/api/2.1/jobs/runs/get' || p === '/api/2.2/jobs/runs/get')) return ok(runJson(runOf(q.get('run_id'))));
    if (method === 'POST' && p === '/api/2.1/jobs/runs/cancel') {
      cancel(runOf((await bodyJson()).run_id));
      return ok({});
    }
    if (method === 'GET' && p === '/api/2.1/jobs/runs/list') {
      const limit = Math.min(25, Math.max(1, Number(q.get('limit') ?? 25)));
      const offset = Number(q.get('page_token') ?? q.get('offset') ?? 0);
      const active = q.get('active_only') === 'true';
      const all = [...runs.values()].filter((r) => !active || r.endedAt === undefined).sort((a, b) => b.runId - a.runId);
      const page = all.slice(offset, offset + limit).map(runJson);
      return ok({ runs: page, has_more: offset + limit < all.length, ...(offset + limit < all.length ? { next_page_token: String(offset + limit) } : {}) });
    }
    if (method === 'GET' && api === '/clusters/get') return ok(clusterJson(runOfCluster(q.get('cluster_id'))));
    if (method === 'POST' && api === '/clusters/events') {
      const b = await bodyJson();
      const r = runOfCluster(b.cluster_id);
      const limit = Math.min(500, Math.max(1, Number(b.limit ?? pageSize)));
      const offset = Number(b.offset ?? 0);
      const events = [...r.events].reverse(); // newest first, as Databricks answers by default
      const page = events.slice(offset, offset + limit).map((e) => ({ cluster_id: r.clusterId, ...e }));
      const more = offset + limit < events.length;
      return ok({ events: page, total_count: events.length, ...(more ? { next_page: { cluster_id: r.clusterId, offset: offset + limit, limit } } : {}) });
    }
    if (api.startsWith('/fs/files/')) {
      const path = decodeURIComponent(api.slice('/fs/files'.length));
      if (method === 'GET' || method === 'HEAD') {
        const f = fileOf(path);
        if (after) return after();
        const headers = { 'content-type': 'application/octet-stream', 'content-length': String(f.bytes.length), 'last-modified': new Date(f.modifiedAt).toUTCString() };
        res.writeHead(200, headers);
        return void res.end(method === 'HEAD' ? undefined : f.bytes);
      }
      if (method === 'PUT') {
        const bytes = await readBody(req);
        if (q.get('overwrite') === 'false' && files.has(path)) throw new ApiError(409, 'ALREADY_EXISTS', `The file being created already exists: ${path}`);
        files.set(path, { bytes, modifiedAt: clock.now() });
        if (after) return after();
        res.writeHead(204);
        return void res.end();
      }
      if (method === 'DELETE') {
        fileOf(path);
        files.delete(path);
        if (after) return after();
        res.writeHead(204);
        return void res.end();
      }
    }
    if (method === 'GET' && api.startsWith('/fs/directories/')) {
      const path = decodeURIComponent(api.slice('/fs/directories'.length)).replace(/\/+$/, '');
      const all = listDir(path);
      const offset = Number(q.get('page_token') ?? 0);
      const size = Math.min(1000, Number(q.get('page_size') ?? pageSize));
      const page = all.slice(offset, offset + size).map((e) => ({ path: e.path, is_directory: e.isDir, name: e.path.slice(e.path.lastIndexOf('/') + 1), ...(e.isDir ? {} : { file_size: e.size, last_modified: e.modifiedAt }) }));
      return ok({ contents: page, ...(offset + size < all.length ? { next_page_token: String(offset + size) } : {}) });
    }
    if (method === 'GET' && api === '/dbfs/list') {
      const path = dbfsPathOf(q.get('path') ?? '') ?? q.get('path') ?? '';
      const list = listDir(path.replace(/\/+$/, ''));
      return ok({ files: list.map((e) => ({ path: e.path, is_dir: e.isDir, file_size: e.size, modification_time: e.modifiedAt })) });
    }
    if (method === 'GET' && api === '/dbfs/get-status') {
      const path = dbfsPathOf(q.get('path') ?? '') ?? q.get('path') ?? '';
      const f = fileOf(path);
      return ok({ path, is_dir: false, file_size: f.bytes.length, modification_time: f.modifiedAt });
    }
    if (method === 'GET' && api === '/dbfs/read') {
      const path = dbfsPathOf(q.get('path') ?? '') ?? q.get('path') ?? '';
      const f = fileOf(path);
      const offset = Number(q.get('offset') ?? 0);
      const length = Number(q.get('length') ?? 512 * 1024);
      if (!(length > 0 && length <= 1024 * 1024)) throw new ApiError(400, 'MAX_READ_SIZE_EXCEEDED', `Cannot read more than 1MB at a time, asked for ${length}`);
      const chunk = f.bytes.subarray(offset, offset + length);
      return ok({ bytes_read: chunk.length, data: chunk.toString('base64') });
    }
    if (method === 'POST' && api === '/dbfs/put') {
      const b = await bodyJson();
      const path = dbfsPathOf(String(b.path ?? '')) ?? String(b.path ?? '');
      if (b.overwrite !== true && files.has(path)) throw new ApiError(400, 'RESOURCE_ALREADY_EXISTS', `A file or directory already exists at the input path ${path}.`);
      files.set(path, { bytes: Buffer.from(String(b.contents ?? ''), 'base64'), modifiedAt: clock.now() });
      return ok({});
    }
    if (method === 'POST' && api === '/dbfs/create') {
      const b = await bodyJson();
      const path = dbfsPathOf(String(b.path ?? '')) ?? String(b.path ?? '');
      const handle = nextHandle++;
      handles.set(handle, { path, chunks: [] });
      return ok({ handle });
    }
    if (method === 'POST' && (api === '/dbfs/add-block' || api === '/dbfs/close')) {
      const b = await bodyJson();
      const h = handles.get(Number(b.handle));
      if (!h) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `handle ${String(b.handle)} does not exist`);
      if (api === '/dbfs/add-block') {
        const data = Buffer.from(String(b.data ?? ''), 'base64');
        if (data.length > 1024 * 1024) throw new ApiError(400, 'MAX_BLOCK_SIZE_EXCEEDED', 'a block is at most 1 MB');
        h.chunks.push(data);
      } else {
        handles.delete(Number(b.handle));
        files.set(h.path, { bytes: Buffer.concat(h.chunks), modifiedAt: clock.now() });
      }
      return ok({});
    }
    if (method === 'POST' && api === '/dbfs/delete') {
      const b = await bodyJson();
      const path = dbfsPathOf(String(b.path ?? '')) ?? String(b.path ?? '');
      files.delete(path);
      return ok({});
    }
    throw new ApiError(404, 'ENDPOINT_NOT_FOUND', `No API found for '${method} ${p}'`);
  };

  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const record = (status: number) => seen.push({ method, path: u.pathname, status });
    res.on('finish', () => record(res.statusCode));
    void (async () => {
      try {
        if (u.pathname === '/oidc/v1/token' && method === 'POST') return await oauthToken(req, res);
        if (!authorized(req)) throw new ApiError(401, 'UNAUTHENTICATED', 'Invalid access token.');
        const i = faults.findIndex((f) => f.path === undefined || u.pathname.startsWith(f.path));
        const fault = i >= 0 ? faults[i] : undefined;
        if (fault) {
          if (--fault.times <= 0) faults.splice(i, 1);
          const err = new ApiError(fault.status, fault.errorCode ?? defaultCode(fault.status), fault.message ?? 'Injected fault');
          const answer = () => json(res, err.status, { error_code: err.errorCode, message: err.message }, fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {});
          if (!fault.afterHandling) return answer();
          return await route(req, res, u, answer);
        }
        await route(req, res, u, undefined);
      } catch (e) {
        if (res.headersSent) return void res.destroy();
        if (e instanceof ApiError) return json(res, e.status, { error_code: e.errorCode, message: e.message });
        json(res, 500, { error_code: 'INTERNAL_ERROR', message: e instanceof Error ? e.message : String(e) });
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let closed: Promise<void> | undefined;
  return {
    url,
    clock,
    runs: () =>
      [...runs.values()].map((r) => {
        const s: DatabricksRunSummary = {
          runId: r.runId,
          clusterId: r.clusterId,
          runName: String(r.body.run_name ?? ''),
          nodeType: r.nodeType,
          workers: r.workers,
          customTags: { ...(isObject(r.cluster.custom_tags) ? (r.cluster.custom_tags as Record<string, string>) : {}) },
          lifeCycleState: r.life,
          submittedAt: r.submittedAt,
          body: structuredClone(r.body),
        };
        if (r.token !== undefined) s.idempotencyToken = r.token;
        if (r.result) s.resultState = r.result;
        if (r.endedAt !== undefined) s.endedAt = r.endedAt;
        if (r.sim) s.applicationSeconds = r.sim.totals.applicationSeconds;
        const dest = logDestination(r.cluster);
        if (dest !== undefined) s.logDestination = dest;
        const dir = eventLogDirOf(r);
        if (dir !== undefined && r.runningAt !== undefined) s.eventLogDir = dir;
        return s;
      }),
    inject: (f) => faults.push({ ...f }),
    requests: () => seen.map((s) => ({ ...s })),
    authorizations: () => [...auths],
    files: () => files,
    simulatedRun: (id) => runs.get(id)?.sim,
    close() {
      closed ??= (async () => {
        clock.close();
        for (const r of runs.values()) r.abort.abort();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return closed;
    },
  };
}

function defaultCode(status: number): string {
  return (
    { 400: 'INVALID_PARAMETER_VALUE', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'RESOURCE_DOES_NOT_EXIST', 409: 'RESOURCE_CONFLICT', 429: 'REQUEST_LIMIT_EXCEEDED', 500: 'INTERNAL_ERROR', 503: 'TEMPORARILY_UNAVAILABLE' } as Record<number, string>
  )[status] ?? 'UNKNOWN';
}
