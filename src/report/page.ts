import { barChartSvg, columnChartSvg, renderPage, type Section } from './html';
import { isoTime } from './period';
import type { Every, Filters } from './queries';
import { accountsReport, hasJobs, loadSpan, modulesReport, type QueryClient, trendReport } from './reports';
import type { ReportTable } from './table';

/** Bars drawn at most per ranking chart; the table under it lists every row. */
const CHART_BARS = 30;

/** The report a page was asked for, with its table already computed. */
export interface RequestedReport {
  kind: 'modules' | 'users' | 'unused' | 'stale' | 'trend' | 'accounts';
  table: ReportTable;
  /** For `modules`: the count the rows are sorted by; for `trend`: the period. */
  sort?: string;
  every?: Every;
}

/** Day bars for a few weeks, week bars up to half a year, month bars beyond. */
export function periodFor(first: string, last: string): Every {
  const days = (Date.parse(`${last.slice(0, 10)}T00:00:00Z`) - Date.parse(`${first.slice(0, 10)}T00:00:00Z`)) / 86400000;
  return days > 180 ? 'month' : days > 31 ? 'week' : 'day';
}

async function spanPeriod(client: QueryClient, f: Filters): Promise<Every> {
  const span = await loadSpan(client, f);
  return span === null ? 'month' : periodFor(span.first, span.last);
}

function ranking(table: ReportTable, labelKey: string, valueKey: string): { label: string; value: number }[] {
  return table.rows.slice(0, CHART_BARS).map((r) => ({ label: String(r[labelKey]), value: Number(r[valueKey]) }));
}

function modulesSection(table: ReportTable, sort: string): Section {
  const labelKey = table.columns[0].key;
  const caption = `${table.title}${table.rows.length > CHART_BARS ? ` (first ${CHART_BARS} charted)` : ''}`;
  return { id: 'modules', heading: table.title, charts: [barChartSvg('chart-modules', caption, ranking(table, labelKey, sort))], table };
}

function accountsSection(table: ReportTable): Section {
  return { id: 'accounts', heading: table.title, charts: [barChartSvg('chart-accounts', table.title, ranking(table, 'account', 'core_hours'))], table };
}

function trendSection(table: ReportTable, every: Every): Section {
  const bars = (key: string) => table.rows.map((r) => ({ label: String(r.period), value: Number(r[key]) }));
  return {
    id: 'trend',
    heading: `Use over time: ${table.title.toLowerCase()}`,
    charts: [columnChartSvg('chart-loads', `Loads per ${every}`, bars('loads')), columnChartSvg('chart-users', `Distinct users per ${every}`, bars('users'))],
    table,
  };
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

/**
 * The page for any report: the requested one first, then - unless it was one of them - the top modules by distinct users,
 * where jobs are loaded the top modules by core-hours and the accounts, and the use over time under the same filters.
 */
export async function reportPage(client: QueryClient, description: string, f: Filters, requested: RequestedReport, now: Date): Promise<string> {
  const sections: Section[] = [];
  if (requested.kind === 'modules') sections.push(modulesSection(requested.table, requested.sort ?? 'users'));
  else if (requested.kind === 'users' && requested.table.columns[1].key === 'loads') {
    const chart = barChartSvg('chart-users', `${requested.table.title} (loads)`, ranking(requested.table, 'user', 'loads'));
    sections.push({ id: 'users', heading: requested.table.title, charts: [chart], table: requested.table });
  } else if (requested.kind === 'accounts') sections.push(accountsSection(requested.table));
  else if (requested.kind !== 'trend') sections.push({ id: requested.kind, heading: requested.table.title, charts: [], table: requested.table });
  if (requested.kind !== 'modules') {
    sections.push(modulesSection(await modulesReport(client, f, { by: 'name', sort: 'users', top: CHART_BARS }), 'users'));
  }
  if (await hasJobs(client)) {
    if (requested.kind !== 'modules' || requested.sort !== 'core_hours') {
      const table = await modulesReport(client, f, { by: 'name', sort: 'users', top: CHART_BARS }, 'core-hours');
      sections.push({ ...modulesSection(table, 'core_hours'), id: 'core-hours' });
    }
    if (requested.kind !== 'accounts') {
      sections.push(accountsSection(await accountsReport(client, f)));
    }
  }
  if (requested.kind === 'trend') sections.push(trendSection(requested.table, requested.every ?? 'month'));
  else {
    const every = await spanPeriod(client, f);
    sections.push(trendSection(await trendReport(client, f, every), every));
  }
  const meta = [`Database: ${description}; generated ${now.toISOString()}`, filterText(f)];
  return renderPage('Lmod module usage', meta, sections);
}
