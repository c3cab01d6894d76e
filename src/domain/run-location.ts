import { SyncError } from './errors.js';
import { assertSafeId } from './ids.js';

/** Returns `location` without trailing slashes after checking it is an `s3://bucket[/prefix]` or `file:///path` URL. */
export function normaliseLocation(location: string): string {
  if (/^file:\/\/\/*$/.test(location)) return 'file://';
  const trimmed = location.replace(/\/+$/, '');
  const ok =
    /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(trimmed) || /^file:\/\/\/.+$/.test(trimmed) || /^dbfs:\/[^/].*$/.test(trimmed) || /^\/Volumes\/[^/]+\/[^/]+\/[^/]+(\/.*)?$/.test(trimmed);
  if (!ok) {
    throw new SyncError('invalid_config', `location '${location}' is not an s3://bucket/prefix or file:///path URL`);
  }
  if (/(^|\/)\.\.?(\/|$)/.test(trimmed.replace(/^(s3|file):\/\//, '').replace(/^dbfs:\//, ''))) {
    throw new SyncError('invalid_config', `location '${location}' must not contain '.' or '..' path segments`);
  }
  return trimmed;
}

/** The UTC timestamp segment of a run directory, e.g. `2022-11-15T13:51:29Z` (no milliseconds). */
export function runTimestamp(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `{location}/{projectId}/{UTC ts}/{runId}/` with exactly one trailing slash; ids must be safe. */
export function runLocation(location: string, projectId: string, startedAt: Date, runId: string): string {
  return `${normaliseLocation(location)}/${assertSafeId('projectId', projectId)}/${runTimestamp(startedAt)}/${assertSafeId('runId', runId)}/`;
}

function dir(runUrl: string): string {
  return runUrl.endsWith('/') ? runUrl : `${runUrl}/`;
}

/** `<run>/eventlog/`: where Spark writes its event log. */
export function eventLogDir(runUrl: string): string {
  return `${dir(runUrl)}eventlog/`;
}

/** `<run>/job-flow.json`: the exact request sent to the platform. */
export function jobFlowUrl(runUrl: string): string {
  return `${dir(runUrl)}job-flow.json`;
}

/** `<run>/emr-cluster-report.json`: written by run.record. */
export function clusterReportUrl(runUrl: string): string {
  return `${dir(runUrl)}emr-cluster-report.json`;
}

/** `<run>/emr-logs/`: the default EMR LogUri for a run. */
export function emrLogUri(runUrl: string): string {
  return `${dir(runUrl)}emr-logs/`;
}

/** `{location}/{projectId}/predictions/{predictionId}.json`; ids must be safe. */
export function predictionUrl(location: string, projectId: string, predictionId: string): string {
  return `${normaliseLocation(location)}/${assertSafeId('projectId', projectId)}/predictions/${assertSafeId('predictionId', predictionId)}.json`;
}

/** The URL Spark needs for `spark.eventLog.dir`: `s3://` becomes `s3a://`; `file://` stays. */
export function toSparkEventLogDir(url: string): string {
  return url.startsWith('s3://') ? `s3a://${url.slice('s3://'.length)}` : url;
}

/** The project and run a run directory (`{location}/{projectId}/{UTC ts}/{runId}/`) belongs to; undefined when `url` is not one. */
export function runOfLocation(url: string): { projectId: string; runId: string } | undefined {
  const parts = url.replace(/\/+$/, '').split('/');
  if (parts.length < 4) return undefined;
  const [projectId, ts, runId] = parts.slice(-3) as [string, string, string];
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(ts) || projectId === '' || runId === '') return undefined;
  return { projectId, runId };
}
