import { type TestContext, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { openClient, type SqlClient } from '../src/db/client';
import { parseDbUrl } from '../src/db/config';
import type { TestDatabase } from './helpers/mysql';
import { cleanEnv, LOAD_BIN, manyRecords, type Run, runLoad, summaryOf, tempDir, withMysql } from './helpers/load';

/**
 * A TCP proxy in front of the MySQL server that cuts every connection open once `cutAfter`
 * bytes went from the loader to the server; afterwards it either passes new connections
 * through (a network blip) or refuses them all (a server that stays away).
 */
class CuttingProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private sent = 0;
  cut = false;

  constructor(target: { host: string; port: number }, cutAfter: number, thenRefuse: boolean) {
    this.server = createServer((client) => {
      const upstream = connect(target.port, target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      upstream.pipe(client);
      client.on('data', (chunk: Buffer) => {
        this.sent += chunk.length;
        if (!this.cut && this.sent > cutAfter) {
          this.cut = true;
          upstream.write(chunk.subarray(0, chunk.length >> 1));
          for (const s of this.sockets) s.destroy();
          if (thenRefuse) this.server.close();
          return;
        }
        upstream.write(chunk);
      });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }
}

async function count(url: string): Promise<number> {
  const client = await openClient(parseDbUrl(url));
  try {
    return await rowCount(client);
  } finally {
    await client.close();
  }
}

/** Polls until the table holds at least `n` rows; fails after 60 s instead of hanging. */
async function waitForRows(url: string, n: number): Promise<void> {
  const client = await openClient(parseDbUrl(url));
  try {
    for (const deadline = Date.now() + 60_000; (await rowCount(client).catch(() => 0)) < n; ) {
      if (Date.now() > deadline) throw new Error(`fewer than ${n} rows after 60 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await client.close();
  }
}

async function rowCount(client: SqlClient): Promise<number> {
  const [row] = await client.query<{ n: number }>('SELECT COUNT(*) AS n FROM module_loads');
  return Number(row.n);
}

function counts(stderr: string): { read: number; added: number; present: number } {
  const m = /lmod-load: ([\d,]+) read, ([\d,]+) new, ([\d,]+) already present/.exec(stderr);
  if (!m) throw new Error(`no summary in: ${stderr}`);
  const n = (s: string): number => Number(s.replace(/,/g, ''));
  return { read: n(m[1]), added: n(m[2]), present: n(m[3]) };
}

function proxied(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}

/** Runs `body` with the database behind a CuttingProxy that cuts after 120,000 bytes. */
async function behindProxy(
  db: TestDatabase,
  thenRefuse: boolean,
  body: (url: string, proxy: CuttingProxy) => Promise<void>,
  cutAfter = 120_000,
): Promise<void> {
  const target = new URL(db.url);
  const proxy = new CuttingProxy({ host: target.hostname, port: Number(target.port || 3306) }, cutAfter, thenRefuse);
  try {
    await body(proxied(db.url, await proxy.listen()), proxy);
  } finally {
    proxy.close();
  }
}

test('a connection cut while connecting is retried as a batch is, and the load completes', (t) =>
  withMysql(t, 'cutconnect', true, (db) =>
    behindProxy(
      db,
      false,
      async (url, proxy) => {
        const run = await runLoad(['--db', url, '--retries', '3'], { stdin: manyRecords(100) });
        assert.ok(proxy.cut, 'the proxy cut the connection during its handshake');
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stderr, /^lmod-load: lost the connection to the database; retrying connecting in 0\.25 s \(retry 1 of 3\)\n/);
        assert.equal(summaryOf(run.stderr), 'lmod-load: 100 read, 100 new, 0 already present, 0 rejected');
      },
      20,
    ),
  ));

test('a connection cut mid-load is retried and the load completes exactly', (t) =>
  withMysql(t, 'cut', true, (db) =>
    behindProxy(db, false, async (url, proxy) => {
      const run = await runLoad(['--db', url, '--batch-size', '500', '--retries', '3'], { stdin: manyRecords(5000) });
      assert.ok(proxy.cut, 'the proxy cut the connection');
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /^lmod-load: lost the connection to the database; retrying the batch in 0\.25 s \(retry 1 of 3\)\n/);
      const c = counts(run.stderr);
      assert.equal(c.read, 5000);
      assert.equal(c.added + c.present, 5000);
      assert.equal(await count(db.url), 5000);
      const again = await runLoad(['--db', db.url], { stdin: manyRecords(5000) });
      assert.equal(summaryOf(again.stderr), 'lmod-load: 5,000 read, 0 new, 5,000 already present, 0 rejected');
    }),
  ));

test('a server that stays away: exit 2 with what was committed; a rerun completes exactly', (t) =>
  withMysql(t, 'away', true, (db) =>
    behindProxy(db, true, async (url) => {
      const run = await runLoad(['--db', url, '--batch-size', '500', '--retries', '2'], { stdin: manyRecords(5000) });
      assert.equal(run.code, 2, run.stderr);
      const committed = counts(run.stderr).added;
      assert.match(
        run.stderr.trimEnd().split('\n').at(-1)!,
        new RegExp(
          `^lmod-load: mysql://root@127\\.0\\.0\\.1:\\d+/${db.name}: the database refused the connection after 2 retries; ` +
            `${committed.toLocaleString('en-US')} records were committed before it \\(${committed.toLocaleString('en-US')} new, 0 already present\\); ` +
            'rerun with the same input to complete the load$',
        ),
      );
      assert.ok(committed > 0 && committed < 5000, `committed ${committed}`);
      // The closing line adds up: every record read is new, already present, rejected or not loaded.
      const summary = /lmod-load: ([\d,]+) read, ([\d,]+) new, ([\d,]+) already present, ([\d,]+) rejected, ([\d,]+) not loaded in /.exec(run.stderr);
      assert.ok(summary, run.stderr);
      const [read, added, present, rejected, unloaded] = summary.slice(1).map((n) => Number(n.replace(/,/g, '')));
      assert.equal(added + present + rejected + unloaded, read, summary[0]);
      const stored = await count(db.url);
      assert.ok(stored >= committed, `${stored} stored, ${committed} reported`);
      const rerun = await runLoad(['--db', db.url], { stdin: manyRecords(5000) });
      assert.equal(
        summaryOf(rerun.stderr),
        `lmod-load: 5,000 read, ${(5000 - stored).toLocaleString('en-US')} new, ${stored.toLocaleString('en-US')} already present, 0 rejected`,
      );
      assert.equal(await count(db.url), 5000);
    }),
  ));

/** Starts the loader on a file and polls the database until some rows are there. */
async function killMidRun(url: string, file: string): Promise<number> {
  const child = spawn(process.execPath, [LOAD_BIN, '--db', url, '--batch-size', '1000', file], { env: cleanEnv(), stdio: 'ignore' });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  await waitForRows(url, 1);
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  // MySQL still commits a statement it had fully received from the killed loader: wait until the count settles.
  for (let before = -1, now = await count(url); now !== before; before = now, now = await count(url)) {
    await new Promise((r) => setTimeout(r, 300));
  }
  return count(url);
}

const KILL_RECORDS = 100_000;

async function killAndRerun(url: string): Promise<void> {
  const file = join(tempDir('kill'), 'records.ndjson');
  // Large enough that a busy machine cannot finish it between two polls.
  writeFileSync(file, manyRecords(KILL_RECORDS));
  if (url.startsWith('sqlite:')) assert.equal((await runLoad(['migrate', '--quiet', '--db', url])).code, 0);
  const stored = await killMidRun(url, file);
  assert.ok(stored > 0 && stored < KILL_RECORDS, `${stored} rows after kill -9`);
  const rerun = await runLoad(['--db', url, file]);
  assert.equal(rerun.code, 0, rerun.stderr);
  // A statement the server had fully received may still commit after the count above, so the
  // split between new and present is only bounded; the rows in the end are exact.
  const { read, added, present } = counts(rerun.stderr);
  assert.equal(read, KILL_RECORDS);
  assert.equal(added + present, KILL_RECORDS);
  assert.ok(present >= stored, `${present} present, ${stored} counted after the kill`);
  assert.equal(await count(url), KILL_RECORDS);
}

test('kill -9 of the loader mid-run into MySQL: a rerun restores exactly', (t) => withMysql(t, 'kill', true, (db) => killAndRerun(db.url)));

test('kill -9 of the loader mid-run into SQLite: a rerun restores exactly', async () => {
  await killAndRerun(`sqlite:${join(tempDir('kill'), 'lmod.sqlite')}`);
});

async function twoAtOnce(url: string): Promise<void> {
  const dir = tempDir('two');
  const a = join(dir, 'a.ndjson');
  const b = join(dir, 'b.ndjson');
  writeFileSync(a, manyRecords(12_000, 0));
  writeFileSync(b, manyRecords(12_000, 6_000));
  const [ra, rb] = await Promise.all([runLoad(['--db', url, '--batch-size', '700', a]), runLoad(['--db', url, '--batch-size', '500', b])]);
  assert.equal(ra.code, 0, ra.stderr);
  assert.equal(rb.code, 0, rb.stderr);
  const [ca, cb] = [counts(ra.stderr), counts(rb.stderr)];
  assert.equal(ca.added + cb.added, 18_000);
  assert.equal(ca.present + cb.present, 6_000);
  assert.equal(await count(url), 18_000);
  const client = await openClient(parseDbUrl(url));
  try {
    const [users] = await client.query<{ n: number; d: number }>('SELECT COUNT(*) AS n, COUNT(DISTINCT name) AS d FROM users');
    assert.deepEqual([Number(users.n), Number(users.d)], [101, 101]);
  } finally {
    await client.close();
  }
}

test('two loaders at once on overlapping files into MySQL: exactly the distinct records', (t) => withMysql(t, 'two', true, (db) => twoAtOnce(db.url)));

test('two loaders at once on overlapping files into SQLite: exactly the distinct records', async () => {
  const url = `sqlite:${join(tempDir('two'), 'lmod.sqlite')}`;
  assert.equal((await runLoad(['migrate', '--quiet', '--db', url])).code, 0);
  await twoAtOnce(url);
});

/** Feeds three batches and a partial one through a pipe kept open, then signals. */
async function interrupt(url: string, signal: NodeJS.Signals): Promise<Run> {
  const child = spawn(process.execPath, [LOAD_BIN, '--db', url, '--batch-size', '1000', '-'], { env: cleanEnv() });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<Run>((resolve) => child.on('close', (code, sig) => resolve({ code, signal: sig, stdout: '', stderr })));
  child.stdin.write(manyRecords(3500));
  await waitForRows(url, 3000).catch((err) => {
    child.kill('SIGKILL');
    throw new Error(`${err.message}; loader said: ${stderr}`);
  });
  child.kill(signal);
  const run = await exited;
  child.stdin.destroy();
  return run;
}

/** Both signals, one after the other, on the same database. */
async function bothSignals(url: string): Promise<void> {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    const run = await interrupt(url, signal);
    assert.equal(run.code, code, run.stderr);
    assert.equal(summaryOf(run.stderr), 'lmod-load: 3,500 read, 3,000 new, 0 already present, 0 rejected, 500 not loaded');
    assert.equal(await count(url), 3000);
    const client = await openClient(parseDbUrl(url));
    await client.run('DELETE FROM module_loads').finally(() => client.close());
  }
}

test('SIGINT and SIGTERM into SQLite: the batch being gathered is dropped, the summary printed, exit 130/143', () =>
  bothSignals(`sqlite:${join(tempDir('signal'), 'lmod.sqlite')}`));

test('SIGINT and SIGTERM into MySQL: the batch being gathered is dropped, the summary printed, exit 130/143', (t) =>
  withMysql(t, 'signal', true, (db) => bothSignals(db.url)));

/** A small tmpfs of our own (root only; CI runs as root, so there it must work). */
function withSmallDisk(t: TestContext, size: string, body: (dir: string) => Promise<void>): Promise<void> | void {
  const dir = tempDir('disk');
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]).status !== 0) {
    if (process.env.CI === 'true') assert.fail('mounting a tmpfs (root) is needed in CI for the disk fault tests');
    return t.skip('a full or read-only disk needs root to mount a small tmpfs');
  }
  return body(dir).finally(() => spawnSync('umount', [dir]));
}

/** The one line lmod-load ends with on a database it cannot write, and the numbers of its summary. */
function writeFailure(run: Run, cause: string): number {
  assert.equal(run.code, 2, run.stderr);
  const lines = run.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 2, run.stderr);
  assert.doesNotMatch(run.stderr, /\n\s+at /);
  const m = new RegExp(
    `: ${cause}; ([\\d,]+) records were committed before it \\(([\\d,]+) new, 0 already present\\); rerun with the same input to complete the load$`,
  ).exec(lines[1]);
  assert.ok(m, lines[1]);
  const summary = /^lmod-load: ([\d,]+) read, ([\d,]+) new, 0 already present, 0 rejected, ([\d,]+) not loaded in /.exec(lines[0]);
  assert.ok(summary, lines[0]);
  const [read, added, unloaded] = summary.slice(1).map((n) => Number(n.replace(/,/g, '')));
  assert.equal(added + unloaded, read);
  return added;
}

test('SQLite on a full disk: one line, exit 2, what was committed kept; the numbers add up', (t) =>
  withSmallDisk(t, '400k', async (dir) => {
    const url = `sqlite:${join(dir, 'full.sqlite')}`;
    const committed = writeFailure(
      await runLoad(['--db', url, '--batch-size', '500'], { stdin: manyRecords(20_000) }),
      'database or disk is full \\(SQLITE_FULL\\)',
    );
    const client = await openClient(parseDbUrl(url));
    try {
      assert.equal(Number((await client.query<{ n: number }>('SELECT COUNT(*) AS n FROM module_loads'))[0].n), committed);
    } finally {
      await client.close();
    }
  }));

test('SQLite on a read-only disk: one line, exit 2, nothing lost', (t) =>
  withSmallDisk(t, '4m', async (dir) => {
    const url = `sqlite:${join(dir, 'ro.sqlite')}`;
    assert.equal((await runLoad(['--db', url], { stdin: manyRecords(10) })).code, 0);
    assert.equal(spawnSync('mount', ['-o', 'remount,ro', dir]).status, 0);
    const run = await runLoad(['--db', url], { stdin: manyRecords(20, 10) });
    assert.equal(run.code, 2, run.stderr);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
    assert.equal(run.stderr.trimEnd().split('\n').length, 1, run.stderr);
    assert.match(
      run.stderr,
      /^lmod-load: cannot open SQLite database .*ro\.sqlite: .* \(the file and its folder must be writable: SQLite keeps -wal and -shm files beside it\)\n$/,
    );
  }));
