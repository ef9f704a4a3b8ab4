import { Transform, TransformCallback } from 'node:stream';
import { YearResolver, zoneConverter, ZoneConverter } from '../parse/header-time';
import { canonicalToNdjson } from '../parse/fast-path';
import { parseLine, tagMatcher } from '../parse/line';
import { recordToNdjson } from '../parse/serialize';
import { bytesToUtf8, DEFAULT_MAX_LINE, LineBatch } from './lines';

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

/**
 * LineBatches in, NDJSON bytes out: one Buffer per batch, so the writes downstream are large.
 * Counts lines, records, skipped (foreign, commands, unloads, empty) and malformed lines.
 */
export class ParseStage extends Transform {
  readonly counts: ParseCounts = { lines: 0, records: 0, skipped: 0, malformed: 0 };
  private readonly isTrackingTag: (tag: string) => boolean;
  private readonly toEpoch: ZoneConverter;
  private years: YearResolver | undefined;

  constructor(private readonly options: ParseStageOptions = {}) {
    super({ writableObjectMode: true, writableHighWaterMark: 2 });
    this.isTrackingTag = tagMatcher(options.tag);
    this.toEpoch = zoneConverter(options.tz);
  }

  override _transform(batch: LineBatch, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      // Line 1 starts an input, even when the same file is named twice.
      if (batch.firstLine === 1 || this.years === undefined) this.startInput(batch.source);
      const out = this.parseBatch(batch);
      // The text holds one byte per character (utf8Bytes), so latin1 is a plain copy where
      // a UTF-8 encoding would have to examine every character.
      callback(null, out === '' ? undefined : Buffer.from(out, 'latin1'));
    } catch (err) {
      callback(err as Error);
    }
  }

  private startInput(source: string): void {
    const reference = this.options.referenceTime?.(source) ?? new Date();
    this.years = new YearResolver(this.toEpoch, this.options.year, reference);
  }

  private parseBatch(batch: LineBatch): string {
    const context = { isTrackingTag: this.isTrackingTag, years: this.years as YearResolver };
    const counts = this.counts;
    const { lines, source, firstLine } = batch;
    const withSource = this.options.withSource === true;
    const binary = batch.binary === true;
    let out = '';
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      counts.lines++;
      if (line === null) {
        counts.malformed++;
        this.options.onMalformed?.(source, firstLine + i, `line longer than ${this.options.maxLength ?? DEFAULT_MAX_LINE} ${binary ? 'bytes' : 'characters'}`);
        continue;
      }
      const fast = withSource ? null : canonicalToNdjson(line);
      if (fast !== null) {
        counts.records++;
        out += fast;
        continue;
      }
      const outcome = parseLine(binary ? bytesToUtf8(line) : line, context);
      if ('record' in outcome) {
        counts.records++;
        if (withSource) outcome.record.source = `${source}:${firstLine + i}`;
        out += utf8Bytes(recordToNdjson(outcome.record));
      } else if ('skip' in outcome) {
        counts.skipped++;
      } else {
        counts.malformed++;
        this.options.onMalformed?.(source, firstLine + i, outcome.malformed, binary ? bytesToUtf8(line) : line);
      }
    }
    return out;
  }
}
