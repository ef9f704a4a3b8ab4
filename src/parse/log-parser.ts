import { YearResolver, zoneConverter, ZoneConverter } from './header-time';
import { canonicalToNdjson } from './fast-path';
import { parseLine, tagMatcher } from './line';
import { recordToNdjson } from './serialize';
import { CanonicalWindow } from './canonical/window';
import { bytesToUtf8, DEFAULT_MAX_LINE, LineBatch } from '../stream/lines';

const NON_ASCII = /[^\x00-\x7f]/;

/** Text as its UTF-8 bytes, one character each, so it can be written as latin1. */
function utf8Bytes(text: string): string {
  return NON_ASCII.test(text) ? Buffer.from(text, 'utf8').toString('latin1') : text;
}

export interface ParseCounts {
  lines: number;
  records: number;
  skipped: number;
  malformed: number;
}

export interface ParseStageOptions {
  /** A site's own tag, in addition to the known ones. */
  tag?: RegExp;
  /** Year of the first RFC 3164 stamp of each input (default: from referenceTime). */
  year?: number;
  /** Zone of RFC 3164 stamps (default: this machine's). */
  tz?: string;
  /** The time an input was last written (its mtime), which its newest stamps cannot pass. */
  referenceTime?: (source: string) => Date;
  /** Adds `source: "FILE:LINE"` to each record. */
  withSource?: boolean;
  /** The line bound, named in the message for a line that was dropped. */
  maxLength?: number;
  /** A tracking line that yields no record; may throw to stop the run. */
  onMalformed?: (source: string, line: number, reason: string, text?: string) => void;
}

/**
 * Where a LogParser puts its NDJSON, in input order. A `bytes` view may be WebAssembly
 * memory that the next call overwrites: use or copy it before returning.
 */
export interface NdjsonSink {
  bytes(view: Uint8Array): void;
  /** NDJSON with one byte per character, to be written as latin1. */
  text(latin1: string): void;
}

/** Bytes of an input converted at a time, so the WebAssembly memory stays small. */
const SLICE = 64 * 1024;

/**
 * lmod-parse's engine, with no I/O of its own: log text in, NDJSON out to a sink, with the
 * counts of lines, records, skipped (foreign, commands, unloads, empty) and malformed lines.
 *
 * Input is either LineBatches (from LineSplitter: for library use) or an input's raw bytes,
 * which go through a CanonicalWindow: runs of lines in the documented format are converted
 * in WebAssembly, the others parsed here like a batch's.
 */
export class LogParser {
  readonly counts: ParseCounts = { lines: 0, records: 0, skipped: 0, malformed: 0 };
  private readonly isTrackingTag: (tag: string) => boolean;
  private readonly toEpoch: ZoneConverter;
  private years: YearResolver | undefined;
  /** Made with the first raw bytes: LineBatch users need no WebAssembly. */
  private windowOrNone: CanonicalWindow | undefined;
  /** Raw input state: the input and its lines so far. */
  private rawSource: string | undefined;
  private rawLines = 0;

  constructor(private readonly options: ParseStageOptions = {}) {
    this.isTrackingTag = tagMatcher(options.tag);
    this.toEpoch = zoneConverter(options.tz);
  }

  /** A batch of lines; line 1 starts an input, even when the same file is named twice. */
  batch(batch: LineBatch, sink: NdjsonSink): void {
    if (batch.firstLine === 1 || this.years === undefined) this.startInput(batch.source);
    const { lines, source, firstLine } = batch;
    const withSource = this.options.withSource === true;
    const binary = batch.binary === true;
    let text = '';
    try {
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i];
        const fast = line === null || withSource ? null : canonicalToNdjson(line);
        if (fast !== null) {
          this.counts.lines++;
          this.counts.records++;
          text += fast;
        } else {
          text += this.parseOne(line, source, firstLine + i, binary);
        }
      }
    } finally {
      if (text !== '') sink.text(text);
    }
  }

  /** An input's next bytes, in any chunking (copied in). A new source starts a new input. */
  write(source: string, bytes: Uint8Array, sink: NdjsonSink): void {
    this.startRaw(source);
    for (let at = 0; at < bytes.length; at += SLICE) {
      this.window.append(bytes.subarray(at, at + SLICE));
      this.rawLinesOf(sink);
    }
  }

  /**
   * Lets `read` put up to `size` of an input's next bytes straight into WebAssembly memory,
   * then converts them. Returns what `read` returned: how many bytes (0 at the end).
   */
  read(source: string, read: (into: Uint8Array) => number, size: number, sink: NdjsonSink): number {
    this.startRaw(source);
    const count = this.window.fill(read, size);
    this.rawLinesOf(sink);
    return count;
  }

  /** The end of the raw input being read: its unfinished last line is a line, and line numbers restart. */
  end(sink: NdjsonSink): void {
    if (this.rawSource === undefined) return;
    const last = this.window.finish();
    if (last !== undefined) this.rawLine(last, sink);
    this.rawSource = undefined;
  }

  private get window(): CanonicalWindow {
    return (this.windowOrNone ??= new CanonicalWindow(this.options.maxLength ?? DEFAULT_MAX_LINE));
  }

  private startInput(source: string): void {
    const reference = this.options.referenceTime?.(source) ?? new Date();
    this.years = new YearResolver(this.toEpoch, this.options.year, reference);
  }

  private startRaw(source: string): void {
    if (source === this.rawSource) return;
    this.rawSource = source;
    this.rawLines = 0;
    this.startInput(source);
  }

  /** Every complete line in the window, in order: canonical runs converted there, the others here. */
  private rawLinesOf(sink: NdjsonSink): void {
    const convert = this.options.withSource !== true;
    for (;;) {
      if (convert) {
        const run = this.window.convert();
        if (run.ndjson !== null) {
          sink.bytes(run.ndjson);
          this.rawLines += run.lines;
          this.counts.lines += run.lines;
          this.counts.records += run.lines;
        }
      }
      const line = this.window.nextLine();
      if (line === undefined) return;
      this.rawLine(line, sink);
    }
  }

  private rawLine(line: string | null, sink: NdjsonSink): void {
    const text = this.parseOne(line, this.rawSource as string, ++this.rawLines, true);
    if (text !== '') sink.text(text);
  }

  /**
   * One line that is not taken by a fast path (null: longer than the bound), as NDJSON
   * text with one byte per character, or '' when it gives no record.
   */
  private parseOne(line: string | null, source: string, lineNo: number, binary: boolean): string {
    const counts = this.counts;
    counts.lines++;
    if (line === null) {
      counts.malformed++;
      this.options.onMalformed?.(source, lineNo, `line longer than ${this.options.maxLength ?? DEFAULT_MAX_LINE} ${binary ? 'bytes' : 'characters'}`);
      return '';
    }
    const text = binary ? bytesToUtf8(line) : line;
    const outcome = parseLine(text, { isTrackingTag: this.isTrackingTag, years: this.years as YearResolver });
    if ('record' in outcome) {
      counts.records++;
      if (this.options.withSource === true) outcome.record.source = `${source}:${lineNo}`;
      return utf8Bytes(recordToNdjson(outcome.record));
    }
    if ('skip' in outcome) {
      counts.skipped++;
    } else {
      counts.malformed++;
      this.options.onMalformed?.(source, lineNo, outcome.malformed, text);
    }
    return '';
  }
}
