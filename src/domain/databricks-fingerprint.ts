// The code-change guard for Databricks jobs (as fingerprint.ts is for EMR steps): a digest of what the job
// runs (each task without its cluster, its libraries, the job's git_source) and of the ETags of the code
// objects they reference (s3://, dbfs:/, /Volumes/ files: python files, jars, wheels). The cluster is left
// out, since that is what predictions change. Workspace notebooks (/Users/...) are not objects the agent can
// read: their path is part of the digest, their content is not (a git_source commit or branch is).
import { createHash } from 'node:crypto';
import { canonicalObjectUrl } from './fingerprint.js';

const OBJECT_URL = /^((s3a?|s3n|file):\/\/[^\s'"]+|dbfs:\/[^\s'"]+|\/Volumes\/[^\s'"]+)$/;
/** Task fields that say where the task runs, not what it runs. */
const CLUSTER_KEYS = new Set(['new_cluster', 'job_cluster_key', 'existing_cluster_id', 'compute_key', 'environment_key']);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What each task runs: the task without its cluster fields, keys sorted (so key order is not a change). */
function taskCode(job: Record<string, unknown> | undefined): unknown[] {
  const tasks = Array.isArray(job?.tasks) ? job.tasks.filter(isRecord) : [];
  return tasks.map((t) => sorted(Object.fromEntries(Object.entries(t).filter(([k]) => !CLUSTER_KEYS.has(k)))));
}

function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (!isRecord(v)) return v;
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted(v[k])]));
}

/** Every code object (s3://, dbfs:/, /Volumes/, file://) a job's tasks and libraries name, in order, once each. */
export function databricksReferencedObjects(job: Record<string, unknown> | undefined): string[] {
  const out: string[] = [];
  const visit = (v: unknown): void => {
    if (typeof v === 'string') {
      // A parameter like --py-files=s3://a/b.zip,s3://a/c.zip carries several.
      for (const part of v.split(/[=,]/)) {
        if (OBJECT_URL.test(part)) {
          const url = canonicalObjectUrl(part);
          if (!out.includes(url)) out.push(url);
        }
      }
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (isRecord(v)) Object.values(v).forEach(visit);
  };
  visit(taskCode(job));
  return out;
}

/** The fingerprint of a Databricks job's code: SHA-256 over its tasks (clusters left out), git_source and each referenced object's ETag. */
export function databricksFingerprintOf(job: Record<string, unknown> | undefined, etags: Readonly<Record<string, string>>): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(taskCode(job)));
  h.update('\n');
  h.update(JSON.stringify(sorted(job?.git_source ?? null)));
  h.update('\n');
  for (const url of databricksReferencedObjects(job)) h.update(`${url} ${etags[url] ?? 'missing'}\n`);
  return `sha256:${h.digest('hex').slice(0, 32)}`;
}
