import { explainNoJobs, explainNoLoads, explainStale, explainUnused, type Span } from './explain';
import { emptyHtml, htmlTable, renderPage, type Section } from './html';
import { isoTime } from './period';
import type { Every, Filters } from './queries';
import {
  accountsReport,
  hasJobs,
  loadSpan,
  modulesReport,
  packageTrends,
  staleReport,
  periodFor,
  type QueryClient,
  sharedWeights,
  trendReport,
  unusedReport,
  usersReport,
} from './reports';
import { barChartSvg, escapeHtml, formatNumber, sparklineSvg, timeChartSvg } from './svg';
import type { Cell, ReportTable } from './table';

/** Bars drawn at most per ranking chart; the table under it lists every row. */
const CHART_BARS = 30;
/** Rows listed at most per table of users or versions to retire: a page for a site of many thousands stays small. */
const ROWS_LISTED = 1000;

/** The report a page was asked for, with its table already computed; `html` is the dashboard itself. */
export interface RequestedReport {
  kind: 'modules' | 'users' | 'unused' | 'stale' | 'trend' | 'accounts' | 'html';
  table: ReportTable | null;
  /** For `modules`: the count the rows are sorted by; for `trend`: the period. */
  sort?: string;
  every?: Every;
}

/** What the page's retirement section and trend need beyond the filters. */
export interface PageOptions {
  /** Installed modules (--inventory), or null. */
  inventory: string[] | null;
  /** Stored time: versions last loaded before it are stale. */
  cutoff: string;
  /** The --older-than text, for the explanations ("180d"). */
  olderThan: string;
  /** The trend's period; null: by the span. */
  every: Every | null;
}

type Row = Record<string, Cell>;

function chartBars(rows: Row[], labelKey: string, valueKey: string) {
  return rows.slice(0, CHART_BARS).map((r) => ({ label: String(r[labelKey]), value: Number(r[valueKey]) }));
}

function captionOf(title: string, rows: number): string {
  return rows > CHART_BARS ? `${title} (first ${CHART_BARS} of ${formatNumber(rows)})` : title;
}

const sum = (rows: Row[], key: string): number => rows.reduce((a, r) => a + Number(r[key] ?? 0), 0);

/** Everything the page shows, read once. */
interface PageData {
  span: Span;
  every: Every;
  packages: ReportTable;
  /** Sort key of the packages' chart. */
  packageSort: string;
  versions: ReportTable;
  trend: ReportTable;
  trends: Map<string, number[]>;
  users: ReportTable;
  stale: ReportTable;
  unused: ReportTable | null;
  jobs: { modules: ReportTable; accounts: ReportTable } | null;
  jobsLoaded: boolean;
}

async function readData(client: QueryClient, f: Filters, requested: RequestedReport, o: PageOptions): Promise<PageData> {
  const mine = (kind: RequestedReport['kind']): ReportTable | null => (requested.kind === kind ? requested.table : null);
  const span = await loadSpan(client, f);
  const every = requested.every ?? o.every ?? (span === null ? 'month' : periodFor(span.first, span.last));
  const versions = await modulesReport(client, f, { by: 'version', sort: 'users', top: null });
  const requestedPackages = mine('modules');
  const packages =
    requestedPackages !== null && requestedPackages.columns[0].key === 'name'
      ? requestedPackages
      : await modulesReport(client, f, { by: 'name', sort: 'users', top: null });
  const requestedUsers = mine('users');
  const users = requestedUsers !== null && requestedUsers.columns[1].key === 'loads' ? requestedUsers : await usersReport(client, f, 'loads', null);
  const trend = mine('trend') ?? (await trendReport(client, f, every));
  const trends = await packageTrends(
    client,
    f,
    every,
    trend.rows.map((r) => String(r.period)),
  );
  // With an inventory, only what is still installed is there to retire.
  const stale = mine('stale') ?? (await staleReport(client, f, o.cutoff, null, o.inventory));
  const unused = mine('unused') ?? (o.inventory === null ? null : await unusedReport(client, f, o.inventory));
  const jobsLoaded = await hasJobs(client);
  // Both count the same jobs' weights when the summaries cannot answer: once.
  const weights = sharedWeights();
  const jobs = jobsLoaded
    ? {
        modules: await modulesReport(client, f, { by: 'name', sort: 'users', top: CHART_BARS }, 'core-hours', weights),
        accounts: mine('accounts') ?? (await accountsReport(client, f, weights)),
      }
    : null;
  return { span, every, packages, packageSort: requested.sort ?? 'users', versions, trend, trends, users, stale, unused, jobs, jobsLoaded };
}

function overviewSection(d: PageData, f: Filters): Section {
  if (d.span === null) return { id: 'overview', nav: 'Overview', heading: 'Overview', body: emptyHtml(explainNoLoads(f)) };
  const names = new Set(d.versions.rows.map((r) => r.name));
  const cards: [string, string, string][] = [
    ['loads', 'module loads', formatNumber(sum(d.versions.rows, 'loads'))],
    ['users', 'users', formatNumber(d.users.rows.length)],
    ['modules', 'modules', formatNumber(names.size)],
    ['versions', 'module versions', formatNumber(d.versions.rows.length)],
    ['first', 'first load', d.span.first.slice(0, 10)],
    ['last', 'last load', d.span.last.slice(0, 10)],
  ];
  if (d.jobs !== null) {
    cards.push(['jobs', 'Slurm jobs', formatNumber(sum(d.jobs.accounts.rows, 'jobs'))]);
    cards.push(['core-hours', 'core-hours', formatNumber(sum(d.jobs.accounts.rows, 'core_hours'))]);
  }
  const body = `<div class="cards">${cards
    .map(([id, k, v]) => `<div class="card" id="card-${id}"><div class="v">${escapeHtml(v)}</div><div class="k">${escapeHtml(k)}</div></div>`)
    .join('')}</div>${d.jobsLoaded ? '' : `<p class="note">${escapeHtml(explainNoJobs(false))}</p>`}`;
  return { id: 'overview', nav: 'Overview', heading: 'Overview', body };
}

function trendSection(d: PageData, f: Filters): Section {
  const heading = `Use over time: loads and distinct users per ${d.every}`;
  if (d.trend.rows.length === 0) return { id: 'trend', nav: 'Trend', heading, body: emptyHtml(explainNoLoads(f)) };
  const bars = (key: string) => d.trend.rows.map((r) => ({ label: String(r.period), value: Number(r[key]) }));
  const body =
    timeChartSvg('chart-trend-loads', `Loads per ${d.every}`, bars('loads'), d.every, 'loads') +
    timeChartSvg('chart-trend-users', `Distinct users per ${d.every}`, bars('users'), d.every, 'users') +
    `<details><summary>The numbers</summary>${htmlTable(d.trend)}</details>`;
  return { id: 'trend', nav: 'Trend', heading, body };
}

const SORT_LABEL: Record<string, string> = { users: 'distinct users', loads: 'loads', core_hours: 'core-hours', gpu_hours: 'GPU-hours', jobs: 'jobs' };

function modulesSection(d: PageData, f: Filters): Section {
  const heading = d.packages.title;
  if (d.packages.rows.length === 0) return { id: 'modules', nav: 'Modules', heading, body: emptyHtml(explainNoLoads(f)) };
  const versionsOf = new Map<string, Row[]>();
  for (const v of d.versions.rows) {
    const name = String(v.name);
    versionsOf.set(name, [...(versionsOf.get(name) ?? []), v]);
  }
  const periods = d.trend.rows.map((r) => String(r.period));
  const table: ReportTable = { ...d.packages, columns: [...d.packages.columns, { key: 'trend', label: `loads per ${d.every}` }] };
  const versionColumns = d.versions.columns.filter((c) => ['version', 'loads', 'users', 'last_load'].includes(c.key));
  const custom = (r: Row) => {
    const name = String(r.name);
    const versions = versionsOf.get(name) ?? [];
    const list = htmlTable({ title: '', columns: versionColumns, rows: versions }).replace('class="sortable"', 'class="versions"');
    const values = d.trends.get(name) ?? periods.map(() => 0);
    return {
      cells: {
        name: `<td data-v="${escapeHtml(name)}"><details><summary>${escapeHtml(name)}</summary>${list.replace(/^<div class="scroll">|<\/div>$/g, '')}</details></td>`,
        trend: `<td>${sparklineSvg(name, periods, values, d.every)}</td>`,
      },
      search: [name, ...versions.map((v) => String(v.module))].join(' '),
    };
  };
  const sortLabel = SORT_LABEL[d.packageSort] ?? d.packageSort;
  const chart = barChartSvg(
    'chart-modules',
    captionOf(`Modules by ${sortLabel}`, d.packages.rows.length),
    chartBars(d.packages.rows, 'name', d.packageSort),
    sortLabel,
  );
  const body = `${chart}<p class="note">Click a module for its versions, a heading to sort.</p>${htmlTable(table, { id: 'modules-table', noun: 'modules', custom })}`;
  return { id: 'modules', nav: 'Modules', heading, body };
}

/**
 * A long table's first rows, with a note saying how many there are and which command lists them all: a page for a big
 * site stays quick to open. `keys`: the columns shown (a full name says its package and version already).
 */
function listedTable(table: ReportTable, keys: string[] | null, o: { id: string; noun: string; command: string }): string {
  const shown = {
    ...table,
    columns: keys === null ? table.columns : table.columns.filter((c) => keys.includes(c.key)),
    rows: table.rows.slice(0, ROWS_LISTED),
  };
  const note =
    table.rows.length > ROWS_LISTED
      ? `<p class="note">The first ${formatNumber(ROWS_LISTED)} of ${formatNumber(table.rows.length)} ${o.noun}; <code>${escapeHtml(o.command)}</code> lists them all.</p>`
      : '';
  return note + htmlTable(shown, o);
}

function retireSection(d: PageData, f: Filters, o: PageOptions): Section {
  const what = o.inventory === null ? 'Versions' : 'Installed versions';
  const stale =
    `<h3>${what} not loaded since ${escapeHtml(o.cutoff.slice(0, 10))} (more than ${escapeHtml(o.olderThan)} ago): ${formatNumber(d.stale.rows.length)}</h3>` +
    (d.stale.rows.length === 0
      ? emptyHtml(explainStale(f, d.span, o.cutoff, o.olderThan))
      : listedTable(d.stale, ['module', 'loads', 'users', 'first_load', 'last_load'], { id: 'stale-table', noun: 'versions', command: 'lmod-report stale' }));
  const unused =
    d.unused === null
      ? '<h3>Installed but never loaded</h3><p class="note">Give --inventory FILE (from <code>spider -o spider-json</code> or <code>module -t avail</code>) to list the installed modules nobody loads.</p>'
      : `<h3>Installed but not loaded${f.since === null && f.until === null ? '' : ' in the period'}: ${formatNumber(d.unused.rows.length)}</h3>` +
        (d.unused.rows.length === 0
          ? emptyHtml(explainUnused(f, o.inventory?.length ?? 0))
          : listedTable(d.unused, ['module', 'last_load'], { id: 'unused-table', noun: 'modules', command: 'lmod-report unused' }));
  return { id: 'retire', nav: 'To retire', heading: 'Versions to retire', body: stale + unused };
}

function usersSection(d: PageData, f: Filters): Section {
  const heading = d.users.title;
  if (d.users.rows.length === 0) return { id: 'users', nav: 'Users', heading, body: emptyHtml(explainNoLoads(f)) };
  const chart = barChartSvg('chart-users', captionOf('Users by loads', d.users.rows.length), chartBars(d.users.rows, 'user', 'loads'), 'loads');
  return { id: 'users', nav: 'Users', heading, body: chart + listedTable(d.users, null, { id: 'users-table', noun: 'users', command: 'lmod-report users' }) };
}

function computeSection(d: PageData): Section {
  const heading = 'Compute: core-hours by module and account';
  if (d.jobs === null || d.jobs.accounts.rows.length === 0) return { id: 'compute', nav: 'Compute', heading, body: emptyHtml(explainNoJobs(d.jobsLoaded)) };
  const { modules, accounts } = d.jobs;
  const body =
    barChartSvg('chart-core-hours', modules.title, chartBars(modules.rows, 'name', 'core_hours'), 'core-hours') +
    htmlTable(modules) +
    `<h3>${escapeHtml(accounts.title)}</h3>` +
    barChartSvg('chart-accounts', captionOf('Accounts by core-hours', accounts.rows.length), chartBars(accounts.rows, 'account', 'core_hours'), 'core-hours') +
    htmlTable(accounts, { id: 'accounts-table', noun: 'accounts' });
  return { id: 'compute', nav: 'Compute', heading, body };
}

function filterText(f: Filters): string {
  const parts = [
    f.since !== null ? `since ${isoTime(f.since)}` : '',
    f.until !== null ? `until ${isoTime(f.until)} (exclusive)` : '',
    f.users.length > 0 ? `user ${f.users.join(' or ')}` : '',
    f.hosts.length > 0 ? `host ${f.hosts.join(' or ')}` : '',
    f.modules.length > 0 ? `module ${f.modules.join(' or ')}` : '',
    f.userloadOnly ? 'user-requested loads only' : '',
    f.clusters.length > 0 ? `cluster ${f.clusters.join(' or ')}` : '',
    f.accounts.length > 0 ? `account ${f.accounts.join(' or ')}` : '',
    f.partitions.length > 0 ? `partition ${f.partitions.join(' or ')}` : '',
  ].filter((p) => p !== '');
  return `Filters: ${parts.length === 0 ? 'none (all loads)' : parts.join(', ')}`;
}

/** The section a report leads with; `modules --by version` and `users --user` lead with their own table instead. */
const LEAD: Record<RequestedReport['kind'], string> = {
  html: 'overview',
  modules: 'modules',
  users: 'users',
  stale: 'retire',
  unused: 'retire',
  trend: 'trend',
  accounts: 'compute',
};

/**
 * The page for any report, or the dashboard (`html`): overview, use over time, modules with their versions and trends,
 * compute where jobs are loaded, versions to retire and users, all under the same filters. A report's page leads with
 * its own section and title.
 */
export async function reportPage(client: QueryClient, description: string, f: Filters, requested: RequestedReport, o: PageOptions, now: Date): Promise<string> {
  const d = await readData(client, f, requested, o);
  const sections = [overviewSection(d, f), trendSection(d, f), modulesSection(d, f)];
  if (d.jobsLoaded || requested.kind === 'accounts') sections.push(computeSection(d));
  sections.push(retireSection(d, f, o), usersSection(d, f));
  let lead = sections.find((s) => s.id === LEAD[requested.kind]) as Section;
  const own = requested.table;
  if (own !== null && ((requested.kind === 'modules' && own !== d.packages) || (requested.kind === 'users' && own !== d.users))) {
    const body = own.rows.length === 0 ? emptyHtml(explainNoLoads(f)) : htmlTable(own, { id: 'report-table', noun: 'rows' });
    lead = { id: 'report', nav: 'Report', heading: own.title, body };
  }
  const ordered = [lead, ...sections.filter((s) => s !== lead)];
  const title = requested.kind === 'html' || own === null ? 'Lmod module usage' : `Lmod module usage: ${own.title}`;
  const meta = [`Database: ${description}; generated ${now.toISOString().slice(0, 19)}Z`, filterText(f)];
  return renderPage(title, meta, ordered);
}
