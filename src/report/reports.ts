import { splitModule } from '../record';
import { globToRegExp } from './glob';
import { isoTime } from './period';
import {
  type Every,
  type Filters,
  type IdFilters,
  type NameTable,
  lastLoadsQuery,
  loadedModulesQuery,
  rangeCountsQuery,
  rangeModuleCountsQuery,
  type ModulesOptions,
  moduleLoadsQuery,
  modulesQuery,
  type Query,
  spanQuery,
  staleQuery,
  userModulesQuery,
  type UserSort,
  usersQuery,
} from './queries';
import {
  accountsSummaryQuery,
  packagePeriodsSummaryQuery,
  packagesSummaryQuery,
  periodsSummaryQuery,
  staleSummaryQuery,
  summariesCurrent,
  summaryVariant,
  usersSummaryQuery,
  versionsSummaryQuery,
} from './summaries';
import { ModuleCounter } from './module-counts';
import { accountRows, type Weight, WEIGHT_COLUMN } from './jobs';
import { countJobWeights, type JobWeights, NO_WEIGHTS } from './job-weights';
import type { Cell, Column, ReportTable } from './table';

/** The part of the database client the reports use (src/db/client.ts's SqlClient fits). */
export interface QueryClient {
  readonly dialect: 'mysql' | 'sqlite';
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Streams a SELECT's rows as arrays. */
  eachRow(sql: string, params: unknown[], onRow: (row: unknown[]) => void): Promise<void>;
}

type Row = Record<string, unknown>;

const TIME_COLUMNS = new Set(['first_load', 'last_load']);

/** Database values as printed: counts as numbers (mysql2 may hand back strings for BIGINT), times as ISO. */
function cell(key: string, value: unknown, numeric: boolean): Cell {
  if (value === null || value === undefined) return null;
  if (numeric) return Number(value);
  if (TIME_COLUMNS.has(key)) return isoTime(String(value));
  return String(value);
}

function tableFrom(rows: Row[], title: string, columns: Column[]): ReportTable {
  return {
    title,
    columns,
    rows: rows.map((r) => Object.fromEntries(columns.map((c) => [c.key, cell(c.key, r[c.key], c.numeric === true)]))),
  };
}

async function tableOf(client: QueryClient, q: Query, title: string, columns: Column[]): Promise<ReportTable> {
  return tableFrom(await client.query<Row>(q.sql, q.params), title, columns);
}

const text = (key: string, label = key) => ({ key, label });
const count = (key: string, label = key) => ({ key, label, numeric: true });
const SPAN = [text('first_load', 'first load'), text('last_load', 'last load')];
const MODULE = [text('module'), text('name'), text('version')];

/** The ids whose names match any of the globs (modules: the full or the package name), matched here over the small name table. */
async function idsOf(client: QueryClient, table: NameTable, globs: string[]): Promise<number[] | null> {
  if (globs.length === 0) return null;
  const patterns = globs.map(globToRegExp);
  const rows = await client.query<{ id: unknown; a: unknown; b: unknown }>(
    `SELECT id, ${table === 'modules' ? 'module AS a, name AS b' : 'name AS a, name AS b'} FROM ${table} ORDER BY id`,
  );
  return rows.filter((r) => patterns.some((p) => p.test(String(r.a)) || p.test(String(r.b)))).map((r) => Number(r.id));
}

/** The name globs of the filters turned into id lists (see IdFilters). */
export async function resolveFilters(client: QueryClient, f: Filters): Promise<IdFilters> {
  return {
    since: f.since,
    until: f.until,
    userIds: await idsOf(client, 'users', f.users),
    hostIds: await idsOf(client, 'hosts', f.hosts),
    moduleIds: await idsOf(client, 'modules', f.modules),
    userloadOnly: f.userloadOnly,
    clusters: f.clusters,
    accounts: f.accounts,
    partitions: f.partitions,
  };
}

/** The stored summary variant that answers a report with these filters, or null: read the loads. */
async function summaryFor(client: QueryClient, f: Filters): Promise<number | null> {
  const variant = summaryVariant(f);
  return variant !== null && (await summariesCurrent(client)) ? variant : null;
}

/** The id of the host row that stands for "no host", or null when there is none. */
export async function blankHostId(client: QueryClient): Promise<number | null> {
  const rows = await client.query<{ id: unknown }>("SELECT id FROM hosts WHERE name = ''");
  return rows.length === 0 ? null : Number(rows[0].id);
}

/**
 * `modules` counted from the loads; summarize stores what this gives. The SQL is the reference; MySQL streams the bare
 * ids to ModuleCounter instead, which gives the same rows (a test holds the two to each other) in a fraction of the time
 * MariaDB takes for the three COUNT(DISTINCT)s. SQLite keeps the SQL: its own GROUP BY is faster than handing each row
 * to JavaScript.
 */
export async function moduleCountRows(client: QueryClient, ids: IdFilters, o: ModulesOptions): Promise<Row[]> {
  // SQLite groups faster itself, unless loads are chosen by their jobs: its plan would then fetch each load's row by
  // its key to read the job id, where the stream reads the table in order.
  if (client.dialect === 'sqlite' && ids.accounts.length + ids.partitions.length === 0) {
    const q = modulesQuery(ids, o);
    return client.query<Row>(q.sql, q.params);
  }
  const names = await client.query<Row>('SELECT id, module, name, version FROM modules');
  const counter = new ModuleCounter(
    names.map((r) => ({
      id: Number(r.id),
      module: String(r.module),
      name: String(r.name),
      version: r.version === null ? null : String(r.version),
    })),
    o,
  );
  const q = moduleLoadsQuery(ids);
  await client.eachRow(q.sql, q.params, (r) => counter.add(r[0] as number, r[1] as number, r[2] as number, r[3] as string));
  return counter.rows();
}

/** Counts the jobs' weights of the loads under the filters, when the summaries cannot answer. */
export type WeightCounter = (client: QueryClient, ids: IdFilters) => Promise<JobWeights>;

const countWeights: WeightCounter = async (client, ids) => (await countJobWeights(client, ids))[0];

/** A counter that counts once and hands the same weights to every later report (the page's, all of one set of filters). */
export function sharedWeights(): WeightCounter {
  let counted: Promise<JobWeights> | null = null;
  return (client, ids) => (counted ??= countWeights(client, ids));
}

/** The jobs' columns of `modules --weight`, and of the HTML page when jobs are loaded. */
export const WEIGHT_COLUMNS = [count('jobs'), count('core_hours', 'core-hours'), count('gpu_hours', 'GPU-hours')];

/**
 * `modules`: per package or full name, loads, users, hosts and span; with a weight also the jobs it was loaded in and
 * their core- and GPU-hours, ordered by the weight (loads outside any job count as loads, not as jobs).
 */
export async function modulesReport(
  client: QueryClient,
  f: Filters,
  o: Omit<ModulesOptions, 'blankHostId'>,
  weight: Weight | null = null,
  weights: WeightCounter = countWeights,
): Promise<ReportTable> {
  const variant = await summaryFor(client, f);
  const head = o.by === 'version' ? MODULE : [text('name'), count('versions')];
  const columns = [...head, ...(weight === null ? [] : WEIGHT_COLUMNS), count('loads'), count('users'), count('hosts'), ...SPAN];
  const what = o.by === 'version' ? 'module versions' : 'modules';
  const by = weight === null ? (o.sort === 'users' ? 'distinct users' : 'loads') : `${weight} (each job counts in full for every module it loaded)`;
  const title = `Top ${what} by ${by}`;
  const top = weight === null ? o.top : null;
  let rows: Row[];
  if (variant !== null) {
    const q = (o.by === 'version' ? versionsSummaryQuery : packagesSummaryQuery)(variant, o.sort, top);
    rows = await client.query<Row>(q.sql, q.params);
  } else {
    const ids = await resolveFilters(client, f);
    rows = await moduleCountRows(client, ids, { ...o, top, blankHostId: await blankHostId(client) });
    if (weight !== null) {
      const counted = await weights(client, ids);
      const of = o.by === 'version' ? counted.byModule : counted.byName;
      rows = rows.map((r) => ({ ...r, ...(of.get(String(o.by === 'version' ? r.module : r.name)) ?? NO_WEIGHTS) }));
    }
  }
  if (weight !== null) {
    const key = WEIGHT_COLUMN[weight];
    rows = rows.sort((a, b) => Number(b[key]) - Number(a[key])).slice(0, o.top ?? undefined);
  }
  return tableFrom(rows, title, columns);
}

/** Whether the database holds any Slurm job (a schema from before jobs has none). */
export async function hasJobs(client: QueryClient): Promise<boolean> {
  try {
    return (await client.query('SELECT 1 AS one FROM jobs LIMIT 1')).length > 0;
  } catch {
    return false;
  }
}

/** `accounts`: Slurm accounts by core-hours, with their top modules (jobs loaded with lmod-jobs). */
export async function accountsReport(client: QueryClient, f: Filters, weights: WeightCounter = countWeights): Promise<ReportTable> {
  const variant = await summaryFor(client, f);
  const columns = [text('account'), ...WEIGHT_COLUMNS, count('users'), text('top_modules', 'top modules (core-hours)')];
  if (variant !== null) return tableOf(client, accountsSummaryQuery(variant), 'Accounts by core-hours', columns);
  const ids = await resolveFilters(client, f);
  return tableFrom(await accountRows(client, ids, await weights(client, ids)), 'Accounts by core-hours', columns);
}

export async function usersReport(client: QueryClient, f: Filters, sort: UserSort, top: number | null): Promise<ReportTable> {
  if (f.users.length > 0) {
    const columns = [text('user'), text('module'), count('loads'), ...SPAN];
    return tableOf(client, userModulesQuery(await resolveFilters(client, f), top), `Modules used by ${f.users.join(', ')}`, columns);
  }
  const variant = await summaryFor(client, f);
  const q = variant !== null ? usersSummaryQuery(variant, sort, top) : usersQuery(await resolveFilters(client, f), sort, top);
  const columns = [text('user'), count('loads'), count('modules'), ...SPAN];
  return tableOf(client, q, `Users by ${sort}`, columns);
}

/** Whether a full name passes the --module globs (on the full name or the package name). */
export function moduleMatcher(globs: string[]): (module: string) => boolean {
  if (globs.length === 0) return () => true;
  const patterns = globs.map(globToRegExp);
  return (module) => patterns.some((p) => p.test(module) || p.test(splitModule(module).name));
}

/** `unused`: the inventory's modules with no load that passes the filters - the retirement candidates - with their last load ever, if the database has one. */
export async function unusedReport(client: QueryClient, f: Filters, inventory: string[]): Promise<ReportTable> {
  const ids = await resolveFilters(client, f);
  const lq = loadedModulesQuery(ids);
  const loaded = new Set((await client.query<{ module: string }>(lq.sql, lq.params)).map((r) => r.module));
  const matches = moduleMatcher(f.modules);
  const candidates = inventory.filter((m) => matches(m) && !loaded.has(m));
  const last = new Map<string, unknown>();
  if (candidates.length > 0) {
    const q = lastLoadsQuery();
    for (const r of await client.query<{ module: string; last_load: unknown }>(q.sql, q.params)) last.set(r.module, r.last_load);
  }
  return {
    title: 'Installed modules never loaded in the period',
    columns: [...MODULE, text('last_load', 'last load ever')],
    rows: candidates.map((module) => {
      const { name, version } = splitModule(module);
      return { module, name, version, last_load: cell('last_load', last.get(module), false) };
    }),
  };
}

/** `stale`: versions last loaded before the cutoff, optionally only those in an inventory. */
export async function staleReport(client: QueryClient, f: Filters, cutoff: string, top: number | null, inventory: string[] | null): Promise<ReportTable> {
  const columns = [...MODULE, count('loads'), count('users'), ...SPAN];
  const limit = inventory === null ? top : null;
  const variant = await summaryFor(client, f);
  const q = variant !== null ? staleSummaryQuery(variant, cutoff, limit) : staleQuery(await resolveFilters(client, f), cutoff, limit);
  const table = await tableOf(client, q, `Modules last loaded before ${isoTime(cutoff)}`, columns);
  if (inventory === null) return table;
  const installed = new Set(inventory);
  const rows = table.rows.filter((r) => installed.has(String(r.module)));
  return { ...table, rows: top === null ? rows : rows.slice(0, top) };
}

/** The period length for charting a span: days for a few weeks, weeks up to half a year, months beyond. */
export function periodFor(first: string, last: string): Every {
  const days = (Date.parse(`${last.slice(0, 10)}T00:00:00Z`) - Date.parse(`${first.slice(0, 10)}T00:00:00Z`)) / 86400000;
  return days > 180 ? 'month' : days > 31 ? 'week' : 'day';
}

/** The start of the next period after `start` ('YYYY-MM-DD'). */
export function nextPeriod(start: string, every: Every): string {
  const d = new Date(`${start}T00:00:00Z`);
  if (every === 'day') d.setUTCDate(d.getUTCDate() + 1);
  else if (every === 'week') d.setUTCDate(d.getUTCDate() + 7);
  else d.setUTCMonth(d.getUTCMonth() + 1);
  return d.toISOString().slice(0, 10);
}

/** The start of the period holding a stored time. */
export function periodOf(stored: string, every: Every): string {
  const day = stored.slice(0, 10);
  if (every === 'day') return day;
  if (every === 'month') return `${day.slice(0, 7)}-01`;
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  return d.toISOString().slice(0, 10);
}

/** The last day an exclusive upper bound lets in: the day before, when it falls on midnight. */
function lastDayBefore(until: string): string {
  const day = until.slice(0, 10);
  if (until.slice(11) !== '00:00:00.000000') return day;
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
}

/** The first and last stored time of a load under the filters. */
export async function loadSpan(client: QueryClient, f: Filters): Promise<{ first: string; last: string } | null> {
  const q = spanQuery(await resolveFilters(client, f));
  const [row] = await client.query<{ first: unknown; last: unknown }>(q.sql, q.params);
  return row?.first == null || row.last == null ? null : { first: String(row.first), last: String(row.last) };
}

/** The filters' bounds kept inside one period. */
function withinPeriod(ids: IdFilters, start: string, end: string): IdFilters {
  const since = ids.since !== null && ids.since > start ? ids.since : start;
  const until = ids.until !== null && ids.until < end ? ids.until : end;
  return { ...ids, since, until };
}

/**
 * Loads and distinct users of one period, the filters' bounds kept inside it. One range query per period rather than a
 * GROUP BY on the period: grouping an expression takes a temporary B-tree (SQLite) or table (MariaDB) over every row,
 * while a range of the time-ordered key needs only a small one per period.
 */
export async function periodCounts(client: QueryClient, ids: IdFilters, start: string, end: string): Promise<{ loads: number; users: number }> {
  const q = rangeCountsQuery(withinPeriod(ids, start, end));
  const [row] = await client.query<Row>(q.sql, q.params);
  return { loads: Number(row.loads), users: Number(row.users) };
}

/**
 * `trend`: loads and distinct users per period, every period listed (with 0 when empty, so a chart's time axis has no
 * holes) from --since (or the first load) to --until (or the last load).
 */
export async function trendReport(client: QueryClient, f: Filters, every: Every): Promise<ReportTable> {
  const variant = await summaryFor(client, f);
  let rows: Record<string, Cell>[];
  if (variant === null) {
    rows = await trendRows(client, f, every);
  } else {
    const q = periodsSummaryQuery(variant, every);
    rows = (await client.query<Row>(q.sql, q.params)).map((r) => ({
      period: String(r.period),
      loads: Number(r.loads),
      users: Number(r.users),
    }));
  }
  return { title: `Loads and distinct users per ${every}`, columns: [text('period'), count('loads'), count('users')], rows };
}

/** trend's rows, counted from the loads. */
export async function trendRows(client: QueryClient, f: Filters, every: Every): Promise<{ period: string; loads: number; users: number }[]> {
  const span = f.since !== null && f.until !== null ? null : await loadSpan(client, f);
  const firstTime = f.since ?? span?.first;
  const lastDay = f.until !== null ? lastDayBefore(f.until) : span?.last;
  const rows: { period: string; loads: number; users: number }[] = [];
  if (firstTime !== undefined && lastDay !== undefined) {
    const ids = await resolveFilters(client, f);
    const last = periodOf(lastDay, every);
    for (let p = periodOf(firstTime, every); p <= last; p = nextPeriod(p, every)) {
      const next = nextPeriod(p, every);
      rows.push({ period: p, ...(await periodCounts(client, ids, `${p} 00:00:00.000000`, `${next} 00:00:00.000000`)) });
    }
  }
  return rows;
}

/** A package's loads in one period. */
export interface PackagePeriod {
  name: string;
  period: string;
  loads: number;
}

/** The packages' loads per period (each period's starts given, as trend lists them), counted from the loads; summarize stores what this gives. */
export async function packagePeriodRows(client: QueryClient, f: Filters, every: Every, periods: string[]): Promise<PackagePeriod[]> {
  const ids = await resolveFilters(client, f);
  const names = new Map((await client.query<{ id: unknown; name: unknown }>('SELECT id, name FROM modules')).map((r) => [Number(r.id), String(r.name)]));
  const rows: PackagePeriod[] = [];
  for (const period of periods) {
    const q = rangeModuleCountsQuery(withinPeriod(ids, `${period} 00:00:00.000000`, `${nextPeriod(period, every)} 00:00:00.000000`));
    const loads = new Map<string, number>();
    for (const r of await client.query<{ module_id: unknown; loads: unknown }>(q.sql, q.params)) {
      const name = names.get(Number(r.module_id)) as string;
      loads.set(name, (loads.get(name) ?? 0) + Number(r.loads));
    }
    for (const [name, n] of loads) rows.push({ name, period, loads: n });
  }
  return rows;
}

/**
 * Per package, its loads in each of the periods, in their order (0 where it had none): the page's small trends. From the
 * summaries when they are current and hold this period length, else from the loads.
 */
export async function packageTrends(client: QueryClient, f: Filters, every: Every, periods: string[]): Promise<Map<string, number[]>> {
  const variant = await summaryFor(client, f);
  let rows: PackagePeriod[] = [];
  if (variant !== null) {
    const q = packagePeriodsSummaryQuery(variant, every);
    rows = (await client.query<Row>(q.sql, q.params)).map((r) => ({ name: String(r.name), period: String(r.period), loads: Number(r.loads) }));
  }
  if (rows.length === 0) rows = await packagePeriodRows(client, f, every, periods);
  const index = new Map(periods.map((p, i) => [p, i]));
  const trends = new Map<string, number[]>();
  for (const r of rows) {
    const at = index.get(r.period);
    if (at === undefined) continue;
    let values = trends.get(r.name);
    if (values === undefined) trends.set(r.name, (values = periods.map(() => 0)));
    values[at] = r.loads;
  }
  return trends;
}
