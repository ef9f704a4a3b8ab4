import { isatty } from 'node:tty';
import { InvalidArgumentError, Option } from 'commander';
import { DEFAULT_KEY } from '../dedupe/key-spec';
import { durationSeconds } from '../time/duration';
import { PERIODS } from '../time/record-time';
import { type DedupeOutput, Deduper } from '../dedupe/deduper';
import { toStderr, writevAll } from '../io/fd';
import { type ByteConsumer, describeInputError, feedInputs, inputNames } from '../io/input';
import { MAX_RECORD_LINE } from '../lines/line-window';
import { Diagnostics } from './diagnostics';
import { CliError, EXIT_FATAL, EXIT_OK, EXIT_REJECTED } from './exit-codes';
import { newProgram, nonNegativeInt, parseArgs } from './program';
import { Progress, summaryLine } from './progress';
import { runCli } from './run';

const PROGRAM = 'lmod-dedupe';
/** Bytes read at a time, straight into the input's window. */
const READ_CHUNK = 64 * 1024;

interface DedupeCliOptions {
  key: string;
  per?: (typeof PERIODS)[number];
  window?: number;
  count?: boolean;
  maxErrors?: number;
  quiet?: boolean;
}

function duration(value: string): number {
  const seconds = durationSeconds(value);
  if (!seconds) throw new InvalidArgumentError('expected a duration such as 90s, 10m, 1h, 2d or 1w');
  return seconds * 1e6;
}

export async function dedupe(argv: string[]): Promise<number> {
  const program = newProgram(PROGRAM, 'Drop NDJSON load records whose key was already seen; keeps the first, byte for byte, in order.', [
    'lmod-parse /var/log/lmod/lmod.log-*.gz | lmod-dedupe | lmod-load',
    'lmod-dedupe --key user,host,module --per day records.ndjson      # Lmod\'s "first load per user per day"',
    'tail -F /var/log/lmod/lmod.log | lmod-parse | lmod-dedupe --window 1h   # endless stream, constant memory',
    'lmod-parse lmod.log | lmod-dedupe --key module --count            # how often was each module loaded',
  ])
    .argument('[files...]', 'NDJSON files (gzip detected), read in order; - or none: stdin')
    .option('-k, --key <fields>', 'comma-separated record fields that identify a record (extra.NAME reaches into extra)', DEFAULT_KEY)
    .addOption(new Option('--per <period>', 'keep the first record per key per UTC hour, day, week (ISO, Monday) or month').choices(PERIODS))
    .option('--window <duration>', 'forget keys whose time is older than the newest time minus this (10m, 1h, 2d); the key must contain time', duration)
    .option('--count', 'instead of records, write one object per key (per --per bucket) with count, first and last time')
    .option('--max-errors <n>', 'stop with exit code 2 after more than N rejected lines', nonNegativeInt)
    .option('-q, --quiet', 'no summary on stderr');
  await parseArgs(program, argv);
  const options = program.opts<DedupeCliOptions>();
  const diagnostics = new Diagnostics(PROGRAM, options.maxErrors, toStderr);

  let deduper: Deduper;
  try {
    deduper = new Deduper({
      key: options.key,
      per: options.per,
      windowMicros: options.window,
      count: options.count,
      maxLength: MAX_RECORD_LINE,
      onReject: (source, line, reason, text) => diagnostics.reject(source, line, reason, text),
      onLate: (source, line, message) => diagnostics.message(`${source}:${line}: ${message}`),
    });
  } catch (err) {
    throw new CliError(`${PROGRAM}: ${(err as Error).message}`, EXIT_FATAL);
  }

  const progress = new Progress(PROGRAM, () => deduper.stats.in, 'records', !options.quiet && isatty(2));
  try {
    const consumer = dedupeToStdout(deduper);
    const failed = await feedInputs(inputNames(program.args), consumer, {
      chunkSize: READ_CHUNK,
      blocking: true,
      onInputError: (name, err) => diagnostics.message(`${name}: ${describeInputError(err)}`),
    });
    consumer.finish();
    progress.stop();
    const { stats } = deduper;
    if (!options.quiet) {
      const counts: [string, number][] = [
        ['records in', stats.in],
        [options.count ? 'keys out' : 'out', stats.out],
      ];
      if (!options.count) counts.push(['dropped as duplicates', stats.duplicates]);
      counts.push(['rejected', stats.rejected]);
      if (stats.late > 0) counts.push([options.count ? 'too late to count' : 'too late to check', stats.late]);
      toStderr(summaryLine(PROGRAM, counts, progress.seconds(), ['records', stats.in]));
    }
    // An input that could not be read is an error, as in lmod-parse; rejected lines are not.
    if (failed > 0) return EXIT_FATAL;
    return stats.rejected > 0 ? EXIT_REJECTED : EXIT_OK;
  } finally {
    progress.stop();
  }
}

/**
 * The Deduper between readSync and writev on stdout: kept records go out as slices of the read buffer, before it is read
 * into again; also the ones kept before a line that stopped the run (--max-errors).
 */
function dedupeToStdout(deduper: Deduper): ByteConsumer & { finish(): void } {
  const out: DedupeOutput = [];
  const step = (work: () => void): void => {
    try {
      work();
    } finally {
      if (out.length > 0)
        writevAll(
          1,
          out.map((piece) => (typeof piece === 'string' ? Buffer.from(piece) : piece)),
        );
      out.length = 0;
    }
  };
  return {
    write: (source, bytes) => step(() => deduper.write(source, bytes, out)),
    read: (source, read, size) => {
      let count = 0;
      step(() => (count = deduper.read(source, read, size, out)));
      return count;
    },
    end: () => step(() => deduper.end(out)),
    flush: () => {},
    finish: () => step(() => deduper.finish(out)),
  };
}

export function main(): void {
  runCli(PROGRAM, dedupe, { ownsStdout: true });
}
