import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { CliIo } from './io.js';

type Options = NonNullable<ParseArgsConfig['options']>;
type WithHelp<O extends Options> = { args: string[]; allowPositionals: true; options: O & { help: { type: 'boolean'; short: 'h' } } };
/** What parseCommand gives back; spelt out because declaration emit cannot name node:util's internal types. */
export type ParsedCommand<O extends Options> =
  | { readonly exit: 0 | 2 }
  | { values: ReturnType<typeof parseArgs<WithHelp<O>>>['values']; positionals: string[] };

/**
 * Parses a command's arguments (positionals allowed, `--help`/`-h` added). When the command should
 * stop there, returns `{ exit }`: 2 after printing the parse error and usage, 0 after printing usage for --help.
 */
export function parseCommand<O extends Options>(argv: string[], io: CliIo, usage: string, options: O): ParsedCommand<O> {
  let parsed;
  try {
    parsed = parseArgs<WithHelp<O>>({ args: argv, allowPositionals: true, options: { ...options, help: { type: 'boolean', short: 'h' } } });
  } catch (e) {
    io.err(`${(e as Error).message}\n${usage}`);
    return { exit: 2 } as const;
  }
  if ((parsed.values as { help?: boolean }).help) {
    io.out(usage);
    return { exit: 0 } as const;
  }
  return { values: parsed.values, positionals: parsed.positionals };
}
