import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyHasher } from '../src/dedupe/hash';
import { HashSet64 } from '../src/dedupe/hash-set';
import { prng } from '../test/helpers/generate';
import { memoryInUse } from '../test/helpers/heap';
import { fmt, shellQuote } from './measure';

/**
 * lmod-dedupe on 1,000,000 records with 1% duplicates, next to a Node process that only
 * drains the same file; then what a distinct key costs in memory.
 */
const DISTINCT = 990_000;
const DUPLICATE_EVERY = 99;
const RUNS = 3;
const BIN = join(__dirname, '..', '..', 'bin', 'lmod-dedupe.js');
const DRAIN = `node -e "process.stdin.on('data', () => {})"`;
/** Plain I/O at lmod-dedupe's volume (it writes out almost all it reads). */
const COPY = `node -e "process.stdin.pipe(process.stdout)"`;

/** Records shaped like lmod-parse's, when the bench runner's records.ndjson is not there. */
function* generatedRecords(count: number, seed: number): Generator<string> {
  const random = prng(seed);
  const modules = Array.from({ length: 3000 }, (_, i) => `${['gcc', 'mpi/openmpi', 'python', 'cuda', 'bio/samtools'][i % 5]}/${i % 13}.${i % 7}.${i % 3}`);
  let micros = Date.UTC(2023, 3, 27) * 1000;
  for (let i = 0; i < count; i++) {
    micros += 1 + Math.floor(random() * 40000);
    const module = modules[Math.floor(random() * random() * modules.length)];
    const slash = module.lastIndexOf('/');
    const record = {
      time: `${new Date(Math.floor(micros / 1000)).toISOString().slice(0, 19)}.${String(micros % 1e6).padStart(6, '0')}Z`,
      user: `u${String(Math.floor(random() * random() * 2000)).padStart(5, '0')}`,
      module,
      name: module.slice(0, slash),
      version: module.slice(slash + 1),
      path: `/opt/apps/modulefiles/${module}.lua`,
      host: `node${String(Math.floor(random() * 500)).padStart(4, '0')}.cluster.example.org`,
      jobid: random() < 0.5 ? null : String(200000 + (i % 7000)),
      userload: random() < 0.6,
      ...(random() < 0.1 ? { extra: { cluster: 'alpha' } } : {}),
    };
    yield JSON.stringify(record);
  }
}

async function* fileLines(path: string): AsyncGenerator<string> {
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) yield line;
}

/** Distinct base records (an adjacent repeat is skipped: the runner's log already repeats 1% of its lines). */
async function* distinctBase(limit: number): AsyncGenerator<string> {
  const records = process.env.BENCH_DIR === undefined ? '' : join(process.env.BENCH_DIR, 'records.ndjson');
  const source = existsSync(records) ? fileLines(records) : generatedRecords(limit, 7);
  let previous = '';
  let n = 0;
  for await (const line of source) {
    if (line === previous || line === '') continue;
    previous = line;
    yield line;
    if (++n === limit) return;
  }
}

/** Writes the base records with one earlier record (up to 1,000 back) repeated after every 99: 1% duplicates. */
async function writeVariant(path: string, withDuplicates: boolean): Promise<{ records: number; duplicates: number }> {
  const random = prng(20);
  const out = createWriteStream(path);
  const recent: string[] = [];
  let chunk = '';
  let records = 0;
  let duplicates = 0;
  for await (const line of distinctBase(DISTINCT + (withDuplicates ? 0 : DISTINCT / DUPLICATE_EVERY))) {
    chunk += `${line}\n`;
    records++;
    if (recent.push(line) > 1000) recent.shift();
    if (withDuplicates && records % DUPLICATE_EVERY === 0) {
      chunk += `${recent[Math.floor(random() * recent.length)]}\n`;
      duplicates++;
    }
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  return { records: records + duplicates, duplicates };
}

interface Timing {
  wall: number;
  /** User + system CPU seconds: steadier than wall time on a shared machine. */
  cpu: number;
  rssMb: number;
}

/** One run under GNU time: `measure` gives wall time and RSS, this adds CPU time. */
function timed(command: string, stdin: string): Timing {
  const report = join(tmpdir(), `lmod-dedupe-time-${process.pid}`);
  try {
    const started = process.hrtime.bigint();
    execFileSync('bash', ['-c', `/usr/bin/time -f '%U %S %M' -o ${shellQuote(report)} ${command} < ${shellQuote(stdin)} > /dev/null`], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const wall = Number(process.hrtime.bigint() - started) / 1e9;
    const [user, system, rssKb] = readFileSync(report, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
    return { wall, cpu: user + system, rssMb: rssKb / 1024 };
  } finally {
    rmSync(report, { force: true });
  }
}

/** The fastest of RUNS runs by each measure, and the largest peak RSS. */
function best(command: string, stdin: string): Timing {
  const runs = Array.from({ length: RUNS }, () => timed(command, stdin));
  return {
    wall: Math.min(...runs.map((r) => r.wall)),
    cpu: Math.min(...runs.map((r) => r.cpu)),
    rssMb: Math.max(...runs.map((r) => r.rssMb)),
  };
}

function keyCost(): void {
  const used = memoryInUse();
  const key = (i: number): string => `2023-04-27T07:22:57.${String(i % 1e6).padStart(6, '0')}Z\u0001u${i % 2000}\u0001node${i % 500}\u0001gcc/${i % 300}`;
  const hasher = new KeyHasher();
  const before = used();
  const set = new HashSet64();
  let added = 0;
  for (let i = 0; i < 1_000_000; i++) {
    hasher.hash([key(i)], 1);
    if (set.add(hasher.high, hasher.low)) added++;
  }
  const hashBytes = used() - before;
  const beforeStrings = used();
  const strings = new Set<string>();
  for (let i = 0; i < 1_000_000; i++) strings.add(key(i));
  const setBytes = used() - beforeStrings;
  process.stdout.write(
    `1,000,000 distinct keys in-process: ${fmt(added)} new (no false duplicates), table ${fmt(set.byteLength / 2 ** 20, 1)} MiB, ${fmt(hashBytes / 1e6, 1)} bytes/key measured\n`,
  );
  process.stdout.write(`  (a JS Set of the same ${key(0).length}-character key strings: ${fmt(setBytes / 1e6, 1)} bytes/key, ${fmt(strings.size)} keys)\n`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lmod-dedupe-bench-'));
  try {
    const input = join(dir, 'records-1pct-dup.ndjson');
    const distinct = join(dir, 'records-distinct.ndjson');
    const { records, duplicates } = await writeVariant(input, true);
    const unique = (await writeVariant(distinct, false)).records;
    process.stdout.write(`input: ${fmt(records)} records, ${fmt(duplicates)} duplicates (${fmt((100 * duplicates) / records, 2)}%), best of ${RUNS} runs\n`);

    const drain = best(DRAIN, input);
    const line = (label: string, t: Timing): string =>
      `${label.padEnd(30)} ${fmt(records / t.wall).padStart(9)} records/s (${fmt(t.wall, 2)} s wall, ${fmt(t.cpu, 2)} s CPU)  peak RSS ${fmt(t.rssMb)} MB`;
    const ratio = (t: Timing): string => `${fmt(drain.wall / t.wall, 2)} of the drain floor by wall time, ${fmt(drain.cpu / t.cpu, 2)} by CPU time`;
    process.stdout.write(`${line('drain only (node, stdin)', drain)}\n`);
    const copy = best(COPY, input);
    process.stdout.write(`${line('copy only (stdin to stdout)', copy)}\n${''.padEnd(31)}= ${ratio(copy)}\n`);
    for (const [label, args] of [
      ['lmod-dedupe', ''],
      ['lmod-dedupe --per day', '--key user,host,module --per day'],
      ['lmod-dedupe --window 1h', '--window 1h'],
    ]) {
      const t = best(`node ${BIN} --quiet ${args}`, input);
      process.stdout.write(`${line(label, t)}\n${''.padEnd(31)}= ${ratio(t)}\n`);
    }

    const many = best(`node ${BIN} --quiet`, distinct);
    const few = best(`node ${BIN} --quiet --key module`, distinct);
    const perKey = ((many.rssMb - few.rssMb) * 2 ** 20) / unique;
    process.stdout.write(
      `${fmt(unique)} distinct keys: peak RSS ${fmt(many.rssMb)} MB vs ${fmt(few.rssMb)} MB with --key module (a few thousand keys): ${fmt(perKey, 1)} bytes per distinct key\n`,
    );
    keyCost();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`20-dedupe: ${(err as Error).stack}\n`);
  process.exitCode = 1;
});
