import { SyncError } from './errors.js';
import { emrLogUri, eventLogDir, toSparkEventLogDir } from './run-location.js';
import { isSyncTagKey, syncTags, type Tag } from './tags.js';
import type { JobFlow, Project } from './types.js';

/** What planJobFlow needs to make a run's RunJobFlow input. */
export type PlanJobFlowInput = {
  /** The run.start request's jobFlow; when absent, the project's own jobFlow is used. */
  request: JobFlow | undefined;
  project: Project;
  runId: string;
  /** The run directory, `{location}/{projectId}/{ts}/{runId}/`. */
  runUrl: string;
  tenantId: string;
  predictionId?: string | undefined;
};

/** The exact RunJobFlow input, plus what was overridden in the user's request (one sentence each). */
export type PlannedJobFlow = { jobFlow: JobFlow; warnings: string[] };

type Configuration = { Classification?: unknown; Properties?: unknown; Configurations?: unknown } & Record<string, unknown>;

const EVENTLOG_ENABLED = 'spark.eventLog.enabled';
const EVENTLOG_DIR = 'spark.eventLog.dir';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

function checkConfigurations(value: unknown, path: string): Configuration[] {
  if (!Array.isArray(value)) throw new SyncError('invalid_request', `${path} must be an array of configurations`);
  value.forEach((c, i) => {
    if (!isObject(c)) throw new SyncError('invalid_request', `${path}[${i}] must be an object`);
    if (c.Properties !== undefined && !isObject(c.Properties)) throw new SyncError('invalid_request', `${path}[${i}].Properties must be an object`);
    if (c.Configurations !== undefined) checkConfigurations(c.Configurations, `${path}[${i}].Configurations`);
  });
  return value as Configuration[];
}

function checkTags(value: unknown, path: string): Tag[] {
  if (!Array.isArray(value)) throw new SyncError('invalid_request', `${path} must be an array of {Key, Value}`);
  value.forEach((t, i) => {
    if (!isObject(t) || typeof t.Key !== 'string') throw new SyncError('invalid_request', `${path}[${i}] must be an object with a string Key`);
  });
  return value as Tag[];
}

/**
 * Makes the RunJobFlow input for a run: the user's request (or the project's jobFlow) with every field
 * kept in place and order, plus the event-log settings in `spark-defaults`, the `sync:*` tags, a default
 * `Name` and (for s3:// runs) a default `LogUri`. A user's own `spark.eventLog.*` or `sync:*` values are
 * overridden in place and reported in `warnings`. Pure; throws SyncError 'invalid_request' on a malformed
 * Configurations or Tags field.
 */
export function planJobFlow(input: PlanJobFlowInput): PlannedJobFlow {
  const source = input.request ?? input.project.jobFlow ?? {};
  if (!isObject(source)) throw new SyncError('invalid_request', 'jobFlow must be an object');
  const jobFlow: JobFlow = clone(source);
  const warnings: string[] = [];
  const sparkDir = toSparkEventLogDir(eventLogDir(input.runUrl));

  // Configurations: set the two event-log keys in every top-level spark-defaults classification.
  const configurations = jobFlow.Configurations === undefined ? [] : checkConfigurations(jobFlow.Configurations, 'jobFlow.Configurations');
  let found = false;
  configurations.forEach((c, i) => {
    if (c.Classification !== 'spark-defaults') return;
    found = true;
    const props: Record<string, unknown> = isObject(c.Properties) ? c.Properties : {};
    const userDir = props[EVENTLOG_DIR];
    if (userDir !== undefined && userDir !== sparkDir) {
      warnings.push(`Configurations[${i}] spark-defaults ${EVENTLOG_DIR} '${String(userDir)}' was replaced by '${sparkDir}' so the run's event log is kept`);
    }
    const userEnabled = props[EVENTLOG_ENABLED];
    if (userEnabled !== undefined && String(userEnabled) !== 'true') {
      warnings.push(`Configurations[${i}] spark-defaults ${EVENTLOG_ENABLED}='${String(userEnabled)}' was replaced by 'true'`);
    }
    props[EVENTLOG_ENABLED] = 'true';
    props[EVENTLOG_DIR] = sparkDir;
    c.Properties = props;
  });
  if (!found) {
    configurations.push({ Classification: 'spark-defaults', Properties: { [EVENTLOG_ENABLED]: 'true', [EVENTLOG_DIR]: sparkDir } });
  }
  jobFlow.Configurations = configurations;

  // Tags: the user's tags keep their order; ours replace same-key tags in place or are appended.
  const tags = jobFlow.Tags === undefined ? [] : checkTags(jobFlow.Tags, 'jobFlow.Tags');
  const ours = syncTags({ tenantId: input.tenantId, projectId: input.project.id, runId: input.runId, predictionId: input.predictionId });
  const ourMap = new Map(ours.map((t) => [t.Key, t.Value]));
  const merged: Tag[] = [];
  const placed = new Set<string>();
  for (const t of tags) {
    if (!isSyncTagKey(t.Key)) {
      merged.push(t);
      continue;
    }
    const value = ourMap.get(t.Key);
    if (value === undefined || placed.has(t.Key)) {
      // A stale sync:* tag (e.g. copied from an earlier run's job-flow.json) would mislabel the cluster.
      warnings.push(`tag ${t.Key}='${String(t.Value)}' was removed: the agent owns the sync: tag namespace`);
      continue;
    }
    if (t.Value !== value) warnings.push(`tag ${t.Key}='${String(t.Value)}' was replaced by '${value}'`);
    merged.push({ ...t, Value: value });
    placed.add(t.Key);
  }
  for (const t of ours) if (!placed.has(t.Key)) merged.push(t);
  jobFlow.Tags = merged;

  if (jobFlow.LogUri === undefined && input.runUrl.startsWith('s3://')) jobFlow.LogUri = emrLogUri(input.runUrl);
  if (jobFlow.Name === undefined || jobFlow.Name === '') jobFlow.Name = input.project.name;
  return { jobFlow, warnings };
}

function mergeProperties(base: unknown, overlay: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = isObject(base) ? { ...base } : {};
  if (isObject(overlay)) for (const [k, v] of Object.entries(overlay)) out[k] = clone(v);
  return out;
}

/**
 * Merges configuration lists by Classification: base order kept, an overlay classification's
 * Properties override base keys in place (new keys appended) and its nested Configurations merge
 * recursively; classifications only in the overlay are appended.
 */
export function mergeConfigurations(base: readonly unknown[], overlay: readonly unknown[]): unknown[] {
  const out: unknown[] = base.map((c) => clone(c));
  for (const o of overlay) {
    if (!isObject(o)) continue;
    const i = out.findIndex((b) => isObject(b) && b.Classification === o.Classification);
    const existing = i >= 0 ? out[i] : undefined;
    if (!isObject(existing)) {
      out.push(clone(o));
      continue;
    }
    const merged: Record<string, unknown> = { ...existing };
    for (const [k, v] of Object.entries(o)) {
      if (k === 'Properties') merged.Properties = mergeProperties(existing.Properties, v);
      else if (k === 'Configurations') {
        merged.Configurations = mergeConfigurations(Array.isArray(existing.Configurations) ? existing.Configurations : [], Array.isArray(v) ? v : []);
      } else merged[k] = clone(v);
    }
    out[i] = merged;
  }
  return out;
}

// Fields that describe the cluster's shape in the simple (non-group, non-fleet) form of Instances.
const SIMPLE_SHAPE = ['MasterInstanceType', 'SlaveInstanceType', 'InstanceCount'];

function mergeByKey(base: unknown, overlay: readonly unknown[], key: string): unknown[] {
  const baseList = Array.isArray(base) ? base : [];
  return overlay.map((o) => {
    if (!isObject(o)) return clone(o);
    const match = baseList.find((b) => isObject(b) && b[key] === o[key]);
    return isObject(match) ? { ...clone(match), ...clone(o) } : clone(o);
  });
}

/**
 * Applies a recommended configuration (`overlay`: Instances and/or Configurations) to a base request,
 * keeping every other field of the base (Name, ReleaseLabel, Applications, Steps, Tags, BootstrapActions,
 * roles, LogUri, ...). In Instances, the overlay's cluster shape replaces the base's: instance groups
 * merge by InstanceRole (and fleets by InstanceFleetType) so a group's EBS, market and autoscaling
 * settings survive, roles absent from the overlay are dropped, and the base's other Instances fields
 * (subnets, key name, security groups, KeepJobFlowAliveWhenNoSteps, ...) are kept.
 */
export function mergeJobFlow(base: JobFlow, overlay: JobFlow): JobFlow {
  const out: JobFlow = clone(base);
  const oi = overlay.Instances;
  if (isObject(oi)) {
    const bi: Record<string, unknown> = isObject(out.Instances) ? out.Instances : {};
    const shapeChanges = oi.InstanceGroups !== undefined || oi.InstanceFleets !== undefined || SIMPLE_SHAPE.some((k) => oi[k] !== undefined);
    if (shapeChanges) {
      const baseGroups = bi.InstanceGroups;
      const baseFleets = bi.InstanceFleets;
      for (const k of [...SIMPLE_SHAPE, 'InstanceGroups', 'InstanceFleets']) delete bi[k];
      if (Array.isArray(oi.InstanceGroups)) bi.InstanceGroups = mergeByKey(baseGroups, oi.InstanceGroups, 'InstanceRole');
      if (Array.isArray(oi.InstanceFleets)) bi.InstanceFleets = mergeByKey(baseFleets, oi.InstanceFleets, 'InstanceFleetType');
    }
    for (const [k, v] of Object.entries(oi)) {
      if (k === 'InstanceGroups' || k === 'InstanceFleets') continue;
      bi[k] = clone(v);
    }
    out.Instances = bi;
  }
  if (Array.isArray(overlay.Configurations)) {
    out.Configurations = mergeConfigurations(Array.isArray(out.Configurations) ? out.Configurations : [], overlay.Configurations);
  }
  return out;
}
