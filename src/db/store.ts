import type { LoadRow } from './row';

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
}

/**
 * Counts the transactions that added loads (migration 004), in the same transaction as the rows, so stored summaries are
 * known to be out of date the moment a load commits. Last before COMMIT: batches wait on this row only for a commit.
 */
export const BUMP_GENERATION = "UPDATE summary_state SET generation = generation + 1 WHERE name = 'loads'";
