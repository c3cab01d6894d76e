import { memoryGuard, memoryRunsOf } from '../domain/tuning-policy.js';
import { type Observable, defer, of, switchMap } from 'rxjs';
import { resolveProjectLocation } from '../config/resolve.js';
import { SyncError } from '../domain/errors.js';
import { shortHash } from '../domain/ids.js';
import type { ClusterReport, DatabricksClusterReport } from '../domain/ports.js';
import type { DatabricksCloudCatalog } from '../domain/databricks-cost.js';
import { azureEngineInstances, engineReportOf, toDatabricksPrediction } from '../domain/databricks-prediction.js';
import type { InstanceSpec } from '../domain/prediction/catalog.js';
import { withAccuracySample } from '../domain/prediction-accuracy.js';
import type { PredictionCreateData } from '../domain/requests.js';
import { predictionUrl } from '../domain/run-location.js';
import type { JobFlow, Prediction, ProjectState, Run, Solution } from '../domain/types.js';
import { coldStartConfiguration, coldStartTable, type JobType } from '../domain/cold-start.js';
import { runJobFlowFragment } from '../domain/prediction/fragment.js';
import { bytesInWords } from '../domain/prediction/settings-advice.js';
import type { HandlerContext, HandlerDeps } from './deps.js';
import { requestKeyOf } from './run-start.js';
import { fromAbortable } from './rx.js';
import { updateProjectState } from './update-project.js';
import { eventLogOf, eventLogWarning, isUsableEventLog } from '../domain/eventlog-status.js';
import { structureChanges } from '../domain/plan-fingerprint.js';

/** Most recorded runs used as the project's scaling history. */
export const HISTORY_LIMIT = 30;

/** The prediction id for a request key: a retried request computes (and finds) the same prediction. */
export function derivePredictionId(projectId: string, requestKey: string): string {
  return `p-${shortHash(`${projectId}\u0000prediction\u0000${requestKey}`, 24)}`;
}

/** A run a prediction can stand on: recorded, with a readable event log (complete or unfinished) and a cluster report. */
export function isPredictable(run: Run): run is Run & { eventLogUrl: string; reportUrl: string } {
  const log = eventLogOf(run);
  return run.status === 'recorded' && run.eventLogUrl !== undefined && run.reportUrl !== undefined && log !== undefined && isUsableEventLog(log.status);
}

/** Why a run cannot be a prediction's basis (undefined when it can). */
export function unpredictableBecause(run: Run): string | undefined {
  if (isPredictable(run)) return undefined;
  if (run.status !== 'recorded') return `is ${run.status}, not recorded`;
  const log = eventLogOf(run);
  if (log && log.status === 'missing') return `has no event log (${log.reason ?? 'none was found when it was recorded'})`;
  return 'was recorded without a readable event log';
}

/**
 * The basis run: the one named, else the latest predictable run; a clear error naming the run and why
 * otherwise. `warnings`: the basis's event log is unfinished, or newer recorded runs were passed over.
 */
export function chooseBasisRun(state: ProjectState, runId: string | undefined): { run: Run & { eventLogUrl: string; reportUrl: string }; warnings: string[] } {
  const projectId = state.project.id;
  const withLogWarning = (run: Run & { eventLogUrl: string; reportUrl: string }, warnings: string[]) => {
    const w = eventLogOf(run)?.status === 'unfinished' ? eventLogWarning(run) : undefined;
    return { run, warnings: w === undefined ? warnings : [...warnings, w] };
  };
  if (runId !== undefined) {
    const run = state.runs.find((r) => r.id === runId);
    if (!run) throw new SyncError('not_found', `project '${projectId}' has no run '${runId}'`);
    if (!isPredictable(run)) throw new SyncError('invalid_request', `run '${runId}' of project '${projectId}' ${unpredictableBecause(run) ?? ''}, so no prediction can be based on it`);
    return withLogWarning(run, []);
  }
  const recorded = state.runs.filter((r) => r.status === 'recorded');
  const latest = [...recorded].reverse().find(isPredictable);
  const newest = recorded[recorded.length - 1];
  if (!latest) {
    if (newest) throw new SyncError('not_found', `project '${projectId}' has no recorded run with an event log: its latest recorded run '${newest.id}' ${unpredictableBecause(newest) ?? ''}`);
    throw new SyncError('not_found', `project '${projectId}' has no recorded run with an event log yet: start a run and let it be recorded first`);
  }
  const skipped = recorded.slice(recorded.indexOf(latest) + 1);
  const warnings = skipped.length > 0 ? [`based on run '${latest.id}': the ${skipped.length} newer recorded run(s) (${skipped.map((r) => `'${r.id}' ${unpredictableBecause(r) ?? ''}`).join('; ')}) cannot be predicted from`] : [];
  return withLogWarning(latest, warnings);
}

/** Earlier recorded runs with known hardware and runtime, for the engine's scaling curve (oldest first). */
export function historyOf(state: ProjectState): { runId: string; instanceType: string; nodes: number; runtimeSeconds: number }[] {
  return state.runs
    .filter((r) => r.status === 'recorded' && r.runtimeSeconds !== undefined && r.cluster?.instanceType && r.cluster.nodes !== undefined)
    .slice(-HISTORY_LIMIT)
    .map((r) => ({ runId: r.id, instanceType: r.cluster!.instanceType!, nodes: r.cluster!.nodes!, runtimeSeconds: r.runtimeSeconds!, ...(r.structure ? { structure: r.structure.fingerprint } : {}) }));
}

async function createPrediction(data: PredictionCreateData, deps: HandlerDeps, ctx: HandlerContext, signal: AbortSignal): Promise<Prediction> {
  const opts = { signal };
  if (!deps.predictions) throw new SyncError('unsupported', 'no prediction backend is configured (site.predictions.backend)');
  const loaded = await deps.state.get(data.projectId, opts);
  if (!loaded) throw new SyncError('not_found', `project '${data.projectId}' does not exist`);
  const state = loaded.value;
  const location = resolveProjectLocation({ project: state.project, config: deps.config });
  const predictionId = derivePredictionId(state.project.id, requestKeyOf(ctx));
  const url = predictionUrl(location, state.project.id, predictionId);

  // A replay of the same request answers the prediction it already made.
  if (state.predictions.some((p) => p.id === predictionId)) return JSON.parse((await deps.objects.get(url, opts)).body.toString('utf8')) as Prediction;

  // Cold start: no run with an event log yet, and the project declares its input.
  const declared = state.project.policy?.declaredInput;
  if (declared && data.runId === undefined && !state.runs.some(isPredictable)) {
    const prediction = coldStartPrediction(state, declared, deps, predictionId, deps.clock.now());
    await deps.objects.put(url, `${JSON.stringify(prediction, null, 2)}\n`, { ...opts, contentType: 'application/json' });
    await updateProjectState(
      deps.state,
      state.project.id,
      (s) => (s.predictions.some((p) => p.id === predictionId) ? undefined : { ...s, predictions: [...s.predictions, { id: predictionId, url, basisRunId: '', createdAt: prediction.createdAt }] }),
      opts,
    );
    deps.logger.info('cold-start prediction created', { projectId: state.project.id, predictionId, requestId: ctx.requestId });
    return prediction;
  }
  const { run: basis, warnings: basisWarnings } = chooseBasisRun(state, data.runId);
  let report: ClusterReport;
  try {
    report = JSON.parse((await deps.objects.get(basis.reportUrl, opts)).body.toString('utf8')) as ClusterReport;
  } catch (e) {
    if (e instanceof SyncError) throw e;
    throw new SyncError('corrupt_data', `the cluster report ${basis.reportUrl} is not valid JSON`, { cause: e });
  }
  const fixedShape = poolShapeOf(state, basis);
  if (fixedShape && deps.predictions.name !== 'local') {
    throw new SyncError('unsupported', `predictions for pooled project '${state.project.id}' need the local engine (site.predictions.backend 'local'): only it recommends settings within the pool's cluster shape`, { retryable: false });
  }
  const databricks = state.project.platform === 'databricks' ? databricksInputs(deps, report as unknown as DatabricksClusterReport) : undefined;
  if (databricks) report = databricks.engineReport;
  const predicted = await deps.predictions.predict(
    {
      projectId: state.project.id,
      basisRunId: basis.id,
      eventLogUrl: basis.eventLogUrl,
      report,
      history: historyOf(state).filter((h) => h.runId !== basis.id),
      predictionId,
      createdAt: deps.clock.now(),
      ...(state.project.policy?.compellingSaving !== undefined ? { margin: state.project.policy.compellingSaving } : {}),
      ...(state.project.policy?.pinned !== undefined ? { pinned: state.project.policy.pinned } : {}),
      ...memoryFloorOf(state),
      ...previousStructureOf(state, basis.id),
      ...(databricks ? { include: databricks.instances?.map((n) => n.instanceType) ?? databricks.catalog.nodeTypes.map((n) => n.nodeTypeId) } : {}),
      ...(databricks?.instances ? { instances: databricks.instances } : {}),
      ...(fixedShape ? { fixedShape } : {}),
    },
    opts,
  );
  const previous = previousStructureOf(state, basis.id).previousStructure;
  const planChange =
    previous && predicted.basisStructure && previous.structure.fingerprint !== predicted.basisStructure.fingerprint
      ? { since: previous.runId, changes: structureChanges(previous.structure, predicted.basisStructure) }
      : undefined;
  const merged: Prediction = basisWarnings.length > 0 ? { ...predicted, warnings: [...basisWarnings, ...(predicted.warnings ?? [])] } : predicted;
  const prediction = databricks ? toDatabricksPrediction(merged, databricks) : merged;
  await deps.objects.put(url, `${JSON.stringify(prediction, null, 2)}\n`, { ...opts, contentType: 'application/json' });
  await updateProjectState(
    deps.state,
    state.project.id,
    (s) => {
      if (s.predictions.some((p) => p.id === predictionId)) return undefined;
      // The basis run as the engine measured it: the "actual" to compare its own estimate with.
      const runs = s.runs.map((r) =>
        r.id === basis.id
          ? {
              ...r,
              observed: { runtimeSeconds: prediction.basis.runtimeSeconds, costUsd: prediction.basis.costUsd },
              ...(prediction.basisInputBytes !== undefined ? { inputBytes: prediction.basisInputBytes } : {}),
              ...(prediction.basisPeakHeapMb !== undefined ? { peakHeapMb: prediction.basisPeakHeapMb } : {}),
              ...(prediction.basisStructure !== undefined ? { structure: prediction.basisStructure } : {}),
              ...(planChange ? { planChange } : {}),
            }
          : r,
      );
      // If the basis run applied a prediction, its predicted vs actual joins the project's error window.
      const measured = runs.find((r) => r.id === basis.id);
      const accuracy = measured ? withAccuracySample(s.accuracy, measured) : s.accuracy;
      return { ...s, runs, predictions: [...s.predictions, { id: predictionId, url, basisRunId: basis.id, createdAt: prediction.createdAt }], ...(accuracy ? { accuracy } : {}) };
    },
    opts,
  );
  deps.logger.info('prediction created', { projectId: state.project.id, predictionId, basisRunId: basis.id, backend: deps.predictions.name, requestId: ctx.requestId });
  return prediction;
}

/**
 * A pooled project's cluster shape (its basis run's pool cluster), for predictions within it; only the
 * local engine restricts itself to a shape, so another backend is refused for pooled projects.
 */
function poolShapeOf(state: ProjectState, basis: Run): { instanceType: string; nodes: number } | undefined {
  if (state.project.pool === undefined && basis.pool === undefined) return undefined;
  if (!basis.cluster?.instanceType || basis.cluster.nodes === undefined) {
    throw new SyncError('corrupt_data', `pooled run ${basis.id} has no recorded cluster shape to predict within`, { retryable: false });
  }
  return { instanceType: basis.cluster.instanceType, nodes: basis.cluster.nodes };
}

// A Databricks report as the engine reads it, and what re-pricing its answer needs.
function databricksInputs(deps: HandlerDeps, report: DatabricksClusterReport): { report: DatabricksClusterReport; engineReport: ClusterReport; catalog: DatabricksCloudCatalog; vmPrice: (t: string, spot: boolean) => number | undefined; instances?: InstanceSpec[] } {
  if (!deps.databricksCatalog) throw new SyncError('invalid_config', 'Databricks predictions need site.databricks (its cost catalog)');
  const catalog = deps.databricksCatalog;
  const vm = deps.vmPrice;
  const base = { report, engineReport: engineReportOf(report), catalog, vmPrice: (t: string, spot: boolean) => vm?.(t, spot, report.Cloud) };
  if (report.Cloud !== 'azure') return base;
  // Azure: the engine gets the workspace's Standard_* node types (VM + DBU prices) as its only candidates.
  if (deps.predictions?.name !== 'local') throw new SyncError('unsupported', `predictions for Azure Databricks need the local prediction backend (site.predictions.backend is '${deps.predictions?.name ?? 'none'}')`);
  const shape = engineReportOf(report).InstanceGroups?.map((g) => String(g.InstanceType)) ?? [];
  const instances = azureEngineInstances(catalog, report.Cluster.runtime_engine === 'PHOTON', catalog.defaultPlan, shape);
  if (instances.length === 0) throw new SyncError('invalid_config', 'the Azure Databricks catalog has no CPU node type with a VM price to recommend');
  return { ...base, instances };
}

/**
 * prediction.create: recommends a configuration per preference from a recorded run (the latest
 * unless one is named) and saves it at `{location}/{projectId}/predictions/{id}.json`.
 */
export function predictionCreate(data: PredictionCreateData, deps: HandlerDeps, ctx: HandlerContext): Observable<Prediction> {
  return defer(() => of(data)).pipe(switchMap((d) => fromAbortable((signal) => createPrediction(d, deps, ctx, signal), ctx.signal)));
}

/** The project's memory floor for the engine ({} when no run says anything about memory). */
function memoryFloorOf(state: ProjectState): { memoryFloorMb?: number } {
  const floor = memoryGuard(memoryRunsOf(state)).floorMb;
  return floor > 0 ? { memoryFloorMb: floor } : {};
}

/** The structure of the latest run before the basis whose log was read ({} when none). */
function previousStructureOf(state: ProjectState, basisRunId: string): { previousStructure?: { runId: string; structure: NonNullable<Run['structure']> } } {
  const i = state.runs.findIndex((r) => r.id === basisRunId);
  const prev = state.runs.slice(0, i < 0 ? state.runs.length : i).reverse().find((r) => r.structure !== undefined);
  return prev?.structure ? { previousStructure: { runId: prev.id, structure: prev.structure } } : {};
}

/**
 * The cold-start table's guess for a project with no run with an event log (src/domain/cold-start.ts,
 * overridable with site.predictions.coldStart): one configuration for every preference, marked as a guess,
 * with no estimate. Keys the project pinned are never written.
 */
export function coldStartPrediction(state: ProjectState, declared: { bytes: number; type: JobType }, deps: Pick<HandlerDeps, 'config'>, predictionId: string, now: Date): Prediction {
  const project = state.project;
  const c = coldStartConfiguration({ inputBytes: declared.bytes, type: declared.type }, coldStartTable(deps.config.site.predictions.coldStart));
  const pinned = project.policy?.pinned ?? [];
  const props = Object.fromEntries(Object.entries(c.sparkProperties).filter(([k]) => !pinned.includes(k)));
  let configuration: JobFlow;
  if (project.platform === 'databricks') {
    if (deps.config.site.databricks?.cloud === 'azure') throw new SyncError('unsupported', 'the cold-start table names AWS instance types: no cold start for Azure Databricks yet');
    configuration = { node_type_id: c.instanceType, num_workers: c.nodes, ...(Object.keys(props).length > 0 ? { spark_conf: props } : {}) } as JobFlow;
  } else {
    const instances = (project.jobFlow?.Instances ?? {}) as { InstanceGroups?: { InstanceRole?: string; InstanceGroupType?: string; InstanceType?: string }[]; InstanceFleets?: unknown[] };
    const master = instances.InstanceGroups?.find((g) => (g.InstanceRole ?? g.InstanceGroupType) === 'MASTER')?.InstanceType ?? c.instanceType;
    configuration = runJobFlowFragment({ instanceType: c.instanceType, nodes: c.nodes, masterInstanceType: master, collection: instances.InstanceFleets ? 'fleets' : 'groups', spot: false, sparkProperties: props, pinned });
  }
  const explanation = `GUESS (cold start, no estimate): ${c.explanation}`;
  const evidence = [
    `no run of this project has an event log yet, so nothing was measured: the cold-start table's row for ${declared.type} jobs reading up to ${Number.isFinite(c.maxInputBytes) ? bytesInWords(c.maxInputBytes) : 'any size'} (declared: ${bytesInWords(declared.bytes)}; table overridable with site.predictions.coldStart)`,
    ...Object.entries(props).map(([k, v]) => `${k}=${v}: the table's value for that row`),
  ];
  const solution: Solution = { configuration, estimate: { runtimeSeconds: 0, costUsd: 0 }, source: 'cold-start', guess: true, explanation, evidence };
  return {
    predictionId,
    projectId: project.id,
    basisRunId: '',
    createdAt: now.toISOString(),
    solutions: { performance: solution, balanced: solution, economy: solution },
    basis: { runtimeSeconds: 0, costUsd: 0 },
    coldStart: { guess: true, inputBytes: declared.bytes, type: declared.type, explanation },
    warnings: ['a guess from the declared input (policy.declaredInput), not a prediction: it has no estimate, and a prediction replaces it once a run is recorded with its event log'],
  };
}
