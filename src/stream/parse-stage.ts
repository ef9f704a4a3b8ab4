import { Transform, TransformCallback } from 'node:stream';
import { YearResolver, zoneConverter, ZoneConverter } from '../parse/header-time';
import { canonicalToNdjson } from '../parse/fast-path';
import { parseLine, tagMatcher } from '../parse/line';
import { recordToNdjson } from '../parse/serialize';
import { CanonicalWindow } from '../parse/canonical/window';
import type { RawChunk } from './feed';
import { bytesToUtf8, DEFAULT_MAX_LINE, LineBatch } from './lines';
import { runStep } from './run-step';

const NON_ASCII = /[^\x00-\x7f]/;

/** Text as its UTF-8 bytes, one character each, so a batch can be encoded as latin1. */
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
  /** The splitter's line bound, named in the message for a line it dropped. */
  maxLength?: number;
  /** A tracking line that yields no record; may throw to stop the run. */
  onMalformed?: (source: string, line: number, reason: string, text?: string) => void;
}

/** Bytes of a RawChunk converted at a time, so the WebAssembly memory stays small. */
const RAW_SLICE = 64 * 1024;

/**
 * Lines in, NDJSON bytes out: one Buffer per input chunk, so the writes downstream are large.
 * Counts lines, records, skipped (foreign, commands, unloads, empty) and malformed lines.
 *
 * Input is either LineBatches (from LineSplitter: for library use) or RawChunks (what
 * lmod-parse itself reads). RawChunks go through a CanonicalWindow: runs of lines in the
 * documented format are converted in WebAssembly, the others parsed here like a batch's.
 */
export class ParseStage extends Transform {
  readonly counts: ParseCounts = { lines: 0, records: 0, skipped: 0, malformed: 0 };
  private readonly isTrackingTag: (tag: string) => boolean;
  private readonly toEpoch: ZoneConverter;
  private years: YearResolver | undefined;
  /** Made with the first RawChunk: LineBatch users need no WebAssembly. */
  private windowOrNone: CanonicalWindow | undefined;
  /** RawChunk state: the input and its lines so far. */
  private rawSource: string | undefined;
  private rawLines = 0;

  constructor(private readonly options: ParseStageOptions = {}) {
    // Up to 1 MiB of NDJSON may wait for a slow reader, so converting goes on while a pipe drains.
    super({ writableObjectMode: true, writableHighWaterMark: 2, readableHighWaterMark: 1 << 20 });
    this.isTrackingTag = tagMatcher(options.tag);
    this.toEpoch = zoneConverter(options.tz);
  }

  override _transform(input: LineBatch | RawChunk, _encoding: BufferEncoding, callback: TransformCallback): void {
    runStep<Buffer>((out) => ('lines' in input ? this.lineBatch(input, out) : this.rawChunk(input, out)), (out) => this.pushOut(out), callback);
  }

  override _flush(callback: TransformCallback): void {
    runStep<Buffer>(
      (out) => {
        if (this.rawSource !== undefined) this.rawChunk({ source: this.rawSource, bytes: null }, out);
      },
      (out) => this.pushOut(out),
      callback,
    );
  }

  private pushOut(out: Buffer[]): void {
    if (out.length > 0) this.push(out.length === 1 ? out[0] : Buffer.concat(out));
  }

  private get window(): CanonicalWindow {
    return (this.windowOrNone ??= new CanonicalWindow(this.options.maxLength ?? DEFAULT_MAX_LINE));
  }

  private startInput(source: string): void {
    const reference = this.options.referenceTime?.(source) ?? new Date();
    this.years = new YearResolver(this.toEpoch, this.options.year, reference);
  }

  private lineBatch(batch: LineBatch, out: Buffer[]): void {
    // Line 1 starts an input, even when the same file is named twice.
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
      // The text holds one byte per character (utf8Bytes), so latin1 is a plain copy where
      // a UTF-8 encoding would have to examine every character.
      if (text !== '') out.push(Buffer.from(text, 'latin1'));
    }
  }

  /** `bytes: null` ends the input: its unfinished last line is a line. */
  private rawChunk(chunk: RawChunk, out: Buffer[]): void {
    if (chunk.source !== this.rawSource) {
      this.rawSource = chunk.source;
      this.rawLines = 0;
      this.startInput(chunk.source);
    }
    if (chunk.bytes === null) {
      const last = this.window.finish();
      if (last !== undefined) this.rawLine(last, out);
      this.rawSource = undefined;
      return;
    }
    for (let at = 0; at < chunk.bytes.length; at += RAW_SLICE) {
      this.window.append(chunk.bytes.subarray(at, at + RAW_SLICE));
      this.rawLinesOf(out);
    }
  }

  /** Every complete line in the window, in order: canonical runs converted there, the others here. */
  private rawLinesOf(out: Buffer[]): void {
    const convert = this.options.withSource !== true;
    for (;;) {
      if (convert) {
        const run = this.window.convert();
        if (run.ndjson !== null) {
          out.push(run.ndjson);
          this.rawLines += run.lines;
          this.counts.lines += run.lines;
          this.counts.records += run.lines;
        }
      }
      const line = this.window.nextLine();
      if (line === undefined) return;
      this.rawLine(line, out);
    }
  }

  private rawLine(line: string | null, out: Buffer[]): void {
    const text = this.parseOne(line, this.rawSource as string, ++this.rawLines, true);
    if (text !== '') out.push(Buffer.from(text, 'latin1'));
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
