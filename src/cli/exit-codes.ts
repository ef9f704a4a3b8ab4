/** Exit codes shared by every binary (docs/operations.md). */
export const EXIT_OK = 0;
/** Finished, but some input was rejected. */
export const EXIT_REJECTED = 1;
/** Usage, configuration or database error, or --max-errors exceeded. */
export const EXIT_FATAL = 2;
export const EXIT_SIGINT = 130;
export const EXIT_SIGTERM = 143;

/** A failure that ends the run with a one-line message and a given exit code, no stack. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FATAL,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
