import { FdSink } from '../io/fd-sink';
import { type ByteConsumer, describeInputError, feedInputs, inputNames } from '../io/input';
import type { Diagnostics } from './diagnostics';
import type { Progress } from './progress';

/** An engine of a filter that writes NDJSON to stdout (lmod-parse's LogParser, lmod-jobs' JobReader). */
export interface FilterEngine {
  write(source: string, bytes: Uint8Array, sink: FdSink): void;
  read?(source: string, read: (into: Uint8Array) => number, size: number, sink: FdSink): number;
  end(sink: FdSink): void;
}

/**
 * The loop of lmod-parse and lmod-jobs, rather than streams, which cost more than the conversion (docs/performance.md):
 * blocking reads in, one write per read out through an FdSink. Resolves with how many inputs could not be read.
 */
export async function filterToStdout(args: string[], engine: FilterEngine, chunkSize: number, diagnostics: Diagnostics, progress: Progress): Promise<number> {
  const sink = new FdSink(1);
  const read = engine.read;
  const consumer: ByteConsumer = {
    write: (source, bytes) => engine.write(source, bytes, sink),
    read: read === undefined ? undefined : (source, into, size) => read.call(engine, source, into, size, sink),
    end: () => engine.end(sink),
    flush: () => sink.flush(),
  };
  const onInputError = (name: string, err: Error): void => diagnostics.message(`${name}: ${describeInputError(err)}`);
  try {
    const failed = await feedInputs(inputNames(args), consumer, { chunkSize, blocking: true, onInputError });
    await sink.end();
    return failed;
  } catch (err) {
    // What came before the line that stopped the run (--max-errors) still goes out; EPIPE: the reader went away.
    if ((err as NodeJS.ErrnoException).code !== 'EPIPE') await sink.end();
    throw err;
  } finally {
    progress.stop();
  }
}
