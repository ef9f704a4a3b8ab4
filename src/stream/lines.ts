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
}

export interface LineSplitterOptions {
  /** Name used in messages: the file path or `stdin`. */
  source: string;
  /** Lines longer than this many characters are dropped, keeping memory bounded. */
  maxLength?: number;
}

export const DEFAULT_MAX_LINE = 64 * 1024;

/**
 * Bytes in, batches of lines out: one batch per input chunk rather than one object per
 * line, because per-line pushes cost more than the parsing itself. A StringDecoder keeps
 * multi-byte characters whole across chunk edges (invalid UTF-8 becomes U+FFFD), and a
 * trailing `\r` is removed so CRLF files parse like LF ones.
 */
export class LineSplitter extends Transform {
  private readonly decoder = new StringDecoder('utf8');
  private readonly source: string;
  private readonly maxLength: number;
  private tail = '';
  /** Inside a line that already passed maxLength: drop until its newline. */
  private skipping = false;
  private lineCount = 0;

  constructor(options: LineSplitterOptions) {
    super({ readableObjectMode: true, readableHighWaterMark: 16 });
    this.source = options.source;
    this.maxLength = options.maxLength ?? DEFAULT_MAX_LINE;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.split(this.decoder.write(chunk), false);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.split(this.decoder.end(), true);
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
      if (this.tail.length > this.maxLength) {
        this.tail = '';
        this.skipping = true;
      }
    }
    if (final && (this.tail !== '' || this.skipping)) lines.push(this.completeLine(this.tail));
    this.lineCount += lines.length;
    if (lines.length > 0) this.push({ source: this.source, firstLine, lines } satisfies LineBatch);
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
