import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { run as analyze } from '../../../src/cli/commands/analyze.js';
import { run as simulate } from '../../../src/cli/commands/simulate.js';
import { memoryIo } from '../../../src/cli/io.js';

const log = fileURLToPath(new URL('../../fixtures/eventlogs/apache-spark/application_1506645932520_24630151', import.meta.url));

test('analyze --json carries replay.simulatedMs: the estimate at the observed configuration', async () => {
  const io = memoryIo();
  assert.is(await analyze([log, '--json'], io), 0, io.stderr.join('\n'));
  const out = JSON.parse(io.stdout.join('\n')) as { durationMs: number; maxConcurrentExecutors: number; replay: { simulatedMs: number; baselineMs: number } };
  // Observed duration, from the log's own ApplicationStart/End lines.
  let start = 0;
  let end = 0;
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (line.includes('"SparkListenerApplicationStart"')) start = JSON.parse(line).Timestamp as number;
    if (line.includes('"SparkListenerApplicationEnd"')) end = JSON.parse(line).Timestamp as number;
  }
  const observed = end - start;
  assert.ok(Math.abs(out.replay.simulatedMs - observed) / observed < 0.05, `${out.replay.simulatedMs} vs ${observed}`);
  // The same figure `simulate` gives at the observed 7 executors x 1 core.
  const sim = memoryIo();
  assert.is(await simulate([log, '--executors', String(out.maxConcurrentExecutors), '--cores', '1', '--json'], sim), 0);
  assert.is((JSON.parse(sim.stdout.join('\n')) as { estimatedMs: number }).estimatedMs, out.replay.simulatedMs);
});

test.run();
