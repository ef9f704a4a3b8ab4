import { statSync } from 'node:fs';
import { fmt, measure, shellQuote } from './measure';

/**
 * lmod-parse against the floor: a Node process that only drains the same bytes from stdin.
 * Each is run three times and the fastest run counts, so a busy machine colours it less.
 */
const raw = process.env.BENCH_RAW as string;
const lines = Number(process.env.BENCH_LINES);
const megabytes = statSync(raw).size / 1e6;
const DRAIN = `node -e "process.stdin.on('data', () => {})"`;

function best(stages: string[], stdin?: string): { seconds: number; rss: number } {
  const runs = [0, 1, 2].map(() => measure(stages, { stdin }));
  const fastest = runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  return { seconds: fastest.seconds, rss: Math.max(...runs.map((r) => r.peakRssMb[0])) };
}

const floor = best([DRAIN], raw);
const parse = best([`node bin/lmod-parse.js --quiet ${shellQuote(raw)}`, 'cat']);
const triple = measure([`cat ${shellQuote(raw)} ${shellQuote(raw)} ${shellQuote(raw)}`, 'node bin/lmod-parse.js --quiet', 'cat']);

const row = (label: string, seconds: number, rss: number, n = lines, mb = megabytes): string =>
  `${label.padEnd(34)} ${fmt(n / seconds).padStart(10)} lines/s ${fmt(mb / seconds, 1).padStart(7)} MB/s  peak RSS ${fmt(rss).padStart(4)} MB`;

console.log(`input: ${fmt(lines)} lines, ${fmt(megabytes, 1)} MB (${raw})`);
console.log(row('floor (node draining stdin)', floor.seconds, floor.rss));
console.log(row('lmod-parse FILE | cat', parse.seconds, parse.rss));
console.log(`ratio parse/floor: ${(floor.seconds / parse.seconds).toFixed(2)}`);
console.log(row('cat FILE x3 | lmod-parse | cat', triple.seconds, triple.peakRssMb[1], lines * 3, megabytes * 3));
