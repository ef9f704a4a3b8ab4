import { existsSync, readFileSync } from 'node:fs';
import { isatty } from 'node:tty';
import { type Command, InvalidArgumentError } from 'commander';
import { describeDb, resolveDbConfig, type DbConfig, DbConfigError } from '../db/config';
import { openClient } from '../db/client';
import { ddl, migrate } from '../db/migrate';
import { type OpenedStore, openStore } from '../db/open-store';
import { prune, PRUNE_BATCH, pruneCounts } from '../db/prune';
import { isoTime, parseTimeBound } from '../report/period';
import { Loader, type LoadFailure, LogFileInput } from '../load/loader';
import { summariesCurrent } from '../report/summaries';
import { summarize } from '../report/summarize';
import { DEFAULT_RETRY, isTransient, type RetryOptions } from '../db/retry';
import { describeInputError, feedInputs, inputNames } from '../io/input';
import { MAX_RECORD_LINE } from '../lines/line-window';
import { Diagnostics } from './diagnostics';
import { CliError, EXIT_FATAL, EXIT_OK, EXIT_REJECTED, EXIT_SIGINT, EXIT_SIGTERM } from './exit-codes';
import { clusterName, newProgram, nonNegativeInt, parseArgs, positiveInt, positiveNumber } from './program';
import { Progress, summaryLine } from './progress';
import { runCli } from './run';

const PROGRAM = 'lmod-load';
/** Chosen with bench/30-load.bench.ts (BENCH_LOAD_SWEEP=1): docs/performance.md. */
const DEFAULT_BATCH_ROWS = 5000;
const DEFAULT_IN_FLIGHT = 2;
/** A live log reaches the database within about this many seconds; a bulk load fills its batches long before. */
const DEFAULT_FLUSH_SECONDS = 2;

/** Node runs a timer of more than 2^31 ms after 1 ms instead: a day is the longest interval taken. */
function flushSeconds(value: string): number {
  const seconds = positiveNumber(value);
  if (seconds > 86_400) throw new InvalidArgumentError('expected a number of seconds from 0.001 to 86400');
  return seconds;
}
/** Bytes read at a time. */
const READ_CHUNK = 64 * 1024;

interface LoadOptions {
  db?: string;
  envFile?: string;
  batchSize: number;
  batchBytes?: number;
  inFlight: number;
  retries: number;
  maxErrors?: number;
  quiet?: boolean;
  dryRun?: boolean;
  loadData: boolean;
  summarize?: boolean;
  cluster?: string;
  flushInterval: number;
}

function dbOptions(program: Command): Command {
  return program
    .option(
      '--db <url>',
      'mysql://user@host:port/database[?ssl=true|skip-verify|CA.pem&socket=PATH] or sqlite:PATH (overrides DB_*); ' +
        'give the password in DB_PASS, DB_PASS_FILE or .env (mode 0600), not here, where ps shows it',
    )
    .option('--env-file <path>', 'read DB_* settings from this file instead of ./.env');
}

/** The load, with `migrate` and `summarize` as commander subcommands; the action that ran sets `code`. */
let code = EXIT_OK;

function buildProgram(): Command {
  const program = newProgram(PROGRAM, 'Load NDJSON load records into MySQL (DB_* settings, ./.env or --db) or the SQLite default, idempotently.', [
    'lmod-parse /var/log/lmod/lmod.log | lmod-load',
    'zcat lmod.log-*.gz | lmod-parse | lmod-dedupe | lmod-load --db mysql://lmod@db1/lmod',
    'lmod-load records.ndjson.gz --dry-run',
    'lmod-load migrate            # create or upgrade the schema first (MySQL)',
    'lmod-load migrate --sql      # print the MySQL DDL for a DBA instead',
    'lmod-load summarize          # store the whole-table reports so they answer at once',
    'lmod-load prune --older-than 13mo   # retention: delete loads and jobs older than 13 months',
  ]);
  dbOptions(program)
    .usage(
      `[options] [files...]\n       ${PROGRAM} migrate [--sql] [--db URL] [--env-file PATH]\n       ${PROGRAM} summarize [--db URL] [--env-file PATH]\n       ${PROGRAM} prune --before WHEN|--older-than AGE [--dry-run] [--db URL] [--env-file PATH]`,
    )
    .argument('[files...]', 'NDJSON files (gzip detected), read in order; - or none: stdin')
    .option('-b, --batch-size <rows>', 'records per batch (one transaction each)', positiveInt, DEFAULT_BATCH_ROWS)
    .option('--batch-bytes <bytes>', "bytes per batch statement (default: half the server's max_allowed_packet, at most 2 MiB)", positiveInt)
    .option('-j, --in-flight <n>', 'MySQL batches loaded at the same time', positiveInt, DEFAULT_IN_FLIGHT)
    .option(
      '--retries <n>',
      'retries of a batch after a lost connection, deadlock or lock wait timeout (backoff 0.25 s doubling to 8 s)',
      nonNegativeInt,
      DEFAULT_RETRY.retries,
    )
    .option('--max-errors <n>', 'stop with exit 2 after more than this many rejected records', nonNegativeInt)
    .option('--cluster <name>', 'the cluster of load and job records that name none', clusterName)
    .option(
      '--flush-interval <seconds>',
      'commit what has gathered at least this often, batch full or not (a live log; at most 86400)',
      flushSeconds,
      DEFAULT_FLUSH_SECONDS,
    )
    .option('--no-load-data', 'MySQL: send new rows as multi-row INSERTs even where the server allows LOAD DATA LOCAL')
    .option('--summarize', 'after loading, store the whole-table reports afresh (as `lmod-load summarize`) unless they are current')
    .option('-q, --quiet', 'no summary, no notices')
    .option('-n, --dry-run', 'validate only; do not connect to a database')
    .action(async (files: string[], options: LoadOptions) => {
      // A bare word that is no file is a mistyped subcommand: answered before anything is opened or created.
      if (files.length > 0 && /^[a-z][a-z-]*$/.test(files[0]) && !existsSync(files[0])) {
        // commander's own message and suggestion; the method is public but missing from its typings.
        (program as Command & { unknownCommand(): never }).unknownCommand();
      }
      code = await runLoad(files, options);
    });
  const migrateCommand = program
    .command('migrate')
    .description('Create or upgrade the lmod-tracking schema (MySQL or SQLite); safe to run again.')
    .option('--sql', 'print the MySQL DDL on stdout instead of running it')
    .option('-q, --quiet', 'no notice')
    .action(async (_options, command: Command) => {
      code = await runMigrate(command.optsWithGlobals());
    });
  dbOptions(migrateCommand);
  const summarizeCommand = program
    .command('summarize')
    .description(
      'Store the whole-table reports (lmod-report without filters, or with --userload-only only), computed afresh from every load, so they answer at once until the next load.',
    )
    .option('-q, --quiet', 'no notice')
    .action(async (_options, command: Command) => {
      code = await runSummarize(command.optsWithGlobals());
    });
  dbOptions(summarizeCommand);
  const pruneCommand = program
    .command('prune')
    .description('Delete the loads before a time, and the jobs that ended before it, in short transactions (retention).')
    .option('--before <when>', 'a date (2025-01-01), a UTC time or a duration before now (400d, 13mo)')
    .option('--older-than <age>', 'an age in days, weeks, calendar months or years: 400d, 52w, 13mo, 1y')
    .option('-b, --batch-size <rows>', 'rows deleted per transaction', positiveInt, PRUNE_BATCH)
    .option('-n, --dry-run', 'count what would be deleted; delete nothing')
    .option('--summarize', 'then store the whole-table reports afresh (as `lmod-load summarize`)')
    .option('-q, --quiet', 'no notice')
    .action(async (_options, command: Command) => {
      code = await runPrune(command.optsWithGlobals());
    });
  dbOptions(pruneCommand);
  return program;
}

export function main(): void {
  runCli(PROGRAM, async (argv) => {
    await parseArgs(buildProgram(), argv);
    return code;
  });
}

function resolveConfig(options: { db?: string; envFile?: string }): DbConfig {
  try {
    return resolveDbConfig({ db: options.db, envFile: options.envFile, warn: (m) => process.stderr.write(`${PROGRAM}: warning: ${m}\n`) });
  } catch (err) {
    throw asFatal(err);
  }
}

/** Configuration and connection problems are one line and exit 2. */
function asFatal(err: unknown): unknown {
  return err instanceof DbConfigError ? new CliError(`${PROGRAM}: ${err.message}`, EXIT_FATAL) : err;
}

async function runMigrate(options: { db?: string; envFile?: string; sql?: boolean; quiet?: boolean }): Promise<number> {
  if (options.sql) {
    process.stdout.write(ddl('mysql'));
    return EXIT_OK;
  }
  const config = resolveConfig(options);
  const client = await openClient(config).catch((err) => Promise.reject(asFatal(err)));
  try {
    const notify = (message: string): void => {
      if (!options.quiet) process.stderr.write(`${PROGRAM}: ${client.description}: ${message}\n`);
    };
    const before = await migrate(client, { notify });
    const latest = before.latest;
    notify(before.pending.length === 0 ? `schema is up to date (v${latest})` : `schema migrated from v${before.current} to v${latest}`);
  } finally {
    await client.close();
  }
  return EXIT_OK;
}

async function runSummarize(options: { db?: string; envFile?: string; quiet?: boolean }): Promise<number> {
  const opened = await openStore(resolveConfig(options), 1).catch((err) => Promise.reject(asFatal(err)));
  try {
    await summarizeInto(opened, options.quiet === true);
  } finally {
    await opened.client.close();
  }
  return EXIT_OK;
}

interface PruneOptions {
  db?: string;
  envFile?: string;
  before?: string;
  olderThan?: string;
  batchSize: number;
  dryRun?: boolean;
  summarize?: boolean;
  quiet?: boolean;
}

/** `lmod-load prune`: one cutoff, the counts on stderr; with --summarize the summaries are stored afresh after it. */
async function runPrune(options: PruneOptions): Promise<number> {
  const given = [options.before, options.olderThan].filter((v) => v !== undefined);
  if (given.length !== 1) throw new CliError(`${PROGRAM}: prune needs one of --before WHEN or --older-than AGE (see lmod-load prune --help)`, EXIT_FATAL);
  const text = given[0] as string;
  // An age is days, weeks, months or years: `13m` (minutes) would delete nearly everything.
  const cutoff = options.olderThan !== undefined && !/^[1-9]\d*(?:d|w|mo|y)$/.test(text) ? null : parseTimeBound(text, new Date());
  if (cutoff === null) {
    const flag = options.before !== undefined ? '--before' : '--older-than';
    throw new CliError(`${PROGRAM}: ${flag} ${JSON.stringify(text)}: expected a date like 2025-01-01 or an age like 13mo, 400d, 52w or 1y`, EXIT_FATAL);
  }
  const opened = await openStore(resolveConfig(options), 1).catch((err) => Promise.reject(asFatal(err)));
  const { client } = opened;
  const note = (text: string): void => {
    if (!options.quiet) process.stderr.write(`${PROGRAM}: ${client.description}: ${text}\n`);
  };
  const count = (n: number): string => n.toLocaleString('en-US');
  try {
    if (options.dryRun) {
      const would = await pruneCounts(client, cutoff);
      note(`would prune ${count(would.loads)} loads before ${isoTime(cutoff)} and ${count(would.jobs)} jobs that ended before it`);
      return EXIT_OK;
    }
    const started = process.hrtime.bigint();
    let batches = 0;
    const done = await prune(client, cutoff, options.batchSize, () => batches++);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    note(
      `pruned ${count(done.loads)} loads before ${isoTime(cutoff)} and ${count(done.jobs)} jobs that ended before it ` +
        `in ${count(batches)} transactions, ${seconds.toFixed(2)} s`,
    );
    if (options.summarize === true) await summarizeInto(opened, options.quiet === true, true);
  } finally {
    await client.close();
  }
  return EXIT_OK;
}

/**
 * Stores the summaries afresh, with a notice of how many rows and how long unless quiet. After a load (`onlyIfStale`),
 * summaries that already hold every committed load are left as they are.
 */
async function summarizeInto(opened: OpenedStore, quiet: boolean, onlyIfStale = false): Promise<void> {
  if (onlyIfStale && (await summariesCurrent(opened.client))) {
    if (!quiet) process.stderr.write(`${PROGRAM}: ${opened.client.description}: summaries are up to date\n`);
    return;
  }
  const started = process.hrtime.bigint();
  const rows = await summarize(opened.client);
  if (quiet) return;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const what = Object.entries(rows)
    .map(([table, n]) => `${n.toLocaleString('en-US')} ${table.replace('summary_', '')}`)
    .join(', ');
  process.stderr.write(`${PROGRAM}: ${opened.client.description}: summaries stored (${what} rows) in ${seconds.toFixed(2)} s\n`);
}

/**
 * A terminal on stdin that this process may not read (it runs in the background, as under `timeout`): each read would
 * stop the process again (SIGTTIN), so that even SIGTERM could not end it. Fields 5 and 8 of /proc/self/stat.
 */
function backgroundTerminal(): boolean {
  if (!isatty(0) || !existsSync('/proc/self/stat')) return false;
  const fields = readFileSync('/proc/self/stat', 'utf8')
    .replace(/^.*\) /, '')
    .split(' ');
  return fields[2] !== fields[5];
}

async function runLoad(files: string[], options: LoadOptions): Promise<number> {
  if (inputNames(files).includes('-') && backgroundTerminal()) {
    throw new CliError(`${PROGRAM}: stdin is a terminal this background process may not read: name the input files or pipe them in`, EXIT_FATAL);
  }
  const diagnostics = new Diagnostics(PROGRAM, options.maxErrors);
  let opened: OpenedStore | null = null;
  if (!options.dryRun) {
    const config = resolveConfig(options);
    if (config.dialect === 'sqlite' && config.isDefault && !options.quiet) {
      diagnostics.message(`no MySQL configured (DB_NAME/DB_USER, .env or --db): loading into ${describeDb(config)}`);
    }
    const retry = retryOf(options, diagnostics, 'connecting');
    opened = await openStore(config, options.inFlight, options.loadData, retry).catch((err) => Promise.reject(asFatal(err)));
  }
  try {
    const code = await loadInputs(files, options, diagnostics, opened);
    if (opened !== null && code !== EXIT_FATAL && options.summarize === true) await summarizeInto(opened, options.quiet === true, true);
    return code;
  } finally {
    await opened?.client.close();
  }
}

async function loadInputs(args: string[], options: LoadOptions, diagnostics: Diagnostics, opened: OpenedStore | null): Promise<number> {
  const store = opened?.store ?? null;
  const sink = new Loader({
    store,
    batchRows: options.batchSize,
    batchBytes: Math.min(options.batchBytes ?? Infinity, store?.maxBatchBytes ?? Infinity),
    onReject: (source, line, reason, excerpt) => diagnostics.reject(source, line, reason, excerpt),
    maxLineLength: MAX_RECORD_LINE,
    retry: retryOf(options, diagnostics, 'the batch'),
    cluster: options.cluster ?? null,
  });
  const progress = new Progress(PROGRAM, () => sink.counts.read, 'records', !options.quiet && process.stderr.isTTY === true);
  const flusher = setInterval(() => sink.sendGathered(), options.flushInterval * 1000);
  flusher.unref();
  const signal = awaitSignal();
  let failedInputs = 0;
  let error: unknown;
  const fed = (async () => {
    failedInputs = await feedInputs(inputNames(args), sink, {
      chunkSize: READ_CHUNK,
      blocking: false,
      onInputError: (name, err) => diagnostics.message(`${name}: ${describeInputError(err)}`),
    });
    await sink.finish();
  })().catch((err) => {
    error = err;
  });
  const signalled = await Promise.race([fed.then(() => null), signal.received]);
  signal.dispose();
  clearInterval(flusher);
  if (signalled !== null) sink.stop();
  await sink.settled();
  progress.stop();
  const counts = sink.counts;
  if (!options.quiet || sink.failure !== undefined) {
    const labels: [string, number][] =
      store === null
        ? [
            ['read', counts.read],
            ['valid', counts.inserted],
            ['rejected', counts.rejected],
          ]
        : [
            ['read', counts.read],
            ['new', counts.inserted],
            ['already present', counts.present],
            ['rejected', counts.rejected],
          ];
    if (counts.jobsStored + counts.jobsPresent > 0) labels.push(['jobs stored', counts.jobsStored], ['jobs unchanged', counts.jobsPresent]);
    if (counts.unloaded > 0) labels.push(['not loaded', counts.unloaded]);
    process.stderr.write(summaryLine(PROGRAM, labels, progress.seconds(), ['records', counts.read]));
  }
  if (sink.failure !== undefined) throw failureError(sink.failure, sink, options.retries, opened);
  if (signalled !== null) {
    // The input (stdin most often) may still hold the event loop: leave now that all is committed.
    await opened?.client.close();
    process.exit(signalled);
  }
  if (error instanceof LogFileInput) throw new CliError(`${PROGRAM}: ${error.message}`, EXIT_FATAL);
  if (error !== undefined) throw error;
  // An input that could not be read is an error, as in lmod-parse; rejected lines are not.
  return failedInputs > 0 ? EXIT_FATAL : counts.rejected > 0 ? EXIT_REJECTED : EXIT_OK;
}

/** Exit 2 with what was committed, and the promise that a rerun completes the load. */
function failureError(failure: LoadFailure, sink: Loader, retries: number, opened: OpenedStore | null): CliError {
  if (failure.cause instanceof CliError) return failure.cause;
  const where = opened?.client.description ?? 'the database';
  const after = isTransient(failure.cause) ? ` after ${retries} retries` : '';
  const jobs = sink.counts.jobsStored + sink.counts.jobsPresent;
  return new CliError(
    `${PROGRAM}: ${where}: ${describeDbError(failure.cause)}${after}; ` +
      `${sink.committed.toLocaleString('en-US')} records were committed before it ` +
      `(${sink.counts.inserted.toLocaleString('en-US')} new, ${sink.counts.present.toLocaleString('en-US')} already present` +
      `${jobs > 0 ? `, ${jobs.toLocaleString('en-US')} jobs` : ''}); ` +
      'rerun with the same input to complete the load',
    EXIT_FATAL,
  );
}

/** One retry policy for connecting and for each batch, as --retries sets it. */
function retryOf(options: LoadOptions, diagnostics: Diagnostics, what: string): RetryOptions {
  const onRetry = (err: Error, attempt: number, delay: number): void =>
    diagnostics.message(`${describeDbError(err)}; retrying ${what} in ${(delay / 1000).toFixed(2)} s (retry ${attempt} of ${options.retries})`);
  return { ...DEFAULT_RETRY, retries: options.retries, onRetry };
}

const DB_ERRORS: Record<string, string> = {
  PROTOCOL_CONNECTION_LOST: 'lost the connection to the database',
  ECONNRESET: 'lost the connection to the database',
  EPIPE: 'lost the connection to the database',
  ECONNREFUSED: 'the database refused the connection',
  ER_LOCK_DEADLOCK: 'deadlock with another writer',
  ER_LOCK_WAIT_TIMEOUT: 'lock wait timeout',
};

function describeDbError(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === undefined) return err.message;
  return DB_ERRORS[code] ?? (err.message.includes(code) ? err.message : `${err.message} (${code})`);
}

/** SIGINT/SIGTERM resolve with their exit code; a second signal ends the run at once. */
function awaitSignal(): { received: Promise<number>; dispose(): void } {
  const codes: [NodeJS.Signals, number][] = [
    ['SIGINT', EXIT_SIGINT],
    ['SIGTERM', EXIT_SIGTERM],
  ];
  const handlers = new Map<NodeJS.Signals, () => void>();
  const received = new Promise<number>((resolve) => {
    for (const [name, code] of codes) handlers.set(name, () => resolve(code));
  });
  for (const [name, handler] of handlers) process.once(name, handler);
  return {
    received,
    dispose() {
      for (const [name, code] of codes) {
        process.off(name, handlers.get(name) as () => void);
        process.once(name, () => process.exit(code));
      }
    },
  };
}
