// The prediction engine's worker thread: runs predictFromModel for each job posted to it, off the
// daemon's event loop, and posts the outcome (or the error) back. Started by engine-thread.ts.
import { parentPort } from 'node:worker_threads';
import { toSyncError } from '../../domain/errors.js';
import type { Catalog, InstanceSpec } from '../../domain/prediction/catalog.js';
import { predictFromModel } from '../../domain/prediction/predict.js';
import type { EngineJob, EngineReply } from './engine-thread.js';

/** A Catalog over instance specs already priced by the parent (a Catalog's lookup cannot cross threads). */
function catalogOf(instances: readonly InstanceSpec[]): Catalog {
  const byType = new Map(instances.map((s) => [s.instanceType, s]));
  return { instances, get: (t) => byType.get(t) };
}

parentPort?.on('message', (job: EngineJob) => {
  let reply: EngineReply;
  try {
    reply = { ok: true, outcome: predictFromModel(job.model, job.report, { ...job.options, catalog: catalogOf(job.instances) }) };
  } catch (e) {
    const err = toSyncError(e);
    reply = { ok: false, error: { code: err.code, message: err.message, retryable: err.retryable, ...(err.details ? { details: err.details } : {}) } };
  }
  parentPort?.postMessage(reply);
});
