import type { SqlClient } from '../db/client';

/** The summary tables' columns after `userload_only`, as summarize writes them. */
export const SUMMARY_COLUMNS = {
  summary_packages: ['name', 'versions', 'jobs', 'core_hours', 'gpu_hours', 'loads', 'users', 'hosts', 'first_load', 'last_load'],
  summary_versions: ['module', 'name', 'version', 'jobs', 'core_hours', 'gpu_hours', 'loads', 'users', 'hosts', 'first_load', 'last_load'],
  summary_users: ['user', 'loads', 'modules', 'first_load', 'last_load'],
  summary_periods: ['every', 'period', 'loads', 'users'],
  summary_accounts: ['account', 'jobs', 'core_hours', 'gpu_hours', 'users', 'top_modules'],
  summary_package_periods: ['every', 'period', 'name', 'loads'],
} as const;

export type SummaryTableName = keyof typeof SUMMARY_COLUMNS;

/** Rows per statement: SQLite takes at most 32,766 parameters a statement. */
const ROWS_PER_INSERT = 500;

/** Writes rows ([userload_only, ...the table's columns]). */
export async function writeSummaryRows(tx: SqlClient, table: SummaryTableName, rows: unknown[][]): Promise<void> {
  const columns = ['userload_only', ...SUMMARY_COLUMNS[table]];
  const placeholders = `(${columns.map(() => '?').join(', ')})`;
  for (let at = 0; at < rows.length; at += ROWS_PER_INSERT) {
    const part = rows.slice(at, at + ROWS_PER_INSERT);
    await tx.run(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${part.map(() => placeholders).join(', ')}`, part.flat());
  }
}

/** summary_state: the loads' generation, and the one the stored summaries hold. */
export interface SummaryState {
  loads: number;
  summaries: number;
}

export async function readSummaryState(client: Pick<SqlClient, 'query'>): Promise<SummaryState> {
  const rows = await client.query<{ name: string; generation: unknown }>('SELECT name, generation FROM summary_state');
  const of = (name: string): number => Number(rows.find((r) => r.name === name)?.generation ?? 0);
  return { loads: of('loads'), summaries: of('summaries') };
}

/**
 * Locks the 'summaries' row at the start of a transaction that writes summaries (MySQL; SQLite's write transactions take
 * turns anyway): two summarizes never interleave, while loaders, which lock the 'loads' row, go on.
 */
export async function lockSummaryState(tx: SqlClient): Promise<void> {
  if (tx.dialect === 'mysql') await tx.query("SELECT generation FROM summary_state WHERE name = 'summaries' FOR UPDATE");
}
