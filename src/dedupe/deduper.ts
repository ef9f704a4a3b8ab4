import { isUtf8 } from 'node:buffer';
import { DEFAULT_MAX_LINE, LineWindow } from '../lines/line-window';
import { CountTable, countLine } from './count';
import { KeyExtractor, NOT_AN_OBJECT, NOT_JSON } from './extract';
import { type HashKey, KeyHasher, randomHashKey } from './hash';
import { HashSet64 } from './hash-set';
import type { KeyValue } from './key-spec';
import { LayoutKeyScanner } from './layout-keys/scanner';
import { type DedupeOptions, type DedupePlan, planDedupe } from './plan';
import { RecentBuckets } from './recent-buckets';
import { parseRecordTime, TIME_FORMAT, type TimeParts } from '../time/record-time';

export interface DeduperOptions extends DedupeOptions {
  /** Longest line in bytes. */
  maxLength?: number;
  /** A line without a key; may throw to stop the stream (--max-errors). */
  onReject?: (source: string, line: number, reason: string, text?: string) => void;
  /** The first record older than the buckets still kept (later ones are only counted). */
  onLate?: (source: string, line: number, message: string) => void;
  /** The key hashes' key (default: chosen at random). */
  hashKey?: HashKey;
}

export interface DedupeStats {
  /** Records read (blank lines are not counted). */
  in: number;
  /** Records written, or count objects with --count. */
  out: number;
  duplicates: number;
  rejected: number;
  /** Records older than the buckets kept: passed on unchecked (counted nowhere with --count). */
  late: number;
}

const KEEP = 0;
const DROP = 1;
const NEWLINE = Buffer.from('\n');

/** Output pieces in order: text, or views of the input's memory (used before the next input arrives). */
export type DedupeOutput = (string | Uint8Array)[];

/**
 * lmod-dedupe's engine, with no I/O of its own: an input's NDJSON bytes in, NDJSON out. The first record of each key is
 * written exactly as it came, in input order; later ones with the same key are dropped. With `count`, one object per key
 * (per bucket) instead, written as each bucket is retired and at the end.
 *
 * The bytes go into a LineWindow and are never decoded as a whole: records in lmod-parse's layout have their keys hashed
 * in WebAssembly (plain de-duplication) or read by one regular expression over the window's text as latin1, whose
 * offsets are byte offsets; any other line is decoded (as UTF-8 where it has non-ASCII bytes) and read as JSON. Kept
 * lines go out as views of the window's memory.
 */
export class Deduper {
  readonly stats: DedupeStats = { in: 0, out: 0, duplicates: 0, rejected: 0, late: 0 };
  private readonly plan: DedupePlan;
  private readonly extractor: KeyExtractor;
  /** Key hashes of lmod-parse's layout in WebAssembly, for plain de-duplication (no --per, --window, --count). */
  private readonly keyScanner: LayoutKeyScanner | null;
  private readonly window: LineWindow;
  private readonly values: KeyValue[];
  private readonly hasher: KeyHasher;
  private readonly sets: RecentBuckets<HashSet64>;
  private readonly counts: RecentBuckets<CountTable>;
  private readonly maxLength: number;
  private readonly onReject: NonNullable<DeduperOptions['onReject']>;
  private readonly onLate: NonNullable<DeduperOptions['onLate']>;
  /** Count lines of retired buckets, written before the next output. */
  private countOutput: string[] = [];
  /** The input being read. */
  private source: string | undefined;
  /** What HashSet64.warm returns, kept so that its reads are not optimised away. */
  private warmth = 0;

  /** Throws an Error (a usage message) when the options do not go together. */
  constructor(options: DeduperOptions = {}) {
    this.plan = planDedupe(options);
    this.maxLength = options.maxLength ?? DEFAULT_MAX_LINE;
    this.extractor = new KeyExtractor(this.plan.spec);
    const key = options.hashKey ?? randomHashKey();
    this.hasher = new KeyHasher(key);
    this.keyScanner = this.plan.count || this.plan.bucket !== undefined ? null : LayoutKeyScanner.forSpec(this.plan.spec, this.maxLength, key);
    this.window = this.keyScanner?.window ?? new LineWindow(this.maxLength);
    this.values = new Array<KeyValue>(this.plan.spec.paths.length).fill(null);
    this.sets = new RecentBuckets(() => new HashSet64());
    this.counts = new RecentBuckets(
      () => new CountTable(),
      (bucket, table) => this.retireCounts(bucket, table),
    );
    this.onReject = options.onReject ?? (() => {});
    this.onLate = options.onLate ?? (() => {});
  }

  /** Bytes held by the key hashes still kept (not counting --count tables). */
  get keyBytes(): number {
    return this.sets.kept().reduce((sum, set) => sum + set.byteLength, 0);
  }

  /** An input's next bytes (copied in); a new source starts a new input. Output pieces are added to `out`. */
  write(source: string, bytes: Uint8Array, out: DedupeOutput): void {
    this.withCounts(out, () => {
      this.start(source);
      this.window.append(bytes);
      this.linesOf(out);
    });
  }

  /** Lets `read` put up to `size` of an input's next bytes straight into the window; returns what `read` returned. */
  read(source: string, read: (into: Uint8Array) => number, size: number, out: DedupeOutput): number {
    let count = 0;
    this.withCounts(out, () => {
      this.start(source);
      count = this.window.fill(read, size);
      this.linesOf(out);
    });
    return count;
  }

  /** The end of the input being read: its unfinished last line is a line. */
  end(out: DedupeOutput): void {
    this.withCounts(out, () => {
      if (this.source === undefined) return;
      if (this.window.finish()) this.lastLine(out);
      this.source = undefined;
    });
  }

  /** The end of all input: with --count, the tables still open are written. */
  finish(out: DedupeOutput): void {
    this.end(out);
    this.withCounts(out, () => {
      if (this.plan.count) this.counts.close();
    });
  }

  private start(source: string): void {
    if (source === this.source) return;
    this.source = source;
    this.window.restart();
  }

  /** Runs a step; count lines of buckets it retired go out before its records, also when it throws. */
  private withCounts(out: DedupeOutput, step: () => void): void {
    try {
      step();
    } finally {
      if (this.countOutput.length > 0) out.unshift(`${this.countOutput.splice(0).join('\n')}\n`);
    }
  }

  /** The complete lines in the window, kept ones out as runs of its memory. */
  private linesOf(out: DedupeOutput): void {
    const w = this.window;
    const blockStart = w.start;
    const blockEnd = w.completeEnd();
    const scanner = w.droppedNext ? null : this.keyScanner;
    const hashes = scanner?.scan(blockStart, blockEnd);
    if (hashes !== undefined) this.warmth ^= (this.sets.at(0) as HashSet64).warm(hashes, (scanner as LayoutKeyScanner).lines);
    // The block as latin1 text only when a line needs it (always without the scanner); lines are then found in it.
    let text: string | undefined;
    let runStart = 0;
    let runEnd = 0;
    let kept = 0;
    let i = 0;
    try {
      for (let before = w.start; w.next(); before = w.start) {
        const inBlock = w.start !== before;
        const s = w.lineStart;
        const e = w.lineEnd;
        let verdict: number;
        if (s < 0) {
          verdict = this.tooLong();
        } else if (hashes !== undefined && inBlock && i < (scanner as LayoutKeyScanner).lines && hashes[4 * i + 1] === 1) {
          verdict = this.judgeHash(hashes[4 * i + 2], hashes[4 * i + 3]);
        } else {
          let end = -1;
          if (inBlock) {
            text ??= w.blockText();
            end = this.extractor.extractLayout(text, s - w.blockStart, this.values);
          }
          verdict = end >= 0 && end === e - w.blockStart ? this.judge(null, text as string) : this.general(s, e);
        }
        if (inBlock) i++;
        if (verdict !== KEEP) continue;
        kept++;
        if (s === runEnd && w.memory[e] === 10) {
          runEnd = e + 1;
          continue;
        }
        if (runEnd > runStart) out.push(w.memory.subarray(runStart, runEnd));
        if (w.memory[e] === 10) {
          runStart = s;
          runEnd = e + 1;
        } else {
          // A CRLF line goes out with its CR removed.
          out.push(w.memory.subarray(s, e), NEWLINE);
          runStart = runEnd = 0;
        }
      }
    } finally {
      // Also when --max-errors stops the run: the records kept before that line go out.
      if (runEnd > runStart) out.push(w.memory.subarray(runStart, runEnd));
      this.stats.out += kept;
    }
  }

  /** The last line of an input, without a newline. */
  private lastLine(out: DedupeOutput): void {
    const w = this.window;
    const verdict = w.lineStart < 0 ? this.tooLong() : this.general(w.lineStart, w.lineEnd);
    if (verdict !== KEEP) return;
    this.stats.out++;
    out.push(Buffer.from(w.memory.subarray(w.lineStart, w.lineEnd)), NEWLINE);
  }

  /** A line read the general way: decoded, its key read as JSON. Blank lines are dropped without a word. */
  private general(s: number, e: number): number {
    const line = this.window.text(s, e);
    if (line === '') return DROP;
    // Decoded, invalid UTF-8 becomes U+FFFD, and keys that differ only there would be one.
    if (line.includes('\ufffd') && !isUtf8(this.window.memory.subarray(s, e))) {
      this.stats.in++;
      return this.reject(this.window.lineNo, 'not valid UTF-8');
    }
    try {
      return this.judge(this.extractor.extract(line, this.values), line);
    } catch (err) {
      // A key value nested deeper than JSON.stringify's stack can write as the key's text.
      if (!(err instanceof RangeError)) throw err;
      return this.reject(this.window.lineNo, 'key field nested too deeply');
    }
  }

  private tooLong(): number {
    this.stats.in++;
    return this.reject(this.window.lineNo, `line longer than ${this.maxLength} bytes`);
  }

  /** judge() for a line whose key hash the scanner gave (its time already checked there). */
  private judgeHash(high: number, low: number): number {
    this.stats.in++;
    if ((this.sets.at(0) as HashSet64).add(high, low)) return KEEP;
    this.stats.duplicates++;
    return DROP;
  }

  /**
   * Decides on one record whose key values are in `this.values` (or `reason` says why it has none): KEEP, DROP (a
   * duplicate, counted, or rejected). `text` from `start` to `end` is the line, for messages.
   */
  private judge(reason: string | null, text: string, start = 0, end = text.length): number {
    this.stats.in++;
    const lineNo = this.window.lineNo;
    if (reason !== null) {
      const excerpt = reason === NOT_JSON || reason === NOT_AN_OBJECT ? text.slice(start, end) : undefined;
      return this.reject(lineNo, reason, excerpt);
    }
    const { spec } = this.plan;
    const values = this.values;
    let bucket = 0;
    let parts: TimeParts | null = null;
    if (spec.timeSlot >= 0) {
      const time = values[spec.timeSlot];
      parts = typeof time === 'string' ? parseRecordTime(time) : null;
      if (parts === null) return this.reject(lineNo, `time is not ${TIME_FORMAT}: ${JSON.stringify(time)}`);
      if (this.plan.bucket !== undefined) bucket = this.plan.bucket(parts);
    }
    if (this.plan.count) {
      const table = this.counts.at(bucket);
      if (table === undefined) this.late(lineNo, 'not counted');
      else table.add(values, spec.keyLength, (parts as TimeParts).micros);
      return DROP;
    }
    this.hasher.hash(values, spec.keyLength);
    const set = this.sets.at(bucket);
    if (set === undefined) {
      this.late(lineNo, 'passed on without a duplicate check');
      return KEEP;
    }
    if (set.add(this.hasher.high, this.hasher.low)) return KEEP;
    this.stats.duplicates++;
    return DROP;
  }

  private reject(lineNo: number, reason: string, text?: string): number {
    this.stats.rejected++;
    this.onReject(this.source as string, lineNo, reason, text);
    return DROP;
  }

  private late(lineNo: number, what: string): void {
    if (this.stats.late++ === 0) this.onLate(this.source as string, lineNo, `record older than ${this.plan.retained}: ${what} (further ones only counted)`);
  }

  private retireCounts(bucket: number, table: CountTable): void {
    const label = this.plan.label?.(bucket);
    for (const [key, entry] of table.entries) this.countOutput.push(countLine(this.plan.spec, key, entry, label));
    this.stats.out += table.entries.size;
  }
}
