import { parseArgs } from 'node:util';
import { mergeRuns } from '../../domain/run-archive.js';
import { runsTable } from '../format.js';
import type { CliIo } from '../io.js';
import { openState } from '../state-access.js';

/** `sync-agent runs PROJECT_ID [--all]`: each run's configuration, runtime, cost, applied prediction, and predicted vs actual. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { config: { type: 'string' }, json: { type: 'boolean', default: false }, all: { type: 'boolean', default: false } } });
  const id = positionals[0];
  if (!id || positionals.length > 1) {
    io.err('usage: sync-agent runs PROJECT_ID [--all] [--json] [--config PATH]');
    return 2;
  }
  const { state } = await openState(io, values.config);
  const doc = await state.get(id);
  if (!doc) {
    io.err(`no project '${id}'`);
    return 4;
  }
  // The document holds the recent runs; older ones are archived beside it, read chunk by chunk with --all.
  let runs = doc.value.runs;
  const archived = doc.value.archive?.runs ?? 0;
  if (values.all && archived > 0 && state.archivedRuns) {
    const chunks = [];
    for await (const chunk of state.archivedRuns(id)) chunks.push(chunk);
    runs = mergeRuns(chunks, runs);
  } else if (archived > 0) {
    io.err(`${archived} older run(s) of '${id}' are archived; --all lists them too`);
  }
  io.out(values.json ? JSON.stringify(runs, null, 2) : runsTable({ ...doc.value, runs }));
  return 0;
}
