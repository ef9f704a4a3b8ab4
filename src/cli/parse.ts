import { statSync } from 'node:fs';
import { isatty } from 'node:tty';
import { InvalidArgumentError } from 'commander';
import { LogParser } from '../parse/log-parser';
import { toStderr } from '../io/fd';
import { DEFAULT_MAX_LINE } from '../lines/line-window';
import { Diagnostics } from './diagnostics';
import { EXIT_FATAL, EXIT_OK, EXIT_REJECTED } from './exit-codes';
import { clusterName, newProgram, nonNegativeInt, parseArgs, positiveInt, timeZone } from './program';
import { filterToStdout } from './stdout-filter';
import { Progress, summaryLine } from './progress';
import { runCli } from './run';

const PROGRAM = 'lmod-parse';
/** Bytes read at a time, straight into WebAssembly memory. */
const READ_CHUNK = 256 * 1024;

interface Options {
  tag?: RegExp;
  year?: number;
  tz?: string;
  maxErrors?: number;
  maxLine: number;
  withSource: boolean;
  quiet: boolean;
  cluster?: string;
}

function regex(value: string): RegExp {
  try {
    return new RegExp(`^(?:${value})$`);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function command() {
  return newProgram(PROGRAM, 'Turn Lmod module-usage syslog lines into NDJSON load records, one per line.', [
    'lmod-parse /var/log/lmod/lmod.log-*.gz | lmod-dedupe | lmod-load',
    'lmod-parse lmod.log | jq -c \'select(.user=="alice")\'',
    "zcat old.log.gz | lmod-parse --year 2023 --tz Europe/Berlin --tag 'MySite_Tracking' > loads.ndjson",
  ])
    .argument('[files...]', 'syslog files read in order; - or none for stdin; .gz detected by content')
    .option('--tag <regex>', "a site's own syslog tag, in addition to the known ones (whole-tag match)", regex)
    .option('--year <year>', 'year of the first RFC 3164 stamp (`Apr 27 03:22:57`) for lines without time=; default: from the file time', positiveInt)
    .option('--tz <zone>', "zone of RFC 3164 stamps: UTC, +02:00 or an IANA name; default: this machine's", timeZone)
    .option('--cluster <name>', 'the cluster of records whose line names none (cluster=)', clusterName)
    .option('--max-errors <n>', 'stop with exit 2 after more than N malformed lines', nonNegativeInt)
    .option('--max-line <bytes>', 'longer lines are reported and skipped', positiveInt, DEFAULT_MAX_LINE)
    .option('--with-source', 'add "source": "FILE:LINE" to each record', false)
    .option('-q, --quiet', 'no closing summary', false);
}

/** The mtime of a file input bounds the year of its RFC 3164 stamps; stdin: now. */
function referenceTime(source: string): Date {
  if (source === 'stdin') return new Date();
  try {
    return statSync(source).mtime;
  } catch {
    return new Date();
  }
}

async function run(argv: string[]): Promise<number> {
  const program = command();
  await parseArgs(program, argv);
  const options = program.opts<Options>();
  const diagnostics = new Diagnostics(PROGRAM, options.maxErrors, toStderr);
  const parser = new LogParser({
    tag: options.tag,
    year: options.year,
    tz: options.tz,
    withSource: options.withSource,
    cluster: options.cluster ?? null,
    maxLength: options.maxLine,
    referenceTime,
    onMalformed: (source, line, reason, text) => diagnostics.reject(source, line, reason, text),
  });
  const progress = new Progress(PROGRAM, () => parser.counts.lines, 'lines', !options.quiet && isatty(2));
  const failedInputs = await filterToStdout(program.args, parser, READ_CHUNK, diagnostics, progress);
  const { lines, records, skipped, malformed } = parser.counts;
  if (!options.quiet) {
    toStderr(
      summaryLine(
        PROGRAM,
        [
          ['lines', lines],
          ['records', records],
          ['skipped', skipped],
          ['malformed', malformed],
        ],
        progress.seconds(),
        ['lines', lines],
      ),
    );
  }
  if (failedInputs > 0) return EXIT_FATAL;
  return malformed > 0 ? EXIT_REJECTED : EXIT_OK;
}

export function main(): void {
  runCli(PROGRAM, run, { ownsStdout: true });
}
