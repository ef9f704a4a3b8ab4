import { SACCT_FORMAT } from '../src/jobs/sacct-header';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { createConnection } from 'mysql2/promise';
import { createTestDatabase, SKIP_NOTICE } from './helpers/mysql';
import {
  CONTRIB,
  FIXTURES,
  LOGGER,
  LOGROTATE,
  ROOT,
  RSYSLOGD,
  SYSTEMD_ANALYZE,
  PrivateRsyslog,
  centralRule,
  cli,
  lines,
  missing,
  requirePrograms,
  run,
  tempDir,
  unitSettings,
  yesterday,
} from './helpers/contrib';

/**
 * Daily operations: the shipped logrotate configuration, the systemd units and cron line,
 * and contrib/bin/lmod-daily (lmod-parse | lmod-dedupe | lmod-load) against real databases.
 */

const LOGROTATE_CONF = join(CONTRIB, 'logrotate', 'lmod-tracking');
const SERVICE = join(CONTRIB, 'systemd', 'lmod-tracking.service');
const TIMER = join(CONTRIB, 'systemd', 'lmod-tracking.timer');
const CRON = join(CONTRIB, 'cron', 'lmod-tracking');
const DAILY = join(CONTRIB, 'bin', 'lmod-daily');
const LIVE_SERVICE = join(CONTRIB, 'systemd', 'lmod-tracking-live.service');
const ARCHIVE = join(FIXTURES, 'archive', 'lmod.log');
const ARCHIVE_3164 = join(FIXTURES, 'archive', 'lmod-rfc3164.log');

/** The rows of ARCHIVE (its duplicate line dropped, the sshd line skipped) and ARCHIVE_3164. */
const DAY1_ROWS = [
  {
    time: '2026-03-01 08:15:02.100123',
    user: 'alice',
    host: 'node1',
    module: 'gcc/12.2.0',
    path: '/opt/mf/gcc/12.2.0.lua',
    jobid: '4242',
    userload: 1,
  },
  {
    time: '2026-03-01 08:15:02.100456',
    user: 'alice',
    host: 'node1',
    module: 'openmpi/4.1.5',
    path: '/opt/mf/openmpi/4.1.5.lua',
    jobid: '4242',
    userload: 0,
  },
  {
    time: '2026-03-01 09:40:11.000001',
    user: 'bob',
    host: 'login2',
    module: 'python/3.11.4',
    path: '/opt/site mods/python/3.11.4.lua',
    jobid: null,
    userload: 1,
  },
];
const DAY2_ROWS = [
  {
    time: '2026-03-02 10:00:00.250000',
    user: 'carol',
    host: 'node3',
    module: 'R/4.3.1',
    path: '/opt/mf/R/4.3.1.lua',
    jobid: '99',
    userload: 1,
  },
];

const ROW_COLUMNS = 'user, host, module, path, jobid, userload FROM module_loads_flat ORDER BY time, user, module';

function sqliteRows(file: string): unknown[] {
  const db = new Database(file, { readonly: true });
  try {
    return db
      .prepare(`SELECT time, ${ROW_COLUMNS}`)
      .all()
      .map((row) => ({ ...(row as object) }));
  } finally {
    db.close();
  }
}

async function mysqlRows(url: string): Promise<unknown[]> {
  const connection = await createConnection({ uri: url });
  try {
    const [rows] = await connection.query(`SELECT DATE_FORMAT(time, '%Y-%m-%d %H:%i:%s.%f') AS time, ${ROW_COLUMNS}`);
    return (rows as object[]).map((row) => ({ ...row }));
  } finally {
    await connection.end();
  }
}

/** A directory holding lmod-parse, lmod-dedupe and lmod-load, as `npm install -g` provides them. */
function binDir(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const verb of ['parse', 'dedupe', 'load', 'jobs', 'report']) symlinkSync(join(ROOT, 'bin', `lmod-${verb}.js`), join(bin, `lmod-${verb}`));
  return bin;
}

/** A log directory holding `lmod.log-YYYYMMDD.gz` archives made from fixture files. */
function logDir(dir: string, archives: Record<string, string>): string {
  const logs = join(dir, 'log');
  mkdirSync(logs);
  for (const [date, fixture] of Object.entries(archives)) {
    writeFileSync(join(logs, `lmod.log-${date}.gz`), gzipSync(readFileSync(fixture)));
  }
  return logs;
}

/** KEY=VALUE lines of an environment file, as systemd's EnvironmentFile= reads simple ones. */
function environmentFile(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of lines(readFileSync(file, 'utf8'))) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (match) env[match[1]] = match[2];
  }
  return env;
}

/** Runs the service's ExecStart as systemd would: its EnvironmentFile, PATH and WorkingDirectory. */
function runService(opts: { bin: string; logs: string; envFile: string; workDir: string; keep?: string; page?: string; inventory?: string }) {
  const unit = unitSettings(SERVICE);
  const execStart = unit.get('ExecStart')!;
  assert.equal(execStart, '/usr/local/bin/lmod-daily', 'the test maps this install path to contrib/bin/lmod-daily');
  assert.equal(unit.get('WorkingDirectory'), '/var/lib/lmod-tracking');
  const unitPath = /^PATH=(.*)$/.exec(unit.get('Environment')!)![1];
  const env = {
    ...environmentFile(opts.envFile),
    PATH: `${opts.bin}:${unitPath}`,
    // Where the test keeps its archives instead of /var/log/lmod.
    LMOD_LOG_DIR: opts.logs,
    // Where Slurm is installed (CI installs it for its own test) sacct has no cluster here.
    LMOD_TRACKING_SACCT: 'no',
    ...(opts.keep === undefined ? {} : { LMOD_TRACKING_KEEP: opts.keep }),
    ...(opts.page === undefined ? {} : { LMOD_TRACKING_PAGE: opts.page }),
    ...(opts.inventory === undefined ? {} : { LMOD_TRACKING_INVENTORY: opts.inventory }),
  };
  return run(DAILY, [], { env, cwd: opts.workDir });
}

test('logrotate -d accepts the shipped configuration', (t) => {
  if (!requirePrograms(t, missing({ logrotate: LOGROTATE }))) return;
  const tmp = tempDir('logrotate-d');
  try {
    const r = run(LOGROTATE!, ['-d', '-s', join(tmp.path, 'state'), LOGROTATE_CONF]);
    assert.equal(r.status, 0, r.stderr);
    const output = r.stdout + r.stderr;
    assert.doesNotMatch(output, /^error:/m);
    assert.match(output, /rotating pattern: \/var\/log\/lmod\/lmod\.log +after 1 days \(400 rotations\)/);
    assert.match(output, /empty log files are rotated, old logs are removed/);
  } finally {
    tmp.remove();
  }
});

test('a real rotation: lmod.log-YYYYMMDD.gz that lmod-parse reads, and rsyslog writes on into a new lmod.log', async (t) => {
  if (!requirePrograms(t, missing({ logrotate: LOGROTATE, rsyslogd: RSYSLOGD, logger: LOGGER }))) return;
  const tmp = tempDir('logrotate');
  const logs = join(tmp.path, 'log');
  const logFile = join(logs, 'lmod.log');
  const rsyslog = await PrivateRsyslog.start(tmp.path, centralRule(logFile));
  try {
    const send = (message: string): void => {
      const r = run(LOGGER!, ['-u', rsyslog.socket, '-t', 'ModuleUsageTracking', '-p', 'local0.info', '--', message]);
      assert.equal(r.status, 0, r.stderr);
    };
    send('user=alice module=gcc/12.2.0 path=/opt/mf/gcc/12.2.0.lua host=node1 time=1772352902.100123 jobid=4242 userload=yes');
    await rsyslog.waitForLines(logFile, 1);

    // The shipped file, with its log path moved here and its postrotate HUPping this
    // rsyslogd instead of the machine's.
    const shipped = readFileSync(LOGROTATE_CONF, 'utf8');
    const reopen = /^( *)if \[ -d \/run\/systemd\/system \]; then systemctl kill -s HUP rsyslog\.service; elif .*$/m;
    assert.match(shipped, reopen);
    const conf = join(tmp.path, 'logrotate.conf');
    writeFileSync(conf, shipped.replaceAll('/var/log/lmod/lmod.log', logFile).replace(reopen, `$1kill -HUP ${rsyslog.pid}`));
    const r = run(LOGROTATE!, ['-f', '-s', join(tmp.path, 'state'), conf]);
    assert.equal(r.status, 0, r.stderr);

    const archive = `lmod.log-${yesterday()}.gz`;
    assert.deepEqual(readdirSync(logs).sort(), [archive]);
    send('user=bob module=python/3.11.4 path=/opt/mf/python/3.11.4.lua host=login2 time=1772358011.000001 jobid= userload=yes');
    const [after] = await rsyslog.waitForLines(logFile, 1);
    assert.match(after, / ModuleUsageTracking: user=bob module=python\/3\.11\.4 /);

    const parsed = cli('parse', ['--quiet', join(logs, archive)]);
    assert.equal(parsed.status, 0, parsed.stderr);
    assert.deepEqual(
      lines(parsed.stdout).map((line) => JSON.parse(line)),
      [
        {
          time: '2026-03-01T08:15:02.100123Z',
          user: 'alice',
          module: 'gcc/12.2.0',
          name: 'gcc',
          version: '12.2.0',
          path: '/opt/mf/gcc/12.2.0.lua',
          host: 'node1',
          jobid: '4242',
          userload: true,
          cluster: null,
        },
      ],
    );
  } finally {
    await rsyslog.stop();
    tmp.remove();
  }
});

/** A TCP port nothing listens on right now, for the central rsyslogd. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise((done) => server.close(done));
  return port;
}

test("a node's rsyslogd forwards the lines over TCP to the central one, which writes lmod.log", async (t) => {
  if (!requirePrograms(t, missing({ rsyslogd: RSYSLOGD, logger: LOGGER }))) return;
  const tmp = tempDir('forward');
  const centralDir = join(tmp.path, 'central');
  const nodeDir = join(tmp.path, 'node');
  mkdirSync(centralDir);
  mkdirSync(nodeDir);
  const logFile = join(centralDir, 'log', 'lmod.log');
  const port = await freePort();
  const central = await PrivateRsyslog.start(
    centralDir,
    `module(load="imtcp")\ninput(type="imtcp" address="127.0.0.1" port="${port}")\n${centralRule(logFile)}`,
  );
  let node: PrivateRsyslog | undefined;
  try {
    // The shipped node rule, sending to the central rsyslogd above instead of loghost.example.org.
    const shipped = readFileSync(join(CONTRIB, 'rsyslog', 'node-forward.conf'), 'utf8');
    assert.match(shipped, /target="loghost\.example\.org" port="514" protocol="tcp"/);
    node = await PrivateRsyslog.start(nodeDir, shipped.replace('target="loghost.example.org" port="514"', `target="127.0.0.1" port="${port}"`));
    const message = 'user=alice module=gcc/12.2.0 path=/opt/mf/gcc/12.2.0.lua host=node1 time=1772352902.100123 jobid=4242 userload=yes';
    const r = run(LOGGER!, ['-u', node.socket, '-t', 'ModuleUsageTracking', '-p', 'local0.info', '--', message]);
    assert.equal(r.status, 0, r.stderr);
    const [line] = await central.waitForLines(logFile, 1);
    assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d \S+ ModuleUsageTracking: (.*)$/);
    assert.ok(line.endsWith(` ModuleUsageTracking: ${message}`), line);
  } finally {
    await node?.stop();
    await central.stop();
    tmp.remove();
  }
});

test('the systemd units pass systemd-analyze verify', (t) => {
  // Only where the tool exists (systemd hosts), also under CI.
  if (SYSTEMD_ANALYZE === null) return t.skip('systemd-analyze is not installed');
  const tmp = tempDir('systemd');
  try {
    // Verify checks that ExecStart exists: the copies point at this checkout's lmod-daily
    // and an environment file that exists, which is all that differs from the shipped units.
    const envFile = join(tmp.path, 'lmod-tracking.env');
    copyFileSync(join(CONTRIB, 'systemd', 'lmod-tracking.env.example'), envFile);
    writeFileSync(
      join(tmp.path, 'lmod-tracking.service'),
      readFileSync(SERVICE, 'utf8')
        .replace('ExecStart=/usr/local/bin/lmod-daily', `ExecStart=${DAILY}`)
        .replace('EnvironmentFile=/etc/lmod-tracking/lmod-tracking.env', `EnvironmentFile=${envFile}`),
    );
    copyFileSync(TIMER, join(tmp.path, 'lmod-tracking.timer'));
    const copies = run(SYSTEMD_ANALYZE, ['verify', './lmod-tracking.service', './lmod-tracking.timer'], { cwd: tmp.path });
    assert.equal(copies.stdout + copies.stderr, '');
    assert.equal(copies.status, 0);

    // The shipped units as they are: where lmod-daily is not installed, that is the one complaint.
    const shipped = run(SYSTEMD_ANALYZE, ['verify', SERVICE, TIMER]);
    const installed = existsSync('/usr/local/bin/lmod-daily');
    assert.equal(
      shipped.stdout + shipped.stderr,
      installed ? '' : 'lmod-tracking.service: Command /usr/local/bin/lmod-daily is not executable: No such file or directory\n',
    );
    assert.equal(shipped.status, installed ? 0 : 1);

    // The live service needs only /bin/sh and its environment file.
    writeFileSync(
      join(tmp.path, 'lmod-tracking-live.service'),
      readFileSync(LIVE_SERVICE, 'utf8').replace('EnvironmentFile=/etc/lmod-tracking/lmod-tracking.env', `EnvironmentFile=${envFile}`),
    );
    const live = run(SYSTEMD_ANALYZE, ['verify', './lmod-tracking-live.service'], { cwd: tmp.path });
    assert.equal(live.stdout + live.stderr, '');
    assert.equal(live.status, 0);
  } finally {
    tmp.remove();
  }
});

test("the service's command line loads yesterday's archive into the SQLite default, idempotently", (t) => {
  const tmp = tempDir('daily-sqlite');
  try {
    const bin = binDir(tmp.path);
    const logs = logDir(tmp.path, { [yesterday()]: ARCHIVE, '20000101': ARCHIVE_3164 });
    const envFile = join(tmp.path, 'lmod-tracking.env');
    writeFileSync(envFile, '# no DB_* settings: the SQLite default in the working directory\n');
    const workDir = join(tmp.path, 'state');
    mkdirSync(workDir);

    const first = runService({ bin, logs, envFile, workDir });
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.stdout, '');
    assert.match(first.stderr, /^lmod-parse: 5 lines, 4 records, 1 skipped, 0 malformed in /m);
    assert.match(first.stderr, /^lmod-load: 3 read, 3 new, 0 already present, 0 rejected in /m);
    assert.match(first.stderr, /^lmod-load: sqlite:\.\/lmod_tracking\.sqlite: summaries stored \(/m);
    assert.deepEqual(sqliteRows(join(workDir, 'lmod_tracking.sqlite')), DAY1_ROWS);

    const again = runService({ bin, logs, envFile, workDir });
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /^lmod-load: 3 read, 0 new, 3 already present, 0 rejected in /m);
    assert.match(again.stderr, /^lmod-load: sqlite:\.\/lmod_tracking\.sqlite: summaries are up to date$/m);
    assert.deepEqual(sqliteRows(join(workDir, 'lmod_tracking.sqlite')), DAY1_ROWS);

    // Retention first: the archive's loads are older than a day, so they go and the night's load brings them back.
    const keep = runService({ bin, logs, envFile, workDir, keep: '1d' });
    assert.equal(keep.status, 0, keep.stderr);
    assert.match(keep.stderr, /^lmod-load: sqlite:\.\/lmod_tracking\.sqlite: pruned 3 loads before \S+ and 0 jobs that ended before it in 2 transactions, /m);
    assert.match(keep.stderr, /^lmod-load: 3 read, 3 new, 0 already present, 0 rejected in /m);
    assert.deepEqual(sqliteRows(join(workDir, 'lmod_tracking.sqlite')), DAY1_ROWS);
    // The dashboard, when asked for: written whole, then kept when a later report fails.
    const page = join(tmp.path, 'www', 'index.html');
    mkdirSync(join(tmp.path, 'www'));
    const inventory = join(tmp.path, 'avail.txt');
    writeFileSync(inventory, '/opt/modulefiles:\ngcc/12.2.0\nzlib/1.3\n');
    const paged = runService({ bin, logs, envFile, workDir, page, inventory });
    assert.equal(paged.status, 0, paged.stderr);
    const html = readFileSync(page, 'utf8');
    assert.match(html, /^<!DOCTYPE html>\n[\s\S]*<title>Lmod module usage<\/title>/);
    assert.match(html, /<div class="card" id="card-loads"><div class="v">3<\/div>/);
    assert.match(html, /<td>zlib\/1\.3<\/td>/);
    const broken = runService({ bin, logs, envFile, workDir, page, inventory: join(tmp.path, 'missing.txt') });
    assert.equal(broken.status, 2);
    assert.match(broken.stderr, /^lmod-report: \S+missing\.txt: No such file or directory$/m);
    assert.equal(readFileSync(page, 'utf8'), html);
    assert.deepEqual(readdirSync(join(tmp.path, 'www')), ['index.html']);
    t.diagnostic(`lmod-daily loaded ${DAY1_ROWS.length} rows, then none again`);
  } finally {
    tmp.remove();
  }
});

test('the service with DB_* in its EnvironmentFile loads into MySQL', async (t) => {
  const db = await createTestDatabase('contrib_daily');
  if (!db) return t.skip(SKIP_NOTICE);
  const tmp = tempDir('daily-mysql');
  try {
    const url = new URL(db.url);
    // The shipped example with this server's values.
    const settings: Record<string, string> = {
      DB_HOST: url.hostname,
      DB_PORT: url.port || '3306',
      DB_USER: decodeURIComponent(url.username),
      DB_PASS: decodeURIComponent(url.password),
      DB_NAME: db.name,
    };
    const envFile = join(tmp.path, 'lmod-tracking.env');
    writeFileSync(
      envFile,
      readFileSync(join(CONTRIB, 'systemd', 'lmod-tracking.env.example'), 'utf8').replace(/^(DB_[A-Z]+)=.*$/gm, (_, key: string) => `${key}=${settings[key]}`),
    );
    const workDir = join(tmp.path, 'state');
    mkdirSync(workDir);

    const migrated = cli('load', ['migrate', '--env-file', envFile]);
    assert.equal(migrated.status, 0, migrated.stderr);
    const r = runService({ bin: binDir(tmp.path), logs: logDir(tmp.path, { [yesterday()]: ARCHIVE }), envFile, workDir });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^lmod-load: 3 read, 3 new, 0 already present, 0 rejected in /m);
    assert.doesNotMatch(r.stderr, /sqlite/i);
    assert.deepEqual(await mysqlRows(db.url), DAY1_ROWS);
    assert.deepEqual(readdirSync(workDir), []);
  } finally {
    tmp.remove();
    await db.drop();
  }
});

test('the cron line runs the same pipeline with lmod-load --env-file and logs to daily.log', () => {
  const tmp = tempDir('cron');
  try {
    const entries = lines(readFileSync(CRON, 'utf8')).filter((line) => /^\d/.test(line));
    assert.equal(entries.length, 1);
    const fields = entries[0].split(/\s+/);
    assert.deepEqual(fields.slice(0, 6), ['15', '3', '*', '*', '*', 'root']);
    const state = join(tmp.path, 'state');
    const envFile = join(tmp.path, 'lmod-tracking.env');
    writeFileSync(envFile, '# SQLite default\n');
    const logs = logDir(tmp.path, { [yesterday()]: ARCHIVE });
    // The command with this machine's paths in place of the installed ones.
    const command = entries[0]
      .replace(/^(\S+\s+){6}/, '')
      .replaceAll('/var/lib/lmod-tracking', state)
      .replaceAll('/etc/lmod-tracking/lmod-tracking.env', envFile)
      .replaceAll('/var/log/lmod/daily.log', join(logs, 'daily.log'));
    const cronPath = /^PATH=(.*)$/m.exec(readFileSync(CRON, 'utf8'))![1];
    const bin = binDir(tmp.path);
    symlinkSync(DAILY, join(bin, 'lmod-daily'));
    const r = run('sh', ['-c', command], { env: { PATH: `${bin}:${cronPath}`, LMOD_LOG_DIR: logs, LMOD_TRACKING_SACCT: 'no' } });
    assert.equal(r.status, 0, readFileSync(join(logs, 'daily.log'), 'utf8'));
    assert.equal(r.stdout + r.stderr, '');
    assert.match(readFileSync(join(logs, 'daily.log'), 'utf8'), /^lmod-load: 3 read, 3 new, 0 already present, 0 rejected in /m);
    assert.deepEqual(sqliteRows(join(state, 'lmod_tracking.sqlite')), DAY1_ROWS);
  } finally {
    tmp.remove();
  }
});

test('backfill is one command over all archives; a missing archive is exit 2 naming it', (t) => {
  const tmp = tempDir('backfill');
  try {
    const bin = binDir(tmp.path);
    const logs = logDir(tmp.path, { '20260301': ARCHIVE, '20260302': ARCHIVE_3164 });
    const env = { PATH: `${bin}:/usr/bin:/bin`, LMOD_LOG_DIR: logs, LMOD_TRACKING_SACCT: 'no' };
    const archives = readdirSync(logs)
      .sort()
      .map((name) => join(logs, name));
    const all = run(DAILY, archives, { env, cwd: tmp.path });
    assert.equal(all.status, 0, all.stderr);
    assert.match(all.stderr, /^lmod-load: 4 read, 4 new, 0 already present, 0 rejected in /m);
    assert.deepEqual(sqliteRows(join(tmp.path, 'lmod_tracking.sqlite')), [...DAY1_ROWS, ...DAY2_ROWS]);

    // No archive for yesterday in this directory.
    const none = run(DAILY, [], { env, cwd: tmp.path });
    assert.equal(none.status, 2);
    assert.ok(none.stderr.includes(`lmod-parse: ${logs}/lmod.log-${yesterday()}.gz: No such file or directory\n`), none.stderr);
    assert.ok(existsSync(join(tmp.path, 'lmod_tracking.sqlite')));
    t.diagnostic('backfill: lmod-daily /var/log/lmod/lmod.log-*.gz');
  } finally {
    tmp.remove();
  }
});

test("lmod-daily asks sacct for lmod-jobs' SACCT_FORMAT, the one spelling of it", () => {
  const formats = [...readFileSync(DAILY, 'utf8').matchAll(/--format=(\S+)/g)].map((m) => m[1]);
  assert.deepEqual(formats, [SACCT_FORMAT]);
});

test('lmod-daily: when sacct fails (slurmdbd down), the loads are loaded and the night ends with exit 2', () => {
  const tmp = tempDir('daily-sacct');
  try {
    const bin = binDir(tmp.path);
    // A sacct that fails as Slurm's does without its accounting daemon.
    writeFileSync(join(bin, 'sacct'), '#!/bin/sh\necho "sacct: error: Problem talking to the database: Connection refused" >&2\nexit 1\n', { mode: 0o755 });
    const logs = logDir(tmp.path, { [yesterday()]: ARCHIVE });
    const r = run(DAILY, [], { env: { PATH: `${bin}:/usr/bin:/bin`, LMOD_LOG_DIR: logs }, cwd: tmp.path });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^sacct: error: Problem talking to the database: Connection refused$/m);
    assert.match(r.stderr, /^lmod-jobs: 0 lines, 0 jobs, 0 steps, 0 skipped, 0 malformed in /m);
    assert.deepEqual(sqliteRows(join(tmp.path, 'lmod_tracking.sqlite')), DAY1_ROWS);
  } finally {
    tmp.remove();
  }
});
