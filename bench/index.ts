// `npm run bench [-- NAME...]`: runs every bench/*.bench.ts (or the named ones). Each exports
// `run(): Promise<void>` and prints its own figures and its ratio against the baseline it names.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// Benchmarks import the AWS SDK lazily (below): silence its Node-22 notice as the CLI does.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();
if (files.length === 0) {
  console.error(`no benchmarks match ${wanted.join(' ')}`);
  process.exit(2);
}
for (const f of files) {
  console.log(`\n=== ${f.replace('.bench.ts', '')}`);
  const mod = (await import(pathToFileURL(join(here, f)).href)) as { run: () => Promise<void> };
  await mod.run();
}
