import { isJobRow, type JobRow, type LoadRow } from '../db/row';
import type { LoadStore } from '../db/store';
import { isUtf8 } from 'node:buffer';
import { LineWindow } from '../lines/line-window';
import { layoutRow } from './layout-row';
import { type RetryOptions, isTransient, withRetry } from '../db/retry';
import { toRow } from './validate';

export interface LoadCounts {
  /** Records read: non-blank lines. */
  read: number;
  inserted: number;
  present: number;
  rejected: number;
  /** Valid records not loaded because the run was interrupted or failed. */
  unloaded: number;
  /** Job records (lmod-jobs) that were new or changed a stored job, and those stored as they were. */
  jobsStored: number;
  jobsPresent: number;
}

export interface LoaderOptions {
  /** null: validate only (`--dry-run`). */
  store: LoadStore | null;
  batchRows: number;
  batchBytes: number;
  retry: RetryOptions;
  /** The cluster of records that name none (--cluster). */
  cluster?: string | null;
  /** Longest record line in bytes. */
  maxLineLength: number;
  /** A record that cannot be loaded; may throw to stop the run (--max-errors). */
  onReject: (source: string, line: number, reason: string, excerpt?: string) => void;
}

const NON_ASCII = /[\x80-\xff]/;

/** An RFC 3164, 3339 or 5424 syslog header, or a bare `TAG[pid]: key=value` message. */
const SYSLOG = /^(?:<\d{1,3}>\d* ?)?(?:[A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d \S+ |\d{4}-\d\d-\d\dT\S+ \S+ )?[\w.-]+(?:\[\d+\])?: ?\S/;

/** The input is a log, not records: the run stops at its first line. */
export class LogFileInput extends Error {}

/** A batch that could not be committed even after retrying; what was committed stays. */
export class LoadFailure extends Error {
  constructor(readonly cause: Error) {
    super(cause.message);
  }
}

/**
 * Server errors about one value. Validation should have caught them; if one slips through, the batch is split until the
 * single bad record is found and reported.
 */
const DATA_ERRORS = new Set(
  'ER_DATA_TOO_LONG ER_TRUNCATED_WRONG_VALUE ER_TRUNCATED_WRONG_VALUE_FOR_FIELD ER_WARN_DATA_OUT_OF_RANGE ER_BAD_NULL_ERROR ER_INVALID_CHARACTER_STRING ER_CANNOT_CONVERT_STRING SQLITE_CONSTRAINT_NOTNULL SQLITE_TOOBIG'.split(
    ' ',
  ),
);

/**
 * lmod-load's engine: an input's NDJSON bytes in (through a LineWindow), each record checked (lmod-parse's own layout by
 * one regular expression, anything else by JSON.parse and the full check), valid rows gathered into batches capped by
 * rows and bytes, and each batch loaded with retries while up to `store.maxInFlight` batches are in flight. `flush`
 * waits while they are all busy, which holds the input back.
 */
export class Loader {
  readonly counts: LoadCounts = { read: 0, inserted: 0, present: 0, rejected: 0, unloaded: 0, jobsStored: 0, jobsPresent: 0 };
  /** Set when a batch could not be loaded; the run ends with it. */
  failure: LoadFailure | undefined;
  private rows: LoadRow[] = [];
  private jobs: JobRow[] = [];
  private bytes = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;
  private readonly window: LineWindow;
  private source: string | undefined;

  constructor(private readonly options: LoaderOptions) {
    this.window = new LineWindow(options.maxLineLength);
  }

  /** Committed records: new plus already present. */
  get committed(): number {
    return this.counts.inserted + this.counts.present + this.counts.jobsStored + this.counts.jobsPresent;
  }

  /** An input's next bytes; a new source starts a new input. */
  write(source: string, bytes: Uint8Array): void {
    if (this.stopped) return;
    if (source !== this.source) {
      this.source = source;
      this.window.restart();
    }
    const w = this.window;
    w.append(bytes);
    // The complete lines as one latin1 string, sliced per line: cheaper than a decode per line.
    const block = w.blockText();
    const from = w.blockStart;
    this.guarded(() => {
      while (w.next()) this.line(w.lineStart < 0 ? '' : block.slice(w.lineStart - from, w.lineEnd - from));
    });
  }

  /** The end of an input: its last line without a newline is a record too. */
  end(): void {
    if (this.stopped || this.source === undefined) return;
    this.guarded(() => {
      if (this.window.finish()) this.line(this.window.lineStart < 0 ? '' : this.window.latin1(this.window.lineStart, this.window.lineEnd));
    });
    this.source = undefined;
  }

  /** After each read: the run's failure, if any, is thrown; waits while every batch in flight is busy. */
  async flush(): Promise<void> {
    const limit = this.options.store?.maxInFlight ?? 1;
    while (this.failure === undefined && this.inFlight.size >= limit) await Promise.race(this.inFlight);
    this.throwFailure();
  }

  /** The end of all input: the last batch is sent and every batch settled; throws the run's failure. */
  async finish(): Promise<void> {
    if (!this.stopped && this.failure === undefined) this.submit();
    await this.settled();
    this.throwFailure();
  }

  /** After a failure the rows gathered are not loaded either: every record read is new, present, rejected or not loaded. */
  private throwFailure(): void {
    if (this.failure === undefined) return;
    this.stop();
    throw this.failure;
  }

  /**
   * Stops taking input (a signal): the batch still being gathered is dropped, not loaded, and the ones in flight finish.
   * A rerun of the same input loads what was dropped.
   */
  stop(): void {
    this.stopped = true;
    this.counts.unloaded += this.rows.length + this.jobs.length;
    this.rows = [];
    this.jobs = [];
    this.bytes = 0;
  }

  /**
   * Sends what has gathered as a batch of its own, unless every slot is busy (the next call will): a slow input (a live
   * log through `tail -F`) is then committed at the pace of the calls (--flush-interval) instead of when a batch fills.
   */
  sendGathered(): void {
    const limit = this.options.store?.maxInFlight ?? 1;
    if (!this.stopped && this.failure === undefined && this.inFlight.size < limit) this.submit();
  }

  /** Resolves when every batch in flight has been committed or has failed. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  /** --max-errors: what was gathered but not sent is counted as not loaded. */
  private guarded(work: () => void): void {
    try {
      work();
    } catch (err) {
      this.stop();
      throw err;
    }
  }

  /** The line the window handed out, as latin1 text (one character a byte). */
  private line(latin1: string): void {
    const { batchRows, batchBytes, maxLineLength } = this.options;
    const w = this.window;
    const source = this.source as string;
    if (w.lineStart < 0) {
      this.counts.read++;
      this.reject(source, w.lineNo, `line longer than ${maxLineLength} bytes`);
      return;
    }
    // Most lines are lmod-parse's own records: read without JSON.parse.
    const layout = layoutRow(latin1, source, w.lineNo);
    if (layout !== null) this.counts.read++;
    // Invalid UTF-8 would be stored as U+FFFD, merging values that differ only in those bytes.
    const nonAscii = layout === null && NON_ASCII.test(latin1);
    if (nonAscii && !isUtf8(w.memory.subarray(w.lineStart, w.lineEnd))) {
      this.counts.read++;
      return this.reject(source, w.lineNo, 'not valid UTF-8');
    }
    const row = layout ?? this.check(nonAscii ? w.memory.toString('utf8', w.lineStart, w.lineEnd) : latin1, source, w.lineNo);
    if (row === null) return;
    if (isJobRow(row)) {
      if (row.cluster === '') row.cluster = this.options.cluster ?? '';
      this.jobs.push(row);
      if (this.jobs.length >= batchRows) this.submit();
      return;
    }
    row.cluster ??= this.options.cluster ?? null;
    if (this.rows.length > 0 && (this.rows.length >= batchRows || this.bytes + row.bytes > batchBytes)) this.submit();
    this.rows.push(row);
    this.bytes += row.bytes;
    if (this.rows.length >= batchRows) this.submit();
  }

  /** Any other line: JSON.parse and the full check; null when blank or refused (and reported). */
  private check(line: string, source: string, lineNo: number): LoadRow | JobRow | null {
    if (line.trim() === '') return null;
    this.counts.read++;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      // Raw syslog instead of records: one clear stop rather than a message per line.
      if (this.counts.read === 1 && SYSLOG.test(line) && ++this.counts.rejected)
        throw new LogFileInput(`${source}:${lineNo}: this looks like a log file: run it through lmod-parse first`);
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
    this.options.onReject(source, line, reason, excerpt);
  }

  /** Sends the gathered loads and jobs as one batch in flight: the loads, then the jobs. */
  private submit(): void {
    const { rows, jobs } = this;
    this.rows = [];
    this.jobs = [];
    this.bytes = 0;
    if (rows.length === 0 && jobs.length === 0) return;
    const store = this.options.store;
    if (store === null) {
      this.counts.inserted += rows.length + jobs.length;
      return;
    }
    let loaded = 0;
    const work = async (): Promise<void> => {
      if (rows.length > 0) await this.load(store, rows);
      loaded = rows.length;
      if (jobs.length === 0) return;
      const result = await withRetry(() => store.loadJobs(jobs), this.options.retry);
      this.counts.jobsStored += result.inserted;
      this.counts.jobsPresent += result.present;
    };
    const done: Promise<void> = work()
      .catch((err: Error) => {
        this.counts.unloaded += rows.length + jobs.length - loaded;
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
