import { parseArgs } from 'node:util';
import { accuracyOf, describeAccuracy } from '../../domain/prediction-accuracy.js';
import { describeExploration, explorationSummary, modeOf } from '../../domain/tuning-policy.js';
import { runsTable, table } from '../format.js';
import type { CliIo } from '../io.js';
import { openState } from '../state-access.js';
import type { Prediction } from '../../domain/types.js';
import { PREFERENCES } from '../../domain/types.js';

/** A stored prediction in words: each preference's configuration and estimate, then its evidence, one sentence a line. */
export function describePrediction(p: Prediction): string {
  const when = p.createdAt.replace(/\.\d+Z$/, 'Z');
  const lines = p.coldStart
    ? [`latest prediction ${p.predictionId} (${when}): GUESS — cold start from the declared input, no run with an event log yet, no estimate`]
    : [`latest prediction ${p.predictionId} (from run ${p.basisRunId}, ${when}): basis ${p.basis.runtimeSeconds.toFixed(1)} s, $${p.basis.costUsd.toFixed(2)}`];
  for (const pref of PREFERENCES) {
    const s = p.solutions[pref];
    if (!s) continue;
    const figures = s.guess ? 'guess, no estimate' : `${s.estimate.runtimeSeconds.toFixed(1)} s, $${s.estimate.costUsd.toFixed(2)}`;
    lines.push(`  ${pref.padEnd(12)} ${figures}${s.keep ? ' (keep)' : ''}  ${s.explanation}`);
    const evidence = s.evidence ?? (s.settings ?? []).map((x) => `${x.key}=${x.value}: ${x.evidence}`);
    for (const e of evidence) lines.push(`      evidence: ${e}`);
  }
  for (const x of p.unchangedSettings ?? []) lines.push(`  ${x.key} ${x.value === '(unset)' ? 'left unset' : `left at ${x.value}`}: ${x.evidence}`);
  for (const w of p.warnings ?? []) lines.push(`  note: ${w}`);
  return lines.join('\n');
}

const USAGE = 'usage: sync-agent projects list [--json] | sync-agent projects show ID [--json]   [--config PATH]';

/** `sync-agent projects list|show ID`: the tenant's projects, or one project with its runs, warnings and decisions. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { config: { type: 'string' }, json: { type: 'boolean', default: false } } });
  const [verb, id] = positionals;
  if ((verb !== 'list' && verb !== 'show') || (verb === 'show' && !id) || positionals.length > (verb === 'show' ? 2 : 1)) {
    io.err(USAGE);
    return 2;
  }
  const { state, objects } = await openState(io, values.config);
  if (verb === 'list') {
    const docs = [];
    for (const pid of await state.list()) {
      const doc = await state.get(pid);
      if (doc) docs.push(doc.value);
    }
    if (values.json) {
      io.out(JSON.stringify(docs.map((d) => ({ ...d.project, runs: d.runs.length + (d.archive?.runs ?? 0), predictions: d.predictions.length, warnings: d.status?.warnings ?? [] })), null, 2));
      return 0;
    }
    if (docs.length === 0) {
      io.out('no projects yet (send project.create)');
      return 0;
    }
    const rows = docs.map((d) => {
      const last = d.runs[d.runs.length - 1];
      return [d.project.id, d.project.name, modeOf(d.project), String(d.runs.length + (d.archive?.runs ?? 0)), last ? `${last.status} ${last.createdAt.replace(/\.\d+Z$/, 'Z')}` : '-', (d.status?.warnings.length ?? 0) > 0 ? 'yes' : ''];
    });
    io.out(table(['project', 'name', 'mode', 'runs', 'last run', 'warning'], rows));
    return 0;
  }
  const doc = await state.get(id!);
  if (!doc) {
    io.err(`no project '${id}'`);
    return 4;
  }
  const s = doc.value;
  if (values.json) {
    io.out(JSON.stringify({ ...s, predictionAccuracy: accuracyOf(s), exploration: explorationSummary(s) }, null, 2));
    return 0;
  }
  const p = s.project;
  io.out(`${p.id}: ${p.name} (${p.platform}, mode ${modeOf(p)}${p.preference ? `, prefers ${p.preference}` : ''}${p.policy?.maxRuntimeSeconds ? `, SLA ${p.policy.maxRuntimeSeconds} s` : ''})`);
  for (const w of s.status?.warnings ?? []) io.out(`WARNING: ${w}`);
  io.out(`prediction accuracy: ${describeAccuracy(accuracyOf(s))}`);
  io.out(`exploration: ${describeExploration(explorationSummary(s))}`);
  io.out('');
  io.out(runsTable(s));
  const planChanges = s.runs.filter((r) => r.planChange !== undefined);
  if (planChanges.length > 0) {
    io.out('\nplan changes (each starts a new learning group; runs of the same plan with more data stay in theirs):');
    for (const r of planChanges) io.out(`  run ${r.id}, against run ${r.planChange!.since}: ${r.planChange!.changes.length > 0 ? r.planChange!.changes.join('; ') : 'its structure changed'}`);
  }
  const latest = s.predictions[s.predictions.length - 1];
  if (latest) {
    let prediction: Prediction | undefined;
    try {
      prediction = JSON.parse((await objects.get(latest.url)).body.toString('utf8')) as Prediction;
    } catch (e) {
      io.out(`\nlatest prediction ${latest.id}: not readable at ${latest.url} (${(e as Error).message})`);
    }
    if (prediction) io.out(`\n${describePrediction(prediction)}`);
  }
  const its = s.status?.iterations ?? [];
  if (its.length > 0) {
    io.out('\ndecisions:');
    for (const it of its.slice(-10)) io.out(`  ${it.at.replace(/\.\d+Z$/, 'Z')}  ${it.runId}  ${it.decision}: ${it.reason}`);
  }
  return 0;
}
