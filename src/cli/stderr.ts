import { writeAll } from '../io/fd';

/**
 * stderr for the commands that write stdout with writeSync (lmod-parse, lmod-dedupe):
 * making process.stderr would turn a pipe non-blocking, and with `2>&1` that pipe is
 * stdout's too.
 */
export function toStderr(text: string): void {
  writeAll(2, Buffer.from(text));
}
