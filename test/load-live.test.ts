import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { ROOT } from './helpers/report';

/**
 * A live log: lmod-parse | lmod-dedupe | lmod-load through real pipes, the input held open as `tail -F` holds it. Each
 * record reaches the database within the flush interval, not when a batch fills or the input ends.
 */
const line = (n: number): string =>
  `Dec  4 10:00:0${n} node1 ModuleUsageTracking: user=alice module=gcc/12.${n} path=/m/gcc host=node1 time=${1796378400 + n}.000000 jobid=7 userload=yes\n`;

function pipeline(db: string, flushSeconds: number) {
  const bin = (verb: string): string => `'${process.execPath}' '${join(ROOT, 'bin', `lmod-${verb}.js`)}'`;
  const command = `${bin('parse')} --quiet | ${bin('dedupe')} --quiet | ${bin('load')} --db 'sqlite:${db}' --flush-interval ${flushSeconds}`;
  return spawn('sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'] });
}

function rowsIn(db: string): number {
  try {
    const client = new Database(db, { readonly: true, fileMustExist: true });
    try {
      return Number(client.prepare('SELECT COUNT(*) AS n FROM module_loads').pluck().get());
    } finally {
      client.close();
    }
  } catch {
    return 0; // not created or not migrated yet
  }
}

/** Polls until the database holds `count` rows: the seconds it took, or null after `limitSeconds`. */
async function rowsArrive(db: string, count: number, limitSeconds: number): Promise<number | null> {
  const started = Date.now();
  while (Date.now() - started < limitSeconds * 1000) {
    if (rowsIn(db) >= count) return (Date.now() - started) / 1000;
    await sleep(50);
  }
  return null;
}

test('a live pipe: each record is committed within --flush-interval while the input stays open', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lmod-live-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'live.sqlite');
  const child = pipeline(db, 1);
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  for (const n of [1, 2]) {
    child.stdin.write(line(n));
    // A second and the time to start three programs and commit; the input is still open.
    const seconds = await rowsArrive(db, n, 15);
    assert.notEqual(seconds, null, `record ${n} was not committed while the input stayed open: ${stderr}`);
    t.diagnostic(`record ${n} committed after ${seconds} s`);
  }
  child.stdin.end();
  const [code] = await once(child, 'exit');
  assert.equal(code, 0, stderr);
  assert.match(stderr, /^lmod-load: 2 read, 2 new, 0 already present, 0 rejected in /m);
});

test('without a short --flush-interval, a record waits for a full batch or the end of the input', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lmod-live-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'live.sqlite');
  const child = pipeline(db, 3600);
  child.stdin.write(line(1));
  assert.equal(await rowsArrive(db, 1, 3), null);
  child.stdin.end();
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
  assert.equal(rowsIn(db), 1);
});

/** The live unit's command line, reading `log` instead of /var/log/lmod/lmod.log. */
function liveCommand(log: string): string {
  const unit = readFileSync(join(ROOT, 'contrib', 'systemd', 'lmod-tracking-live.service'), 'utf8');
  // systemd turns `$$` into the shell's `$`.
  const command = /^ExecStart=\/bin\/sh -c '(.*)'$/m.exec(unit)![1].replaceAll('$$', '$');
  assert.ok(command.includes('/var/log/lmod/lmod.log'));
  return command.replace('/var/log/lmod/lmod.log', log);
}

test("the live service's command line: follows the log across a rotation, and a restart re-reads the current file without duplicates", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lmod-live-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const verb of ['parse', 'dedupe', 'load']) symlinkSync(join(ROOT, 'bin', `lmod-${verb}.js`), join(bin, `lmod-${verb}`));
  const log = join(dir, 'lmod.log');
  // The unit's WorkingDirectory: without DB_* settings, the SQLite default lands there.
  const db = join(dir, 'lmod_tracking.sqlite');
  const start = () =>
    spawn('sh', ['-c', liveCommand(log)], { cwd: dir, env: { PATH: `${bin}:/usr/bin:/bin`, LMOD_TRACKING_CLUSTER: 'alpha' }, detached: true, stdio: 'ignore' });
  const stop = async (child: ReturnType<typeof start>): Promise<void> => {
    process.kill(-child.pid!, 'SIGTERM');
    await once(child, 'exit');
  };
  writeFileSync(log, line(1) + line(2));
  let service = start();
  try {
    assert.notEqual(await rowsArrive(db, 2, 20), null, 'the lines already in the log');
    // logrotate: the file is renamed and a new one started; tail -F follows the name.
    renameSync(log, `${log}.1`);
    writeFileSync(log, line(3));
    assert.notEqual(await rowsArrive(db, 3, 20), null, 'the line of the new file');
    await stop(service);
    // The restart re-reads lmod.log from its start: its one load is already stored.
    service = start();
    appendFileSync(log, line(4));
    assert.notEqual(await rowsArrive(db, 4, 20), null, 'the line logged after the restart');
    await sleep(2500);
    assert.equal(rowsIn(db), 4);
    // The environment file's cluster for lines that name none.
    const client = new Database(db, { readonly: true });
    try {
      assert.deepEqual(client.prepare('SELECT DISTINCT cluster FROM module_loads').pluck().all(), ['alpha']);
    } finally {
      client.close();
    }
  } finally {
    await stop(service);
  }
});

test('--flush-interval takes seconds from a millisecond to a day (Node would run a longer timer at once)', async () => {
  for (const value of ['100000', '0', 'soon']) {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'lmod-load.js'), '--dry-run', '--flush-interval', value], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const [code] = await once(child, 'exit');
    assert.equal(code, 2, value);
    assert.match(stderr, /^lmod-load: option '--flush-interval <seconds>' argument '[^']*' is invalid\. expected a number/, value);
  }
});
