import { Transform, TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/**
 * A batch of consecutive lines of one input. `null` stands for a line that was longer
 * than the bound and was dropped unread, so the consumer can report it by number.
 */
export interface LineBatch {
  source: string;
  /** Line number (1-based) of `lines[0]`. */
  firstLine: number;
  lines: (string | null)[];
  /** The lines are latin1 byte strings (a `binary` splitter's): decode with `bytesToUtf8`. */
  binary?: true;
}

export interface LineSplitterOptions {
  /** Name used in messages: the file path or `stdin`. */
  source: string;
  /** Lines longer than this many characters are dropped, keeping memory bounded. */
  maxLength?: number;
  /**
   * Hand out each byte as one character (latin1) instead of decoding UTF-8. Cheaper, and
   * still exact: a `\n` byte never occurs inside a UTF-8 sequence, so a consumer can decode
   * the few lines that need it with `bytesToUtf8`.
   */
  binary?: boolean;
}

export const DEFAULT_MAX_LINE = 64 * 1024;

/**
 * The bound for NDJSON record lines (lmod-dedupe, lmod-load): a record is longer than the
 * syslog line it came from, so it gets more room than lmod-parse's input lines.
 */
export const MAX_RECORD_LINE = 1024 * 1024;

/**
 * Bytes in, batches of lines out: one batch per input chunk rather than one object per
 * line, because per-line pushes cost more than the parsing itself. A StringDecoder keeps
 * multi-byte characters whole across chunk edges (invalid UTF-8 becomes U+FFFD), and a
 * trailing `\r` is removed so CRLF files parse like LF ones.
 */
export class LineSplitter extends Transform {
  private readonly decoder: StringDecoder | null;
  private readonly source: string;
  private readonly maxLength: number;
  private tail = '';
  /** Inside a line that already passed maxLength: drop until its newline. */
  private skipping = false;
  private lineCount = 0;

  constructor(options: LineSplitterOptions) {
    super({ readableObjectMode: true, readableHighWaterMark: 2 });
    this.source = options.source;
    this.maxLength = options.maxLength ?? DEFAULT_MAX_LINE;
    this.decoder = options.binary === true ? null : new StringDecoder('utf8');
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.split(this.decoder === null ? chunk.toString('latin1') : this.decoder.write(chunk), false);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.split(this.decoder === null ? '' : this.decoder.end(), true);
    callback();
  }

  private split(text: string, final: boolean): void {
    const lines: (string | null)[] = [];
    const firstLine = this.lineCount + 1;
    let start = 0;
    let newline: number;
    while ((newline = text.indexOf('\n', start)) !== -1) {
      lines.push(this.completeLine(start === 0 ? this.tail + text.slice(0, newline) : text.slice(start, newline)));
      start = newline + 1;
    }
    if (!this.skipping) {
      this.tail = start === 0 ? this.tail + text : text.slice(start);
      // One more character may be the `\r` of a CRLF line of exactly maxLength.
      if (this.tail.length > this.maxLength + 1) {
        this.tail = '';
        this.skipping = true;
      }
    }
    if (final && (this.tail !== '' || this.skipping)) lines.push(this.completeLine(this.tail));
    this.lineCount += lines.length;
    if (lines.length === 0) return;
    const batch: LineBatch = { source: this.source, firstLine, lines };
    if (this.decoder === null) batch.binary = true;
    this.push(batch);
  }

  private completeLine(text: string): string | null {
    this.tail = '';
    if (this.skipping) {
      this.skipping = false;
      return null;
    }
    const line = text.charCodeAt(text.length - 1) === 13 ? text.slice(0, -1) : text;
    return line.length > this.maxLength ? null : line;
  }
}

const NON_ASCII = /[\x80-\xff]/;

/** A line from a `binary` splitter as text: UTF-8 decoded (invalid bytes become U+FFFD). */
export function bytesToUtf8(line: string): string {
  return NON_ASCII.test(line) ? Buffer.from(line, 'latin1').toString('utf8') : line;
}
