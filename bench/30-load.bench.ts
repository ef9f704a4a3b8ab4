import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { fmt, measure, shellQuote } from './measure';

/**
 * lmod-load on the runner's records (1,000,000 parsed lines): into MySQL fresh and again
 * (all present), into SQLite, and the whole pipeline from the raw log; rows/s and peak RSS.
 * MySQL: LMOD_BENCH_MYSQL_URL (default mysql://root@127.0.0.1:3306), a scratch database
 * per run, dropped afterwards. BENCH_LOAD_SWEEP=1 adds a batch-size / in-flight sweep.
 */
const SERVER = (process.env.LMOD_BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306').replace(/\/+$/, '');
const ROOT = join(__dirname, '..', '..');
// The launchers as users run them, so their shebang's Node flags apply.
const bin = (verb: string): string => join(ROOT, 'bin', `lmod-${verb}.js`);
const dir = process.env.BENCH_DIR ?? join(tmpdir(), 'lmod-bench');
const RECORDS = process.env.BENCH_RECORDS ?? join(dir, 'records.ndjson');
const RAW = process.env.BENCH_RAW ?? join(dir, 'raw.log');

function lineCount(path: string): number {
  return Number(execFileSync('bash', ['-c', `wc -l < ${shellQuote(path)}`], { encoding: 'utf8' }).trim());
}

async function scratchDatabase(label: string): Promise<{ url: string; rows(): Promise<number>; drop(): Promise<void> }> {
  const name = `lmod_bench_${label}_${process.pid}`;
  const admin = await createConnection({ uri: SERVER });
  await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  const url = `${SERVER}/${name}`;
  execFileSync('bash', ['-c', `${bin('load')} migrate --quiet --db ${shellQuote(url)}`]);
  return {
    url,
    async rows() {
      const [rows] = await admin.query(`SELECT COUNT(*) AS n FROM \`${name}\`.module_loads`);
      return Number((rows as { n: number }[])[0].n);
    },
    async drop() {
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.end();
    },
  };
}

function report(what: string, count: number, unit: string, seconds: number, rssMb: number[]): void {
  const rss = rssMb.map((r) => fmt(r)).join(' / ');
  process.stdout.write(`${what.padEnd(44)} ${fmt(seconds, 2).padStart(6)} s  ${fmt(count / seconds).padStart(9)} ${unit}/s  peak RSS ${rss} MB\n`);
}

async function mysqlRuns(records: number): Promise<void> {
  const db = await scratchDatabase('load');
  try {
    const load = `${bin('load')} --quiet --db ${shellQuote(db.url)}`;
    const fresh = measure([load], { stdin: RECORDS });
    const stored = await db.rows();
    report(`MySQL, fresh (${fmt(stored)} rows stored)`, records, 'rows', fresh.seconds, fresh.peakRssMb);
    const again = measure([load], { stdin: RECORDS });
    report('MySQL, the same again (all already present)', records, 'rows', again.seconds, again.peakRssMb);
    if ((await db.rows()) !== stored) throw new Error('the reload changed the row count');
  } finally {
    await db.drop();
  }
  const inserts = await scratchDatabase('insert');
  try {
    const fresh = measure([`${bin('load')} --quiet --no-load-data --db ${shellQuote(inserts.url)}`], { stdin: RECORDS });
    report('MySQL, fresh, --no-load-data (INSERTs)', records, 'rows', fresh.seconds, fresh.peakRssMb);
  } finally {
    await inserts.drop();
  }
}

async function rssGrowth(): Promise<void> {
  const db = await scratchDatabase('rss');
  const quarter = mkdtempSync(join(tmpdir(), 'lmod-load-bench-'));
  try {
    const part = join(quarter, 'quarter.ndjson');
    execFileSync('bash', ['-c', `head -n ${Math.floor(lineCount(RECORDS) / 4)} ${shellQuote(RECORDS)} > ${shellQuote(part)}`]);
    const small = measure([`${bin('load')} --quiet --db ${shellQuote(db.url)}`], { stdin: part });
    const sqlite = measure([`${bin('load')} --quiet --db sqlite:${shellQuote(join(quarter, 'quarter.sqlite'))}`], { stdin: part });
    process.stdout.write(
      `loader peak RSS with a quarter of the input: MySQL ${fmt(small.peakRssMb[0])} MB, SQLite ${fmt(sqlite.peakRssMb[0])} MB (compare the full runs)\n`,
    );
  } finally {
    rmSync(quarter, { recursive: true, force: true });
    await db.drop();
  }
}

function sqliteRun(records: number): void {
  const scratch = mkdtempSync(join(tmpdir(), 'lmod-load-bench-'));
  try {
    const load = `${bin('load')} --quiet --db sqlite:${shellQuote(join(scratch, 'lmod.sqlite'))}`;
    const fresh = measure([load], { stdin: RECORDS });
    report('SQLite, fresh', records, 'rows', fresh.seconds, fresh.peakRssMb);
    const again = measure([load], { stdin: RECORDS });
    report('SQLite, the same again', records, 'rows', again.seconds, again.peakRssMb);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function pipelineRun(): Promise<void> {
  const lines = lineCount(RAW);
  const db = await scratchDatabase('pipe');
  try {
    // The raw log is an argument: measure()'s stdin would go to the last stage of a pipeline.
    const stages = [`${bin('parse')} --quiet ${shellQuote(RAW)}`, `${bin('dedupe')} --quiet`, `${bin('load')} --quiet --db ${shellQuote(db.url)}`];
    const run = measure(stages);
    report(`lmod-parse | lmod-dedupe | lmod-load, MySQL`, lines, 'lines', run.seconds, run.peakRssMb);
  } finally {
    await db.drop();
  }
}

async function sweep(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'lmod-load-bench-'));
  try {
    const part = join(scratch, 'part.ndjson');
    const n = 250_000;
    execFileSync('bash', ['-c', `head -n ${n} ${shellQuote(RECORDS)} > ${shellQuote(part)}`]);
    for (const [batch, inFlight] of [
      [1000, 1],
      [2000, 2],
      [5000, 1],
      [5000, 2],
      [5000, 3],
      [10000, 2],
      [20000, 2],
    ]) {
      const db = await scratchDatabase('sweep');
      try {
        const run = measure([`${bin('load')} --quiet --batch-size ${batch} --in-flight ${inFlight} --db ${shellQuote(db.url)}`], {
          stdin: part,
        });
        report(`sweep: --batch-size ${batch} --in-flight ${inFlight}`, n, 'rows', run.seconds, run.peakRssMb);
      } finally {
        await db.drop();
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const records = lineCount(RECORDS);
  const admin = await createConnection({ uri: SERVER });
  const [info] = await admin.query('SELECT VERSION() AS v, @@innodb_buffer_pool_size AS pool, @@local_infile AS local');
  await admin.end();
  const server = (info as { v: string; pool: number; local: number }[])[0];
  const path = Number(server.local) === 1 ? 'LOAD DATA LOCAL path' : 'multi-row INSERT path (local_infile is off)';
  process.stdout.write(`${fmt(records)} records; server ${server.v}, buffer pool ${fmt(server.pool / 2 ** 20)} MiB; ${path}\n`);
  if (process.env.BENCH_LOAD_SWEEP === '1') await sweep();
  await mysqlRuns(records);
  await rssGrowth();
  sqliteRun(records);
  await pipelineRun();
}

main().catch((err) => {
  process.stderr.write(`30-load: ${(err as Error).stack}\n`);
  // Open admin connections would keep a failed run alive.
  process.exit(1);
});
