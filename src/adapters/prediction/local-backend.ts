// The 'local' prediction backend: reads the basis run's event log and runs the built-in engine.
import { storedStructure, structureChanges, structureOf } from '../../domain/plan-fingerprint.js';
import { inputOf } from '../../domain/input-volume.js';
import type { CallOptions, Logger, ObjectStore, PredictionBackend, PredictionInput } from '../../domain/ports.js';
import type { Prediction } from '../../domain/types.js';
import { extendCatalog, type Catalog } from '../../domain/prediction/catalog.js';
import type { ApplicationModel } from '../../domain/eventlog/model.js';
import type { PredictOptions } from '../../domain/prediction/predict.js';
import { loadApplicationModel } from '../eventlog-source.js';
import type { EventLogDeps } from '../eventlog-source.js';
import { silentLogger } from '../logger.js';
import { loadCatalog } from './catalog-file.js';
import { predictInWorker } from './engine-thread.js';
import { solutionsWithinShape } from '../../domain/prediction/pool-shape.js';

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
      const base = deps.catalog ?? loadCatalog();
      // Azure Databricks node types are not EC2 types: the caller passes their specs.
      const catalog = input.instances && input.instances.length > 0 ? extendCatalog(base, input.instances) : base;
      const loadDeps = { ...(deps.objectStore ? { objectStore: deps.objectStore } : {}), ...(options.signal ? { signal: options.signal } : {}) };
      const model = await (deps.loadModel ?? loadApplicationModel)(input.eventLogUrl, loadDeps);
      const started = Date.now();
      // Runs of another structure (a changed query plan or stage DAG) are another learning group.
      const structure = storedStructure(structureOf(model));
      const history = input.history.filter((h) => h.structure === undefined || h.structure === structure.fingerprint);
      const structureWarnings: string[] = [];
      const prev = input.previousStructure;
      if (prev && prev.structure.fingerprint !== structure.fingerprint) {
        structureWarnings.push(
          `the application's structure changed since run ${prev.runId} (${structureChanges(prev.structure, structure).join('; ')}): a new learning group starts, ${input.history.length - history.length} earlier run(s) left out`,
        );
      }
      const outcome = await predictInWorker(
        model,
        input.report,
        {
          ...deps.options,
          ...(input.margin !== undefined ? { margin: input.margin } : {}),
          ...(input.pinned !== undefined ? { pinned: input.pinned } : {}),
          ...(input.memoryFloorMb !== undefined ? { memoryFloorMb: input.memoryFloorMb } : {}),
          ...(input.include ? { include: input.include } : {}),
          // A pooled run pays no cluster start-up: the pool's clusters are already up.
          ...(input.fixedShape ? { include: [input.fixedShape.instanceType], clusterStartupSeconds: 0 } : {}),
          catalog,
          history: history.map((h) => ({ instanceType: h.instanceType, nodes: h.nodes, runtimeSeconds: h.runtimeSeconds })),
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
        solutions: input.fixedShape ? solutionsWithinShape(outcome, input.fixedShape, input.margin) : outcome.solutions,
        basis: { runtimeSeconds: outcome.basis.runtimeSeconds, costUsd: outcome.basis.costUsd },
        candidates: outcome.candidates.length,
        points: candidatePoints(outcome.candidates),
      };
      if (outcome.warnings.length + structureWarnings.length > 0) prediction.warnings = [...structureWarnings, ...outcome.warnings];
      prediction.basisStructure = structure;
      prediction.basisInputBytes = inputOf(model).bytes;
      const peakHeap = Math.max(0, ...model.executors.map((e) => e.peakMemory?.jvmHeapBytes ?? 0));
      if (peakHeap > 0) prediction.basisPeakHeapMb = Math.round(peakHeap / (1024 * 1024));
      // Settings the evidence supported that no chosen solution writes are left as they are too, saying so.
      const used = new Set(Object.values(outcome.solutions).flatMap((sol) => (sol.settings ?? []).map((x) => x.key)));
      const unused = (outcome.settings?.settings ?? [])
        .filter((x) => !used.has(x.key))
        .map((x) => ({ key: x.key, value: model.sparkProperties[x.key] ?? '(unset)', evidence: `would be ${x.value} (${x.evidence}); left as it is: no configuration with it was chosen on the simulator's estimates` }));
      const unchanged = [...(outcome.settings?.unchanged ?? []), ...unused];
      if (unchanged.length > 0) prediction.unchangedSettings = unchanged;
      return prediction;
    },
  };
}

/** At most `max` candidates for the dashboard's plot: every Pareto-optimal one, then an even sample of the rest. */
export function candidatePoints(all: readonly { instanceType: string; nodes: number; runtimeSeconds: number; costUsd: number }[], max = 300): { label: string; runtimeSeconds: number; costUsd: number }[] {
  const usable = all.filter((c) => Number.isFinite(c.runtimeSeconds) && Number.isFinite(c.costUsd));
  const byRuntime = [...usable].sort((a, b) => a.runtimeSeconds - b.runtimeSeconds || a.costUsd - b.costUsd);
  const front = new Set<(typeof usable)[number]>();
  let best = Infinity;
  for (const c of byRuntime) {
    if (c.costUsd < best) {
      front.add(c);
      best = c.costUsd;
    }
  }
  const rest = usable.filter((c) => !front.has(c));
  const room = Math.max(0, max - front.size);
  const step = rest.length > room && room > 0 ? rest.length / room : 1;
  const sample = room === 0 ? [] : rest.length <= room ? rest : Array.from({ length: room }, (_, i) => rest[Math.floor(i * step)]!);
  const round = (n: number, d: number) => Math.round(n * 10 ** d) / 10 ** d;
  return [...front, ...sample].slice(0, max).map((c) => ({ label: `${c.nodes} x ${c.instanceType}`, runtimeSeconds: round(c.runtimeSeconds, 1), costUsd: round(c.costUsd, 4) }));
}
