import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { zoneConverter } from '../parse/header-time';
import { CliError, EXIT_FATAL, EXIT_OK } from './exit-codes';

// dist/src/cli -> package root eslint-disable-next-line @typescript-eslint/no-require-imports
export const VERSION: string = require('../../../package.json').version;

/**
 * A commander program with the conventions every binary shares: `--version`, an example pipeline in `--help`, and usage
 * errors that end with exit code 2 instead of commander's 1.
 */
export function newProgram(name: string, description: string, examples: string[]): Command {
  return new Command(name)
    .description(description)
    .version(VERSION, '-V, --version')
    .addHelpText('after', `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}\n`)
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      // `lmod-load: unknown option '--x' (Did you mean --db?) (see lmod-load --help)`, as the commands' own errors read.
      outputError: (text, write) =>
        write(
          `${name}: ${text
            .replace(/^error: /, '')
            .trim()
            .replace(/\s*\n\s*/g, ' ')} (see ${name} --help)\n`,
        ),
    });
}

/** Parses argv and runs the action, if any; help and version end the run with 0, anything else wrong with 2. */
export async function parseArgs(program: Command, argv: string[]): Promise<void> {
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      const ok = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help';
      // commander has already printed its message.
      throw new CliError('', ok ? EXIT_OK : EXIT_FATAL);
    }
    throw err;
  }
}

export function nonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number >= 0');
  return Number(value);
}

export function positiveNumber(value: string): number {
  if (!/^(?:\d+(?:\.\d*)?|\.\d+)$/.test(value) || Number(value) === 0) throw new InvalidArgumentError('expected a number > 0');
  return Number(value);
}

export function positiveInt(value: string): number {
  const n = nonNegativeInt(value);
  if (n === 0) throw new InvalidArgumentError('expected a whole number > 0');
  return n;
}

/** A Slurm cluster name as --cluster takes it: what fits the cluster columns and needs no quoting in a log line. */
export function clusterName(value: string): string {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(value)) throw new InvalidArgumentError("expected a cluster name: 1 to 64 letters, digits, '.', '_' or '-'");
  return value;
}

/** A zone as --tz takes it: UTC, +02:00 or an IANA name. */
export function timeZone(value: string): string {
  try {
    zoneConverter(value);
  } catch {
    throw new InvalidArgumentError(`unknown time zone '${value}'`);
  }
  return value;
}
