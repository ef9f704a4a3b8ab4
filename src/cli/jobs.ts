import { isatty } from 'node:tty';
import { JobReader } from '../jobs/job-reader';
import { SACCT_FORMAT } from '../jobs/sacct-header';
import { toStderr } from '../io/fd';
import { DEFAULT_MAX_LINE } from '../lines/line-window';
import { Diagnostics } from './diagnostics';
import { EXIT_FATAL, EXIT_OK, EXIT_REJECTED } from './exit-codes';
import { clusterName, newProgram, nonNegativeInt, parseArgs, positiveInt, timeZone } from './program';
import { filterToStdout } from './stdout-filter';
import { Progress, summaryLine } from './progress';
import { runCli } from './run';

const PROGRAM = 'lmod-jobs';
/** Bytes read at a time. */
const READ_CHUNK = 64 * 1024;

interface Options {
  cluster?: string;
  tz?: string;
  maxErrors?: number;
  maxLine: number;
  quiet: boolean;
}

function command() {
  return newProgram(PROGRAM, "Turn Slurm's accounting (sacct --parsable2) into NDJSON job records, one per job.", [
    `sacct --allusers --allocations --parsable2 --starttime=2026-12-04 --endtime=2026-12-05 --format=${SACCT_FORMAT} | lmod-jobs | lmod-load`,
    'lmod-jobs --cluster hpc1 --tz UTC sacct-2026-12-*.txt.gz > jobs.ndjson',
    "lmod-jobs sacct.txt | jq -c 'select(.gpus > 0)'",
  ])
    .argument('[files...]', 'sacct --parsable2 output, each with its header, read in order; - or none for stdin; .gz detected by content')
    .option('--cluster <name>', 'cluster of rows without a Cluster column or value', clusterName)
    .option('--tz <zone>', "zone sacct printed Start and End in: UTC, +02:00 or an IANA name; default: this machine's", timeZone)
    .option('--max-errors <n>', 'stop with exit 2 after more than N malformed lines', nonNegativeInt)
    .option('--max-line <bytes>', 'longer lines are reported and skipped', positiveInt, DEFAULT_MAX_LINE)
    .option('-q, --quiet', 'no closing summary', false);
}

async function run(argv: string[]): Promise<number> {
  const program = command();
  await parseArgs(program, argv);
  const options = program.opts<Options>();
  const diagnostics = new Diagnostics(PROGRAM, options.maxErrors, toStderr);
  const reader = new JobReader({
    tz: options.tz,
    cluster: options.cluster,
    maxLength: options.maxLine,
    onMalformed: (source, line, reason, text) => diagnostics.reject(source, line, reason, text),
    onBadHeader: (source, line, lacks) => diagnostics.message(`${source}:${line}: header lacks ${lacks}`),
  });
  const progress = new Progress(PROGRAM, () => reader.counts.lines, 'lines', !options.quiet && isatty(2));
  const failedInputs = await filterToStdout(program.args, reader, READ_CHUNK, diagnostics, progress);
  const { lines, jobs, steps, skipped, malformed, badHeaders } = reader.counts;
  if (!options.quiet) {
    const counts: [string, number][] = [
      ['lines', lines],
      ['jobs', jobs],
      ['steps', steps],
      ['skipped', skipped],
      ['malformed', malformed],
    ];
    toStderr(summaryLine(PROGRAM, counts, progress.seconds(), ['lines', lines]));
  }
  // A header without a needed field loses its input's rows, as an unreadable file does.
  if (failedInputs > 0 || badHeaders > 0) return EXIT_FATAL;
  return malformed > 0 ? EXIT_REJECTED : EXIT_OK;
}

export function main(): void {
  runCli(PROGRAM, run, { ownsStdout: true });
}
