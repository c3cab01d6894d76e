// The eventlog bench's naive baseline: readline + JSON.parse of every line, counting events and tasks.
// One implementation for both of the bench's uses: imported by its child process (timed after module
// loading) and run as a whole process (`node bench/naive-reader.mjs LOG`, Node's start-up included).
// Plain JavaScript, so that the whole process runs without tsx. Types: naive-reader.d.mts.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Events, and SparkListenerTaskEnd events, in the log at `path`: every line through JSON.parse. */
export async function naive(path) {
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let events = 0;
  let tasks = 0;
  for await (const line of rl) {
    if (line.length === 0) continue;
    const e = JSON.parse(line);
    if (e.Event) events++;
    if (e.Event === 'SparkListenerTaskEnd') tasks++;
  }
  return { events, tasks };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(JSON.stringify(await naive(process.argv[2])));
