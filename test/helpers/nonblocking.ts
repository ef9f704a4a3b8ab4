import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

/**
 * Whether python3 is here: Node's children always get blocking stdio (libuv resets it), so
 * python3 sets the flag. In CI it must be (the test fails rather than skips).
 */
export function canMakeNonBlocking(): boolean {
  const found = spawnSync('python3', ['--version']).status === 0;
  if (!found && process.env.CI === 'true') assert.fail('python3 is needed in CI to make a pipe non-blocking');
  return found;
}

/**
 * Runs `node BIN ARGS < input > output` with its stdin and stdout made non-blocking, as a
 * parent process may leave them, between a writer and a reader that are slow to start, so
 * its stdin is empty and its stdout full at times. Returns each stage's exit status and
 * stderr.
 */
export function runNonBlocking(bin: string, args: string[], input: string, output: string, cwd: string): { statuses: string; stderr: string } {
  const argv = ['node', bin, ...args].map((a) => `'${a}'`).join(', ');
  const nonBlocking = `python3 -c "import os; os.set_blocking(0, False); os.set_blocking(1, False); os.execv('${process.execPath}', [${argv}])"`;
  const script = `(sleep 0.2; cat '${input}') | ${nonBlocking} | (sleep 0.5; cat) > '${output}'; echo "\${PIPESTATUS[*]}"`;
  const r = spawnSync('bash', ['-c', script], { cwd, encoding: 'utf8' });
  return { statuses: r.stdout.trim(), stderr: r.stderr };
}
