import { existsSync, readFileSync } from 'node:fs';
import { Option } from 'commander';
import { openClient, type SqlClient } from '../db/client';
import { DbConfigError, describeDb, resolveDbConfig } from '../db/config';
import { schemaStatus } from '../db/migrate';
import { formatCsv, formatNdjson, formatTable } from '../report/format';
import { tokenizeGlob } from '../report/glob';
import { parseInventory } from '../report/inventory';
import { reportPage, type RequestedReport } from '../report/page';
import { parseTimeBound } from '../report/period';
import { durationSeconds } from '../time/duration';
import { type Every, EVERY, type Filters } from '../report/queries';
import { accountsReport, hasJobs, loadSpan, modulesReport, staleReport, trendReport, unusedReport, usersReport } from '../report/reports';
import { explainNoJobs, explainNoLoads, explainStale, explainUnused } from '../report/explain';
import type { ReportTable } from '../report/table';
import { formatMetrics, METRIC_REPORTS, type MetricReport } from '../report/metrics';
import { type Weight, WEIGHT_COLUMN, WEIGHTS } from '../report/jobs';
import { CliError, EXIT_FATAL, EXIT_OK, EXIT_REJECTED } from './exit-codes';
import { newProgram, parseArgs, positiveInt } from './program';
import { runCli } from './run';

const PROGRAM = 'lmod-report';
const REPORTS = ['modules', 'users', 'unused', 'stale', 'trend', 'accounts', 'html'] as const;
type ReportKind = (typeof REPORTS)[number];

interface Options {
  db?: string;
  envFile?: string;
  format: 'table' | 'ndjson' | 'csv' | 'html' | 'openmetrics';
  since?: string;
  until?: string;
  user: string[];
  host: string[];
  module: string[];
  userloadOnly?: boolean;
  top?: number;
  by?: 'name' | 'version';
  sort?: string;
  inventory?: string;
  olderThan?: string;
  every?: Every;
  weight?: Weight;
  cluster: string[];
  account: string[];
  partition: string[];
}

/** Options that only make sense for some reports: a misplaced one is a usage error, not ignored. */
const ONLY_FOR: [keyof Options, string, ReportKind[]][] = [
  ['by', '--by', ['modules']],
  ['weight', '--weight', ['modules']],
  ['sort', '--sort', ['modules', 'users']],
  ['top', '--top', ['modules', 'users', 'stale']],
  ['inventory', '--inventory', ['unused', 'stale', 'html']],
  ['olderThan', '--older-than', ['stale', 'html']],
  ['every', '--every', ['trend', 'html']],
];

const SORTS: Partial<Record<ReportKind, string[]>> = { modules: ['users', 'loads'], users: ['loads', 'modules'] };

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function repeatable(flags: string, description: string): Option {
  return new Option(flags, description).argParser(collect).default([], 'all');
}

function usage(message: string): CliError {
  return new CliError(`${PROGRAM}: ${message} (see ${PROGRAM} --help)`, EXIT_FATAL);
}

function buildProgram() {
  return newProgram(
    PROGRAM,
    'Answers from the module-load database: top modules, users, unused and stale modules, use over time, compute per account, and all of them on one HTML page (html).',
    [
      'lmod-report html --inventory spider.json > usage.html   # the dashboard: every report on one page',
      'lmod-report modules --top 10                       # packages by distinct users',
      'lmod-report modules --by version --module "gcc*"   # every gcc version',
      'lmod-report users --user alice                     # the modules alice loaded',
      'lmod-report unused --inventory spider.json --since 365d',
      'lmod-report stale --older-than 180d --format csv > stale.csv',
      'lmod-report trend --every week --module python --format html > python.html',
      'lmod-report modules --weight core-hours --account physics   # needs jobs: sacct ... | lmod-jobs | lmod-load',
      'lmod-report accounts --since 30d',
      'lmod-report modules --format openmetrics > /var/lib/node_exporter/lmod.prom.tmp   # then mv: see contrib/bin/lmod-metrics',
    ],
  )
    .argument('<report>', `one of ${REPORTS.join(', ')}`)
    .option(
      '--db <url>',
      'mysql://user@host:port/db or sqlite:PATH (default: DB_* or .env, else sqlite:./lmod_tracking.sqlite); password: DB_PASS, DB_PASS_FILE or .env',
    )
    .option('--env-file <file>', 'read DB_* settings from this file instead of ./.env')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'ndjson', 'csv', 'html', 'openmetrics']).default('table'))
    .option('--since <when>', 'loads at or after: a date (2024-01-31), a UTC time (2024-01-31T12:00) or a duration before now (30d, 12h, 2w, 1y)')
    .option('--until <when>', 'loads before (exclusive): same forms as --since')
    .addOption(repeatable('--user <glob>', 'only these users (shell glob; repeat for more); with `users`: list their modules'))
    .addOption(repeatable('--host <glob>', "only these hosts (shell glob; repeatable; '' = loads logged without a host)"))
    .addOption(repeatable('--module <glob>', 'only modules whose full or package name matches (shell glob; repeatable)'))
    .addOption(repeatable('--cluster <name>', 'only loads logged on this cluster, and jobs run on it (repeatable)'))
    .addOption(repeatable('--account <name>', 'only loads in jobs of this Slurm account (repeatable)'))
    .addOption(repeatable('--partition <name>', 'only loads in jobs of this Slurm partition (repeatable)'))
    .option('--userload-only', 'only loads the user asked for (userload true), not dependencies or unknown')
    .option('--top <n>', 'at most N rows (modules, users, stale)', positiveInt)
    .addOption(new Option('--weight <what>', 'modules: add the jobs each module was loaded in and order by them').choices([...WEIGHTS]))
    .addOption(new Option('--by <what>', 'modules: one row per package name or per full name').choices(['name', 'version']))
    .option('--sort <count>', 'modules: users (default) or loads; users: loads (default) or modules')
    .option('--inventory <file>', 'unused (required), stale, html: installed modules, from `spider -o spider-json` or `module -t avail`')
    .option('--older-than <duration>', 'stale, html: last load more than this long ago (default 180d)')
    .addOption(new Option('--every <period>', 'trend (default month), html (default by the span): period length').choices([...EVERY]));
}

function timeBound(flag: string, value: string | undefined, now: Date): string | null {
  if (value === undefined) return null;
  const bound = parseTimeBound(value, now);
  if (bound === null) throw usage(`${flag} ${JSON.stringify(value)}: expected a date like 2024-01-31, a time like 2024-01-31T12:00Z or a duration like 30d`);
  return bound;
}

function validate(kind: ReportKind, o: Options): void {
  for (const [key, flag, reports] of ONLY_FOR) {
    if (o[key] !== undefined && !reports.includes(kind)) throw usage(`${flag} applies to ${reports.join(', ')} only`);
  }
  const sorts = SORTS[kind];
  if (o.sort !== undefined && sorts !== undefined && !sorts.includes(o.sort)) throw usage(`--sort for ${kind} must be ${sorts.join(' or ')}`);
  for (const [flag, globs] of [
    ['--user', o.user],
    ['--host', o.host],
    ['--module', o.module],
  ] as const) {
    for (const glob of globs) {
      try {
        tokenizeGlob(glob);
      } catch (err) {
        throw usage(`${flag}: ${(err as Error).message}`);
      }
    }
  }
  if (o.format === 'openmetrics' && !(METRIC_REPORTS as readonly string[]).includes(kind)) {
    throw usage(`--format openmetrics applies to ${METRIC_REPORTS.join(', ')} only`);
  }
  if (kind === 'html' && o.format !== 'table' && o.format !== 'html') throw usage('html writes the HTML page: --format does not apply');
  if (kind === 'unused' && o.inventory === undefined) throw usage('unused needs --inventory FILE (the output of `spider -o spider-json` or `module -t avail`)');
}

/** Reads the inventory; lines it cannot use are reported like any rejected input. */
function readInventory(file: string, stderr: NodeJS.WritableStream): { modules: string[]; rejected: number } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`${PROGRAM}: ${file}: ${code === 'ENOENT' ? 'No such file or directory' : (err as Error).message}`, EXIT_FATAL);
  }
  const inventory = parseInventory(text);
  for (const p of inventory.problems) stderr.write(`${PROGRAM}: ${file}:${p.line}: ${p.reason}: ${p.text}\n`);
  return { modules: inventory.modules, rejected: inventory.problems.length };
}

/**
 * Opens the database read for the report. A missing SQLite file is an error here, not a new empty database (openClient
 * would create one), and a database without the schema names the fix.
 */
async function openDatabase(o: Options, stderr: NodeJS.WritableStream): Promise<{ client: SqlClient; schema: number }> {
  const config = resolveDbConfig({ db: o.db, envFile: o.envFile, warn: (m) => stderr.write(`${PROGRAM}: warning: ${m}\n`) });
  if (config.dialect === 'sqlite') {
    if (!existsSync(config.path)) {
      throw new CliError(`${PROGRAM}: no database at ${config.path}: load records with lmod-load first, or name one with --db`, EXIT_FATAL);
    }
    if (config.isDefault) stderr.write(`${PROGRAM}: using the embedded default database ${describeDb(config)}\n`);
  }
  const client = await openClient(config);
  // An open pool would keep the process alive after the message, so close it on any failure.
  const status = await schemaStatus(client).catch(async (err: unknown) => {
    await client.close();
    throw err;
  });
  if (status.current === 0) {
    await client.close();
    throw new CliError(`${PROGRAM}: ${client.description} has no lmod-tracking schema: run \`lmod-load migrate\` and load records first`, EXIT_FATAL);
  }
  if (status.current < status.latest) {
    stderr.write(`${PROGRAM}: schema v${status.current} is older than v${status.latest} (reports may be slow): run \`lmod-load migrate\`\n`);
  }
  return { client, schema: status.current };
}

/** Jobs, clusters and accounts came with schema v7. */
const JOBS_SCHEMA = 7;

function needsJobs(kind: ReportKind, o: Options): boolean {
  return o.weight !== undefined || kind === 'accounts' || o.cluster.length + o.account.length + o.partition.length > 0;
}

async function runReport(client: SqlClient, kind: ReportKind, f: Filters, o: Options, inventory: string[] | null, cutoff: string): Promise<RequestedReport> {
  const top = o.top ?? null;
  switch (kind) {
    case 'modules': {
      const sort = (o.sort ?? 'users') as 'users' | 'loads';
      // The metrics carry the jobs' core-seconds wherever jobs are loaded.
      const weight = o.weight ?? (o.format === 'openmetrics' && (await hasJobs(client)) ? 'core-hours' : null);
      const table = await modulesReport(client, f, { by: o.by ?? 'name', sort, top }, weight);
      return { kind, sort: weight === null ? sort : WEIGHT_COLUMN[weight], table };
    }
    case 'users':
      return { kind, table: await usersReport(client, f, (o.sort ?? 'loads') as 'loads' | 'modules', top) };
    case 'unused':
      return { kind, table: await unusedReport(client, f, inventory ?? []) };
    case 'stale':
      return { kind, table: await staleReport(client, f, cutoff, top, inventory) };
    case 'accounts':
      return { kind, table: await accountsReport(client, f) };
    case 'trend': {
      const every = o.every ?? 'month';
      return { kind, every, table: await trendReport(client, f, every) };
    }
    case 'html':
      return { kind, table: null, every: o.every };
  }
}

/** Why a report has no rows (see explain.ts). */
async function emptyReason(client: SqlClient, kind: ReportKind, f: Filters, inventory: string[] | null, cutoff: string, olderThan: string): Promise<string> {
  if (kind === 'stale') return explainStale(f, await loadSpan(client, f), cutoff, olderThan);
  if (kind === 'unused') return explainUnused(f, inventory?.length ?? 0);
  if (kind === 'accounts') return explainNoJobs(await hasJobs(client));
  return explainNoLoads(f);
}

function render(format: Options['format'], requested: RequestedReport, now: Date): string {
  const table = requested.table as ReportTable;
  if (format === 'openmetrics') return formatMetrics(requested.kind as MetricReport, table, now);
  if (format === 'ndjson') return formatNdjson(table);
  if (format === 'csv') return formatCsv(table);
  return formatTable(table);
}

async function write(stdout: NodeJS.WritableStream, text: string): Promise<void> {
  if (text === '') return;
  await new Promise<void>((resolve, reject) => stdout.write(text, (err) => (err ? reject(err) : resolve())));
}

/** Where a run writes: the process's streams, or a test's. */
export interface ReportIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export async function reportMain(argv: string[], io: ReportIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const program = buildProgram();
  await parseArgs(program, argv);
  const kind = program.args[0] as ReportKind;
  if (!REPORTS.includes(kind)) throw usage(`unknown report "${kind}": choose ${REPORTS.join(', ')}`);
  const o = program.opts<Options>();
  validate(kind, o);
  if (o.olderThan !== undefined && durationSeconds(o.olderThan) === null)
    throw usage(`--older-than ${JSON.stringify(o.olderThan)}: expected a duration like 180d, 26w or 1y`);
  const now = new Date();
  const filters: Filters = {
    since: timeBound('--since', o.since, now),
    until: timeBound('--until', o.until, now),
    users: o.user,
    hosts: o.host,
    modules: o.module,
    userloadOnly: o.userloadOnly === true,
    clusters: o.cluster,
    accounts: o.account,
    partitions: o.partition,
  };
  const inventory = o.inventory === undefined ? null : readInventory(o.inventory, io.stderr);
  let client: SqlClient;
  try {
    let schema: number;
    ({ client, schema } = await openDatabase(o, io.stderr));
    if (schema < JOBS_SCHEMA && needsJobs(kind, o)) {
      await client.close();
      throw new CliError(
        `${PROGRAM}: ${client.description} has schema v${schema}: jobs, clusters and accounts need v${JOBS_SCHEMA}: run \`lmod-load migrate\``,
        EXIT_FATAL,
      );
    }
  } catch (err) {
    if (err instanceof DbConfigError) throw new CliError(`${PROGRAM}: ${err.message}`, EXIT_FATAL);
    throw err;
  }
  try {
    const olderThan = o.olderThan ?? '180d';
    const cutoff = timeBound('--older-than', olderThan, now) as string;
    const modules = inventory?.modules ?? null;
    const requested = await runReport(client, kind, filters, o, modules, cutoff);
    if (kind === 'html' || o.format === 'html') {
      const page = { inventory: modules, cutoff, olderThan, every: o.every ?? null };
      await write(io.stdout, await reportPage(client, client.description, filters, requested, page, now));
    } else {
      await write(io.stdout, render(o.format, requested, now));
      // A scrape file is read by a machine; everywhere else an empty table says why.
      if (requested.table?.rows.length === 0 && o.format !== 'openmetrics') {
        io.stderr.write(`${PROGRAM}: ${await emptyReason(client, kind, filters, modules, cutoff, olderThan)}\n`);
      }
    }
  } finally {
    await client.close();
  }
  return inventory !== null && inventory.rejected > 0 ? EXIT_REJECTED : EXIT_OK;
}

export function main(): void {
  runCli(PROGRAM, (argv) => reportMain(argv));
}
