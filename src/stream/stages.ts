import { Transform, type TransformCallback } from 'node:stream';
import { type DedupeOutput, Deduper, type DeduperOptions, type DedupeStats } from '../dedupe/deduper';
import { LogParser, type NdjsonSink, type ParseCounts, type ParseOptions } from '../parse/log-parser';

/**
 * lmod-parse's and lmod-dedupe's engines as Transform streams, for other Node programs: the bytes of one input in (name
 * it with `source`), NDJSON out, one chunk per chunk in, with backpressure. The commands drive the same engines on their
 * file descriptors.
 */

interface SourceOption {
  /** The input's name in messages (default `stdin`). */
  source?: string;
}

/** Runs one step of an engine, pushes what it gave as one chunk, and calls back (with the error that stopped it, after its output). */
function step(stage: Transform, work: (out: DedupeOutput) => void, callback: TransformCallback): void {
  const out: DedupeOutput = [];
  let failure: Error | null = null;
  try {
    work(out);
  } catch (err) {
    failure = err as Error;
  }
  // The pieces may be views of the engine's memory, which the next step reuses: copied here.
  if (out.length > 0) stage.push(Buffer.concat(out.map((part) => (typeof part === 'string' ? Buffer.from(part) : part))));
  callback(failure);
}

/** A sink that gathers a LogParser's NDJSON pieces; text pieces hold one byte per character. */
function gather(out: DedupeOutput): NdjsonSink {
  return { bytes: (view) => out.push(Buffer.from(view)), text: (latin1) => out.push(Buffer.from(latin1, 'latin1')) };
}

export class ParseStage extends Transform {
  private readonly parser: LogParser;
  private readonly source: string;

  constructor(options: ParseOptions & SourceOption = {}) {
    // Up to 1 MiB of NDJSON may wait for a slow reader, so converting goes on while a pipe drains.
    super({ readableHighWaterMark: 1 << 20 });
    this.parser = new LogParser(options);
    this.source = options.source ?? 'stdin';
  }

  get counts(): ParseCounts {
    return this.parser.counts;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    step(this, (out) => this.parser.write(this.source, chunk, gather(out)), callback);
  }

  override _flush(callback: TransformCallback): void {
    step(this, (out) => this.parser.end(gather(out)), callback);
  }
}

export class DedupeStage extends Transform {
  private readonly deduper: Deduper;
  private readonly source: string;

  /** Throws an Error (a usage message) when the options do not go together. */
  constructor(options: DeduperOptions & SourceOption = {}) {
    super();
    this.deduper = new Deduper(options);
    this.source = options.source ?? 'stdin';
  }

  get stats(): DedupeStats {
    return this.deduper.stats;
  }

  /** Bytes held by the key hashes still kept (not counting --count tables). */
  get keyBytes(): number {
    return this.deduper.keyBytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    step(this, (out) => this.deduper.write(this.source, chunk, out), callback);
  }

  override _flush(callback: TransformCallback): void {
    step(this, (out) => this.deduper.finish(out), callback);
  }
}
