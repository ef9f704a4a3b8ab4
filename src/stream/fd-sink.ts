import type { NdjsonSink } from '../parse/log-parser';
import { writeAll } from './fd';

/** Text pieces gathered before a write: large enough that a log of only foreign formats is not a syscall per record. */
const STAGING = 256 * 1024;

/**
 * NDJSON written straight to a file descriptor: WebAssembly output without a copy, the text
 * of other lines gathered in one reused buffer. `flush` before waiting for more input, so a
 * slow stream (`tail -f`) is passed on as it comes.
 */
export class FdSink implements NdjsonSink {
  private readonly staging = Buffer.allocUnsafe(STAGING);
  private staged = 0;

  constructor(private readonly fd: number) {}

  bytes(view: Uint8Array): void {
    this.flush();
    writeAll(this.fd, view);
  }

  text(latin1: string): void {
    if (this.staged + latin1.length > STAGING) {
      this.flush();
      if (latin1.length > STAGING) return writeAll(this.fd, Buffer.from(latin1, 'latin1'));
    }
    this.staged += this.staging.write(latin1, this.staged, 'latin1');
  }

  flush(): void {
    if (this.staged === 0) return;
    const staged = this.staged;
    this.staged = 0;
    writeAll(this.fd, this.staging.subarray(0, staged));
  }
}
