import { CliError, EXIT_FATAL, EXIT_OK } from './exit-codes';

function isBrokenPipe(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || code === 'ERR_STREAM_PREMATURE_CLOSE';
}

/**
 * Runs a binary's main function: its resolved number is the exit code. A reader that
 * went away (`lmod-parse big.log | head`) ends the run quietly with 0; a CliError prints
 * its one line; anything unexpected prints one line too (the stack only with LMOD_DEBUG=1).
 */
export function runCli(program: string, main: (argv: string[]) => Promise<number>): void {
  process.stdout.on('error', (err) => {
    if (isBrokenPipe(err)) process.exit(EXIT_OK);
  });
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      if (isBrokenPipe(err) && process.stdout.destroyed) process.exit(EXIT_OK);
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
