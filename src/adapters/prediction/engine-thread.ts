// Runs the prediction engine in a worker thread, so that a large event log (the engine is linear in
// tasks: ~0.5 s per 14k) never holds the daemon's event loop, where BullMQ lock renewal, /healthz
// and SQS polling run. A finished worker is kept (unref'd, at most MAX_IDLE) for the next prediction,
// since starting one costs a module load; an abort ends the computation by terminating its thread.
import { Worker } from 'node:worker_threads';
import { SyncError } from '../../domain/errors.js';
import type { ErrorCode } from '../../domain/errors.js';
import type { ApplicationModel } from '../../domain/eventlog/model.js';
import type { ClusterReport } from '../../domain/ports.js';
import type { InstanceSpec } from '../../domain/prediction/catalog.js';
import type { PredictOptions, PredictionOutcome } from '../../domain/prediction/predict.js';

/** Idle workers kept for reuse. */
const MAX_IDLE = 2;
const idle: Worker[] = [];

/** What the worker receives (plain data: structured-cloned into the thread). */
export type EngineJob = {
  model: ApplicationModel;
  report: ClusterReport | undefined;
  instances: readonly InstanceSpec[];
  options: Omit<PredictOptions, 'catalog'>;
};

/** What the worker answers. */
export type EngineReply =
  | { ok: true; outcome: PredictionOutcome }
  | { ok: false; error: { code: ErrorCode; message: string; retryable: boolean; details?: Record<string, unknown> } };

/**
 * Where the worker's module is: beside this one, as `.ts` when running from the sources (dev, tests:
 * the thread registers tsx first, since loader hooks registered in the parent do not reach it) and
 * as `.js` from dist/ in the installed package.
 */
function workerEntry(): { entry: string | URL; eval: boolean } {
  const fromSources = import.meta.url.endsWith('.ts');
  const url = new URL(`./engine-worker.${fromSources ? 'ts' : 'js'}`, import.meta.url);
  if (!fromSources) return { entry: url, eval: false };
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return { entry: code, eval: true };
}

/**
 * predictFromModel in a worker thread. Rejects with SyncError 'aborted' as soon as `signal` aborts
 * (the thread is terminated), with the engine's own SyncError when it throws, and with 'internal'
 * when the thread dies without an answer.
 */
export function predictInWorker(
  model: ApplicationModel,
  report: ClusterReport | undefined,
  options: PredictOptions,
  signal?: AbortSignal,
): Promise<PredictionOutcome> {
  if (signal?.aborted) return Promise.reject(new SyncError('aborted', 'the prediction was aborted before it started'));
  const { catalog, ...rest } = options;
  const job: EngineJob = { model, report, instances: catalog.instances, options: rest };
  const worker = idle.pop() ?? spawn();
  worker.ref();
  return new Promise<PredictionOutcome>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void, keep: boolean) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      worker.removeListener('message', onMessage);
      worker.removeListener('error', onError);
      worker.removeListener('exit', onExit);
      if (keep && idle.length < MAX_IDLE) {
        worker.unref();
        idle.push(worker);
      } else void worker.terminate();
      fn();
    };
    const onAbort = () => settle(() => reject(new SyncError('aborted', 'the prediction was aborted; its worker thread was terminated')), false);
    const onMessage = (reply: EngineReply) =>
      settle(() => {
        if (reply.ok) resolve(reply.outcome);
        else reject(new SyncError(reply.error.code, reply.error.message, { retryable: reply.error.retryable, ...(reply.error.details ? { details: reply.error.details } : {}) }));
      }, true);
    const onError = (e: Error) => settle(() => reject(new SyncError('internal', `the prediction worker failed: ${e.message}`, { cause: e })), false);
    const onExit = (code: number) => settle(() => reject(new SyncError('internal', `the prediction worker exited (code ${code}) without an answer`)), false);
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', onMessage);
    worker.once('error', onError);
    worker.once('exit', onExit);
    worker.postMessage(job);
  });
}

function spawn(): Worker {
  const { entry, eval: isEval } = workerEntry();
  const worker = new Worker(entry, { eval: isEval });
  // An idle worker that dies is dropped from the pool.
  worker.once('exit', () => {
    const i = idle.indexOf(worker);
    if (i >= 0) idle.splice(i, 1);
  });
  return worker;
}

/** Idle threads kept in this process's engine pool (for tests and diagnostics). */
export function idleEngineWorkers(): number {
  return idle.length;
}
