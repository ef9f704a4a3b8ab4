import { CliError, EXIT_FATAL, EXIT_OK } from './exit-codes';

function isBrokenPipe(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || code === 'ERR_STREAM_PREMATURE_CLOSE';
}

export interface RunOptions {
  /** main writes fd 1 itself: process.stdout is not made (that would set a pipe non-blocking); its EPIPE is the reader gone. */
  ownsStdout?: boolean;
}

/**
 * Runs a binary's main function: its resolved number is the exit code. A reader that went away (`lmod-parse big.log |
 * head`) ends the run quietly with 0; a CliError prints its one line; anything unexpected prints one line too (the stack
 * only with LMOD_DEBUG=1).
 */
export function runCli(program: string, main: (argv: string[]) => Promise<number>, options: RunOptions = {}): void {
  // `--db mysql://user:secret@...` would show in `ps`: the title becomes the bare program name.
  if (process.argv.some((a) => /mysql:\/\/[^/@]*:[^/@]*@/i.test(a))) process.title = program;
  if (options.ownsStdout !== true) {
    process.stdout.on('error', (err) => {
      if (isBrokenPipe(err)) process.exit(EXIT_OK);
    });
  }
  let settled = false;
  // Nothing left to wait for, yet no result: never let that pass as a silent exit 0.
  process.once('beforeExit', () => {
    if (settled) return;
    process.stderr.write(`${program}: internal error: the run stopped before it finished\n`);
    process.exitCode = EXIT_FATAL;
  });
  main(process.argv.slice(2)).then(
    (code) => {
      settled = true;
      process.exitCode = code;
    },
    (err: unknown) => {
      settled = true;
      if (isBrokenPipe(err) && (options.ownsStdout === true || process.stdout.destroyed)) process.exit(EXIT_OK);
      if (err instanceof CliError) {
        if (err.message !== '') process.stderr.write(`${err.message}\n`);
        process.exitCode = err.exitCode;
        return;
      }
      const detail = process.env.LMOD_DEBUG === '1' && err instanceof Error ? err.stack : String((err as Error)?.message ?? err);
      process.stderr.write(`${program}: ${detail}\n`);
      process.exitCode = EXIT_FATAL;
    },
  );
}
