// The sync-agent command line: `sync-agent <command> [args]`. Each command lives in
// src/cli/commands/<command>.ts and exports `run(argv, io): Promise<number>` (the exit code).
import type { CliIo } from './io.js';

const COMMANDS: Record<string, string> = {
  start: 'run the daemon',
  demo: 'run the tuning loop on embedded defaults (no AWS account needed)',
  configure: 'write a starter configuration file',
  enqueue: 'enqueue a request: enqueue NAME --data JSON|@file',
  status: 'show a request by id: status ID',
  analyze: 'summarise a Spark event log: analyze PATH|s3://... [--json]',
  predict: 'recommend configurations: predict EVENTLOG [--cluster-report FILE] | --history FILE [--json]',
  simulate: 'replay an event log on a cluster: simulate EVENTLOG --executors N --cores C [--json]',
  projects: 'list or show projects: projects list | projects show ID',
  runs: 'list the runs of a project: runs PROJECT_ID',
  cancel: 'cancel a run (its steps, and its cluster): cancel PROJECT_ID RUN_ID [--reason TEXT] [--keep-cluster]',
  logs: "a run's step log: logs PROJECT_ID RUN_ID [--step ID] [--stream stdout|stderr|controller] [--follow]",
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return ['usage: sync-agent <command> [options]', '', ...Object.entries(COMMANDS).map(([c, d]) => `  ${c.padEnd(width)}  ${d}`)].join('\n');
}

/** Runs one CLI invocation and returns its exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    io.out(usage());
    return command ? 0 : 2;
  }
  if (!Object.hasOwn(COMMANDS, command)) {
    io.err(`sync-agent: unknown command '${command}'\n\n${usage()}`);
    return 2;
  }
  let mod: { run: (argv: string[], io: CliIo) => Promise<number> };
  try {
    mod = (await import(`./commands/${command}.js`)) as typeof mod;
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes(`commands/${command}`)) {
      io.err(`sync-agent: '${command}' is not available in this build`);
      return 2;
    }
    throw e;
  }
  return mod.run(rest, io);
}

const isEntry = process.argv[1] !== undefined && /(?:^|[/\\])(main\.[jt]s|sync-agent(\.js)?)$/.test(process.argv[1]);
if (isEntry) {
  const { processIo } = await import('./io.js');
  main(process.argv.slice(2), processIo()).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      const err = e as { code?: string; message?: string };
      process.stderr.write(`sync-agent: ${err.code ? `${err.code}: ` : ''}${err.message ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
