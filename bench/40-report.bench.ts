import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { openClient, mysqlConnectionOptions, SqliteClient } from '../src/db/client';
import { type DbConfig, parseDbUrl, type MysqlConfig } from '../src/db/config';
import { migrate } from '../src/db/migrate';
import { chromiumInstalled, launchChromium } from '../test/helpers/browser';
import { prng } from '../test/helpers/generate';
import { fmt, measure, shellQuote } from './measure';

/**
 * Every lmod-report report on ROWS loaded records (default 5,000,000) in SQLite and MySQL.
 * The rows are generated directly (seeded): ~2,000 users and ~3,000 modules with Zipf-like
 * popularity, 500 hosts, a year of Poisson-spaced times from 2025-01-01, stored as the loader stores them;
 * 70% of them in ROWS/10 Slurm jobs (10 consecutive loads a job: 500,000 at the default) of 50 accounts and
 * 4 partitions, a tenth of them with GPUs. The SQLite
 * file is kept in BENCH_DIR for the next run; the MySQL database is dropped at the end.
 * Whole-table `modules` is timed once with the summaries out of date (from the loads), then
 * `lmod-load summarize`, then every report, then a daily load (a day of records after the year)
 * into the summarized database through lmod-load.
 */
const ROWS = Number(process.env.BENCH_REPORT_ROWS ?? 5_000_000);
const SEED = 7;
const USERS = 2000;
const HOSTS = 500;
const PACKAGES = 600;
const VERSIONS = 5;
const NEVER_LOADED = 200;
const START = Date.UTC(2025, 0, 1);
const END = Date.UTC(2026, 0, 1);
const MYSQL_SERVER = process.env.LMOD_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
const BATCH = 5000;

const REAL = ['gcc', 'python', 'openmpi', 'cuda', 'intel', 'hdf5', 'netcdf', 'fftw', 'R', 'matlab', 'gromacs', 'lammps', 'cmake', 'boost', 'julia'];

function packageName(i: number): string {
  return i < REAL.length ? REAL[i] : `apps/tool${String(i).padStart(3, '0')}`;
}

/** Full names; popularity rank is shuffled so popular versions spread over the packages. */
function moduleNames(random: () => number): string[] {
  const names: string[] = [];
  for (let p = 0; p < PACKAGES; p++) for (let v = 0; v < VERSIONS; v++) names.push(`${packageName(p)}/${1 + v}.${Math.floor(random() * 20)}.${p % 10}`);
  for (let i = names.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [names[i], names[j]] = [names[j], names[i]];
  }
  return names;
}

/** Inverse-CDF sampler of a Zipf law with exponent s over ranks 0..n-1. */
function zipfSampler(n: number, s: number, random: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) cdf[k] = sum += 1 / (k + 1) ** s;
  return () => {
    const u = random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

type Row = [string, number, number, number, string | null, number | null];

/** Rows in time order (so the clustered key appends), ids 1-based as the loader assigns them. */
function* rows(modules: number): Generator<Row> {
  const random = prng(SEED + 1);
  const moduleOf = zipfSampler(modules, 1.0, random);
  const userOf = zipfSampler(USERS, 0.9, random);
  const gap = ((END - START) * 1000) / ROWS; // microseconds
  let micros = START * 1000;
  for (let i = 0; i < ROWS; i++) {
    micros += Math.max(1, Math.round(-Math.log(1 - random()) * gap));
    const ms = Math.floor(micros / 1000);
    const iso = new Date(ms).toISOString();
    const time = `${iso.slice(0, 10)} ${iso.slice(11, 23)}${String(micros % 1000).padStart(3, '0')}`;
    const r = random();
    const host = r < 0.005 ? HOSTS + 1 : 1 + Math.floor(random() * HOSTS); // id HOSTS+1 is '' (no host)
    const userload = r < 0.05 ? null : r < 0.25 ? 0 : 1;
    yield [time, 1 + userOf(), host, 1 + moduleOf(), random() < 0.3 ? null : String(JOB_BASE + Math.floor(i / 10)), userload];
  }
}

const JOB_BASE = 100000;
const JOBS = Math.ceil(ROWS / 10);
const ACCOUNTS = 50;
const PARTITIONS = ['cpu', 'gpu', 'bigmem', 'debug'];

type JobValues = [string, string, string, string, string, string, string, number, number, number, number];

/** The jobs of the loads' job ids (cluster '' matches their loads, which name none), as the loader stores them. */
function* jobs(): Generator<JobValues> {
  const random = prng(SEED + 3);
  for (let j = 0; j < JOBS; j++) {
    const id = String(JOB_BASE + j);
    const gpus = random() < 0.1 ? 1 + Math.floor(random() * 4) : 0;
    const cpus = 2 ** Math.floor(random() * 8);
    const account = `acct${String(Math.floor(random() ** 2 * ACCOUNTS)).padStart(3, '0')}`;
    const partition = gpus > 0 ? 'gpu' : PARTITIONS[Math.floor(random() * PARTITIONS.length)];
    yield ['', id, id, `user${String(1 + (j % USERS)).padStart(4, '0')}`, account, partition, 'COMPLETED', 60 + Math.floor(random() * 86_340), cpus, gpus, 1];
  }
}

const JOB_INSERT = 'INSERT INTO jobs (cluster, jobid, job, user, account, partition_name, state, elapsed_s, cpus, gpus, nodes) VALUES';

/** The day after the generated year: a daily load's records, as NDJSON for lmod-load. */
const DAY = '2026-01-01';

function dayRecords(dims: Dimensions): string[] {
  const random = prng(SEED + 2);
  const moduleOf = zipfSampler(dims.modules.length, 1.0, random);
  const userOf = zipfSampler(USERS, 0.9, random);
  const start = Date.parse(`${DAY}T00:00:00Z`);
  return Array.from({ length: Math.round(ROWS / 365) }, () => {
    const time = new Date(start + Math.floor(random() * 86_400_000)).toISOString().replace('Z', '000Z');
    const module = dims.modules[moduleOf()];
    const [name, version] = split(module);
    const host = dims.hosts[Math.floor(random() * HOSTS)];
    return JSON.stringify({
      time,
      user: dims.users[userOf()],
      module,
      name,
      version,
      path: null,
      host,
      jobid: null,
      userload: random() < 0.8,
    });
  });
}

interface Dimensions {
  users: string[];
  hosts: string[];
  modules: string[];
}

function dimensions(): Dimensions {
  const users = Array.from({ length: USERS }, (_, i) => `user${String(i + 1).padStart(4, '0')}`);
  const hosts = [...Array.from({ length: HOSTS }, (_, i) => `node${String(i + 1).padStart(3, '0')}`), ''];
  return { users, hosts, modules: moduleNames(prng(SEED)) };
}

function split(module: string): [string, string] {
  const slash = module.lastIndexOf('/');
  return [module.slice(0, slash), module.slice(slash + 1)];
}

async function buildSqlite(path: string, dims: Dimensions): Promise<number> {
  const started = Date.now();
  rmSync(path, { force: true });
  const client = await openClient({ dialect: 'sqlite', path, isDefault: false });
  try {
    await migrate(client);
    if (!(client instanceof SqliteClient)) throw new Error('expected an SQLite client');
    const db = client.db;
    db.pragma('synchronous = OFF');
    // The schema's secondary indexes are built after the rows, by sorting (much faster than
    // 5 million random inserts), from their own definitions.
    const indexes = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'module_loads' AND sql IS NOT NULL").all() as {
      name: string;
      sql: string;
    }[];
    for (const index of indexes) db.exec(`DROP INDEX ${index.name}`);
    db.transaction(() => {
      const user = db.prepare('INSERT INTO users (id, name) VALUES (?, ?)');
      dims.users.forEach((n, i) => user.run(i + 1, n));
      const host = db.prepare('INSERT INTO hosts (id, name) VALUES (?, ?)');
      dims.hosts.forEach((n, i) => host.run(i + 1, n));
      const module = db.prepare('INSERT INTO modules (id, module, name, version) VALUES (?, ?, ?, ?)');
      dims.modules.forEach((m, i) => module.run(i + 1, m, ...split(m)));
      const load = db.prepare('INSERT INTO module_loads (time, user_id, host_id, module_id, jobid, userload) VALUES (?, ?, ?, ?, ?, ?)');
      for (const r of rows(dims.modules.length)) load.run(...r);
      const job = db.prepare(`${JOB_INSERT} (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
      for (const j of jobs()) job.run(...j);
    })();
    for (const index of indexes) db.exec(index.sql);
    db.exec('ANALYZE');
  } finally {
    await client.close();
  }
  return (Date.now() - started) / 1000;
}

async function buildMysql(config: MysqlConfig, dims: Dimensions): Promise<number> {
  const started = Date.now();
  const client = await openClient(config);
  try {
    await migrate(client);
  } finally {
    await client.close();
  }
  const c = await createConnection(mysqlConnectionOptions(config));
  try {
    // As for SQLite: secondary indexes dropped, then added back (InnoDB builds them sorted).
    const [keyRows] = await c.query(
      'SELECT index_name AS name, GROUP_CONCAT(column_name ORDER BY seq_in_index) AS columns FROM information_schema.statistics ' +
        "WHERE table_schema = DATABASE() AND table_name = 'module_loads' AND index_name <> 'PRIMARY' GROUP BY index_name",
    );
    const keys = keyRows as { name: string; columns: string }[];
    if (keys.length > 0) await c.query(`ALTER TABLE module_loads ${keys.map((k) => `DROP INDEX ${k.name}`).join(', ')}`);
    await c.query('INSERT INTO users (id, name) VALUES ?', [dims.users.map((n, i) => [i + 1, n])]);
    await c.query('INSERT INTO hosts (id, name) VALUES ?', [dims.hosts.map((n, i) => [i + 1, n])]);
    await c.query('INSERT INTO modules (id, module, name, version) VALUES ?', [dims.modules.map((m, i) => [i + 1, m, ...split(m)])]);
    let batch: Row[] = [];
    const flush = async () => {
      await c.query('INSERT INTO module_loads (time, user_id, host_id, module_id, jobid, userload) VALUES ?', [batch]);
      batch = [];
    };
    for (const r of rows(dims.modules.length)) {
      batch.push(r);
      if (batch.length === BATCH) await flush();
    }
    if (batch.length > 0) await flush();
    const jobBatch: JobValues[] = [];
    for (const j of jobs()) {
      jobBatch.push(j);
      if (jobBatch.length === BATCH) await c.query(`${JOB_INSERT} ?`, [jobBatch.splice(0)]);
    }
    if (jobBatch.length > 0) await c.query(`${JOB_INSERT} ?`, [jobBatch]);
    if (keys.length > 0) await c.query(`ALTER TABLE module_loads ${keys.map((k) => `ADD INDEX ${k.name} (${k.columns})`).join(', ')}`);
    await c.query('ANALYZE TABLE users, hosts, modules, module_loads, jobs');
  } finally {
    await c.end();
  }
  return (Date.now() - started) / 1000;
}

const PRUNE_BEFORE = '2025-07-01';

async function copySqlite(path: string): Promise<string> {
  const copy = `${path}.prune`;
  const client = await openClient({ dialect: 'sqlite', path, isDefault: false });
  try {
    rmSync(copy, { force: true });
    await client.run('VACUUM INTO ?', [copy]);
  } finally {
    await client.close();
  }
  return copy;
}

/** The tables prune touches (loads, jobs, the summaries' state), copied into NAME_prune. */
async function copyMysql(admin: Awaited<ReturnType<typeof createConnection>>, name: string): Promise<string> {
  const copy = `${name}_prune`;
  await admin.query(`DROP DATABASE IF EXISTS \`${copy}\``);
  await admin.query(`CREATE DATABASE \`${copy}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  for (const table of ['lmod_schema', 'module_loads', 'jobs', 'summary_state']) {
    await admin.query(`CREATE TABLE \`${copy}\`.${table} LIKE \`${name}\`.${table}`);
    await admin.query(`INSERT INTO \`${copy}\`.${table} SELECT * FROM \`${name}\`.${table}`);
  }
  return `${MYSQL_SERVER.replace(/\/+$/, '')}/${copy}`;
}

/** A database kept from an earlier run gets the migrations added since. */
async function migrateSchema(config: DbConfig): Promise<void> {
  const client = await openClient(config);
  try {
    await migrate(client);
  } finally {
    await client.close();
  }
}

/** The reports timed, as lmod-report arguments; dates fall inside the generated year. */
function cases(inventory: string): [string, string][] {
  return [
    ['modules', 'modules'],
    ['modules --by version --top 50', 'modules --by version --top 50'],
    ['modules --sort loads --since 2025-12-01', 'modules --sort loads --since 2025-12-01'],
    ['modules --userload-only', 'modules --userload-only'],
    ['modules --host node00*', "modules --host 'node00*'"],
    ['users', 'users'],
    ['users --user user0001', 'users --user user0001'],
    ['unused --inventory (3,200 names)', `unused --inventory ${shellQuote(inventory)}`],
    ['unused --since 2025-10-01', `unused --inventory ${shellQuote(inventory)} --since 2025-10-01`],
    ['stale --older-than 180d', 'stale --older-than 180d'],
    ['trend --every day', 'trend --every day'],
    ['trend --every week', 'trend --every week'],
    ['trend --every month --module gcc', 'trend --every month --module gcc'],
    ['html --inventory (the dashboard page)', `html --inventory ${shellQuote(inventory)}`],
    ['html --since 2025-12-01 (reads the loads)', 'html --since 2025-12-01'],
    ['modules --weight core-hours', 'modules --weight core-hours'],
    ['modules --weight gpu-hours --by version', 'modules --weight gpu-hours --by version'],
    ['accounts', 'accounts'],
    ['modules --weight core-hours --account acct001', 'modules --weight core-hours --account acct001'],
    ['modules --weight jobs --since 2025-12-01', 'modules --weight jobs --since 2025-12-01'],
  ];
}

/**
 * The least any whole-table report costs: one pass over every load in the database alone
 * (no node start-up, no output), counting rows, and grouping them by module in index order.
 */
async function scanFloor(config: DbConfig): Promise<string> {
  const client = await openClient(config);
  try {
    const seconds = async (sql: string): Promise<number> => {
      const started = process.hrtime.bigint();
      await client.query(sql);
      return Number(process.hrtime.bigint() - started) / 1e9;
    };
    const count = await seconds('SELECT COUNT(*) AS n FROM module_loads');
    const grouped = await seconds('SELECT COUNT(*) AS n FROM (SELECT module_id, COUNT(*) AS loads, MAX(time) AS last FROM module_loads GROUP BY module_id) g');
    return `${count.toFixed(2)} / ${grouped.toFixed(2)}`.padStart(18);
  } finally {
    await client.close();
  }
}

/**
 * As a load leaves them: the loads' generation moved past the summaries'. The daily load's rows
 * of an earlier run are removed, so it adds them again.
 */
async function makeSummariesStale(config: DbConfig): Promise<void> {
  const client = await openClient(config);
  try {
    await client.run('DELETE FROM module_loads WHERE time >= ?', [`${DAY} 00:00:00.000000`]);
    await client.run("UPDATE summary_state SET generation = generation + 1 WHERE name = 'loads'");
  } finally {
    await client.close();
  }
}

/**
 * A page's size in MB and the seconds from navigation to a laid-out page in headless Chromium (the load event, then the
 * layout read back), the median of three fresh tabs.
 */
async function openInChromium(file: string): Promise<string> {
  const mb = (statSync(file).size / 1e6).toFixed(2);
  if (!chromiumInstalled()) return `${mb} MB, no Chromium`;
  const browser = await launchChromium();
  try {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const started = process.hrtime.bigint();
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      await page.evaluate('document.body.getBoundingClientRect().height');
      times.push(Number(process.hrtime.bigint() - started) / 1e9);
      await page.close();
    }
    return `${mb} MB, ${times.sort((a, b) => a - b)[1].toFixed(2)} s`;
  } finally {
    await browser.close();
  }
}

function timeReport(db: string, args: string): { seconds: number; rss: number } {
  // The page is HTML only; the other reports print NDJSON, the cheapest format to write.
  const format = args.includes('--format') || args.startsWith('html') ? '' : ' --format ndjson';
  const m = measure([`node bin/lmod-report.js --db ${shellQuote(db)}${format} ${args}`]);
  return { seconds: m.seconds, rss: m.peakRssMb[0] };
}

async function main(): Promise<void> {
  const dir = process.env.BENCH_DIR ?? '/tmp/lmod-bench';
  mkdirSync(dir, { recursive: true });
  const dims = dimensions();
  const inventory = join(dir, 'report-inventory.txt');
  const extra = Array.from({ length: NEVER_LOADED }, (_, i) => `retired/pkg${i}/1.0`);
  writeFileSync(inventory, `/opt/modulefiles/Core:\n${[...dims.modules, ...extra].join('\n')}\n`);
  const day = join(dir, 'report-day.ndjson');
  const dayLines = dayRecords(dims);
  writeFileSync(day, `${dayLines.join('\n')}\n`);

  process.stdout.write(`lmod-report on ${fmt(ROWS)} records (${USERS} users, ${HOSTS} hosts, ${dims.modules.length} modules, year 2025)\n`);
  const sqlitePath = join(dir, `report-${ROWS}-seed${SEED}-jobs.sqlite`);
  if (existsSync(sqlitePath)) {
    process.stdout.write(`sqlite: reusing ${sqlitePath}\n`);
    await migrateSchema({ dialect: 'sqlite', path: sqlitePath, isDefault: false });
  } else {
    const seconds = await buildSqlite(`${sqlitePath}.tmp`, dims);
    renameSync(`${sqlitePath}.tmp`, sqlitePath);
    process.stdout.write(`sqlite: generated and inserted in ${seconds.toFixed(1)} s (${fmt(ROWS / seconds)} rows/s) into ${sqlitePath}\n`);
  }

  // BENCH_REPORT_MYSQL_DB names a database to build once and keep between runs (for tuning);
  // by default a fresh one is made and dropped at the end.
  const kept = process.env.BENCH_REPORT_MYSQL_DB;
  const name = kept ?? `lmod_bench_report_${process.pid}`;
  const admin = await createConnection({ uri: MYSQL_SERVER });
  const mysqlUrl = `${MYSQL_SERVER.replace(/\/+$/, '')}/${name}`;
  try {
    const [found] = await admin.query(`SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = 'module_loads'`, [name]);
    const reuse = kept !== undefined && (found as unknown[]).length > 0;
    if (!reuse) await admin.query(`CREATE DATABASE IF NOT EXISTS \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    const seconds = reuse ? 0 : await buildMysql(parseDbUrl(mysqlUrl) as MysqlConfig, dims);
    if (reuse) {
      process.stdout.write(`mysql: reusing database ${name}\n`);
      await migrateSchema(parseDbUrl(mysqlUrl));
    } else process.stdout.write(`mysql: generated and inserted in ${seconds.toFixed(1)} s (${fmt(ROWS / seconds)} rows/s)\n`);
    const targets: [string, string][] = [
      ['sqlite', `sqlite:${sqlitePath}`],
      ['mysql', mysqlUrl],
    ];
    // Caches are warm from the inserts; one run each, the whole CLI (node start-up included).
    process.stdout.write(`${'report'.padEnd(42)}${targets.map(([t]) => `${t} s (RSS MB)`.padStart(18)).join('')}\n`);
    const row = (label: string, cell: (db: string) => string): void => {
      process.stdout.write(`${label.padEnd(42)}${targets.map(([, db]) => cell(db).padStart(18)).join('')}\n`);
    };
    const reportCell =
      (args: string) =>
      (db: string): string => {
        const { seconds, rss } = timeReport(db, args);
        return `${seconds.toFixed(2)} (${fmt(rss)})`;
      };
    // What a whole-table report costs when the summaries are out of date (it reads the loads), then summarize.
    for (const [, url] of targets) await makeSummariesStale(parseDbUrl(url));
    row('modules, summaries out of date', reportCell('modules'));
    row('lmod-load summarize', (db) => {
      const m = measure([`node bin/lmod-load.js summarize --quiet --db ${shellQuote(db)}`]);
      return `${m.seconds.toFixed(2)} (${fmt(m.peakRssMb[0])})`;
    });
    for (const [label, args] of cases(inventory)) row(label, reportCell(args));
    // A day's records into the summarized database: what a nightly load costs at this size.
    row(`lmod-load of a day (${fmt(dayLines.length)} records)`, (db) => {
      const m = measure([`node bin/lmod-load.js --quiet --db ${shellQuote(db)} ${shellQuote(day)}`]);
      return `${m.seconds.toFixed(2)} (${fmt(m.peakRssMb[0])})`;
    });
    // The dashboard as a reader gets it: its size, and the time Chromium takes to load and lay it out.
    const pages: string[] = [];
    for (const [name, db] of targets) {
      const file = join(dir, `report-page-${name}.html`);
      measure([`node bin/lmod-report.js --db ${shellQuote(db)} html --inventory ${shellQuote(inventory)}`], { stdout: file });
      pages.push(await openInChromium(file));
    }
    process.stdout.write(`${'html page: MB, s to open in Chromium'.padEnd(42)}${pages.map((c) => c.padStart(18)).join('')}\n`);
    const floors = [await scanFloor({ dialect: 'sqlite', path: sqlitePath, isDefault: false }), await scanFloor(parseDbUrl(mysqlUrl))];
    process.stdout.write(`${'floor, in-process: COUNT(*) / GROUP BY module'.padEnd(42)}${floors.join('')}\n`);
    // Retention on copies (the databases above are kept): the first half of the year, about 2.5 million loads.
    const copies: [string, string][] = [
      ['sqlite', `sqlite:${await copySqlite(sqlitePath)}`],
      ['mysql', await copyMysql(admin, name)],
    ];
    process.stdout.write(
      `${`lmod-load prune --before ${PRUNE_BEFORE}`.padEnd(42)}${copies
        .map(([, db]) => {
          const m = measure([`node bin/lmod-load.js prune --quiet --before ${PRUNE_BEFORE} --db ${shellQuote(db)}`]);
          return `${m.seconds.toFixed(2)} (${fmt(m.peakRssMb[0])})`.padStart(18);
        })
        .join('')}\n`,
    );
    rmSync(copies[0][1].slice('sqlite:'.length), { force: true });
    await admin.query(`DROP DATABASE IF EXISTS \`${name}_prune\``);
  } finally {
    if (kept === undefined) await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await admin.end();
  }
}

main().catch((err) => {
  process.stderr.write(`40-report: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
