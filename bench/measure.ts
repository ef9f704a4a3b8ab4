import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Measurement {
  seconds: number;
  /** Peak resident set size of each stage, in MB, in pipeline order. */
  peakRssMb: number[];
}

/**
 * Runs shell commands joined by pipes (`stages[0] | stages[1] | ...`), each under GNU time,
 * and returns the wall-clock seconds of the whole pipeline and each stage's peak RSS.
 */
export function measure(stages: string[], options: { stdin?: string; stdout?: string; env?: NodeJS.ProcessEnv } = {}): Measurement {
  const dir = mkdtempSync(join(tmpdir(), 'lmod-measure-'));
  try {
    const timed = stages.map((stage, i) => `/usr/bin/time -f %M -o ${join(dir, `rss${i}`)} ${stage}`);
    // The input goes to the first stage, the output comes from the last.
    if (options.stdin) timed[0] += ` < ${shellQuote(options.stdin)}`;
    const script = `${timed.join(' | ')} > ${shellQuote(options.stdout ?? '/dev/null')}`;
    const started = process.hrtime.bigint();
    execFileSync('bash', ['-o', 'pipefail', '-c', script], { stdio: ['ignore', 'ignore', 'inherit'], env: options.env ?? process.env });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const peakRssMb = stages.map(
      (_, i) =>
        Number(
          readFileSync(join(dir, `rss${i}`), 'utf8')
            .trim()
            .split('\n')
            .pop(),
        ) / 1024,
    );
    return { seconds, peakRssMb };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
