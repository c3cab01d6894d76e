#!/usr/bin/env node
// In a developer checkout (src/ present and tsx installed) runs the TypeScript sources through tsx when
// a source is newer than the build, so an edit is never hidden by an older `npm run build`, and the build
// when it is up to date (tsx compiles every module on each start: `analyze` of a 300 MB log took 2.1-2.5 s
// through it against 1.7 s from dist/). An installed package ships only dist/ and runs that.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { buildIsCurrent } from './build-current.js';

// The AWS SDK warns on every start that its releases from 2027 need Node 22; sync-agent pins SDK versions
// that run on Node 20, so the notice is off unless the operator sets this variable to 'false'.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// `sync-agent predict LOG | head` closes the pipe early: the output was wanted only that far, so end quietly
// (exit 0, as other command-line tools do) instead of an unhandled EPIPE stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

// An older Node fails on the code's syntax with a bare "Unexpected token 'with'" (import attributes, 20.10);
// say instead what it needs, from package.json's engines.
const engines = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).engines?.node ?? '';
const wanted = /^>=\s*(\d+)\.(\d+)/.exec(engines);
const [major, minor] = process.versions.node.split('.').map(Number);
if (wanted && (major < Number(wanted[1]) || (major === Number(wanted[1]) && minor < Number(wanted[2])))) {
  process.stderr.write(`sync-agent needs Node ${engines}; this is Node ${process.versions.node}\n`);
  process.exit(1);
}

const source = join(root, 'src', 'cli', 'main.ts');
const compiled = join(root, 'dist', 'cli', 'main.js');

/** The tsx loader's URL when it can be resolved from here (a dev install), else undefined. */
function tsxApi() {
  try {
    return import.meta.resolve('tsx/esm/api');
  } catch {
    return undefined;
  }
}

const tsx = existsSync(source) && !buildIsCurrent(root) ? tsxApi() : undefined;
if (tsx) {
  const { register } = await import(tsx);
  register();
  await import(pathToFileURL(source).href);
} else if (existsSync(compiled)) {
  await import(pathToFileURL(compiled).href);
} else {
  process.stderr.write(
    `sync-agent: nothing to run: ${compiled} is missing${existsSync(source) ? ' and tsx is not installed (run `npm ci`, or `npm run build`)' : ' (the package was published without its build)'}\n`,
  );
  process.exitCode = 1;
}
