import { once } from 'node:events';
import { Writable } from 'node:stream';
import { openInput } from './input';
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
