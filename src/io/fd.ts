import { readSync, write, writeSync, writevSync } from 'node:fs';

/**
 * Reads and writes on a file descriptor, for a filter whose own work is the bottleneck: no stream buffers, no fresh
 * memory per chunk. A descriptor that another process made non-blocking answers EAGAIN when it has nothing (or no room)
 * for us; we wait a millisecond and try again, as pino's sonic-boom does.
 */

const pause = new Int32Array(new SharedArrayBuffer(4));

/** EAGAIN and EINTR: nothing went wrong, try again (after a millisecond for EAGAIN). */
export const tryAgain = (err: unknown): boolean => ['EAGAIN', 'EINTR'].includes((err as NodeJS.ErrnoException).code ?? '');

/** For the synchronous calls: whether to try again, having waited when EAGAIN says so. */
function retryable(err: unknown): boolean {
  if (!tryAgain(err)) return false;
  if ((err as NodeJS.ErrnoException).code === 'EAGAIN') Atomics.wait(pause, 0, 0, 1);
  return true;
}

/** Reads what is there, up to `into.length` bytes: how many, 0 at the end. */
export function readSome(fd: number, into: Uint8Array): number {
  for (;;) {
    try {
      return readSync(fd, into, 0, into.length, null);
    } catch (err) {
      if (!retryable(err)) throw err;
    }
  }
}

/** writeAll in libuv's thread pool, so the caller can go on working meanwhile. */
export function writeAllLater(fd: number, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const from = (at: number): void => {
      if (at >= bytes.length) return resolve();
      write(fd, bytes, at, bytes.length - at, null, (err, written) => {
        if (err === null) from(at + written);
        else if (tryAgain(err)) setTimeout(() => from(at), 1);
        else reject(err);
      });
    };
    from(0);
  });
}

/** Writes all of `bytes`; EPIPE (the reader went away) and other errors are thrown. */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let at = 0;
  while (at < bytes.length) {
    try {
      at += writeSync(fd, bytes, at, bytes.length - at);
    } catch (err) {
      if (!retryable(err)) throw err;
    }
  }
}

/**
 * Writes all the pieces in order, with as few syscalls as writev allows. A write may take only some of them (a full
 * pipe; libuv passes at most IOV_MAX, 1024, at a time): the rest is written next.
 */
export function writevAll(fd: number, pieces: Uint8Array[]): void {
  let rest = pieces;
  while (rest.length > 0) {
    let written: number;
    try {
      written = writevSync(fd, rest);
    } catch (err) {
      if (!retryable(err)) throw err;
      continue;
    }
    let done = 0;
    for (; done < rest.length && written >= rest[done].length; done++) written -= rest[done].length;
    rest = rest.slice(done);
    if (written > 0) rest[0] = rest[0].subarray(written);
  }
}

/** stderr for lmod-parse and lmod-dedupe: making process.stderr would turn a pipe non-blocking, and with `2>&1` stdout's too. */
export const toStderr = (text: string): void => writeAll(2, Buffer.from(text));
