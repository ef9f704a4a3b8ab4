import { Transform, TransformCallback } from 'node:stream';
import { DedupeOutput, Deduper, DedupeStageOptions, DedupeStats } from '../dedupe/deduper';
import type { RawChunk } from './feed';
import type { LineBatch } from './lines';
import { runStep } from './run-step';

export type { DedupeStageOptions, DedupeStats } from '../dedupe/deduper';

/**
 * Deduper as a Transform: LineBatches (from LineSplitter) or RawChunks (from
 * feedRawInputs) in, NDJSON out, one chunk per input chunk.
 */
export class DedupeStage extends Transform {
  private readonly deduper: Deduper;

  /** Throws an Error (a usage message) when the options do not go together. */
  constructor(options: DedupeStageOptions = {}) {
    super({ writableObjectMode: true, writableHighWaterMark: 16 });
    this.deduper = new Deduper(options);
  }

  get stats(): DedupeStats {
    return this.deduper.stats;
  }

  /** Bytes held by the key hashes still kept (not counting --count tables). */
  get keyBytes(): number {
    return this.deduper.keyBytes;
  }

  override _transform(input: LineBatch | RawChunk, _encoding: BufferEncoding, callback: TransformCallback): void {
    runStep<string | Buffer>((out) => ('lines' in input ? this.deduper.batch(input, out) : this.deduper.raw(input, out)), (out) => this.pushOut(out), callback);
  }

  override _flush(callback: TransformCallback): void {
    runStep<string | Buffer>((out) => this.deduper.finish(out), (out) => this.pushOut(out), callback);
  }

  /** One chunk per step: the raw input's slices are copied, since its buffer is the reader's. */
  private pushOut(out: DedupeOutput): void {
    if (out.length === 0) return;
    if (out.length === 1) this.push(out[0]);
    else this.push(Buffer.concat(out.map((part) => (typeof part === 'string' ? Buffer.from(part) : part))));
  }
}
