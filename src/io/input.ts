import { closeSync, fstatSync, openSync, read as readAsync } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { readSome, tryAgain } from './fd';

// The one input loop of the commands: inputs in order (`-` or none: stdin) into a consumer, gzip found by its magic
// bytes. No stream buffers and no fresh memory per read: a filter's own work is cheaper than that.
/** What takes the inputs' bytes. It is done with the bytes when each call returns (its output written or copied), so the reader's buffer can be reused. */
export interface ByteConsumer {
  /** An input's next bytes, in any chunking. */
  write(source: string, bytes: Uint8Array): void;
  /**
   * Optional, for blocking reads: lets `read` put up to `size` of an input's next bytes straight into the consumer's own
   * memory; returns what `read` returned (0 at the end).
   */
  read?(source: string, read: (into: Uint8Array) => number, size: number): number;
  /** The end of an input, read whole or not. */
  end(source: string): void;
  /** Called after each read, before the next one: output held back goes out (or starts to), and the consumer may make the loop wait. */
  flush(): void | Promise<void>;
}

export interface FeedOptions {
  /** Bytes read at a time. */
  chunkSize: number;
  /**
   * Read with readSync on the event loop's thread (the fastest, for lmod-parse and lmod-dedupe), or in libuv's thread
   * pool, so timers and signal handlers run while a read waits (lmod-load).
   */
  blocking: boolean;
  /** An input that could not be opened or read to its end; the next one is read anyway. */
  onInputError: (name: string, err: Error) => void;
}

/** The arguments a command was given, `-` or none meaning standard input. */
export function inputNames(args: string[]): string[] {
  return args.length === 0 ? ['-'] : args;
}

/** One input as the commands name it in messages: a path, or `stdin` for `-`. */
export function displayName(arg: string): string {
  return arg === '-' ? 'stdin' : arg;
}

/** Whether an input's first bytes are the gzip magic. */
export const isGzip = (head: Uint8Array): boolean => head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;

/** `No such file or directory` rather than `ENOENT: no such file or directory, open 'x'`. */
export function describeInputError(err: NodeJS.ErrnoException): string {
  const plain: Record<string, string> = { ENOENT: 'No such file or directory', EACCES: 'Permission denied', EISDIR: 'Is a directory' };
  if (err.code !== undefined && err.code in plain) return plain[err.code];
  return err.code === 'Z_DATA_ERROR' || err.code === 'Z_BUF_ERROR' ? `gzip: ${err.message}` : err.message;
}

/** The event loop's turn between reads: timers (the progress line) and signals run. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A read that waits on the event loop. A file is read in libuv's thread pool (EAGAIN, from a descriptor another process
 * made non-blocking, is waited out). A stdin that is no file goes through process.stdin: a pipe or terminal read pending
 * in the thread pool would keep the process from exiting (libuv joins its threads at exit).
 */
function readLater(fd: number, into: Uint8Array): Promise<number> {
  if (fd === 0 && !(stdinIsFile ??= fstatSync(0).isFile())) return readStdin(into);
  return new Promise((resolve, reject) => {
    const attempt = (): void =>
      readAsync(fd, into, 0, into.length, null, (err, count) => {
        if (err === null) resolve(count);
        else if (tryAgain(err)) setTimeout(attempt, 1);
        else reject(err);
      });
    attempt();
  });
}

type Reader = (into: Uint8Array) => number | Promise<number>;

let stdinIsFile: boolean | undefined;
/** What process.stdin handed over that did not fit into the last read. */
let stdinRest: Buffer | null = null;
let stdinChunks: AsyncIterator<Buffer> | null = null;

async function readStdin(into: Uint8Array): Promise<number> {
  if (stdinRest === null) {
    stdinChunks ??= process.stdin[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const next = await stdinChunks.next();
    if (next.done === true) return 0;
    stdinRest = next.value;
  }
  const count = Math.min(into.length, stdinRest.length);
  into.set(stdinRest.subarray(0, count));
  stdinRest = count < stdinRest.length ? stdinRest.subarray(count) : null;
  return count;
}

/**
 * Reads the named inputs in order into the consumer. An input that cannot be opened or read to its end is reported and
 * the next one read; an error of the consumer (--max-errors, EPIPE) ends the feed. Resolves with the number of inputs
 * that failed.
 */
export async function feedInputs(names: string[], consumer: ByteConsumer, options: FeedOptions): Promise<number> {
  const buffer = Buffer.allocUnsafe(options.chunkSize);
  let failed = 0;
  for (const arg of names) {
    const source = displayName(arg);
    let fd: number | undefined;
    let inputError: Error | undefined;
    try {
      fd = arg === '-' ? 0 : openSync(arg, 'r');
      inputError = await feedOne(consumer, source, fd, buffer, options.blocking);
    } catch (err) {
      // Only opening throws here; feedOne returns its input's errors.
      if (fd !== undefined) throw err;
      inputError = err as Error;
    } finally {
      if (fd !== undefined && fd !== 0) closeSync(fd);
    }
    if (inputError !== undefined) {
      failed++;
      options.onInputError(source, inputError);
    }
    consumer.end(source);
    await consumer.flush();
  }
  return failed;
}

/** One opened input: its read error if it could not be read to its end; the consumer's errors are thrown. */
async function feedOne(consumer: ByteConsumer, source: string, fd: number, buffer: Buffer, blocking: boolean): Promise<Error | undefined> {
  let readError: Error | undefined;
  const fail = (err: unknown): number => {
    readError = err as Error;
    return 0;
  };
  const read: Reader = blocking
    ? (into) => {
        try {
          return readSome(fd, into);
        } catch (err) {
          return fail(err);
        }
      }
    : (into) => readLater(fd, into).catch(fail);
  // At least two bytes, or the whole input, to tell gzip by.
  let headLength = 0;
  for (;;) {
    const got = await read(buffer.subarray(headLength));
    headLength += got;
    if (got === 0 || headLength >= 2) break;
  }
  if (readError !== undefined) return readError;
  if (isGzip(buffer.subarray(0, headLength))) {
    const gzipError = await feedGzip(consumer, source, read, Buffer.from(buffer.subarray(0, headLength)), buffer.length);
    return readError ?? gzipError;
  }
  consumer.write(source, buffer.subarray(0, headLength));
  if (!blocking) return feedAhead(consumer, source, read, buffer, headLength).then(() => readError);
  for (let count = headLength; ; ) {
    await consumer.flush();
    // A read may block for as long as the writer upstream waits; the progress line is drawn in these turns.
    await turn();
    if (count === 0) break;
    if (consumer.read !== undefined) {
      count = consumer.read(source, read as (into: Uint8Array) => number, buffer.length);
    } else {
      count = read(buffer) as number;
      if (count > 0) consumer.write(source, buffer.subarray(0, count));
    }
  }
  return readError;
}

/** Reads in the thread pool one buffer ahead: the next bytes arrive while the consumer works on these. */
async function feedAhead(consumer: ByteConsumer, source: string, read: Reader, buffer: Buffer, headLength: number): Promise<void> {
  let spare: Buffer = Buffer.allocUnsafe(buffer.length);
  let current: Buffer = buffer;
  let next = headLength === 0 ? Promise.resolve(0) : read(spare);
  for (;;) {
    await consumer.flush();
    const count = await next;
    if (count === 0) return;
    [current, spare] = [spare, current];
    next = read(spare);
    consumer.write(source, current.subarray(0, count));
  }
}

/** The rest of a gzip input, whose first bytes are `head`, inflated by zlib's stream. */
async function feedGzip(consumer: ByteConsumer, source: string, read: Reader, head: Buffer, chunkSize: number): Promise<Error | undefined> {
  // Not fs.createReadStream: destroying it closes the descriptor, which is stdin's or the caller's to close.
  let first: Buffer | null = head;
  const raw = new Readable({
    read(): void {
      if (first !== null) {
        this.push(first);
        first = null;
        return;
      }
      const chunk = Buffer.allocUnsafe(chunkSize);
      Promise.resolve(read(chunk)).then((count) => this.push(count === 0 ? null : chunk.subarray(0, count)));
    },
  });
  const inflated = raw.pipe(createGunzip({ chunkSize }));
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
