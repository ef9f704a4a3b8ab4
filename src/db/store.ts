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

/** Orders rows by their identity, so concurrent loaders lock keys in the same order. */
export function compareIdentity(a: FactKey, b: FactKey): number {
  if (a.time !== b.time) return a.time < b.time ? -1 : 1;
  return a.userId - b.userId || a.hostId - b.hostId || a.moduleId - b.moduleId;
}

export interface FactKey {
  time: string;
  userId: number;
  hostId: number;
  moduleId: number;
}

/**
 * Counts the transactions that added loads (migration 004), in the same transaction as the
 * rows, so stored report summaries are known to be out of date the moment a load commits. The
 * last statement before COMMIT: concurrent batches wait on this one row only for a commit.
 */
export const BUMP_GENERATION = "UPDATE summary_state SET generation = generation + 1 WHERE name = 'loads'";
