import { inTransaction, SqlClient } from '../db/client';
import { EVERY, NO_FILTERS, usersQuery } from './queries';
import { blankHostId, moduleCountRows, moduleNames, resolveFilters, trendRows } from './reports';
import { foldPending } from './summary-fold';
import { collectPairs, packageIds, storePairs, SummaryPairs } from './summary-pairs';
import { lockSummaryState, readSummaryState, recordSummaryState, SUMMARY_COLUMNS, SummaryTableName, writeSummaryRows } from './summary-store';

type Row = Record<string, unknown>;

export interface SummaryCounts {
  /** Rows stored per summary table, and in summary_pairs. */
  rows: Record<string, number>;
}

/**
 * `lmod-load summarize` in full: computes the whole-table reports from the loads, for all loads
 * and for user loads only, and the distinct pairs behind their counts, and stores them
 * (migrations 004 and 005) in one transaction with the loads' generation read before the
 * computing began. Loads committed meanwhile have bumped that generation: the reports then go
 * on reading the loads, and the pairs are not kept (the computing may have seen part of those
 * loads), so the next summarize is a full one too.
 */
export async function summarize(client: SqlClient): Promise<SummaryCounts> {
  const before = await readSummaryState(client);
  const blank = await blankHostId(client);
  const tables = new Map<SummaryTableName, unknown[][]>(Object.keys(SUMMARY_COLUMNS).map((t) => [t as SummaryTableName, []]));
  const keep = (table: SummaryTableName, variant: number, rows: Row[]): void => {
    for (const r of rows) tables.get(table)!.push([variant, ...SUMMARY_COLUMNS[table].map((c) => r[c])]);
  };
  for (const variant of [0, 1]) {
    const filters = { ...NO_FILTERS, userloadOnly: variant === 1 };
    const ids = await resolveFilters(client, filters);
    const modules = { sort: 'users' as const, top: null, blankHostId: blank };
    keep('summary_packages', variant, await moduleCountRows(client, ids, { ...modules, by: 'name' }));
    keep('summary_versions', variant, await moduleCountRows(client, ids, { ...modules, by: 'version' }));
    const q = usersQuery(ids, 'loads', null);
    keep('summary_users', variant, await client.query<Row>(q.sql, q.params));
    for (const every of EVERY) keep('summary_periods', variant, (await trendRows(client, filters, every)).map((r) => ({ ...r, every })));
  }
  const pairs = new SummaryPairs(packageIds(await moduleNames(client)), blank);
  await collectPairs(client, pairs);
  const pairsKept = await inTransaction(client, async (tx) => {
    const now = await lockSummaryState(tx);
    for (const [table, rows] of tables) {
      await tx.run(`DELETE FROM ${table}`);
      await writeSummaryRows(tx, 'INSERT', table, rows);
    }
    await tx.run('DELETE FROM summary_pairs');
    const unchanged = now.loads === before.loads;
    if (unchanged) await storePairs(tx, pairs.tables);
    await recordSummaryState(tx, before.loads, unchanged ? before.loads : 0, now.loads);
    return unchanged;
  });
  return { rows: { ...Object.fromEntries([...tables].map(([t, rows]) => [t, rows.length])), summary_pairs: pairsKept ? pairs.size : 0 } };
}

export type Refreshed =
  | { how: 'current' }
  | { how: 'folded'; loads: number }
  /** `why`: the reason the new loads could not be added, when the summaries were being kept current. */
  | { how: 'full'; rows: Record<string, number>; why: string | null };

/** Brings the summaries up to date: by adding the pending loads where it can (unless `full`), else in full. */
export async function refreshSummaries(client: SqlClient, full = false): Promise<Refreshed> {
  let why: string | null = null;
  if (!full) {
    const outcome = await foldPending(client);
    if (outcome.folded) return outcome.loads === 0 ? { how: 'current' } : { how: 'folded', loads: outcome.loads };
    why = outcome.reason;
  }
  return { how: 'full', rows: (await summarize(client)).rows, why };
}
