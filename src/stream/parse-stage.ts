import { Transform, TransformCallback } from 'node:stream';
import { LogParser, NdjsonSink, ParseCounts, ParseStageOptions } from '../parse/log-parser';
import type { RawChunk } from './feed';
import type { LineBatch } from './lines';
import { runStep } from './run-step';

export type { ParseCounts, ParseStageOptions } from '../parse/log-parser';

/** A sink that copies each piece into `out`: text pieces hold one byte per character, so latin1 is a plain copy. */
function collect(out: Buffer[]): NdjsonSink {
  return {
    bytes: (view) => out.push(Buffer.from(view)),
    text: (latin1) => out.push(Buffer.from(latin1, 'latin1')),
  };
}

/**
 * LogParser as a Transform: LineBatches (from LineSplitter) or RawChunks (from
 * feedRawInputs) in, NDJSON bytes out, one Buffer per input chunk so the writes downstream
 * are large.
 */
export class ParseStage extends Transform {
  private readonly parser: LogParser;

  constructor(options: ParseStageOptions = {}) {
    // Up to 1 MiB of NDJSON may wait for a slow reader, so converting goes on while a pipe drains.
    super({ writableObjectMode: true, writableHighWaterMark: 2, readableHighWaterMark: 1 << 20 });
    this.parser = new LogParser(options);
  }

  get counts(): ParseCounts {
    return this.parser.counts;
  }

  override _transform(input: LineBatch | RawChunk, _encoding: BufferEncoding, callback: TransformCallback): void {
    runStep<Buffer>(
      (out) => {
        const sink = collect(out);
        if ('lines' in input) this.parser.batch(input, sink);
        else if (input.bytes === null) this.parser.end(sink);
        else this.parser.write(input.source, input.bytes, sink);
      },
      (out) => this.pushOut(out),
      callback,
    );
  }

  override _flush(callback: TransformCallback): void {
    runStep<Buffer>((out) => this.parser.end(collect(out)), (out) => this.pushOut(out), callback);
  }

  private pushOut(out: Buffer[]): void {
    if (out.length > 0) this.push(out.length === 1 ? out[0] : Buffer.concat(out));
  }
}
