// The 'local' prediction backend: reads the basis run's event log and runs the built-in engine.
import type { CallOptions, Logger, ObjectStore, PredictionBackend, PredictionInput } from '../../domain/ports.js';
import type { Prediction } from '../../domain/types.js';
import type { Catalog } from '../../domain/prediction/catalog.js';
import type { ApplicationModel } from '../../domain/eventlog/model.js';
import type { PredictOptions } from '../../domain/prediction/predict.js';
import { loadApplicationModel } from '../eventlog-source.js';
import type { EventLogDeps } from '../eventlog-source.js';
import { silentLogger } from '../logger.js';
import { loadCatalog } from './catalog-file.js';
import { predictInWorker } from './engine-thread.js';

export type LocalBackendDeps = {
  objectStore?: ObjectStore;
  /** Default: the shipped catalog without overrides (pass loadCatalog(config.site.predictions)). */
  catalog?: Catalog;
  logger?: Logger;
  /** Extra engine options (ceilings, spot, candidate filters). */
  options?: Omit<PredictOptions, 'catalog' | 'history'>;
  /** Reads and models an event log (default loadApplicationModel; tests pass models built in memory). */
  loadModel?: (eventLogUrl: string, deps: EventLogDeps) => Promise<ApplicationModel>;
};

/**
 * A PredictionBackend that runs the built-in engine on the basis run's event log: the log is read
 * and modelled here (streamed, in batches), the engine runs in a worker thread (engine-thread.ts),
 * which the call's abort signal terminates.
 */
export function createLocalPredictionBackend(deps: LocalBackendDeps = {}): PredictionBackend {
  const log = (deps.logger ?? silentLogger).child({ backend: 'local' });
  return {
    name: 'local',
    async predict(input: PredictionInput, options: CallOptions = {}): Promise<Prediction> {
      const catalog = deps.catalog ?? loadCatalog();
      const loadDeps = { ...(deps.objectStore ? { objectStore: deps.objectStore } : {}), ...(options.signal ? { signal: options.signal } : {}) };
      const model = await (deps.loadModel ?? loadApplicationModel)(input.eventLogUrl, loadDeps);
      const started = Date.now();
      const outcome = await predictInWorker(
        model,
        input.report,
        {
          ...deps.options,
          catalog,
          history: input.history.map((h) => ({ instanceType: h.instanceType, nodes: h.nodes, runtimeSeconds: h.runtimeSeconds })),
        },
        options.signal,
      );
      log.info('prediction computed', {
        projectId: input.projectId,
        predictionId: input.predictionId,
        candidates: outcome.candidates.length,
        source: outcome.source,
        ms: Date.now() - started,
      });
      const prediction: Prediction = {
        predictionId: input.predictionId,
        projectId: input.projectId,
        basisRunId: input.basisRunId,
        createdAt: input.createdAt.toISOString(),
        solutions: outcome.solutions,
        basis: { runtimeSeconds: outcome.basis.runtimeSeconds, costUsd: outcome.basis.costUsd },
        candidates: outcome.candidates.length,
      };
      if (outcome.warnings.length > 0) prediction.warnings = outcome.warnings;
      return prediction;
    },
  };
}
