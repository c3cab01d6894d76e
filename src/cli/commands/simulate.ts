// `sync-agent simulate EVENTLOG --executors N --cores C [--instance-type T] [--json]`: replays the
// application on a cluster of N executors x C cores and prints the estimated wall-clock time.
import { loadApplicationModel } from '../../adapters/eventlog-source.js';
import { loadCatalog } from '../../adapters/prediction/catalog-file.js';
import { SyncError } from '../../domain/errors.js';
import type { Catalog } from '../../domain/prediction/catalog.js';
import { executorLayout } from '../../domain/prediction/executor-layout.js';
import { buildReplayPlan } from '../../domain/prediction/plan.js';
import { FALLBACK_INSTANCE_TYPE } from '../../domain/prediction/predict.js';
import { taskScaling } from '../../domain/prediction/scaling.js';
import { observedCluster, simulateBaselinePlan, simulatePlan } from '../../domain/prediction/simulator.js';
import type { SimCluster } from '../../domain/prediction/simulator.js';
import type { ObjectStore } from '../../domain/ports.js';
import { parseCommand } from '../args.js';
import { syncErrorExit, type CliIo } from '../io.js';

const USAGE = 'usage: sync-agent simulate EVENTLOG --executors N --cores C [--instance-type T [--basis-instance-type T0]] [--json]';

/** Runs `simulate`; exit 0 on success, 1 when the log cannot be used, 2 on bad usage. */
export async function run(argv: string[], io: CliIo, deps: { objectStore?: ObjectStore; catalog?: Catalog } = {}): Promise<number> {
  const args = parseCommand(argv, io, USAGE, {
    executors: { type: 'string' },
    cores: { type: 'string' },
    'instance-type': { type: 'string' },
    'basis-instance-type': { type: 'string' },
    json: { type: 'boolean' },
  });
  if ('exit' in args) return args.exit;
  const { values, positionals } = args;
  const executors = Number(values.executors);
  const cores = Number(values.cores);
  const target = positionals[0];
  for (const [flag, n] of [['executors', executors], ['cores', cores]] as const) {
    if (values[flag] !== undefined && (!Number.isInteger(n) || n < 1)) {
      io.err(`sync-agent simulate: --${flag} must be a whole number >= 1, got '${values[flag]}'\n${USAGE}`);
      return 2;
    }
  }
  if (!target || positionals.length > 1 || !Number.isInteger(executors) || executors < 1 || !Number.isInteger(cores) || cores < 1) {
    io.err(USAGE);
    return 2;
  }
  try {
    const model = await loadApplicationModel(target, deps.objectStore ? { objectStore: deps.objectStore } : {});
    const plan = buildReplayPlan(model);
    const cluster: SimCluster = { executors, cores };
    const notes: string[] = [];
    if (values['instance-type']) {
      const catalog = deps.catalog ?? loadCatalog();
      const spec = catalog.get(values['instance-type']);
      const basisType = values['basis-instance-type'] ?? FALLBACK_INSTANCE_TYPE;
      const basis = catalog.get(basisType);
      if (!spec) throw new SyncError('invalid_request', `instance type '${values['instance-type']}' is not in the instance catalog`);
      if (!basis) throw new SyncError('invalid_request', `instance type '${basisType}' is not in the instance catalog`);
      if (!values['basis-instance-type']) notes.push(`the observed run is assumed to have used ${basisType} (set --basis-instance-type)`);
      const obs = observedCluster(plan);
      const slots = Math.max(1, Math.floor(obs.cores / plan.taskCpus));
      const basisMem = model.settings.executorMemoryMb !== undefined ? model.settings.executorMemoryMb / slots : executorLayout(basis, { executorCores: obs.cores }).memoryPerTaskMb;
      const layout = executorLayout(spec, { executorCores: cores });
      const nodes = Math.max(1, Math.ceil(executors / Math.max(1, layout.executorsPerNode)));
      const basisNodes = Math.max(1, Math.ceil(obs.executors / Math.max(1, executorLayout(basis, { executorCores: obs.cores }).executorsPerNode)));
      cluster.scaling = taskScaling({ instance: basis, nodes: basisNodes, memoryPerTaskMb: basisMem }, { instance: spec, nodes, memoryPerTaskMb: layout.memoryPerTaskMb });
    }
    const sim = simulatePlan(plan, cluster);
    const base = simulateBaselinePlan(plan, { executors, cores });
    const result = {
      appId: model.appId,
      executors,
      cores,
      ...(values['instance-type'] ? { instanceType: values['instance-type'] } : {}),
      estimatedMs: Math.round(sim.estimatedMs),
      driverMs: Math.round(sim.driverMs),
      jobMs: Math.round(sim.jobMs),
      baselineMs: Math.round(base.estimatedMs),
      observedMs: model.durationMs,
      observed: observedCluster(plan),
      notes,
    };
    if (values.json) io.out(JSON.stringify(result, null, 2));
    else {
      io.out(
        [
          `estimatedMs  ${result.estimatedMs} (${(result.estimatedMs / 1000).toFixed(1)} s: driver ${(result.driverMs / 1000).toFixed(1)} s + jobs ${(result.jobMs / 1000).toFixed(1)} s) on ${executors} x ${cores} cores${values['instance-type'] ? ` of ${values['instance-type']}` : ''}`,
          `observed     ${result.observedMs} ms on ${result.observed.executors} x ${result.observed.cores}; baseline simulation ${result.baselineMs} ms`,
          ...notes.map((n) => `note         ${n}`),
        ].join('\n'),
      );
    }
    return 0;
  } catch (e) {
    return syncErrorExit(io, 'simulate', e);
  }
}
