import { Command } from 'commander';
import { describeDb, resolveDbConfig, DbConfig, DbConfigError } from '../db/config';
import { openClient } from '../db/client';
import { ddl, migrate } from '../db/migrate';
import { OpenedStore, openStore } from '../db/open-store';
import { LoadFailure, LoadSink } from '../load/loader';
import { refreshSummaries } from '../report/summarize';
import { readSummaryState } from '../report/summary-store';
import { DEFAULT_RETRY, isTransient } from '../load/retry';
import { describeInputError, feedInputs } from '../stream/feed';
import { inputNames } from '../stream/input';
import { MAX_RECORD_LINE } from '../stream/lines';
import { Diagnostics } from './diagnostics';
import { CliError, EXIT_FATAL, EXIT_OK, EXIT_REJECTED, EXIT_SIGINT, EXIT_SIGTERM } from './exit-codes';
import { newProgram, nonNegativeInt, parseArgs, positiveInt } from './program';
import { Progress, summaryLine } from './progress';
import { runCli } from './run';

const PROGRAM = 'lmod-load';
/** Measured with bench/30-load.bench.ts: see the README section. */
const DEFAULT_BATCH_ROWS = 5000;
const DEFAULT_IN_FLIGHT = 2;
/** Records may carry a large `extra`; longer lines are reported, not read into memory. */

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
}

function dbOptions(program: Command): Command {
  return program
    .option('--db <url>', 'mysql://user:pass@host:port/database[?ssl=true|skip-verify|CA.pem&socket=PATH] or sqlite:PATH (overrides DB_*)')
    .option('--env-file <path>', 'read DB_* settings from this file instead of ./.env');
}

function loadProgram(): Command {
  const program = newProgram(PROGRAM, 'Load NDJSON load records into MySQL (DB_* settings, ./.env or --db) or the SQLite default, idempotently.', [
    'lmod-parse /var/log/lmod/lmod.log | lmod-load',
    'zcat lmod.log-*.gz | lmod-parse | lmod-dedupe | lmod-load --db mysql://lmod@db1/lmod',
    'lmod-load records.ndjson.gz --dry-run',
    'lmod-load migrate            # create or upgrade the schema first (MySQL)',
    'lmod-load migrate --sql      # print the MySQL DDL for a DBA instead',
    'lmod-load summarize          # store the whole-table reports; later loads keep them current',
  ]);
  return dbOptions(program)
    .argument('[files...]', 'NDJSON files (gzip detected), read in order; - or none: stdin')
    .option('-b, --batch-size <rows>', 'records per batch (one transaction each)', positiveInt, DEFAULT_BATCH_ROWS)
    .option('--batch-bytes <bytes>', "bytes per batch statement (default: half the server's max_allowed_packet, at most 8 MiB)", positiveInt)
    .option('-j, --in-flight <n>', 'MySQL batches loaded at the same time', positiveInt, DEFAULT_IN_FLIGHT)
    .option('--retries <n>', 'retries of a batch after a lost connection, deadlock or lock wait timeout (backoff 0.25 s doubling to 8 s)', nonNegativeInt, DEFAULT_RETRY.retries)
    .option('--max-errors <n>', 'stop with exit 2 after more than this many rejected records', nonNegativeInt)
    .option('--no-load-data', 'MySQL: send new rows as multi-row INSERTs even where the server allows LOAD DATA LOCAL')
    .option('--summarize', 'after loading, bring the whole-table reports up to date as `lmod-load summarize` does, storing them if there are none')
    .option('--no-summarize', 'leave the stored whole-table reports out of date (default: brought up to date when the load added rows)')
    .option('-q, --quiet', 'no summary, no notices')
    .option('-n, --dry-run', 'validate only; do not connect to a database');
}

function migrateProgram(): Command {
  const program = newProgram(`${PROGRAM} migrate`, 'Create or upgrade the lmod-tracking schema (MySQL or SQLite); safe to run again.', [
    'lmod-load migrate',
    'lmod-load migrate --db sqlite:./lmod_tracking.sqlite',
    'lmod-load migrate --sql > lmod-schema.sql && mariadb lmod < lmod-schema.sql',
  ]);
  return dbOptions(program).option('--sql', 'print the MySQL DDL on stdout instead of running it').option('-q, --quiet', 'no notice');
}

function summarizeProgram(): Command {
  const program = newProgram(
    `${PROGRAM} summarize`,
    'Store the whole-table reports (lmod-report without filters, or with --userload-only only) so they answer at once. ' +
      'From then on every lmod-load keeps them current; this adds the loads since the last summarize, or stores them in full.',
    ['lmod-load summarize', 'lmod-load summarize --full', 'lmod-parse lmod.log | lmod-load --summarize   # the same after a load'],
  );
  return dbOptions(program)
    .option('--full', 'compute them from every load, even where the new loads could be added')
    .option('-q, --quiet', 'no notice');
}

const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> = { migrate: runMigrate, summarize: runSummarize };

export function main(): void {
  runCli(PROGRAM, async (argv) => {
    const at = subcommandAt(argv);
    return at < 0 ? runLoad(argv) : SUBCOMMANDS[argv[at]]([...argv.slice(0, at), ...argv.slice(at + 1)]);
  });
}

/** Where a subcommand stands as the first operand (`lmod-load --db URL migrate` too), else -1. */
function subcommandAt(argv: string[]): number {
  const at = argv.findIndex((a) => Object.hasOwn(SUBCOMMANDS, a));
  if (at <= 0) return at;
  try {
    return loadProgram().parseOptions(argv).operands[0] === argv[at] ? at : -1;
  } catch {
    return -1;
  }
}

function resolveConfig(options: { db?: string; envFile?: string }): DbConfig {
  try {
    return resolveDbConfig({ db: options.db, envFile: options.envFile });
  } catch (err) {
    throw asFatal(err);
  }
}

/** Configuration and connection problems are one line and exit 2. */
function asFatal(err: unknown): unknown {
  return err instanceof DbConfigError ? new CliError(`${PROGRAM}: ${err.message}`, EXIT_FATAL) : err;
}

async function runMigrate(argv: string[]): Promise<number> {
  const program = migrateProgram();
  parseArgs(program, argv);
  const options = program.opts<{ db?: string; envFile?: string; sql?: boolean; quiet?: boolean }>();
  if (options.sql) {
    process.stdout.write(ddl('mysql'));
    return EXIT_OK;
  }
  const config = resolveConfig(options);
  const client = await openClient(config).catch((err) => Promise.reject(asFatal(err)));
  try {
    const before = await migrate(client);
    if (!options.quiet) {
      const latest = before.latest;
      const done = before.pending.length === 0 ? `schema is up to date (v${latest})` : `schema migrated from v${before.current} to v${latest}`;
      process.stderr.write(`${PROGRAM}: ${client.description}: ${done}\n`);
    }
  } finally {
    await client.close();
  }
  return EXIT_OK;
}

async function runSummarize(argv: string[]): Promise<number> {
  const program = summarizeProgram();
  parseArgs(program, argv);
  const options = program.opts<{ db?: string; envFile?: string; full?: boolean; quiet?: boolean }>();
  const opened = await openStore(resolveConfig(options), 1).catch((err) => Promise.reject(asFatal(err)));
  try {
    await summarizeInto(opened, options.quiet === true, options.full === true);
  } finally {
    await opened.client.close();
  }
  return EXIT_OK;
}

/** Brings the summaries up to date, with a notice of how and how long unless quiet. */
async function summarizeInto(opened: OpenedStore, quiet: boolean, full = false): Promise<void> {
  const started = process.hrtime.bigint();
  const done = await refreshSummaries(opened.client, full);
  if (quiet) return;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const where = `${PROGRAM}: ${opened.client.description}`;
  if (done.how === 'current') {
    process.stderr.write(`${where}: summaries are up to date\n`);
  } else if (done.how === 'folded') {
    process.stderr.write(`${where}: summaries updated with ${done.loads.toLocaleString('en-US')} new loads in ${seconds.toFixed(2)} s\n`);
  } else {
    if (done.why !== null) process.stderr.write(`${where}: cannot add the new loads to the summaries (${done.why}): storing them in full\n`);
    const { summary_pairs: pairs, ...tables } = done.rows;
    const what = Object.entries(tables).map(([table, n]) => `${n.toLocaleString('en-US')} ${table.replace('summary_', '')}`).join(', ');
    process.stderr.write(`${where}: summaries stored (${what} rows; ${pairs.toLocaleString('en-US')} distinct pairs) in ${seconds.toFixed(2)} s\n`);
  }
}

/** --summarize always; by default when the load added rows to a database whose summaries were stored once; never with --no-summarize. */
async function wantsSummaries(option: boolean | undefined, opened: OpenedStore, inserted: number): Promise<boolean> {
  if (option !== undefined) return option;
  return inserted > 0 && (await readSummaryState(opened.client)).summaries > 0;
}

async function runLoad(argv: string[]): Promise<number> {
  const program = loadProgram();
  parseArgs(program, argv);
  const options = program.opts<LoadOptions>();
  const diagnostics = new Diagnostics(PROGRAM, options.maxErrors);
  let opened: OpenedStore | null = null;
  if (!options.dryRun) {
    const config = resolveConfig(options);
    if (config.dialect === 'sqlite' && config.isDefault && !options.quiet) {
      diagnostics.message(`no MySQL configured (DB_NAME/DB_USER, .env or --db): loading into ${describeDb(config)}`);
    }
    opened = await openStore(config, options.inFlight, options.loadData).catch((err) => Promise.reject(asFatal(err)));
  }
  try {
    const { code, inserted } = await loadInputs(program.args, options, diagnostics, opened);
    if (opened !== null && code !== EXIT_FATAL && (await wantsSummaries(options.summarize, opened, inserted))) await summarizeInto(opened, options.quiet === true);
    return code;
  } finally {
    await opened?.client.close();
  }
}

/** The exit code, and how many rows the load added. */
async function loadInputs(args: string[], options: LoadOptions, diagnostics: Diagnostics, opened: OpenedStore | null): Promise<{ code: number; inserted: number }> {
  const store = opened?.store ?? null;
  const sink = new LoadSink({
    store,
    batchRows: options.batchSize,
    batchBytes: Math.min(options.batchBytes ?? Infinity, store?.maxBatchBytes ?? Infinity),
    diagnostics,
    maxLineLength: MAX_RECORD_LINE,
    retry: {
      ...DEFAULT_RETRY,
      retries: options.retries,
      onRetry: (err, attempt, delay) =>
        diagnostics.message(`${describeDbError(err)}; retrying the batch in ${(delay / 1000).toFixed(2)} s (retry ${attempt} of ${options.retries})`),
    },
  });
  const progress = new Progress(PROGRAM, () => sink.counts.read, 'records', !options.quiet && process.stderr.isTTY === true);
  const signal = awaitSignal();
  let failedInputs = 0;
  let error: unknown;
  const fed = (async () => {
    failedInputs = await feedInputs(inputNames(args), sink, {
      maxLength: MAX_RECORD_LINE,
      onInputError: (name, err) => diagnostics.message(`${name}: ${describeInputError(err)}`),
    });
    await new Promise<void>((resolve, reject) => {
      sink.once('error', reject);
      sink.end(resolve);
    });
  })().catch((err) => {
    error = err;
  });
  const signalled = await Promise.race([fed.then(() => null), signal.received]);
  signal.dispose();
  if (signalled !== null) sink.stop();
  await sink.settled();
  progress.stop();
  const counts = sink.counts;
  if (!options.quiet || sink.failure !== undefined) {
    const labels: [string, number][] = store === null
      ? [['read', counts.read], ['valid', counts.inserted], ['rejected', counts.rejected]]
      : [['read', counts.read], ['new', counts.inserted], ['already present', counts.present], ['rejected', counts.rejected]];
    if (counts.unloaded > 0) labels.push(['not loaded', counts.unloaded]);
    process.stderr.write(summaryLine(PROGRAM, labels, progress.seconds(), ['records', counts.read]));
  }
  if (sink.failure !== undefined) throw failureError(sink.failure, sink, options.retries, opened);
  if (signalled !== null) {
    // The input (stdin most often) may still hold the event loop: leave now that all is committed.
    await opened?.client.close();
    process.exit(signalled);
  }
  if (error !== undefined) throw error;
  // An input that could not be read is an error, as in lmod-parse; rejected lines are not.
  const code = failedInputs > 0 ? EXIT_FATAL : counts.rejected > 0 ? EXIT_REJECTED : EXIT_OK;
  return { code, inserted: counts.inserted };
}

/** Exit 2 with what was committed, and the promise that a rerun completes the load. */
function failureError(failure: LoadFailure, sink: LoadSink, retries: number, opened: OpenedStore | null): CliError {
  if (failure.cause instanceof CliError) return failure.cause;
  const where = opened?.client.description ?? 'the database';
  const after = isTransient(failure.cause) ? ` after ${retries} retries` : '';
  return new CliError(
    `${PROGRAM}: ${where}: ${describeDbError(failure.cause)}${after}; ` +
      `${sink.committed.toLocaleString('en-US')} records were committed before it ` +
      `(${sink.counts.inserted.toLocaleString('en-US')} new, ${sink.counts.present.toLocaleString('en-US')} already present); ` +
      'rerun with the same input to complete the load',
    EXIT_FATAL,
  );
}

function describeDbError(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'PROTOCOL_CONNECTION_LOST':
    case 'ECONNRESET':
    case 'EPIPE':
      return 'lost the connection to the database';
    case 'ECONNREFUSED':
      return 'the database refused the connection';
    case 'ER_LOCK_DEADLOCK':
      return 'deadlock with another writer';
    case 'ER_LOCK_WAIT_TIMEOUT':
      return 'lock wait timeout';
    default:
      return code !== undefined && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
}

/** SIGINT/SIGTERM resolve with their exit code; a second signal ends the run at once. */
function awaitSignal(): { received: Promise<number>; dispose(): void } {
  let onInt: () => void = () => undefined;
  let onTerm: () => void = () => undefined;
  const received = new Promise<number>((resolve) => {
    onInt = () => resolve(EXIT_SIGINT);
    onTerm = () => resolve(EXIT_SIGTERM);
  });
  const handlers: [NodeJS.Signals, () => void][] = [['SIGINT', onInt], ['SIGTERM', onTerm]];
  for (const [name, handler] of handlers) process.once(name, handler);
  return {
    received,
    dispose() {
      for (const [name, handler] of handlers) {
        process.off(name, handler);
        process.once(name, () => process.exit(name === 'SIGINT' ? EXIT_SIGINT : EXIT_SIGTERM));
      }
    },
  };
}

