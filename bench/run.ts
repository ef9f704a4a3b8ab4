import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateLog } from '../test/helpers/generate';

/**
 * `npm run bench`: makes a seeded raw log of 1,000,000 lines (and its parsed records) once
 * in BENCH_DIR (default: the OS temp folder), then runs every `*.bench.js` beside this file
 * in name order, each in its own process so one's memory does not colour the next.
 */
export const BENCH_LINES = Number(process.env.BENCH_LINES ?? 1_000_000);

async function main(): Promise<void> {
  const dir = process.env.BENCH_DIR ?? join(tmpdir(), 'lmod-bench');
  mkdirSync(dir, { recursive: true });
  const raw = join(dir, `raw-${BENCH_LINES}.log`);
  if (!existsSync(raw)) {
    process.stdout.write(`generating ${BENCH_LINES.toLocaleString('en-US')} lines into ${raw}\n`);
    await generateLog(`${raw}.tmp`, { lines: BENCH_LINES, seed: 42, duplicates: 0.01, foreign: 0.002 });
    execFileSync('mv', [`${raw}.tmp`, raw]);
  }
  const records = join(dir, `records-${BENCH_LINES}.ndjson`);
  if (!existsSync(records) || statSync(records).mtimeMs < statSync(raw).mtimeMs) {
    execFileSync('bash', ['-c', `node bin/lmod-parse.js --quiet '${raw}' > '${records}.tmp' && mv '${records}.tmp' '${records}'`], {
      stdio: 'inherit',
    });
  }
  // Stable names for the benches: raw.log and records.ndjson point at this run's size.
  for (const [link, target] of [
    ['raw.log', raw],
    ['records.ndjson', records],
  ]) {
    execFileSync('ln', ['-sfn', target, join(dir, link)]);
  }
  const only = process.argv[2];
  const benches = readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.js') && (!only || f.includes(only)))
    .sort();
  for (const bench of benches) {
    process.stdout.write(`\n== ${bench.replace(/\.bench\.js$/, '')}\n`);
    execFileSync(process.execPath, [join(__dirname, bench)], {
      stdio: 'inherit',
      env: { ...process.env, BENCH_DIR: dir, BENCH_RAW: raw, BENCH_RECORDS: records, BENCH_LINES: String(BENCH_LINES) },
    });
  }
}

main().catch((err) => {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
