import { writeAllLater } from './fd';

/** Room for one read's NDJSON (256 KiB of log lines give about 330 KB); a larger one grows it. */
const INITIAL_STAGING = 1 << 20;

/**
 * NDJSON written to a file descriptor, one write per read, while the next read is converted: each `flush` starts writing
 * what was gathered (in libuv's thread pool) into one of two reused buffers, after the previous write has finished (a
 * LogParser NdjsonSink). A pipe that is full then holds up the write, not the conversion. Views of WebAssembly memory
 * are copied in at once.
 */
export class FdSink {
  private buffers = [Buffer.allocUnsafe(INITIAL_STAGING), Buffer.allocUnsafe(INITIAL_STAGING)];
  private current = 0;
  private staged = 0;
  private writing: Promise<void> = Promise.resolve();
  /** The failure of a write (EPIPE: the reader went away), thrown by the next flush. */
  private failure: Error | null = null;

  constructor(private readonly fd: number) {}

  bytes(view: Uint8Array): void {
    this.room(view.length).set(view, this.staged);
    this.staged += view.length;
  }

  /** Text with one byte per character. */
  text(latin1: string): void {
    this.staged += this.room(latin1.length).write(latin1, this.staged, 'latin1');
  }

  /** Waits for the previous write, then starts writing what was gathered since. */
  async flush(): Promise<void> {
    await this.writing;
    if (this.failure !== null) throw this.failure;
    if (this.staged === 0) return;
    const bytes = this.buffers[this.current].subarray(0, this.staged);
    this.current ^= 1;
    this.staged = 0;
    this.writing = writeAllLater(this.fd, bytes).catch((err: Error) => {
      this.failure = err;
    });
  }

  /** Writes what is gathered and waits until all is written. */
  async end(): Promise<void> {
    await this.flush();
    await this.writing;
    if (this.failure !== null) throw this.failure;
  }

  /** The current buffer, with room for `length` more bytes. */
  private room(length: number): Buffer {
    const buffer = this.buffers[this.current];
    if (this.staged + length <= buffer.length) return buffer;
    const grown = Buffer.allocUnsafe(Math.max(2 * buffer.length, this.staged + length));
    buffer.copy(grown, 0, 0, this.staged);
    this.buffers[this.current] = grown;
    return grown;
  }
}
