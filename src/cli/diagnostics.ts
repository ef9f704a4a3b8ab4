import { CliError, EXIT_FATAL } from './exit-codes';

const EXCERPT_LENGTH = 120;

/**
 * Reports rejected input on stderr as `PROG: FILE:LINE: reason: excerpt` and counts it; throws a CliError (exit 2) once
 * more than `maxErrors` have been reported.
 */
export class Diagnostics {
  count = 0;

  constructor(
    readonly program: string,
    private readonly maxErrors: number = Infinity,
    private readonly write: (text: string) => void = (text) => process.stderr.write(text),
  ) {}

  /** A problem with one line of input. */
  reject(source: string, line: number, reason: string, excerpt?: string): void {
    this.count++;
    const tail = excerpt === undefined ? '' : `: ${excerptOf(excerpt)}`;
    this.write(`${this.program}: ${source}:${line}: ${reason}${tail}\n`);
    if (this.count > this.maxErrors) throw new CliError(`${this.program}: stopped after ${this.count} errors (--max-errors ${this.maxErrors})`, EXIT_FATAL);
  }

  /** A message that is not about one line (a file that cannot be read, a notice). */
  message(text: string): void {
    this.write(`${this.program}: ${text}\n`);
  }
}

/** The first characters of a line, with control characters made visible. */
function excerptOf(line: string): string {
  return line.slice(0, EXCERPT_LENGTH).replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
