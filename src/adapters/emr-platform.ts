import {
  DescribeClusterCommand,
  ListBootstrapActionsCommand,
  ListClustersCommand,
  ListInstanceFleetsCommand,
  ListInstanceGroupsCommand,
  ListInstancesCommand,
  ListStepsCommand,
  RunJobFlowCommand,
} from '@aws-sdk/client-emr';
import { AddJobFlowStepsCommand, CancelStepsCommand, TerminateJobFlowsCommand } from '@aws-sdk/client-emr';
import type { AddJobFlowStepsCommandInput, Cluster, ClusterState, EMRClient, RunJobFlowCommandInput } from '@aws-sdk/client-emr';
import { SyncError } from '../domain/errors.js';
import type { CallOptions, ClusterInfo, ClusterQuery, ClusterReport, Logger, Platform } from '../domain/ports.js';
import type { JobFlow } from '../domain/types.js';
import { stepsFromEmr } from '../domain/run-steps.js';
import { mapAwsError, withRetry } from './aws-errors.js';
import type { RetryOptions } from './aws-errors.js';

/** What createEmrPlatform needs: an EMR `send` (real client or stub) and the region it talks to. */
export type EmrPlatformDeps = {
  client: Pick<EMRClient, 'send'>;
  region: string;
  logger?: Logger | undefined;
  retry?: Partial<RetryOptions> | undefined;
  /** Tag that identifies a run; used to make a retried RunJobFlow idempotent (default 'sync:run-id'). */
  runTagKey?: string | undefined;
};

/** Copies an SDK output into plain JSON: Dates become ISO strings, `$metadata` and undefined go. */
export function toJsonSafe(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toJsonSafe);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === '$metadata' || v === undefined) continue;
      out[k] = toJsonSafe(v);
    }
    return out;
  }
  return value;
}

/** The handler's view of an EMR Cluster (DescribeCluster's `Cluster`). */
export function toClusterInfo(cluster: Cluster): ClusterInfo {
  if (!cluster.Id) throw new SyncError('remote_error', 'EMR DescribeCluster returned a cluster without an Id', { retryable: false });
  const tags: Record<string, string> = {};
  for (const t of cluster.Tags ?? []) if (t.Key !== undefined) tags[t.Key] = t.Value ?? '';
  const info: ClusterInfo = { id: cluster.Id, state: cluster.Status?.State ?? 'UNKNOWN', tags };
  const reason = cluster.Status?.StateChangeReason;
  if (reason && (reason.Code !== undefined || reason.Message !== undefined)) {
    info.stateChangeReason = {
      ...(reason.Code !== undefined ? { code: reason.Code } : {}),
      ...(reason.Message !== undefined ? { message: reason.Message } : {}),
    };
  }
  const timeline = cluster.Status?.Timeline;
  if (timeline?.CreationDateTime) info.createdAt = timeline.CreationDateTime;
  if (timeline?.ReadyDateTime) info.readyAt = timeline.ReadyDateTime;
  if (timeline?.EndDateTime) info.endedAt = timeline.EndDateTime;
  if (cluster.AutoTerminate !== undefined) info.autoTerminate = cluster.AutoTerminate;
  // EMR answers LogUri in its own s3n:// spelling.
  if (cluster.LogUri) info.logUri = cluster.LogUri.replace(/^s3n:\/\//, 's3://');
  return info;
}

const DESCRIBE_BATCH = 4;
/** ListClusters state filters of a tag lookup, in the order they are searched. */
const LOOKUP_STATES: ClusterState[][] = [
  ['STARTING', 'BOOTSTRAPPING', 'RUNNING', 'WAITING', 'TERMINATING'],
  ['TERMINATED', 'TERMINATED_WITH_ERRORS'],
];
const INVALID_CLUSTER_ID = /cluster id .* is not valid|does not exist|not found/i;

/** The tag value of `key` in a RunJobFlow request, if the request carries it. */
function requestTag(request: JobFlow, key: string): string | undefined {
  const tags = request.Tags;
  if (!Array.isArray(tags)) return undefined;
  for (const t of tags as unknown[]) {
    if (t && typeof t === 'object' && (t as { Key?: unknown }).Key === key) {
      const v = (t as { Value?: unknown }).Value;
      return typeof v === 'string' ? v : undefined;
    }
  }
  return undefined;
}

/**
 * The EMR implementation of Platform. Every call passes the caller's abort signal, is retried by
 * withRetry (throttling, 5xx, network) and surfaces only SyncErrors. An unknown cluster id is
 * 'not_found'. A RunJobFlow retried after an ambiguous failure first looks for the cluster its run
 * tag names, so a retry never starts a second cluster.
 */
export function createEmrPlatform(deps: EmrPlatformDeps): Platform {
  const { client, region } = deps;
  const runTagKey = deps.runTagKey ?? 'sync:run-id';
  const tenantTagKey = 'sync:tenant-id';

  const call = <T>(context: string, options: CallOptions | undefined, fn: (abortSignal: AbortSignal | undefined, attempt: number) => Promise<T>): Promise<T> =>
    withRetry(
      async (attempt) => {
        try {
          return await fn(options?.signal ?? deps.retry?.signal, attempt);
        } catch (e) {
          throw mapAwsError(e, context);
        }
      },
      {
        ...deps.retry,
        signal: options?.signal ?? deps.retry?.signal,
        onRetry: (e, attempt, delayMs) => {
          deps.logger?.warn('EMR call failed; retrying', { operation: context, code: e.code, attempt, delayMs, error: e.message });
          deps.retry?.onRetry?.(e, attempt, delayMs);
        },
      },
    );

  // SDK commands take `{ abortSignal }` as the second argument of send.
  const sendOpts = (abortSignal: AbortSignal | undefined) => (abortSignal ? { abortSignal } : {});

  const describe = async (clusterId: string, options?: CallOptions): Promise<Cluster> => {
    try {
      return await call(`EMR DescribeCluster ${clusterId}`, options, async (abortSignal) => {
        const out = await client.send(new DescribeClusterCommand({ ClusterId: clusterId }), sendOpts(abortSignal));
        if (!out.Cluster) throw new SyncError('remote_error', `EMR DescribeCluster ${clusterId} returned no Cluster`, { retryable: false });
        return out.Cluster;
      });
    } catch (e) {
      if (e instanceof SyncError && e.code === 'invalid_request' && INVALID_CLUSTER_ID.test(e.message)) {
        throw new SyncError('not_found', `EMR cluster ${clusterId} does not exist in ${region}`, { cause: e, details: e.details ? { ...e.details } : {} });
      }
      throw e;
    }
  };

  /** Collects every page of a Marker-paginated EMR list. */
  const allPages = async <Item>(
    context: string,
    options: CallOptions | undefined,
    page: (marker: string | undefined, abortSignal: AbortSignal | undefined) => Promise<{ items: Item[] | undefined; marker: string | undefined }>,
  ): Promise<Item[]> => {
    const items: Item[] = [];
    let marker: string | undefined;
    let pages = 0;
    do {
      const current = marker;
      const out = await call(`${context}${pages > 0 ? ` (page ${pages + 1})` : ''}`, options, (abortSignal) => page(current, abortSignal));
      items.push(...(out.items ?? []));
      if (out.marker !== undefined && out.marker === marker) {
        throw new SyncError('remote_error', `${context} returned the same Marker twice`, { retryable: false });
      }
      marker = out.marker;
      pages++;
    } while (marker);
    return items;
  };

  // One ListClusters pass per group of states: clusters still alive first (the usual answer: a launch
  // that went through moments ago), then those that already ended (a launch that failed at once).
  const findByTag = async (query: ClusterQuery, options?: CallOptions): Promise<ClusterInfo | undefined> => {
    const wanted = Object.entries(query.tags);
    for (const states of LOOKUP_STATES) {
      const summaries = await allPages('EMR ListClusters', options, async (Marker, abortSignal) => {
        const out = await client.send(new ListClustersCommand({ CreatedAfter: query.createdAfter, ClusterStates: states, ...(Marker ? { Marker } : {}) }), sendOpts(abortSignal));
        return { items: out.Clusters, marker: out.Marker };
      });
      // Only clusters of the right name need a DescribeCluster (the summary carries no tags).
      const ids = summaries.flatMap((s) => (s.Id && (query.name === undefined || s.Name === query.name) ? [s.Id] : []));
      // A few DescribeCluster calls at a time, newest first (ListClusters' order); throttling is retried anyway.
      for (let i = 0; i < ids.length; i += DESCRIBE_BATCH) {
        const batch = await Promise.all(
          ids.slice(i, i + DESCRIBE_BATCH).map((id) =>
            describe(id, options).catch((e: unknown) => {
              if (e instanceof SyncError && e.code === 'not_found') return undefined;
              throw e;
            }),
          ),
        );
        const match = batch.find((c) => c && wanted.every(([k, v]) => (c.Tags ?? []).some((t) => t.Key === k && t.Value === v)));
        if (match) return toClusterInfo(match);
      }
    }
    return undefined;
  };

  const listStepSummaries = (clusterId: string, options?: CallOptions) =>
    allPages(`EMR ListSteps ${clusterId}`, options, async (Marker, abortSignal) => {
      const out = await client.send(new ListStepsCommand({ ClusterId: clusterId, ...(Marker ? { Marker } : {}) }), sendOpts(abortSignal));
      return { items: out.Steps, marker: out.Marker };
    });

  return {
    name: 'emr',
    region,

    async startCluster(request, options) {
      const runId = requestTag(request, runTagKey);
      const tenantId = requestTag(request, tenantTagKey);
      // Clock skew between us and EMR: look a little before "now" when checking for our own cluster.
      const since = new Date(Date.now() - 10 * 60_000);
      let previous: SyncError | undefined;
      const id = await call(`EMR RunJobFlow ${String(request.Name ?? '')}`.trim(), options, async (abortSignal, attempt) => {
        // A throttled call was refused outright; any other failure may have reached EMR.
        if (attempt > 1 && runId !== undefined && previous?.code !== 'throttled') {
          const tags: Record<string, string> = { [runTagKey]: runId };
          if (tenantId !== undefined) tags[tenantTagKey] = tenantId;
          const name = typeof request.Name === 'string' ? request.Name : undefined;
          const existing = await findByTag({ tags, createdAfter: since, ...(name !== undefined ? { name } : {}) }, abortSignal ? { signal: abortSignal } : {});
          if (existing) {
            deps.logger?.info('RunJobFlow had already created the cluster', { clusterId: existing.id, runId });
            return existing.id;
          }
        }
        try {
          const out = await client.send(new RunJobFlowCommand(request as unknown as RunJobFlowCommandInput), sendOpts(abortSignal));
          if (!out.JobFlowId) throw new SyncError('remote_error', 'EMR RunJobFlow returned no JobFlowId', { retryable: false });
          return out.JobFlowId;
        } catch (e) {
          previous = mapAwsError(e, 'EMR RunJobFlow');
          throw previous;
        }
      });
      return { clusterId: id };
    },

    findClusterByTag: findByTag,

    async describeCluster(clusterId, options) {
      return toClusterInfo(await describe(clusterId, options));
    },

    async listClusters(filter, options) {
      const summaries = await allPages('EMR ListClusters', options, async (Marker, abortSignal) => {
        const out = await client.send(
          new ListClustersCommand({ ClusterStates: [...filter.states] as ClusterState[], CreatedAfter: filter.createdAfter, ...(Marker ? { Marker } : {}) }),
          sendOpts(abortSignal),
        );
        return { items: out.Clusters, marker: out.Marker };
      });
      return summaries.flatMap((c) => (c.Id && c.Status?.State ? [{ id: c.Id, state: c.Status.State }] : []));
    },

    async clusterReport(clusterId, options) {
      const cluster = await describe(clusterId, options);
      const report: ClusterReport = { Cluster: toJsonSafe(cluster) as Record<string, unknown>, Instances: [], Steps: [], BootstrapActions: [], Region: region };
      const ClusterId = clusterId;
      if (cluster.InstanceCollectionType === 'INSTANCE_FLEET') {
        const fleets = await allPages(`EMR ListInstanceFleets ${clusterId}`, options, async (Marker, abortSignal) => {
          const out = await client.send(new ListInstanceFleetsCommand({ ClusterId, ...(Marker ? { Marker } : {}) }), sendOpts(abortSignal));
          return { items: out.InstanceFleets, marker: out.Marker };
        });
        report.InstanceFleets = toJsonSafe(fleets) as Record<string, unknown>[];
      } else {
        const groups = await allPages(`EMR ListInstanceGroups ${clusterId}`, options, async (Marker, abortSignal) => {
          const out = await client.send(new ListInstanceGroupsCommand({ ClusterId, ...(Marker ? { Marker } : {}) }), sendOpts(abortSignal));
          return { items: out.InstanceGroups, marker: out.Marker };
        });
        report.InstanceGroups = toJsonSafe(groups) as Record<string, unknown>[];
      }
      const instances = await allPages(`EMR ListInstances ${clusterId}`, options, async (Marker, abortSignal) => {
        const out = await client.send(new ListInstancesCommand({ ClusterId, ...(Marker ? { Marker } : {}) }), sendOpts(abortSignal));
        return { items: out.Instances, marker: out.Marker };
      });
      const steps = await listStepSummaries(clusterId, options);
      const actions = await allPages(`EMR ListBootstrapActions ${clusterId}`, options, async (Marker, abortSignal) => {
        const out = await client.send(new ListBootstrapActionsCommand({ ClusterId, ...(Marker ? { Marker } : {}) }), sendOpts(abortSignal));
        return { items: out.BootstrapActions, marker: out.Marker };
      });
      report.Instances = toJsonSafe(instances) as Record<string, unknown>[];
      report.Steps = toJsonSafe(steps) as Record<string, unknown>[];
      report.BootstrapActions = toJsonSafe(actions) as Record<string, unknown>[];
      // Keep the documented key order: Cluster, Instances, groups|fleets, Steps, BootstrapActions, Region.
      const { Cluster: c, Instances, InstanceGroups, InstanceFleets, Steps, BootstrapActions, Region } = report;
      return {
        Cluster: c,
        Instances,
        ...(InstanceGroups ? { InstanceGroups } : {}),
        ...(InstanceFleets ? { InstanceFleets } : {}),
        Steps,
        BootstrapActions,
        Region,
      };
    },

    async listSteps(clusterId, options) {
      return stepsFromEmr(await listStepSummaries(clusterId, options));
    },

    async countActiveSteps(clusterId, options) {
      const live = await allPages(`EMR ListSteps ${clusterId}`, options, async (Marker, abortSignal) => {
        const out = await client.send(new ListStepsCommand({ ClusterId: clusterId, StepStates: ['PENDING', 'RUNNING', 'CANCEL_PENDING'], ...(Marker ? { Marker } : {}) }), sendOpts(abortSignal));
        return { items: out.Steps, marker: out.Marker };
      });
      return live.length;
    },

    async addSteps(clusterId, steps, options) {
      try {
        const out = await client.send(new AddJobFlowStepsCommand({ JobFlowId: clusterId, Steps: steps as unknown as AddJobFlowStepsCommandInput['Steps'] }), sendOpts(options?.signal));
        return { stepIds: out.StepIds ?? [] };
      } catch (e) {
        throw mapAwsError(e, `EMR AddJobFlowSteps ${clusterId}`);
      }
    },

    async cancelRun(clusterId, { terminate, stepIds }, options) {
      const live = await allPages(`EMR ListSteps ${clusterId}`, options, async (Marker, abortSignal) => {
        const out = await client.send(new ListStepsCommand({ ClusterId: clusterId, StepStates: ['PENDING', 'RUNNING'], ...(Marker ? { Marker } : {}) }), sendOpts(abortSignal));
        return { items: out.Steps, marker: out.Marker };
      });
      const only = stepIds ? new Set(stepIds) : undefined;
      const ids = live.flatMap((s) => (s.Id && (!only || only.has(s.Id)) ? [s.Id] : []));
      if (ids.length > 0) {
        // SEND_INTERRUPT stops a running step too (EMR 5.28+); pending ones are simply dropped.
        await call(`EMR CancelSteps ${clusterId}`, options, async (abortSignal) => {
          await client.send(new CancelStepsCommand({ ClusterId: clusterId, StepIds: ids, StepCancellationOption: 'SEND_INTERRUPT' }), sendOpts(abortSignal));
        });
      }
      if (terminate) {
        await call(`EMR TerminateJobFlows ${clusterId}`, options, async (abortSignal) => {
          await client.send(new TerminateJobFlowsCommand({ JobFlowIds: [clusterId] }), sendOpts(abortSignal));
        });
      }
      return { cancelledSteps: ids };
    },

    async terminateCluster(clusterId, options) {
      await call(`EMR TerminateJobFlows ${clusterId}`, options, async (abortSignal) => {
        await client.send(new TerminateJobFlowsCommand({ JobFlowIds: [clusterId] }), sendOpts(abortSignal));
      });
    },
  };
}
