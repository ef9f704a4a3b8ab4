import { inTransaction, type SqlClient } from '../db/client';
import { DEFAULT_RETRY, withRetry } from '../db/retry';
import { EVERY, NO_FILTERS, usersQuery } from './queries';
import { countJobWeights, NO_WEIGHTS } from './job-weights';
import { accountRows } from './jobs';
import { blankHostId, loadSpan, moduleCountRows, packagePeriodRows, periodFor, resolveFilters, trendRows } from './reports';
import { lockSummaryState, readSummaryState, SUMMARY_COLUMNS, type SummaryTableName, writeSummaryRows } from './summary-store';

type Row = Record<string, unknown>;

/** Rows stored per summary table. */
export type SummaryCounts = Record<SummaryTableName, number>;

/**
 * `lmod-load summarize`: computes the whole-table reports from the loads with the reports' own code, for all loads and
 * for user loads only, and stores them (migration 004) in one transaction, marked with the loads' generation read before
 * the computing began. Loads committed meanwhile have bumped that generation, so the reports go on reading the loads
 * until the next summarize.
 */
export async function summarize(client: SqlClient): Promise<SummaryCounts> {
  const before = await readSummaryState(client);
  const blank = await blankHostId(client);
  const tables = new Map<SummaryTableName, unknown[][]>(Object.keys(SUMMARY_COLUMNS).map((t) => [t as SummaryTableName, []]));
  const keep = (table: SummaryTableName, variant: number, rows: Row[]): void => {
    for (const r of rows) tables.get(table)!.push([variant, ...SUMMARY_COLUMNS[table].map((c) => r[c])]);
  };
  // The jobs' weights of both variants in one pass over the loads that name a job.
  const weighted = await countJobWeights(client, await resolveFilters(client, NO_FILTERS), true);
  for (const variant of [0, 1]) {
    const filters = { ...NO_FILTERS, userloadOnly: variant === 1 };
    const ids = await resolveFilters(client, filters);
    const modules = { sort: 'users' as const, top: null, blankHostId: blank };
    const counted = weighted[variant];
    for (const by of ['name', 'version'] as const) {
      const weights = by === 'name' ? counted.byName : counted.byModule;
      const rows = (await moduleCountRows(client, ids, { ...modules, by })).map((r) => ({
        ...r,
        ...(weights.get(String(r[by === 'name' ? 'name' : 'module'])) ?? NO_WEIGHTS),
      }));
      keep(by === 'name' ? 'summary_packages' : 'summary_versions', variant, rows);
    }
    keep('summary_accounts', variant, await accountRows(client, ids, counted));
    const q = usersQuery(ids, 'loads', null);
    keep('summary_users', variant, await client.query<Row>(q.sql, q.params));
    const span = await loadSpan(client, filters);
    const pageEvery = span === null ? null : periodFor(span.first, span.last);
    for (const every of EVERY) {
      const periods = await trendRows(client, filters, every);
      keep(
        'summary_periods',
        variant,
        periods.map((r) => ({ ...r, every })),
      );
      // The packages' trends only for the period length the page picks for this span.
      if (every === pageEvery) {
        const rows = await packagePeriodRows(
          client,
          filters,
          every,
          periods.map((p) => p.period),
        );
        keep(
          'summary_package_periods',
          variant,
          rows.map((r) => ({ ...r, every })),
        );
      }
    }
  }
  // On a Galera cluster another node's summarize can win certification (1213): storing again is safe.
  await withRetry(
    () =>
      inTransaction(client, async (tx) => {
        await lockSummaryState(tx);
        for (const [table, rows] of tables) {
          await tx.run(`DELETE FROM ${table}`);
          await writeSummaryRows(tx, table, rows);
        }
        await tx.run("UPDATE summary_state SET generation = ? WHERE name = 'summaries'", [before.loads]);
      }),
    DEFAULT_RETRY,
  );
  return Object.fromEntries([...tables].map(([t, rows]) => [t, rows.length])) as SummaryCounts;
}
