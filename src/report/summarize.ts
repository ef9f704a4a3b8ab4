import { inTransaction, SqlClient } from '../db/client';
import { Every, NO_FILTERS, usersQuery } from './queries';
import { blankHostId, moduleCountRows, resolveFilters, trendRows } from './reports';

/** Rows per INSERT: SQLite takes at most 32,766 parameters a statement. */
const ROWS_PER_INSERT = 500;
const PERIODS: Every[] = ['day', 'week', 'month'];

type Row = Record<string, unknown>;

interface SummaryTable {
  table: string;
  columns: string[];
  rows: unknown[][];
}

export interface SummaryCounts {
  /** Rows stored per summary table. */
  rows: Record<string, number>;
}

/**
 * `lmod-load summarize`: computes the whole-table reports from the loads, for all loads and for
 * user loads only, and stores them (migration 004) in one transaction with the loads'
 * generation read before the computing began. Loads committed meanwhile have bumped that
 * generation, so the reports go on reading the loads until the next summarize.
 */
export async function summarize(client: SqlClient): Promise<SummaryCounts> {
  const [state] = await client.query<{ generation: unknown }>("SELECT generation FROM summary_state WHERE name = 'loads'");
  const generation = String(state.generation);
  const blank = await blankHostId(client);
  const tables: SummaryTable[] = [
    { table: 'summary_packages', columns: ['name', 'versions', 'loads', 'users', 'hosts', 'first_load', 'last_load'], rows: [] },
    { table: 'summary_versions', columns: ['module', 'name', 'version', 'loads', 'users', 'hosts', 'first_load', 'last_load'], rows: [] },
    { table: 'summary_users', columns: ['user', 'loads', 'modules', 'first_load', 'last_load'], rows: [] },
    { table: 'summary_periods', columns: ['every', 'period', 'loads', 'users'], rows: [] },
  ];
  const [packages, versions, users, periods] = tables;
  const keep = (into: SummaryTable, variant: number, rows: Row[]): void => {
    for (const r of rows) into.rows.push([variant, ...into.columns.map((c) => r[c])]);
  };
  for (const variant of [0, 1]) {
    const filters = { ...NO_FILTERS, userloadOnly: variant === 1 };
    const ids = await resolveFilters(client, filters);
    const modules = { sort: 'users' as const, top: null, blankHostId: blank };
    keep(packages, variant, await moduleCountRows(client, ids, { ...modules, by: 'name' }));
    keep(versions, variant, await moduleCountRows(client, ids, { ...modules, by: 'version' }));
    const q = usersQuery(ids, 'loads', null);
    keep(users, variant, await client.query<Row>(q.sql, q.params));
    for (const every of PERIODS) {
      for (const r of await trendRows(client, filters, every)) periods.rows.push([variant, every, r.period, r.loads, r.users]);
    }
  }
  await inTransaction(client, async (tx) => {
    for (const { table, columns, rows } of tables) {
      await tx.run(`DELETE FROM ${table}`);
      const names = ['userload_only', ...columns].join(', ');
      const placeholders = `(${['userload_only', ...columns].map(() => '?').join(', ')})`;
      for (let at = 0; at < rows.length; at += ROWS_PER_INSERT) {
        const part = rows.slice(at, at + ROWS_PER_INSERT);
        await tx.run(`INSERT INTO ${table} (${names}) VALUES ${part.map(() => placeholders).join(', ')}`, part.flat());
      }
    }
    await tx.run("UPDATE summary_state SET generation = ? WHERE name = 'summaries'", [generation]);
  });
  return { rows: Object.fromEntries(tables.map((t) => [t.table, t.rows.length])) };
}
