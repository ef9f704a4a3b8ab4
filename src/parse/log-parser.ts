import { DEFAULT_MAX_LINE } from '../lines/line-window';
import { YearResolver, zoneConverter, type ZoneConverter } from './header-time';
import { DocumentedScanner } from './documented/scanner';
import { parseLine, tagMatcher } from './line';
import { recordToNdjson } from './serialize';

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

export interface ParseOptions {
  /** A site's own tag, in addition to the known ones. */
  tag?: RegExp;
  /** Year of the first RFC 3164 stamp of each input (default: from referenceTime). */
  year?: number;
  /** Zone of RFC 3164 stamps (default: this machine's). */
  tz?: string;
  /** The time an input was last written (its mtime), which its newest stamps cannot pass. */
  referenceTime?: (source: string) => Date;
  /** The cluster of records whose line names none. */
  cluster?: string | null;
  /** Adds `source: "FILE:LINE"` to each record. */
  withSource?: boolean;
  /** Lines longer than this many bytes are reported and dropped unread. */
  maxLength?: number;
  /** A tracking line that yields no record; may throw to stop the run. */
  onMalformed?: (source: string, line: number, reason: string, text?: string) => void;
}

/**
 * Where a LogParser puts its NDJSON, in input order. A `bytes` view may be WebAssembly memory that the next call
 * overwrites: use or copy it before returning.
 */
export interface NdjsonSink {
  bytes(view: Uint8Array): void;
  /** NDJSON with one byte per character, to be written as latin1. */
  text(latin1: string): void;
}

/** Bytes of an input converted at a time, so the WebAssembly memory stays small. */
const SLICE = 64 * 1024;

/**
 * lmod-parse's engine, with no I/O of its own: an input's bytes in, NDJSON out to a sink, with the counts of lines,
 * records, skipped (foreign, commands, unloads, empty) and malformed lines. The bytes go into the LineWindow of a
 * DocumentedScanner: runs of lines in Lmod's documented format are converted in WebAssembly, any other line is parsed
 * here.
 */
export class LogParser {
  readonly counts: ParseCounts = { lines: 0, records: 0, skipped: 0, malformed: 0 };
  private readonly isTrackingTag: (tag: string) => boolean;
  private readonly toEpoch: ZoneConverter;
  private readonly maxLength: number;
  private years: YearResolver | undefined;
  private readonly scanner: DocumentedScanner;
  /** The input being read. */
  private source: string | undefined;

  constructor(private readonly options: ParseOptions = {}) {
    this.isTrackingTag = tagMatcher(options.tag);
    this.toEpoch = zoneConverter(options.tz);
    this.maxLength = options.maxLength ?? DEFAULT_MAX_LINE;
    this.scanner = new DocumentedScanner(this.maxLength, options.cluster ?? null);
  }

  /** An input's next bytes, in any chunking (copied in). A new source starts a new input; end() each input first. */
  write(source: string, bytes: Uint8Array, sink: NdjsonSink): void {
    this.start(source);
    for (let at = 0; at < bytes.length; at += SLICE) {
      this.scanner.window.append(bytes.subarray(at, at + SLICE));
      this.linesOf(sink);
    }
  }

  /**
   * Lets `read` put up to `size` of an input's next bytes straight into WebAssembly memory, then converts them. Returns
   * what `read` returned: how many bytes (0 at the end).
   */
  read(source: string, read: (into: Uint8Array) => number, size: number, sink: NdjsonSink): number {
    this.start(source);
    const count = this.scanner.window.fill(read, size);
    this.linesOf(sink);
    return count;
  }

  /** The end of the input being read: its unfinished last line is a line, and line numbers restart. */
  end(sink: NdjsonSink): void {
    if (this.source === undefined) return;
    if (this.scanner.window.finish()) this.line(sink);
    this.source = undefined;
  }

  private start(source: string): void {
    if (source === this.source) return;
    this.source = source;
    this.scanner.window.restart();
    const reference = this.options.referenceTime?.(source) ?? new Date();
    this.years = new YearResolver(this.toEpoch, this.options.year, reference);
  }

  /** Every complete line in the window, in order: documented runs converted in WebAssembly, the others here. */
  private linesOf(sink: NdjsonSink): void {
    const convert = this.options.withSource !== true;
    const window = this.scanner.window;
    for (;;) {
      if (convert) {
        const run = this.scanner.convert();
        if (run.ndjson !== null) {
          sink.bytes(run.ndjson);
          this.counts.lines += run.lines;
          this.counts.records += run.lines;
        }
      }
      if (!window.next()) return;
      this.line(sink);
    }
  }

  /** The line the window handed out, parsed. */
  private line(sink: NdjsonSink): void {
    const window = this.scanner.window;
    const source = this.source as string;
    const counts = this.counts;
    counts.lines++;
    if (window.lineStart < 0) {
      counts.malformed++;
      this.options.onMalformed?.(source, window.lineNo, `line longer than ${this.maxLength} bytes`);
      return;
    }
    const text = window.text(window.lineStart, window.lineEnd);
    const outcome = parseLine(text, { isTrackingTag: this.isTrackingTag, years: this.years as YearResolver, cluster: this.options.cluster });
    if ('record' in outcome) {
      counts.records++;
      if (this.options.withSource === true) outcome.record.source = `${source}:${window.lineNo}`;
      sink.text(utf8Bytes(recordToNdjson(outcome.record)));
    } else if ('skip' in outcome) {
      counts.skipped++;
    } else {
      counts.malformed++;
      this.options.onMalformed?.(source, window.lineNo, outcome.malformed, text);
    }
  }
}
