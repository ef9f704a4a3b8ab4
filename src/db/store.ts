import { inTransaction, type SqlClient } from './client';
import type { JobRow, LoadRow } from './row';

/** What one committed batch did: rows that were new, and rows whose identity was already stored. */
export interface BatchResult {
  inserted: number;
  present: number;
}

/** One interface over MySQL and SQLite: each batch is loaded in one transaction, and a batch loaded again inserts nothing and counts every row as present. */
export interface LoadStore {
  readonly dialect: 'mysql' | 'sqlite';
  /** Bytes one batch may take in a statement (under the server's max_allowed_packet). */
  readonly maxBatchBytes: number;
  /** Batches that may be loaded at the same time. */
  readonly maxInFlight: number;
  loadBatch(rows: LoadRow[]): Promise<BatchResult>;
  /**
   * Stores job records by (cluster, jobid) in one transaction: `inserted` counts the new or changed jobs, `present` the
   * ones stored as they are. A job stored as ended is not replaced by a record that says it still runs (an older sacct).
   */
  loadJobs(rows: JobRow[]): Promise<BatchResult>;
}

/** The jobs table's columns in the order the stores write them. */
export const JOB_COLUMNS = [
  'cluster',
  'jobid',
  'job',
  'user',
  'account',
  'partition_name',
  'state',
  'start_time',
  'end_time',
  'elapsed_s',
  'cpus',
  'gpus',
  'nodes',
] as const;

/** A job row's values in JOB_COLUMNS order. */
export function jobValues(r: JobRow): (string | number | null)[] {
  return [r.cluster, r.jobid, r.job, r.user, r.account, r.partition, r.state, r.start, r.end, r.elapsed, r.cpus, r.gpus, r.nodes];
}

/**
 * Counts the transactions that added loads (migration 004), in the same transaction as the rows, so stored summaries are
 * known to be out of date the moment a load commits. Last before COMMIT: batches wait on this row only for a commit.
 */
export const BUMP_GENERATION = "UPDATE summary_state SET generation = generation + 1 WHERE name = 'loads'";

const END = JOB_COLUMNS.indexOf('end_time');
const ELAPSED = JOB_COLUMNS.indexOf('elapsed_s');

const jobKey = (cluster: unknown, jobid: unknown): string => `${cluster}\u0000${jobid}`;

/**
 * Whether `incoming` replaces the stored job: not when the stored one has ended and the new record says it runs, nor
 * when both run and the new record has run for less (an older sacct output loaded after a newer one).
 */
function replaces(storedEnd: unknown, storedElapsed: unknown, incoming: JobRow): boolean {
  if (incoming.end !== null) return true;
  return storedEnd === null && incoming.elapsed >= Number(storedElapsed);
}

/**
 * What a batch of job records writes, given the stored rows of their keys (values in JOB_COLUMNS order): the rows that
 * are new or change a stored job, one per key, the later record of a key replacing the earlier.
 */
export function jobsToWrite(rows: JobRow[], stored: unknown[][]): JobRow[] {
  const current = new Map<string, unknown[] | JobRow>(stored.map((values) => [jobKey(values[0], values[1]), values]));
  const write = new Map<string, JobRow>();
  for (const row of rows) {
    const key = jobKey(row.cluster, row.jobid);
    const before = write.get(key) ?? current.get(key);
    if (before === undefined) {
      write.set(key, row);
      continue;
    }
    const values = Array.isArray(before) ? before : jobValues(before);
    const same = jobValues(row).every((v, i) => (v === null ? values[i] === null : values[i] !== null && String(values[i]) === String(v)));
    if (!same && replaces(values[END], values[ELAPSED], row)) write.set(key, row);
  }
  return [...write.values()];
}

/** Job rows per statement: 13 parameters each stay under SQLite's limit of variables. */
const JOB_CHUNK = 500;

/**
 * Job records into the jobs table, in one transaction per batch, both dialects: the stored rows of the keys are read
 * (and locked, on MySQL), jobsToWrite decides, and the rest is one upsert per chunk.
 */
export function storeJobs(client: SqlClient, rows: JobRow[]): Promise<BatchResult> {
  const columns = JOB_COLUMNS.join(', ');
  const mysql = client.dialect === 'mysql';
  const update = JOB_COLUMNS.slice(2).map((c) => (mysql ? `${c} = VALUES(${c})` : `${c} = excluded.${c}`));
  const upsert = mysql ? `ON DUPLICATE KEY UPDATE ${update.join(', ')}` : `ON CONFLICT (cluster, jobid) DO UPDATE SET ${update.join(', ')}`;
  return inTransaction(client, async (tx) => {
    let written = 0;
    for (let i = 0; i < rows.length; i += JOB_CHUNK) {
      const chunk = rows.slice(i, i + JOB_CHUNK);
      const keys = chunk.flatMap((r) => [r.cluster, r.jobid]);
      const found = await tx.query<Record<string, unknown>>(
        `SELECT ${columns} FROM jobs WHERE (cluster, jobid) IN (${chunk.map(() => '(?, ?)').join(', ')})${mysql ? ' FOR UPDATE' : ''}`,
        keys,
      );
      const write = jobsToWrite(
        chunk,
        found.map((r) => JOB_COLUMNS.map((c) => r[c])),
      );
      if (write.length === 0) continue;
      const tuple = `(${JOB_COLUMNS.map(() => '?').join(', ')})`;
      await tx.run(`INSERT INTO jobs (${columns}) VALUES ${write.map(() => tuple).join(', ')} ${upsert}`, write.flatMap(jobValues));
      written += write.length;
    }
    if (written > 0) await tx.run(BUMP_GENERATION);
    return { inserted: written, present: rows.length - written };
  });
}
