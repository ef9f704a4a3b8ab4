import { spawn } from 'node:child_process';
import { createConnection } from 'mysql2/promise';
import { GALERA_MISSING, startGalera } from '../test/helpers/galera';
import { fmt } from './measure';

/**
 * lmod-load on a 3-node MariaDB Galera cluster on this machine against the single server: the bench's records
 * (BENCH_RECORDS, about 1,000,000) into one node, and split in two overlapping halves into two nodes at once, with the
 * batches retried after losing Galera's certification. Skipped where galera-4 is not installed (.ci/setup.d/galera.sh).
 */
const SERVER = process.env.LMOD_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';

interface Loaded {
  seconds: number;
  retried: number;
  summary: string;
}

/** lmod-load of the records (a window of them: `from` and `count` in lines) into `url`. */
function load(url: string, from = 0, count = Number.MAX_SAFE_INTEGER): Promise<Loaded> {
  const records = process.env.BENCH_RECORDS as string;
  const started = process.hrtime.bigint();
  const last = Math.min(from + count, Number.MAX_SAFE_INTEGER);
  const script = `sed -n '${from + 1},${last}p' '${records}' | node bin/lmod-load.js --db '${url}'`;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`lmod-load exited ${code}: ${stderr}`));
      const lines = stderr.trimEnd().split('\n');
      resolve({
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
        retried: lines.filter((l) => l.includes('retrying the batch')).length,
        summary: lines[lines.length - 1].replace(/ in .*$/, ''),
      });
    });
  });
}

async function migrated(url: string): Promise<void> {
  await new Promise<void>((resolve, reject) =>
    spawn('node', ['bin/lmod-load.js', 'migrate', '--quiet', '--db', url], { stdio: 'inherit' }).on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`migrate exited ${code}`)),
    ),
  );
}

function row(label: string, l: Loaded, rows: number): void {
  process.stdout.write(
    `${label.padEnd(46)}${l.seconds.toFixed(2).padStart(8)} s ${fmt(rows / l.seconds).padStart(9)} rows/s  ${l.retried} retried  (${l.summary})\n`,
  );
}

async function main(): Promise<void> {
  if (GALERA_MISSING !== null) {
    process.stdout.write(`skipped: ${GALERA_MISSING}\n`);
    return;
  }
  const lines = Number(process.env.BENCH_LINES ?? 1_000_000);
  const name = `lmod_bench_single_${process.pid}`;
  const admin = await createConnection({ uri: SERVER });
  try {
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    const single = `${SERVER.replace(/\/+$/, '')}/${name}`;
    await migrated(single);
    row('single server', await load(single), lines);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await admin.end();
  }
  const cluster = await startGalera();
  try {
    const [n1, n2] = cluster.nodes;
    await migrated(n1.url);
    await cluster.waitSynced();
    row('Galera, one loader on node 1', await load(n1.url), lines);
    await cluster.query(n1.index, `TRUNCATE TABLE \`${cluster.database}\`.module_loads`);
    await cluster.waitSynced();
    // Two halves that share a fifth of the records, loaded at once on two nodes.
    const half = Math.ceil(lines * 0.6);
    const started = process.hrtime.bigint();
    const [a, b] = await Promise.all([load(n1.url, 0, half), load(n2.url, lines - half, half)]);
    const both = { seconds: Number(process.hrtime.bigint() - started) / 1e9, retried: a.retried + b.retried, summary: `${a.summary}; ${b.summary}` };
    row('Galera, two loaders on nodes 1 and 2 at once', both, lines);
  } finally {
    await cluster.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`60-galera: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
