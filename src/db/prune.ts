import { inTransaction, type SqlClient } from './client';
import { DEFAULT_RETRY, withRetry } from './retry';
import { BUMP_GENERATION } from './store';

/**
 * Retention: the loads before a cutoff, and the jobs that ended before it, deleted oldest first in batches of their own
 * transaction, each a range of a time-ordered key, so loaders and reports running meanwhile never wait long. The names
 * (users, hosts, modules, paths) stay: a loader may hold their ids, and `unused` still lists a pruned module with no
 * last load.
 */

/** Rows per transaction. */
export const PRUNE_BATCH = 10_000;

export interface PruneCounts {
  loads: number;
  jobs: number;
}

export async function pruneCounts(client: SqlClient, cutoff: string): Promise<PruneCounts> {
  const [loads] = await client.query<{ n: unknown }>('SELECT COUNT(*) AS n FROM module_loads WHERE time < ?', [cutoff]);
  const [jobs] = await client.query<{ n: unknown }>('SELECT COUNT(*) AS n FROM jobs WHERE end_time < ?', [cutoff]);
  return { loads: Number(loads.n), jobs: Number(jobs.n) };
}

/** Deletes up to the batch's last time (ties with it included), or, with fewer rows left, all before the cutoff. */
async function pruneTable(client: SqlClient, table: string, column: string, cutoff: string, batch: number, onBatch: () => void): Promise<number> {
  let deleted = 0;
  for (;;) {
    const [edge] = await client.query<{ t: unknown }>(`SELECT ${column} AS t FROM ${table} WHERE ${column} < ? ORDER BY ${column} LIMIT 1 OFFSET ?`, [
      cutoff,
      batch - 1,
    ]);
    const last = edge === undefined ? null : String(edge.t);
    // A batch that lost to a concurrent writer (a deadlock, or Galera's certification) is deleted again.
    deleted += await withRetry(
      () =>
        inTransaction(client, async (tx) => {
          const n = await tx.run(`DELETE FROM ${table} WHERE ${column} ${last === null ? '<' : '<='} ?`, [last ?? cutoff]);
          // Stored summaries no longer hold what is gone.
          if (n > 0) await tx.run(BUMP_GENERATION);
          return n;
        }),
      DEFAULT_RETRY,
    );
    onBatch();
    if (last === null) return deleted;
  }
}

export async function prune(client: SqlClient, cutoff: string, batch = PRUNE_BATCH, onBatch: () => void = () => undefined): Promise<PruneCounts> {
  const loads = await pruneTable(client, 'module_loads', 'time', cutoff, batch, onBatch);
  const jobs = await pruneTable(client, 'jobs', 'end_time', cutoff, batch, onBatch);
  return { loads, jobs };
}
