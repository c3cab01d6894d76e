import { parseArgs } from 'node:util';
import { runsTable } from '../format.js';
import type { CliIo } from '../io.js';
import { openState } from '../state-access.js';

/** `sync-agent runs PROJECT_ID`: each run's configuration, runtime, cost, applied prediction, and predicted vs actual. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { config: { type: 'string' }, json: { type: 'boolean', default: false } } });
  const id = positionals[0];
  if (!id || positionals.length > 1) {
    io.err('usage: sync-agent runs PROJECT_ID [--json] [--config PATH]');
    return 2;
  }
  const { state } = await openState(io, values.config);
  const doc = await state.get(id);
  if (!doc) {
    io.err(`no project '${id}'`);
    return 4;
  }
  io.out(values.json ? JSON.stringify(doc.value.runs, null, 2) : runsTable(doc.value));
  return 0;
}
