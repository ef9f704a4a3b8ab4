import { once } from 'node:events';
import { Writable } from 'node:stream';
import { DEFAULT_CHUNK, displayName, Input, openInput } from './input';
import { LineBatch, LineSplitter } from './lines';

export interface FeedOptions {
  maxLength?: number;
  /** Lines as latin1 byte strings (see LineSplitterOptions.binary). */
  binary?: boolean;
  /** An input that could not be opened or read to its end; the next one is read anyway. */
  onInputError: (name: string, err: Error) => void;
}

/** Writes to the sink, waiting while it asks to. */
async function write(sink: Writable, item: unknown): Promise<void> {
  if (!sink.write(item)) await once(sink, 'drain');
}

/**
 * Opens the named inputs in order (`-` is stdin, gzip detected) and hands each to `read`.
 * An input that cannot be opened or read to its end is reported and the next one read,
 * unless the sink itself failed. `end` runs after each input, read whole or not. Resolves
 * with the number of inputs that failed.
 */
async function eachInput(
  names: string[],
  sink: Writable,
  onInputError: (name: string, err: Error) => void,
  chunkSize: number,
  read: (input: Input) => Promise<void>,
  end?: (source: string) => Promise<void>,
): Promise<number> {
  let failed = 0;
  for (const arg of names) {
    let source = displayName(arg);
    try {
      const input = await openInput(arg, process.stdin, chunkSize);
      source = input.name;
      await read(input);
    } catch (err) {
      if (sink.destroyed) throw err;
      failed++;
      onInputError(source, err as Error);
    }
    await end?.(source);
  }
  return failed;
}

/**
 * Reads the named inputs in order, splits each into numbered line batches and writes them
 * to `sink`. The sink is not ended, so one stage serves all inputs. Resolves with the
 * number of inputs that failed.
 */
export function feedInputs(names: string[], sink: Writable, options: FeedOptions): Promise<number> {
  return eachInput(names, sink, options.onInputError, DEFAULT_CHUNK, async (input) => {
    const splitter = new LineSplitter({ source: input.name, maxLength: options.maxLength, binary: options.binary });
    input.stream.on('error', (err) => splitter.destroy(err));
    for await (const batch of input.stream.pipe(splitter) as AsyncIterable<LineBatch>) await write(sink, batch);
  });
}

/**
 * Bytes of one input as they were read, in any chunking. `bytes: null` marks the end of
 * the input: a last line without a newline is taken then, and line numbers restart.
 */
export interface RawChunk {
  source: string;
  bytes: Buffer | null;
}

/**
 * Reads the named inputs in order into a stage that splits lines itself (ParseStage,
 * DedupeStage), as RawChunks, without ending it. Resolves with the number of inputs that
 * failed.
 */
export function feedRawInputs(
  names: string[],
  stage: Writable,
  onInputError: (name: string, err: Error) => void,
  chunkSize = DEFAULT_CHUNK,
): Promise<number> {
  return eachInput(
    names,
    stage,
    onInputError,
    chunkSize,
    async (input) => {
      for await (const bytes of input.stream as AsyncIterable<Buffer>) await write(stage, { source: input.name, bytes } satisfies RawChunk);
    },
    (source) => write(stage, { source, bytes: null } satisfies RawChunk),
  );
}

/** `No such file or directory` rather than `ENOENT: no such file or directory, open 'x'`. */
export function describeInputError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return 'No such file or directory';
    case 'EACCES':
      return 'Permission denied';
    case 'EISDIR':
      return 'Is a directory';
    case 'Z_DATA_ERROR':
    case 'Z_BUF_ERROR':
      return `gzip: ${err.message}`;
    default:
      return err.message;
  }
}
