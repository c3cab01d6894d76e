// The 'local' prediction backend: reads the basis run's event log and runs the built-in engine.
import type { CallOptions, Logger, ObjectStore, PredictionBackend, PredictionInput } from '../../domain/ports.js';
import type { Prediction } from '../../domain/types.js';
import type { Catalog } from '../../domain/prediction/catalog.js';
import { predictFromModel } from '../../domain/prediction/predict.js';
import type { PredictOptions } from '../../domain/prediction/predict.js';
import { loadApplicationModel } from '../eventlog-source.js';
import { silentLogger } from '../logger.js';
import { loadCatalog } from './catalog-file.js';

export type LocalBackendDeps = {
  objectStore?: ObjectStore;
  /** Default: the shipped catalog without overrides (pass loadCatalog(config.site.predictions)). */
  catalog?: Catalog;
  logger?: Logger;
  /** Extra engine options (ceilings, spot, candidate filters). */
  options?: Omit<PredictOptions, 'catalog' | 'history'>;
};

/** A PredictionBackend that runs the built-in engine on the basis run's event log. */
export function createLocalPredictionBackend(deps: LocalBackendDeps = {}): PredictionBackend {
  const log = (deps.logger ?? silentLogger).child({ backend: 'local' });
  return {
    name: 'local',
    async predict(input: PredictionInput, options: CallOptions = {}): Promise<Prediction> {
      const catalog = deps.catalog ?? loadCatalog();
      const loadDeps = { ...(deps.objectStore ? { objectStore: deps.objectStore } : {}), ...(options.signal ? { signal: options.signal } : {}) };
      const model = await loadApplicationModel(input.eventLogUrl, loadDeps);
      const started = Date.now();
      const outcome = predictFromModel(model, input.report, {
        ...deps.options,
        ...(input.margin !== undefined ? { margin: input.margin } : {}),
        catalog,
        history: input.history.map((h) => ({ instanceType: h.instanceType, nodes: h.nodes, runtimeSeconds: h.runtimeSeconds })),
      });
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
