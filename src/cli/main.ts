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
  runs: 'list the runs of a project: runs PROJECT_ID [--all]',
  cancel: 'cancel a run (its steps, and its cluster): cancel PROJECT_ID RUN_ID [--reason TEXT] [--keep-cluster]',
  logs: "a run's step log: logs PROJECT_ID RUN_ID [--step ID] [--stream stdout|stderr|controller] [--follow]",
  orphans: 'clusters tagged for this tenant that no live run owns: orphans [--json]',
};

/** Each command's own usage, for `sync-agent COMMAND --help` (analyze, predict, simulate and configure print their own). */
const USAGES: Record<string, string> = {
  start: 'usage: sync-agent start [--config PATH]\n  runs the daemon until SIGTERM (graceful) or a second signal (abort); SIGHUP re-reads the configuration',
  demo: [
    'usage: sync-agent demo [--platform emr|databricks] [--iterations N] [--seed N] [--time-scale S] [--keep | --dir DIR] [--ui [--port P]]',
    '  the tuning loop on embedded defaults (private redis-server, file state, simulated EMR, local SQS)',
    '  --platform P    emr (default) or databricks (a simulated Databricks workspace; runs priced as VM + DBU; no --ui)',
    '  --iterations N  runs of the loop (1-20, default 4)     --seed N  the sandbox world (default 42)',
    '  --time-scale S  simulated seconds per real second (default 600)',
    '  --keep          keep the demo folder (state, run data, agent log) and print how to inspect it',
    '  --ui            then keep the dashboard up until Ctrl-C, with a one-time sign-in link (--port P, default a free one)',
  ].join('\n'),
  enqueue:
    'usage: sync-agent enqueue NAME --data JSON|@FILE [--id ID] [--idempotency-key KEY] [--wait [--until started|recorded]] [--timeout SECONDS] [--config PATH]\n  --until recorded  with run.start, prediction.apply or project.iterate: wait until the run it started is recorded (or failed, or cancelled), not merely started',
  status: 'usage: sync-agent status ID [--config PATH]\n  a request\'s result, or where it stands',
  projects: 'usage: sync-agent projects list [--json] | sync-agent projects show ID [--json]   [--config PATH]',
  runs: 'usage: sync-agent runs PROJECT_ID [--all] [--json] [--config PATH]\n  --all  include the runs archived out of the project document',
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return ['usage: sync-agent <command> [options]   (sync-agent <command> --help for its options)', '', ...Object.entries(COMMANDS).map(([c, d]) => `  ${c.padEnd(width)}  ${d}`)].join('\n');
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
  const help = USAGES[command];
  if (help !== undefined && (rest.includes('--help') || rest.includes('-h'))) {
    io.out(help);
    return 0;
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
  try {
    return await mod.run(rest, io);
  } catch (e) {
    // A mistyped option is a usage error (exit 2), said in a sentence with where to look, not Node's code.
    const err = e as { code?: string; message?: string };
    if (typeof err.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS_')) {
      io.err(`sync-agent ${command}: ${(err.message ?? '').split('. To specify')[0]}\n${help ?? `see: sync-agent ${command} --help`}`);
      return 2;
    }
    throw e;
  }
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
      const message = err.message ?? String(e);
      // Node's own errors already start with their code (ENOENT: no such file ...): say it once.
      process.stderr.write(`sync-agent: ${err.code && !message.startsWith(err.code) ? `${err.code}: ` : ''}${message}\n`);
      process.exitCode = 1;
    },
  );
}
