/** Tag keys put on every cluster the agent starts. */
export const TAG_TENANT_ID = 'sync:tenant-id';
export const TAG_PROJECT_ID = 'sync:project-id';
export const TAG_RUN_ID = 'sync:run-id';
export const TAG_PREDICTION_ID = 'sync:prediction-id';

/** An EMR tag. */
export type Tag = { Key: string; Value: string };

/** What the sync tags say about a cluster. */
export type SyncTagValues = { tenantId?: string; projectId?: string; runId?: string; predictionId?: string };

/** True for keys in the agent's own `sync:` namespace. */
export function isSyncTagKey(key: string): boolean {
  return key.startsWith('sync:');
}

/** The tags for a run, in a fixed order; `sync:prediction-id` only when the run applies a prediction. */
export function syncTags(input: { tenantId: string; projectId: string; runId: string; predictionId?: string | undefined }): Tag[] {
  const tags: Tag[] = [
    { Key: TAG_TENANT_ID, Value: input.tenantId },
    { Key: TAG_PROJECT_ID, Value: input.projectId },
    { Key: TAG_RUN_ID, Value: input.runId },
  ];
  if (input.predictionId !== undefined) tags.push({ Key: TAG_PREDICTION_ID, Value: input.predictionId });
  return tags;
}

/** Reads the sync tags from an EMR tag list or a key -> value map; absent tags are absent fields. */
export function readSyncTags(tags: readonly { Key?: string; Value?: string }[] | Readonly<Record<string, string>> | undefined): SyncTagValues {
  const map = new Map<string, string>();
  if (Array.isArray(tags)) {
    for (const t of tags as readonly { Key?: string; Value?: string }[]) {
      if (typeof t?.Key === 'string' && typeof t.Value === 'string') map.set(t.Key, t.Value);
    }
  } else if (tags) {
    for (const [k, v] of Object.entries(tags)) if (typeof v === 'string') map.set(k, v);
  }
  const out: SyncTagValues = {};
  const tenantId = map.get(TAG_TENANT_ID);
  const projectId = map.get(TAG_PROJECT_ID);
  const runId = map.get(TAG_RUN_ID);
  const predictionId = map.get(TAG_PREDICTION_ID);
  if (tenantId !== undefined) out.tenantId = tenantId;
  if (projectId !== undefined) out.projectId = projectId;
  if (runId !== undefined) out.runId = runId;
  if (predictionId !== undefined) out.predictionId = predictionId;
  return out;
}
