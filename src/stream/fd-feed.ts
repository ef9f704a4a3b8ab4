import { closeSync, openSync } from 'node:fs';
import { Readable } from 'node:stream';
import { readSome } from './fd';
import { DEFAULT_CHUNK, displayName, gunzipped, isGzip } from './input';

/**
 * What takes the inputs' bytes, synchronously. It is done with the bytes when each call
 * returns (its output written or copied), so the reader's buffer can be reused.
 */
export interface ByteConsumer {
  /** An input's next bytes, in any chunking. */
  write(source: string, bytes: Buffer): void;
  /**
   * Optional: lets `read` put up to `size` of an input's next bytes straight into the
   * consumer's own memory; returns what `read` returned (how many, 0 at the end).
   */
  read?(source: string, read: (into: Uint8Array) => number, size: number): number;
  /** The end of an input, read whole or not. */
  end(source: string): void;
  /** Called after each read, before the next one may block: output held back goes out (or starts to). */
  flush(): void | Promise<void>;
}

/** The event loop's turn between reads: timers (the progress line) and signals run. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Reads the named inputs in order (`-` is stdin) with readSync into the consumer: no
 * stream buffers and no fresh memory per chunk, which costs a filter more than its own
 * work. gzip (found by its magic bytes) goes through zlib. An input that cannot be opened
 * or read to its end is reported and the next one read; an error of the consumer
 * (--max-errors, EPIPE) ends the feed. Resolves with the number of inputs that failed.
 */
export async function feedDescriptors(
  names: string[],
  consumer: ByteConsumer,
  onInputError: (name: string, err: Error) => void,
  chunkSize: number,
): Promise<number> {
  const buffer = Buffer.allocUnsafe(chunkSize);
  let failed = 0;
  for (const arg of names) {
    const source = displayName(arg);
    let fd: number | undefined;
    let inputError: Error | undefined;
    try {
      fd = arg === '-' ? 0 : openSync(arg, 'r');
      inputError = await feedOne(consumer, source, fd, buffer);
    } catch (err) {
      // Only opening throws here; feedOne returns its input's errors.
      if (fd !== undefined) throw err;
      inputError = err as Error;
    } finally {
      if (fd !== undefined && fd !== 0) closeSync(fd);
    }
    if (inputError !== undefined) {
      failed++;
      onInputError(source, inputError);
    }
    consumer.end(source);
    await consumer.flush();
  }
  return failed;
}

/** One opened input: its read error if it could not be read to its end; the consumer's errors are thrown. */
async function feedOne(consumer: ByteConsumer, source: string, fd: number, buffer: Buffer): Promise<Error | undefined> {
  let readError: Error | undefined;
  const read = (into: Uint8Array): number => {
    try {
      return readSome(fd, into);
    } catch (err) {
      readError = err as Error;
      return 0;
    }
  };
  // At least two bytes, or the whole input, to tell gzip by.
  let headLength = 0;
  for (;;) {
    const got = read(buffer.subarray(headLength));
    headLength += got;
    if (got === 0 || headLength >= 2) break;
  }
  if (readError !== undefined) return readError;
  if (isGzip(buffer.subarray(0, headLength))) return feedGzip(consumer, source, fd, Buffer.from(buffer.subarray(0, headLength)));
  consumer.write(source, buffer.subarray(0, headLength));
  const next = consumer.read?.bind(consumer) ?? ((name: string, reader: (into: Uint8Array) => number, size: number): number => {
    const count = reader(buffer.subarray(0, size));
    if (count > 0) consumer.write(name, buffer.subarray(0, count));
    return count;
  });
  for (let count = headLength; ; count = next(source, read, buffer.length)) {
    await consumer.flush();
    // A read may block for as long as the writer upstream waits; the progress line is drawn in these turns.
    await turn();
    if (count === 0) break;
  }
  return readError;
}

/** The rest of a gzip input, whose first bytes are `head`, inflated by zlib's stream. */
async function feedGzip(consumer: ByteConsumer, source: string, fd: number, head: Buffer): Promise<Error | undefined> {
  // Not fs.createReadStream: destroying it closes the descriptor, which is stdin's or the caller's to close.
  let first: Buffer | null = head;
  const raw = new Readable({
    read(): void {
      if (first !== null) {
        this.push(first);
        first = null;
        return;
      }
      try {
        const chunk = Buffer.allocUnsafe(DEFAULT_CHUNK);
        const count = readSome(fd, chunk);
        this.push(count === 0 ? null : chunk.subarray(0, count));
      } catch (err) {
        this.destroy(err as Error);
      }
    },
  });
  const inflated = gunzipped(raw);
  const chunks = inflated[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  try {
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await chunks.next();
      } catch (err) {
        return err as Error;
      }
      if (next.done === true) return undefined;
      consumer.write(source, next.value);
      await consumer.flush();
    }
  } finally {
    raw.destroy();
    inflated.destroy();
  }
}
