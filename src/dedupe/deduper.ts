import { CountTable, countLine } from './count';
import { KeyExtractor, NOT_AN_OBJECT, NOT_JSON } from './extract';
import { KeyHasher } from './hash';
import { HashSet64 } from './hash-set';
import { KeyScanner } from './canonical/key-scanner';
import { KeyValue } from './key-spec';
import { DedupeOptions, DedupePlan, planDedupe } from './plan';
import { RecentBuckets } from './recent-buckets';
import { parseRecordTime, TIME_FORMAT, TimeParts } from './time';
import type { RawChunk } from '../stream/feed';
import { bytesToUtf8, DEFAULT_MAX_LINE, LineBatch } from '../stream/lines';

export interface DedupeStageOptions extends DedupeOptions {
  /** Longest line in characters (LineBatch: the splitter's bound) or bytes (RawChunk). */
  maxLength?: number;
  /** A line without a key; may throw to stop the stream (--max-errors). */
  onReject?: (source: string, line: number, reason: string, text?: string) => void;
  /** The first record older than the buckets still kept (later ones are only counted). */
  onLate?: (source: string, line: number, message: string) => void;
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
/** A line of a chunk read as Latin-1 that must be decoded as UTF-8 instead. */
const NON_ASCII = /[\x80-\xff]/;

/** Output pieces in order: text, or slices of the input (used before the next input arrives). */
export type DedupeOutput = (string | Buffer)[];

/**
 * lmod-dedupe's engine, with no I/O of its own: NDJSON records in, NDJSON out. The first
 * record of each key is written exactly as it came, in input order; later ones with the
 * same key are dropped. With `count`, one object per key (per bucket) instead, written as
 * each bucket is retired and at the end.
 *
 * Input is either LineBatches (from LineSplitter: for library use) or an input's raw bytes
 * (what lmod-dedupe itself reads). Raw bytes skip decoding and re-encoding: a chunk is read
 * as Latin-1 text, whose character offsets are its byte offsets, and kept lines go out as
 * slices of the input buffer. A line that does not have lmod-parse's layout is read like a
 * LineBatch's line, decoded as UTF-8 first when it holds non-ASCII bytes.
 */
export class Deduper {
  readonly stats: DedupeStats = { in: 0, out: 0, duplicates: 0, rejected: 0, late: 0 };
  private readonly plan: DedupePlan;
  private readonly extractor: KeyExtractor;
  /** Key hashes of lmod-parse's layout in WebAssembly, for plain de-duplication (no --per, --window, --count). */
  private readonly keyScanner: KeyScanner | null;
  private readonly values: KeyValue[];
  private readonly hasher = new KeyHasher();
  private readonly sets: RecentBuckets<HashSet64>;
  private readonly counts: RecentBuckets<CountTable>;
  private readonly maxLength: number;
  private readonly onReject: NonNullable<DedupeStageOptions['onReject']>;
  private readonly onLate: NonNullable<DedupeStageOptions['onLate']>;
  /** Count lines of retired buckets, written before the next output. */
  private countOutput: string[] = [];
  /** Raw input state: the input, its lines so far, the unfinished last line. */
  private rawSource = '';
  private rawLines = 0;
  private carry: Buffer | null = null;
  /** Inside a raw line already longer than maxLength: dropped up to its newline. */
  private skipping = false;
  /** What HashSet64.warm returns, kept so that its reads are not optimised away. */
  private warmth = 0;

  /** Throws an Error (a usage message) when the options do not go together. */
  constructor(options: DedupeStageOptions = {}) {
    this.plan = planDedupe(options);
    this.extractor = new KeyExtractor(this.plan.spec);
    this.keyScanner = this.plan.count || this.plan.bucket !== undefined ? null : KeyScanner.forSpec(this.plan.spec);
    this.values = new Array<KeyValue>(this.plan.spec.paths.length).fill(null);
    this.sets = new RecentBuckets(() => new HashSet64());
    this.counts = new RecentBuckets(
      () => new CountTable(),
      (bucket, table) => this.retireCounts(bucket, table),
    );
    this.maxLength = options.maxLength ?? DEFAULT_MAX_LINE;
    this.onReject = options.onReject ?? (() => {});
    this.onLate = options.onLate ?? (() => {});
  }

  /** Bytes held by the key hashes still kept (not counting --count tables). */
  get keyBytes(): number {
    return this.sets.kept().reduce((sum, set) => sum + set.byteLength, 0);
  }

  /** A batch of lines; its output pieces are added to `out`. */
  batch(batch: LineBatch, out: DedupeOutput): void {
    this.withCounts(out, () => this.lineBatch(batch, out));
  }

  /** An input's next bytes (`bytes: null`: its end); a new source starts a new input. */
  raw(chunk: RawChunk, out: DedupeOutput): void {
    this.withCounts(out, () => this.rawChunk(chunk, out));
  }

  /** The end of all input: an unfinished raw input ends, and with --count the tables still open are written. */
  finish(out: DedupeOutput): void {
    this.withCounts(out, () => {
      if (this.carry !== null || this.skipping) this.rawChunk({ source: this.rawSource, bytes: null }, out);
      if (this.plan.count) this.counts.close();
    });
  }

  /** Runs a step; count lines of buckets it retired go out before its records, also when it throws. */
  private withCounts(out: DedupeOutput, step: () => void): void {
    try {
      step();
    } finally {
      if (this.countOutput.length > 0) {
        out.unshift(`${this.countOutput.join('\n')}\n`);
        this.countOutput = [];
      }
    }
  }

  private lineBatch(batch: LineBatch, out: DedupeOutput): void {
    const kept: string[] = [];
    const lines = batch.binary ? batch.lines.map((l) => (l === null ? null : bytesToUtf8(l))) : batch.lines;
    try {
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i];
        if (line === '') continue;
        const lineNo = batch.firstLine + i;
        const verdict =
          line === null
            ? this.reject(batch.source, lineNo, `line longer than ${this.maxLength} characters`)
            : this.judge(batch.source, lineNo, this.extractor.extract(line, this.values), line);
        if (verdict === KEEP) kept.push(line as string);
      }
    } finally {
      this.stats.out += kept.length;
      if (kept.length > 0) out.push(`${kept.join('\n')}\n`);
    }
  }

  private rawChunk(chunk: RawChunk, out: DedupeOutput): void {
    if (chunk.source !== this.rawSource) {
      this.rawSource = chunk.source;
      this.rawLines = 0;
      this.carry = null;
      this.skipping = false;
    }
    if (chunk.bytes === null) {
      // The end of the input: its unfinished last line, if any, is a line.
      if (this.skipping) this.tooLong(++this.rawLines);
      else if (this.carry !== null) this.rawLinesOf(Buffer.concat([this.carry, NEWLINE]), this.carry.length + 1, out);
      this.carry = null;
      this.skipping = false;
      this.rawSource = '';
      return;
    }
    const bytes = chunk.bytes;
    let start = 0;
    if (this.carry !== null || this.skipping) {
      // The line begun in earlier chunks: only it is copied, not the whole chunk.
      const newline = bytes.indexOf(10);
      if (newline < 0) {
        if (!this.skipping) this.keepCarry(Buffer.concat([this.carry as Buffer, bytes]));
        return;
      }
      const head = this.carry;
      this.carry = null;
      if (head === null || head.length + newline > this.maxLength) {
        this.skipping = false;
        this.tooLong(++this.rawLines);
      } else {
        const line = Buffer.concat([head, bytes.subarray(0, newline + 1)]);
        this.rawLinesOf(line, line.length, out);
      }
      start = newline + 1;
    }
    const end = bytes.lastIndexOf(10) + 1;
    if (end > start) this.rawLinesOf(bytes.subarray(start, end), end - start, out);
    if (bytes.length > Math.max(start, end)) this.keepCarry(Buffer.from(bytes.subarray(Math.max(start, end))));
  }

  /** The unfinished last line, unless it is already too long to keep. */
  private keepCarry(carry: Buffer): void {
    this.carry = carry.length > this.maxLength ? null : carry;
    this.skipping = this.carry === null;
  }

  private tooLong(lineNo: number): void {
    this.stats.in++;
    this.reject(this.rawSource, lineNo, `line longer than ${this.maxLength} bytes`);
  }

  /** The complete lines in `bytes[0, length)` (each ending in a newline). */
  private rawLinesOf(bytes: Buffer, length: number, out: DedupeOutput): void {
    const hashes = this.keyScanner?.scan(bytes, length);
    if (hashes !== undefined) this.warmth ^= (this.sets.at(0) as HashSet64).warm(hashes, (this.keyScanner as KeyScanner).lines);
    // The chunk as text only when a line needs it (always without the scanner).
    let text: string | undefined;
    const values = this.values;
    let run = 0;
    let kept = 0;
    let start = 0;
    try {
      for (let i = 0; start < length; i++) {
        const lineNo = ++this.rawLines;
        let verdict = DROP;
        let crlf = false;
        let end: number;
        if (hashes !== undefined && hashes[4 * i + 1] === 1 && (end = hashes[4 * i]) - start <= this.maxLength) {
          verdict = this.judgeHash(hashes[4 * i + 2], hashes[4 * i + 3]);
        } else {
          text ??= bytes.toString('latin1', 0, length);
          end = this.extractor.extractCanonical(text, start, values);
          if (end >= 0 && end - start <= this.maxLength) {
            verdict = this.judge(this.rawSource, lineNo, null, text, start, end);
          } else if ((end = text.indexOf('\n', start)) - start > this.maxLength) {
            this.tooLong(lineNo);
          } else {
            let line = text.slice(start, end);
            if (NON_ASCII.test(line)) line = bytes.toString('utf8', start, end);
            crlf = line.charCodeAt(line.length - 1) === 13;
            if (crlf) line = line.slice(0, -1);
            // Blank lines are dropped without a word, as in a LineBatch.
            if (line !== '') verdict = this.judge(this.rawSource, lineNo, this.extractor.extract(line, values), line);
          }
        }
        if (verdict === KEEP) kept++;
        if (verdict !== KEEP || crlf) {
          // A CRLF line goes out with its CR removed, as LineSplitter would.
          if (start > run) out.push(bytes.subarray(run, start));
          if (verdict === KEEP) out.push(bytes.subarray(start, end - 1), NEWLINE);
          run = end + 1;
        }
        start = end + 1;
      }
    } finally {
      // Also when --max-errors stops the run: the records kept before that line go out.
      if (start > run) out.push(bytes.subarray(run, start));
      this.stats.out += kept;
    }
  }

  /** judge() for a line whose key hash the scanner gave (its time already checked there). */
  private judgeHash(high: number, low: number): number {
    this.stats.in++;
    if ((this.sets.at(0) as HashSet64).add(high, low)) return KEEP;
    this.stats.duplicates++;
    return DROP;
  }

  /**
   * Decides on one record whose key values are in `this.values` (or `reason` says why it
   * has none): KEEP, DROP (a duplicate, counted, or rejected). `text` from `start` to
   * `end` is the line, for messages.
   */
  private judge(source: string, lineNo: number, reason: string | null, text: string, start = 0, end = text.length): number {
    this.stats.in++;
    if (reason !== null) {
      const excerpt = reason === NOT_JSON || reason === NOT_AN_OBJECT ? text.slice(start, end) : undefined;
      return this.reject(source, lineNo, reason, excerpt);
    }
    const { spec } = this.plan;
    const values = this.values;
    let bucket = 0;
    let parts: TimeParts | null = null;
    if (spec.timeSlot >= 0) {
      const time = values[spec.timeSlot];
      parts = typeof time === 'string' ? parseRecordTime(time) : null;
      if (parts === null) return this.reject(source, lineNo, `time is not ${TIME_FORMAT}: ${JSON.stringify(time)}`);
      if (this.plan.bucket !== undefined) bucket = this.plan.bucket(parts);
    }
    if (this.plan.count) {
      const table = this.counts.at(bucket);
      if (table === undefined) this.late(source, lineNo, 'not counted');
      else table.add(values, spec.keyLength, (parts as TimeParts).micros);
      return DROP;
    }
    this.hasher.hash(values, spec.keyLength);
    const set = this.sets.at(bucket);
    if (set === undefined) {
      this.late(source, lineNo, 'passed on without a duplicate check');
      return KEEP;
    }
    if (set.add(this.hasher.high, this.hasher.low)) return KEEP;
    this.stats.duplicates++;
    return DROP;
  }

  private reject(source: string, lineNo: number, reason: string, text?: string): number {
    this.stats.rejected++;
    this.onReject(source, lineNo, reason, text);
    return DROP;
  }

  private late(source: string, lineNo: number, what: string): void {
    if (this.stats.late++ === 0) {
      this.onLate(source, lineNo, `record older than ${this.plan.retained}: ${what} (further ones only counted)`);
    }
  }

  private retireCounts(bucket: number, table: CountTable): void {
    const label = this.plan.label?.(bucket);
    for (const [key, entry] of table.entries) this.countOutput.push(countLine(this.plan.spec, key, entry, label));
    this.stats.out += table.entries.size;
  }
}
