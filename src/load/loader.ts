import { Writable } from 'node:stream';
import type { Diagnostics } from '../cli/diagnostics';
import { bytesToUtf8, LineBatch } from '../stream/lines';
import type { LoadStore } from '../db/store';
import { RetryOptions, isTransient, withRetry } from './retry';
import { canonicalRow } from './canonical-row';
import { LoadRow, toRow } from './validate';

export interface LoadCounts {
  /** Records read: non-blank lines. */
  read: number;
  inserted: number;
  present: number;
  rejected: number;
  /** Valid records not loaded because the run was interrupted or failed. */
  unloaded: number;
}

export interface LoaderOptions {
  /** null: validate only (`--dry-run`). */
  store: LoadStore | null;
  batchRows: number;
  batchBytes: number;
  diagnostics: Diagnostics;
  retry: RetryOptions;
  maxLineLength: number;
}

/** A batch that could not be committed even after retrying; what was committed stays. */
export class LoadFailure extends Error {
  constructor(readonly cause: Error) {
    super(cause.message);
  }
}

/**
 * Server errors about one value. Validation should have caught them; if one slips
 * through, the batch is split until the single bad record is found and reported.
 */
const DATA_ERRORS = new Set([
  'ER_DATA_TOO_LONG',
  'ER_TRUNCATED_WRONG_VALUE',
  'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD',
  'ER_WARN_DATA_OUT_OF_RANGE',
  'ER_BAD_NULL_ERROR',
  'ER_INVALID_CHARACTER_STRING',
  'ER_CANNOT_CONVERT_STRING',
  'SQLITE_CONSTRAINT_NOTNULL',
  'SQLITE_TOOBIG',
]);

/**
 * The loading stage: line batches in, records parsed (JSON.parse per line) and validated,
 * valid rows gathered into batches capped by rows and bytes, and each batch loaded with
 * retries while up to `store.maxInFlight` batches are in flight. Writes wait while the
 * batches in flight are full, which holds the input back.
 */
export class LoadSink extends Writable {
  readonly counts: LoadCounts = { read: 0, inserted: 0, present: 0, rejected: 0, unloaded: 0 };
  /** Set when a batch could not be loaded; the run ends with it. */
  failure: LoadFailure | undefined;
  private rows: LoadRow[] = [];
  private bytes = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly options: LoaderOptions) {
    super({ objectMode: true, highWaterMark: 2 });
  }

  /** Committed records: new plus already present. */
  get committed(): number {
    return this.counts.inserted + this.counts.present;
  }

  override _write(batch: LineBatch, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.failure !== undefined) return callback(this.failure);
    if (this.stopped) return callback();
    try {
      this.take(batch);
    } catch (err) {
      // --max-errors: what was gathered but not sent is counted as not loaded.
      this.stop();
      return callback(err as Error);
    }
    this.whenRoom().then(() => callback(this.failure), callback);
  }

  override _final(callback: (err?: Error | null) => void): void {
    if (!this.stopped && this.failure === undefined) this.submit();
    this.settled().then(() => callback(this.failure), callback);
  }

  /**
   * Stops taking input (a signal): the batch still being gathered is dropped, not loaded,
   * and the ones in flight finish. A rerun of the same input loads what was dropped.
   */
  stop(): void {
    this.stopped = true;
    this.counts.unloaded += this.rows.length;
    this.rows = [];
    this.bytes = 0;
  }

  /** Resolves when every batch in flight has been committed or has failed. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  private take(batch: LineBatch): void {
    const { batchRows, batchBytes, maxLineLength } = this.options;
    for (let i = 0; i < batch.lines.length; i++) {
      const lineNo = batch.firstLine + i;
      const raw = batch.lines[i];
      if (raw === null) {
        this.counts.read++;
        this.reject(batch.source, lineNo, `line longer than ${maxLineLength} characters`);
        continue;
      }
      // Most lines are lmod-parse's own records: read without JSON.parse.
      const canonical = canonicalRow(raw, batch.source, lineNo);
      if (canonical !== null) this.counts.read++;
      const row = canonical ?? this.check(batch.binary ? bytesToUtf8(raw) : raw, batch.source, lineNo);
      if (row === null) continue;
      if (this.rows.length > 0 && (this.rows.length >= batchRows || this.bytes + row.bytes > batchBytes)) this.submit();
      this.rows.push(row);
      this.bytes += row.bytes;
    }
    if (this.rows.length >= batchRows) this.submit();
  }

  /** Any other line: JSON.parse and the full check; null when blank or refused (and reported). */
  private check(line: string, source: string, lineNo: number): LoadRow | null {
    if (line.trim() === '') return null;
    this.counts.read++;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.reject(source, lineNo, 'not JSON', line);
      return null;
    }
    const row = toRow(value, source, lineNo);
    if (typeof row !== 'string') return row;
    this.reject(source, lineNo, row);
    return null;
  }

  private reject(source: string, line: number, reason: string, excerpt?: string): void {
    this.counts.rejected++;
    this.options.diagnostics.reject(source, line, reason, excerpt);
  }

  private async whenRoom(): Promise<void> {
    const limit = this.options.store?.maxInFlight ?? 1;
    while (this.inFlight.size >= limit) await Promise.race(this.inFlight);
  }

  private submit(): void {
    const rows = this.rows;
    this.rows = [];
    this.bytes = 0;
    if (rows.length === 0) return;
    const store = this.options.store;
    if (store === null) {
      this.counts.inserted += rows.length;
      return;
    }
    const done: Promise<void> = this.load(store, rows)
      .catch((err: Error) => {
        this.counts.unloaded += rows.length;
        this.failure ??= err instanceof LoadFailure ? err : new LoadFailure(err);
      })
      .finally(() => this.inFlight.delete(done));
    this.inFlight.add(done);
  }

  /** Loads one batch with retries; a record the server refuses is reported and the rest loads. */
  private async load(store: LoadStore, rows: LoadRow[]): Promise<void> {
    try {
      const result = await withRetry(() => store.loadBatch(rows), this.options.retry);
      this.counts.inserted += result.inserted;
      this.counts.present += result.present;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (isTransient(err) || !DATA_ERRORS.has(code)) throw err;
      if (rows.length === 1) {
        this.reject(rows[0].source, rows[0].line, `refused by the database: ${(err as Error).message}`);
        return;
      }
      const half = Math.ceil(rows.length / 2);
      await this.load(store, rows.slice(0, half));
      await this.load(store, rows.slice(half));
    }
  }
}
