import type { Observable } from 'rxjs';
import { SyncError, toSyncError } from '../domain/errors.js';
import type { RequestName } from '../domain/requests.js';
import { validateRequest } from '../queues/validate-request.js';
import type { HandlerContext, HandlerDeps } from './deps.js';
import { projectCreate } from './project-create.js';
import { projectIterate } from './project-iterate.js';
import { projectUpdate } from './project-update.js';
import { runRecord } from './run-record.js';
import { predictionApply } from './prediction-apply.js';
import { predictionCreate } from './prediction-create.js';
import { runStart } from './run-start.js';
import { runStep } from './run-step.js';
import { runLogs } from './run-logs.js';
import { runCancel } from './run-cancel.js';
import { poolCreate, poolDelete, poolResize } from './pools.js';

type AnyHandler = (data: never, deps: HandlerDeps, ctx: HandlerContext) => Observable<unknown>;


/** The handler of each request name. */
export const HANDLERS: Readonly<Record<RequestName, AnyHandler>> = {
  'project.create': projectCreate,
  'project.update': projectUpdate,
  'run.start': runStart,
  'run.record': runRecord,
  'prediction.create': predictionCreate,
  'prediction.apply': predictionApply,
  'project.iterate': projectIterate,
  'run.step': runStep,
  'run.logs': runLogs,
  'run.cancel': runCancel,
  'pool.create': poolCreate,
  'pool.resize': poolResize,
  'pool.delete': poolDelete,
};

/**
 * Makes the function the queue workers call: validates `{ name, data }` against the request schema,
 * runs the named handler, and resolves with its one result. Aborting `ctx.signal` unsubscribes the
 * pipeline (cancelling its in-flight calls) and rejects with SyncError 'aborted'. Every rejection is a SyncError.
 */
export function createDispatcher(
  deps: HandlerDeps,
  handlers: Readonly<Record<RequestName, AnyHandler>> = HANDLERS,
): (name: string, data: unknown, ctx: HandlerContext) => Promise<unknown> {
  return (name, data, ctx) =>
    new Promise<unknown>((resolve, reject) => {
      let request;
      let source: Observable<unknown>;
      try {
        request = validateRequest(ctx.idempotencyKey === undefined ? { name, data } : { name, data, idempotencyKey: ctx.idempotencyKey });
        if (ctx.signal.aborted) throw new SyncError('aborted', `${name} was cancelled before it started`);
        source = handlers[request.name](request.data as never, deps, ctx);
      } catch (e) {
        reject(toSyncError(e));
        return;
      }
      let settled = false;
      let last: { value: unknown } | undefined;
      const onAbort = (): void => {
        if (settled) return;
        settled = true;
        subscription.unsubscribe();
        reject(new SyncError('aborted', `${name} was cancelled`));
      };
      const subscription = source.subscribe({
        next: (v) => (last = { value: v }),
        error: (e: unknown) => {
          if (settled) return;
          settled = true;
          ctx.signal.removeEventListener('abort', onAbort);
          reject(toSyncError(e));
        },
        complete: () => {
          if (settled) return;
          settled = true;
          ctx.signal.removeEventListener('abort', onAbort);
          if (last) resolve(last.value);
          else reject(new SyncError('internal', `${name} finished without a result`));
        },
      });
      if (!settled) ctx.signal.addEventListener('abort', onAbort, { once: true });
    });
}
