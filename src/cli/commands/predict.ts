// `sync-agent predict EVENTLOG [--cluster-report FILE] [--history FILE] [--json]`: recommends a
// cluster per preference from one run's event log (offline; a Sparklens-style report, but for cost).
// `sync-agent predict --history FILE [--json]`: the same from earlier runs alone (CSV or JSON rows
// of instanceType, nodes, runtimeSeconds), printing every candidate and the three solutions.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadApplicationModel } from '../../adapters/eventlog-source.js';
import { loadCatalog } from '../../adapters/prediction/catalog-file.js';
import { SyncError } from '../../domain/errors.js';
import { coldStartConfiguration, coldStartTable, JOB_TYPES, type ColdStart, type ColdStartRow, type JobType } from '../../domain/cold-start.js';
import type { Catalog } from '../../domain/prediction/catalog.js';
import type { HistoryRun } from '../../domain/prediction/history.js';
import { predictFromHistory, predictFromModel } from '../../domain/prediction/predict.js';
import type { PredictionOutcome, PredictOptions } from '../../domain/prediction/predict.js';
import { buildReplayPlan } from '../../domain/prediction/plan.js';
import { simulateBaselinePlan, simulatePlan } from '../../domain/prediction/simulator.js';
import type { Config } from '../../config/types.js';
import type { ClusterReport, ObjectStore } from '../../domain/ports.js';
import { PREFERENCES } from '../../domain/types.js';
import { parseCommand } from '../args.js';
import { syncErrorExit, type CliIo } from '../io.js';

const USAGE = [
  'usage: sync-agent predict EVENTLOG [--cluster-report FILE] [--history FILE] [--json]',
  '       sync-agent predict --history FILE [--instance-type T] [--json]',
  'options: --spot  --max-cost USD (performance ceiling)  --max-runtime SECONDS (economy ceiling)',
  '         --families m5,r5,...  --x86-only  --all (list every candidate)  --config PATH',
  '         --margin FRACTION (a recommendation must beat the current cluster by this much; default 0.1)',
  '       sync-agent predict --declared-input SIZE --job-type sql|python|ml [--json]   (cold start: a guess from the table)',
].join('\n');

const SIZE = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|TiB|KB|MB|GB|TB)?$/i;
const UNITS: Record<string, number> = { b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12 };

/** A size in bytes from '500GiB', '2 TiB', '1e9' or '1073741824'. */
export function parseSize(text: string): number | undefined {
  const m = SIZE.exec(text.trim());
  if (m) return Math.round(Number(m[1]) * UNITS[(m[2] ?? 'b').toLowerCase()]!);
  const n = Number(text);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** The cold-start guess in words: marked as a guess, with the configuration and why. */
export function formatColdStart(c: ColdStart): string {
  return [
    'GUESS (cold start: no event log, no history; a prediction replaces it once a run is recorded)',
    `  cluster      ${c.nodes} x ${c.instanceType}`,
    ...Object.entries(c.sparkProperties).map(([k, v]) => `  ${k}=${v}`),
    `  why          ${c.explanation}`,
  ].join('\n');
}

/**
 * Parses a history file: CSV with a header (instanceType,nodes,runtimeSeconds) or JSON rows; optional
 * columns vcpu, memoryGib and usdPerHour describe and price a type the catalog lacks.
 */
export function parseHistory(text: string, source: string, defaultInstanceType?: string): HistoryRun[] {
  const rows: Record<string, unknown>[] = [];
  const trimmed = text.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let doc: unknown;
    try {
      doc = JSON.parse(trimmed);
    } catch (e) {
      throw new SyncError('invalid_request', `${source}: not valid JSON (${(e as Error).message})`);
    }
    const list = Array.isArray(doc) ? doc : (doc as { runs?: unknown }).runs;
    if (!Array.isArray(list)) throw new SyncError('invalid_request', `${source}: expected an array of runs or {"runs": [...]}`);
    for (const r of list) rows.push(typeof r === 'object' && r !== null ? (r as Record<string, unknown>) : {});
  } else {
    const lines = trimmed.split(/\r?\n/).filter((l) => l.trim().length > 0);
    const header = (lines[0] ?? '').split(',').map((h) => h.trim());
    for (const line of lines.slice(1)) {
      const cells = line.split(',').map((c) => c.trim());
      rows.push(Object.fromEntries(header.map((h, i) => [h, cells[i]])));
    }
  }
  const key = (r: Record<string, unknown>, names: string[]) => {
    for (const [k, v] of Object.entries(r)) if (names.includes(k.toLowerCase().replace(/[_\s-]/g, ''))) return v;
    return undefined;
  };
  return rows.map((r, i) => {
    const where = `${source} row ${i + 1}`;
    const instanceType = key(r, ['instancetype', 'type']) ?? defaultInstanceType;
    const nodes = Number(key(r, ['nodes', 'instancecount', 'count']));
    const runtimeSeconds = Number(key(r, ['runtimeseconds', 'runtime', 'seconds']));
    if (typeof instanceType !== 'string' || instanceType.length === 0) throw new SyncError('invalid_request', `${where}: instanceType is missing (or pass --instance-type)`);
    if (!Number.isFinite(nodes) || nodes <= 0) throw new SyncError('invalid_request', `${where}: nodes must be a positive number`);
    if (!Number.isFinite(runtimeSeconds) || runtimeSeconds <= 0) throw new SyncError('invalid_request', `${where}: runtimeSeconds must be a positive number`);
    const run: HistoryRun = { instanceType, nodes, runtimeSeconds };
    const optional = (names: string[], field: 'vcpu' | 'memoryGib' | 'usdPerHour') => {
      const v = key(r, names);
      if (v === undefined || v === '') return;
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new SyncError('invalid_request', `${where}: ${field} must be a positive number`);
      run[field] = n;
    };
    optional(['vcpu', 'vcpus'], 'vcpu');
    optional(['memorygib', 'memory', 'memgib'], 'memoryGib');
    optional(['usdperhour', 'priceperhour', 'hourlyprice', 'price'], 'usdPerHour');
    return run;
  });
}

async function siteCatalog(io: CliIo, configPath: string | undefined): Promise<{ catalog: Catalog; objectStoreFor: (url: string) => Promise<ObjectStore | undefined> }> {
  let predictions = {};
  let config: Config | undefined;
  try {
    const { loadConfig } = await import('../../config/load-config.js');
    config = await loadConfig({ ...(configPath ? { configPath } : {}), cwd: io.cwd, env: io.env, allowDefaults: true });
    predictions = config.site.predictions;
  } catch (e) {
    if (configPath) throw e;
    io.err(`sync-agent predict: configuration not read (${(e as Error).message}); using the shipped instance catalog`);
  }
  return {
    catalog: loadCatalog(predictions),
    objectStoreFor: async (url) => {
      if (!/^s3a?:\/\//.test(url) || !config) return undefined;
      const [{ createAwsClients }, { createS3ObjectStore }] = await Promise.all([import('../../adapters/aws-clients.js'), import('../../adapters/s3-object-store.js')]);
      const aws = config.site.aws;
      const { s3 } = createAwsClients({ region: aws.region, endpoints: aws.endpoints, s3ForcePathStyle: aws.s3ForcePathStyle });
      return createS3ObjectStore({ client: s3 });
    },
  };
}

/** site.predictions.coldStart from the configuration, when one is found (else the documented table). */
async function siteColdStart(io: CliIo, configPath: string | undefined): Promise<ColdStartRow[] | undefined> {
  try {
    const { loadConfig } = await import('../../config/load-config.js');
    return (await loadConfig({ ...(configPath ? { configPath } : {}), cwd: io.cwd, env: io.env, allowDefaults: true })).site.predictions.coldStart;
  } catch (e) {
    if (configPath) throw e;
    return undefined;
  }
}

function money(x: number): string {
  return `$${x < 1 ? x.toFixed(4) : x.toFixed(2)}`;
}

/** The human-readable form of an outcome. */
export function formatOutcome(o: PredictionOutcome, options: { all?: boolean; replay?: { observedMs: number; simulatedMs: number; baselineMs: number } } = {}): string {
  const lines: string[] = [];
  const where = o.basis.description ?? `${o.basis.nodes} x ${o.basis.instanceType}`;
  if (options.replay) {
    const r = options.replay;
    const err = (x: number) => {
      if (!(r.observedMs > 0)) return 'no observed duration to compare';
      const pct = ((x - r.observedMs) / r.observedMs) * 100;
      return `${pct > 0 ? '+' : ''}${pct.toFixed(1)}%`;
    };
    lines.push(
      `observed     ${(r.observedMs / 1000).toFixed(1)} s on ${where}, ${money(o.basis.costUsd)}`,
      `replayed     ${(r.simulatedMs / 1000).toFixed(1)} s (${err(r.simulatedMs)}); baseline simulation ${(r.baselineMs / 1000).toFixed(1)} s (${err(r.baselineMs)})`,
    );
  } else {
    lines.push(`basis        ${o.basis.runtimeSeconds.toFixed(1)} s on ${where}, ${money(o.basis.costUsd)}`);
  }
  lines.push(`candidates   ${o.candidates.length} evaluated; estimates from the ${o.source === 'blend' ? 'simulator blended with the scaling curve' : o.source === 'history' ? 'scaling curve of earlier runs' : 'simulator'}`, '');
  // Sparklens-style what-if: the basis instance type at each node count evaluated; the basis row is
  // the current configuration itself (the replay of the observed run, its executor layout included).
  const sameType = o.candidates
    .filter((c) => c.instanceType === o.basis.instanceType)
    .sort((a, b) => a.nodes - b.nodes || Number(b.current ?? false) - Number(a.current ?? false) || Number(b.userSizing) - Number(a.userSizing));
  if (!options.all && sameType.length > 0) {
    lines.push(`on ${o.basis.instanceType}:  nodes  executors x cores   runtime       cost`);
    const seen = new Set<number>();
    for (const c of sameType) {
      if (seen.has(c.nodes)) continue;
      seen.add(c.nodes);
      lines.push(`${' '.repeat(o.basis.instanceType.length + 5)}${String(c.nodes).padStart(5)}  ${`${c.executors} x ${c.executorCores}`.padStart(16)}  ${c.runtimeSeconds.toFixed(1).padStart(7)} s  ${money(c.costUsd).padStart(9)}${c.current ? '  (basis: current cluster)' : ''}`);
    }
    lines.push('');
  }
  const shown = options.all ? [...o.candidates].sort((a, b) => a.runtimeSeconds - b.runtimeSeconds) : undefined;
  if (shown) {
    const high = shown.some((c) => c.runtimeHighSeconds !== undefined);
    lines.push(`  instanceType     nodes   runtimeSeconds    costUsd${high ? '   upper runtime (uncertainty)' : ''}`);
    for (const c of shown) {
      const h = c.runtimeHighSeconds !== undefined ? `  ${c.runtimeHighSeconds.toFixed(1).padStart(12)} (+${Math.round((c.runtimeHighSeconds / c.runtimeSeconds - 1) * 100)}%)` : '';
      lines.push(`  ${c.instanceType.padEnd(15)} ${String(c.nodes).padStart(6)} ${c.runtimeSeconds.toFixed(1).padStart(16)} ${c.costUsd.toFixed(4).padStart(10)}${h}${c.current ? '  (current)' : ''}`);
    }
    lines.push('');
  }
  for (const pref of PREFERENCES) {
    const s = o.solutions[pref];
    lines.push(`${pref.padEnd(12)} ${s.estimate.runtimeSeconds.toFixed(1)} s, ${money(s.estimate.costUsd)}  ${s.explanation}`);
    for (const e of s.evidence ?? []) lines.push(`${' '.repeat(13)}evidence: ${e}`);
  }
  const advice = o.settings;
  if (advice && (advice.settings.length > 0 || advice.unchanged.length > 0)) {
    const used = new Set(PREFERENCES.flatMap((p) => (o.solutions[p].settings ?? []).map((x) => x.key)));
    lines.push('', 'Spark settings (from the event log\'s evidence)');
    for (const x of advice.settings) lines.push(`  ${x.key}=${x.value}${used.has(x.key) ? '' : ' (no recommended configuration needed it)'}: ${x.evidence}`);
    for (const x of advice.unchanged) lines.push(`  ${x.key} ${x.value === '(unset)' ? 'left unset' : `left at ${x.value}`}: ${x.evidence}`);
  }
  if (o.warnings.length > 0) lines.push('', 'warnings', ...o.warnings.map((w) => `  - ${w}`));
  return lines.join('\n');
}

/** Runs `predict`; exit 0 on success, 1 when an input cannot be used, 2 on bad usage. */
export async function run(argv: string[], io: CliIo, deps: { objectStore?: ObjectStore; catalog?: Catalog } = {}): Promise<number> {
  const args = parseCommand(argv, io, USAGE, {
    json: { type: 'boolean' },
    'cluster-report': { type: 'string' },
    history: { type: 'string' },
    'instance-type': { type: 'string' },
    spot: { type: 'boolean' },
    'max-cost': { type: 'string' },
    'max-runtime': { type: 'string' },
    families: { type: 'string' },
    'x86-only': { type: 'boolean' },
    all: { type: 'boolean' },
    config: { type: 'string' },
    margin: { type: 'string' },
    'declared-input': { type: 'string' },
    'job-type': { type: 'string' },
  });
  if ('exit' in args) return args.exit;
  const { values, positionals } = args;
  const target = positionals[0];
  const maxCost = values['max-cost'] === undefined ? undefined : Number(values['max-cost']);
  const maxRuntime = values['max-runtime'] === undefined ? undefined : Number(values['max-runtime']);
  const margin = values.margin === undefined ? undefined : Number(values.margin);
  if (margin !== undefined && !(margin >= 0 && margin < 1)) {
    io.err(`sync-agent predict: --margin must be a fraction in [0, 1), got '${values.margin}'`);
    return 2;
  }
  if (values['declared-input'] !== undefined || values['job-type'] !== undefined) {
    const declared = values['declared-input'];
    const jobType = values['job-type'];
    const bytes = declared === undefined ? undefined : parseSize(declared);
    // Each mistake in its own words: the flag missing, the size or the job type that is not one.
    const problem =
      target || values.history
        ? 'a cold start (--declared-input, --job-type) takes no event log or history: it is the guess for a job without them'
        : declared === undefined
          ? `--job-type needs --declared-input SIZE (e.g. 200GiB), the input the job reads`
          : bytes === undefined
            ? `--declared-input must be a size such as 200GiB, 1.5TiB or 500MB (units B, KiB, MiB, GiB, TiB, KB, MB, GB, TB), got '${declared}'`
            : jobType === undefined
              ? `--declared-input needs --job-type (${JOB_TYPES.join(', ')})`
              : !(JOB_TYPES as readonly string[]).includes(jobType)
                ? `--job-type must be one of ${JOB_TYPES.join(', ')}, got '${jobType}'`
                : undefined;
    if (problem !== undefined || bytes === undefined) {
      io.err(`sync-agent predict: ${problem ?? '--declared-input is missing'}\n${USAGE}`);
      return 2;
    }
    try {
      const rows = await siteColdStart(io, values.config);
      const guess = coldStartConfiguration({ inputBytes: bytes, type: jobType as JobType }, coldStartTable(rows));
      io.out(values.json ? JSON.stringify({ coldStart: guess }, (_, v: unknown) => (v === Infinity ? null : v), 2) : formatColdStart(guess));
      return 0;
    } catch (e) {
      return syncErrorExit(io, 'predict', e);
    }
  }
  if (maxCost !== undefined && !(maxCost > 0)) {
    io.err(`sync-agent predict: --max-cost must be a positive number of US dollars, got '${values['max-cost']}'\n${USAGE}`);
    return 2;
  }
  if (maxRuntime !== undefined && !(maxRuntime > 0)) {
    io.err(`sync-agent predict: --max-runtime must be a positive number of seconds, got '${values['max-runtime']}'\n${USAGE}`);
    return 2;
  }
  if (positionals.length > 1 || (!target && !values.history)) {
    io.err(USAGE);
    return 2;
  }
  try {
    const site = deps.catalog ? undefined : await siteCatalog(io, values.config);
    const catalog = deps.catalog ?? site!.catalog;
    const history = values.history
      ? parseHistory(await readFile(resolve(io.cwd, values.history), 'utf8').catch((e: Error) => Promise.reject(new SyncError('not_found', `history file ${values.history}: ${e.message}`))), values.history, values['instance-type'])
      : undefined;
    const options: PredictOptions = { catalog };
    if (values.spot) options.spot = true;
    if (margin !== undefined) options.margin = margin;
    if (values['x86-only']) options.x86Only = true;
    if (values.families) {
      options.include = values.families.split(',').map((f) => f.trim()).filter(Boolean);
      // A family or type the catalog lacks would silently leave nothing to choose from but the current cluster.
      const unknown = options.include.filter((f) => !catalog.instances.some((i) => i.family === f || i.instanceType === f));
      if (unknown.length > 0) {
        io.err(`sync-agent predict: --families: ${unknown.map((f) => `'${f}'`).join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not a family or instance type in the catalog (e.g. m5, r6g, c7g.2xlarge)`);
        return 2;
      }
    }
    if (maxCost !== undefined || maxRuntime !== undefined) {
      options.preferenceCeilings = {
        ...(maxCost !== undefined ? { performanceMaxCostUsd: maxCost } : {}),
        ...(maxRuntime !== undefined ? { economyMaxRuntimeSeconds: maxRuntime } : {}),
      };
    }
    if (!target) {
      const outcome = predictFromHistory(history!, options);
      if (values.json) {
        io.out(JSON.stringify({ basis: outcome.basis, source: outcome.source, solutions: outcome.solutions, candidates: outcome.candidates.map(row), warnings: outcome.warnings }, null, 2));
      } else io.out(formatOutcome(outcome, values.all ? { all: true } : {}));
      return 0;
    }
    let report: ClusterReport | undefined;
    if (values['cluster-report']) {
      const text = await readFile(resolve(io.cwd, values['cluster-report']), 'utf8').catch((e: Error) =>
        Promise.reject(new SyncError('not_found', `cluster report ${values['cluster-report']}: ${e.message}`)),
      );
      try {
        report = JSON.parse(text) as ClusterReport;
      } catch (e) {
        throw new SyncError('invalid_request', `cluster report ${values['cluster-report']}: not valid JSON (${(e as Error).message})`);
      }
    }
    const objectStore = deps.objectStore ?? (await site?.objectStoreFor(target));
    const model = await loadApplicationModel(target, objectStore ? { objectStore } : {});
    const outcome = predictFromModel(model, report, { ...options, ...(history ? { history } : {}) });
    const plan = buildReplayPlan(model);
    const replay = { observedMs: model.durationMs, simulatedMs: Math.round(simulatePlan(plan).estimatedMs), baselineMs: Math.round(simulateBaselinePlan(plan).estimatedMs) };
    if (values.json) {
      io.out(
        JSON.stringify(
          {
            appId: model.appId,
            basis: outcome.basis,
            replay,
            source: outcome.source,
            solutions: outcome.solutions,
            ...(outcome.settings ? { settings: outcome.settings.settings, unchangedSettings: outcome.settings.unchanged } : {}),
            candidates: outcome.candidates.map(row),
            warnings: outcome.warnings,
          },
          null,
          2,
        ),
      );
    } else io.out(formatOutcome(outcome, { replay, ...(values.all ? { all: true } : {}) }));
    return 0;
  } catch (e) {
    return syncErrorExit(io, 'predict', e);
  }
}

function row(c: PredictionOutcome['candidates'][number]) {
  return {
    instanceType: c.instanceType,
    nodes: c.nodes,
    runtimeSeconds: Math.round(c.runtimeSeconds * 10) / 10,
    costUsd: Math.round(c.costUsd * 10000) / 10000,
    executors: c.executors,
    executorCores: c.executorCores,
    source: c.source,
    ...(c.runtimeHighSeconds !== undefined ? { runtimeHighSeconds: Math.round(c.runtimeHighSeconds * 10) / 10 } : {}),
    ...(c.current ? { current: true } : {}),
  };
}
