import { statSync } from 'node:fs';
import { fmt, measure, shellQuote } from './measure';

/**
 * lmod-parse against the floor: a Node process that only drains the same bytes from stdin.
 * Each is run three times and the fastest run counts, so a busy machine colours it less.
 * For scale, what plain I/O costs a Node filter: copying the raw log, and copying lmod-parse's
 * output (the runner's records.ndjson), from stdin to stdout into the same `cat`.
 */
const raw = process.env.BENCH_RAW as string;
const records = process.env.BENCH_RECORDS as string;
const lines = Number(process.env.BENCH_LINES);
const megabytes = statSync(raw).size / 1e6;
const DRAIN = `node -e "process.stdin.on('data', () => {})"`;
const COPY = `node -e "process.stdin.pipe(process.stdout)"`;

function best(stages: string[], stdin?: string): { seconds: number; rss: number } {
  const runs = [0, 1, 2].map(() => measure(stages, { stdin }));
  const fastest = runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  return { seconds: fastest.seconds, rss: Math.max(...runs.map((r) => r.peakRssMb[0])) };
}

const floor = best([DRAIN], raw);
const copyRaw = best([COPY, 'cat'], raw);
const copyRecords = best([COPY, 'cat'], records);
const parse = best([`node bin/lmod-parse.js --quiet ${shellQuote(raw)}`, 'cat']);
const triple = measure([`cat ${shellQuote(raw)} ${shellQuote(raw)} ${shellQuote(raw)}`, 'node bin/lmod-parse.js --quiet', 'cat']);

const row = (label: string, seconds: number, rss: number, n = lines, mb = megabytes): string =>
  `${label.padEnd(34)} ${fmt(n / seconds).padStart(10)} lines/s ${fmt(mb / seconds, 1).padStart(7)} MB/s  peak RSS ${fmt(rss).padStart(4)} MB`;

console.log(`input: ${fmt(lines)} lines, ${fmt(megabytes, 1)} MB (${raw})`);
console.log(row('floor (node draining stdin)', floor.seconds, floor.rss));
console.log(row('node copying it stdin to stdout | cat', copyRaw.seconds, copyRaw.rss));
console.log(row("node copying parse's output | cat", copyRecords.seconds, copyRecords.rss));
console.log(row('lmod-parse FILE | cat', parse.seconds, parse.rss));
console.log(
  `ratio parse/floor: ${(floor.seconds / parse.seconds).toFixed(2)}; plain copies: ${(floor.seconds / copyRaw.seconds).toFixed(2)} (raw log), ${(floor.seconds / copyRecords.seconds).toFixed(2)} (parse's output)`,
);
console.log(row('cat FILE x3 | lmod-parse | cat', triple.seconds, triple.peakRssMb[1], lines * 3, megabytes * 3));
