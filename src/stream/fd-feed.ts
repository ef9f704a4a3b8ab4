import { closeSync, openSync } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { LogParser } from '../parse/log-parser';
import type { FdSink } from './fd-sink';
import { readSome } from './fd';
import { DEFAULT_CHUNK, displayName } from './input';

/** The event loop's turn between reads: timers (the progress line) and signals run. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const isGzip = (head: Uint8Array): boolean => head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;

/**
 * Reads the named inputs in order into a LogParser (`-` is stdin) and writes its NDJSON to
 * the sink: plain bytes with readSync straight into its WebAssembly memory, gzip (found by
 * its magic bytes) through zlib. The sink is flushed after each read. An input that cannot
 * be opened or read to its end is reported and the next one read; an error of the parser
 * or the sink (--max-errors, EPIPE) ends the feed. Resolves with the number of inputs that
 * failed.
 */
export async function feedParser(
  names: string[],
  parser: LogParser,
  sink: FdSink,
  onInputError: (name: string, err: Error) => void,
  chunkSize: number,
): Promise<number> {
  const head = Buffer.allocUnsafe(chunkSize);
  let failed = 0;
  for (const arg of names) {
    const source = displayName(arg);
    let fd: number | undefined;
    let inputError: Error | undefined;
    try {
      fd = arg === '-' ? 0 : openSync(arg, 'r');
      inputError = await feedOne(parser, source, fd, head, sink);
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
    parser.end(sink);
    sink.flush();
  }
  return failed;
}

/** One opened input: its read error if it could not be read to its end; parser and sink errors are thrown. */
async function feedOne(parser: LogParser, source: string, fd: number, head: Buffer, sink: FdSink): Promise<Error | undefined> {
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
    const got = read(head.subarray(headLength));
    headLength += got;
    if (got === 0 || headLength >= 2) break;
  }
  if (readError !== undefined) return readError;
  const first = head.subarray(0, headLength);
  if (isGzip(first)) return feedGzip(parser, source, fd, first, sink);
  parser.write(source, first, sink);
  for (let count = headLength; ; count = parser.read(source, read, head.length, sink)) {
    sink.flush();
    // A read may block for as long as the writer upstream waits; the progress line is drawn in these turns.
    await turn();
    if (count === 0) break;
  }
  return readError;
}

/** The rest of a gzip input, whose first bytes are `head`, inflated by zlib's stream. */
async function feedGzip(parser: LogParser, source: string, fd: number, head: Buffer, sink: FdSink): Promise<Error | undefined> {
  // Not fs.createReadStream: destroying it closes the descriptor, which is stdin's or the caller's to close.
  const raw = new Readable({
    read(): void {
      try {
        const chunk = Buffer.allocUnsafe(DEFAULT_CHUNK);
        const count = readSome(fd, chunk);
        this.push(count === 0 ? null : chunk.subarray(0, count));
      } catch (err) {
        this.destroy(err as Error);
      }
    },
  });
  const gunzip = createGunzip({ chunkSize: DEFAULT_CHUNK });
  raw.on('error', (err) => gunzip.destroy(err));
  gunzip.write(Buffer.from(head));
  raw.pipe(gunzip);
  const chunks = gunzip[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  try {
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await chunks.next();
      } catch (err) {
        return err as Error;
      }
      if (next.done === true) return undefined;
      parser.write(source, next.value, sink);
      sink.flush();
    }
  } finally {
    raw.destroy();
    gunzip.destroy();
  }
}
