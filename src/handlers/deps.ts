import type { Observable } from 'rxjs';
import type { Config } from '../config/types.js';
import type { Catalog } from '../domain/prediction/catalog.js';
import type { DatabricksCloudCatalog } from '../domain/databricks-cost.js';
import type { Clock, DatabricksPlatformPort, Logger, ObjectStore, Platform, PoolStore, PredictionBackend, StateStore } from '../domain/ports.js';

/** The ports every handler gets; nothing else reaches the outside. */
export type HandlerDeps = {
  state: StateStore;
  /** Cluster pools' documents (pool.create); absent: the agent offers no pools. */
  pools?: PoolStore;
  objects: ObjectStore;
  platform: Platform;
  /** The Databricks workspace (site.databricks), for projects with platform 'databricks'. */
  databricks?: DatabricksPlatformPort;
  /** Databricks node types and $/DBU of the workspace's cloud. */
  databricksCatalog?: DatabricksCloudCatalog;
  /** VM $/h of a node type (EC2 on-demand or spot from the instance catalog; Azure from the Databricks catalog). */
  vmPrice?: (nodeType: string, spot: boolean, cloud: 'aws' | 'azure') => number | undefined;
  predictions?: PredictionBackend;
  clock: Clock;
  logger: Logger;
  config: Config;
  /** Instance specs and prices, for the cost of recorded runs. */
  catalog?: Catalog;
};

/**
 * Per-request facts: the request id, its idempotency key, the signal that cancels it, and `requestKey`:
 * what identifies the request for life when it has no idempotency key (set by the queue layer; see
 * `requestKeyOfJob`). Run, prediction and project ids are derived from it, so it must never repeat.
 */
export type HandlerContext = { requestId: string; idempotencyKey?: string; requestKey?: string; signal: AbortSignal };

/** A request handler: one emission (the result) then completion; unsubscribing aborts in-flight calls. */
export type Handler<D, R> = (data: D, deps: HandlerDeps, ctx: HandlerContext) => Observable<R>;
