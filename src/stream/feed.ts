import { once } from 'node:events';
import { Writable } from 'node:stream';
import { DEFAULT_CHUNK, displayName, openInput } from './input';
import { LineBatch, LineSplitter } from './lines';

export interface FeedOptions {
  maxLength?: number;
  /** Lines as latin1 byte strings (see LineSplitterOptions.binary). */
  binary?: boolean;
  /** An input that could not be opened or read to its end; the next one is read anyway. */
  onInputError: (name: string, err: Error) => void;
}

/**
 * Reads the named inputs in order (`-` is stdin), splits each into numbered line batches
 * and writes them to `sink`, waiting whenever it asks to. The sink is not ended, so one
 * stage serves all inputs. Resolves with the number of inputs that failed.
 */
export async function feedInputs(names: string[], sink: Writable, options: FeedOptions): Promise<number> {
  let failed = 0;
  for (const arg of names) {
    let name = arg === '-' ? 'stdin' : arg;
    try {
      const input = await openInput(arg);
      name = input.name;
      const splitter = new LineSplitter({ source: input.name, maxLength: options.maxLength, binary: options.binary });
      input.stream.on('error', (err) => splitter.destroy(err));
      for await (const batch of input.stream.pipe(splitter) as AsyncIterable<LineBatch>) {
        if (!sink.write(batch)) await once(sink, 'drain');
      }
    } catch (err) {
      if (sink.destroyed) throw err;
      failed++;
      options.onInputError(name, err as Error);
    }
  }
  return failed;
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
 * Reads the named inputs in order (`-` is stdin, gzip detected) into a stage that splits
 * lines itself (ParseStage, DedupeStage), as RawChunks, waiting whenever it asks to,
 * without ending it. An input that cannot be opened or read to its end is reported and the
 * next one read. Resolves with the number of inputs that failed.
 */
export async function feedRawInputs(
  names: string[],
  stage: Writable,
  onInputError: (name: string, err: Error) => void,
  chunkSize = DEFAULT_CHUNK,
): Promise<number> {
  let failed = 0;
  for (const arg of names) {
    let source = displayName(arg);
    try {
      const input = await openInput(arg, process.stdin, chunkSize);
      source = input.name;
      for await (const bytes of input.stream as AsyncIterable<Buffer>) {
        if (!stage.write({ source, bytes } satisfies RawChunk)) await once(stage, 'drain');
      }
    } catch (err) {
      if (stage.destroyed) throw err;
      failed++;
      onInputError(source, err as Error);
    }
    if (!stage.write({ source, bytes: null } satisfies RawChunk)) await once(stage, 'drain');
  }
  return failed;
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
