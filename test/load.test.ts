import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createPool } from 'mysql2';
import { MysqlClient, mysqlConnectionOptions, openClient, type SqlClient } from '../src/db/client';
import { MysqlStore } from '../src/db/mysql-store';
import type { LoadRow } from '../src/db/row';
import { toRow } from '../src/load/validate';
import { type MysqlConfig, parseDbUrl } from '../src/db/config';
import { LATEST_VERSION } from '../src/db/migrate';
import { MIGRATIONS } from '../src/db/migrations';
import { createTestDatabase, SKIP_NOTICE } from './helpers/mysql';
import { FIXTURES, LOAD_BIN, record, runLoad, saidLines, summaryOf, tempDir, withMysql } from './helpers/load';

const BASIC = join(FIXTURES, 'basic.ndjson');
const BAD = join(FIXTURES, 'bad.ndjson');

/** The flat view's rows for basic.ndjson + bad.ndjson, in (time, user, module) order. */
const EXPECTED_ROWS = [
  ['2023-04-27 07:22:57.622180', 'alice', 'node001', 'gcc/12.2.0', 'gcc', '12.2.0', '/opt/apps/modulefiles/Core/gcc/12.2.0.lua', '4242', 1, null],
  ['2023-04-27 07:22:57.622181', 'Alice', 'node001', 'GCC/12.2.0', 'GCC', '12.2.0', '/opt/apps/modulefiles/Core/GCC/12.2.0.lua', '4242', 1, null],
  ['2023-04-27 07:23:01.000000', 'bob', null, 'StdEnv', 'StdEnv', null, null, 'interactive', null, null],
  [
    '2023-04-27 07:23:01.000000',
    'bob',
    'node002',
    'mpi/openmpi/4.1.5',
    'mpi/openmpi',
    '4.1.5',
    '/opt/apps/modulefiles/MPI/gcc/12.2.0/mpi/openmpi/4.1.5.lua',
    null,
    0,
    '{"arch":"x86_64","cluster":"alpha"}',
  ],
  ['2023-05-01 10:00:00.000001', 'carol', 'login1', 'python/3.11.4', 'python', '3.11.4', null, null, 1, null],
  [
    '2023-05-01 10:00:00.000005',
    "x'); DROP TABLE module_loads; --",
    'nöde-ü-日本',
    'evil"/1.0\'; DELETE FROM users; --',
    'evil"',
    "1.0'; DELETE FROM users; --",
    '/opt/\\path\\with\\backslashes\n',
    '\u0000nul',
    0,
    '{"note":"\'\\"\\\\ ; -- 😀"}',
  ],
  ['2023-05-01 10:00:00.000008', 'frank', 'login1', 'gcc/12.2.0', 'gcc', '12.2.0', null, null, 1, null],
  ['2024-02-29 23:59:59.999999', 'josé', 'node003', 'R/4.3.1', 'R', '4.3.1', '/opt/apps/modulefiles/Core/R/4.3.1.lua', 'nil', 1, null],
];

const BAD_LINES = [
  `lmod-load: ${BAD}:2: not JSON: this is not json`,
  `lmod-load: ${BAD}:3: missing field user`,
  `lmod-load: ${BAD}:4: user is longer than 255 characters`,
  `lmod-load: ${BAD}:5: time "2023-05-01 10:00:00" is not a UTC time like 2023-04-27T07:22:57.622180Z`,
  `lmod-load: ${BAD}:6: not a JSON object`,
  `lmod-load: ${BAD}:7: jobid is longer than 128 characters`,
  `lmod-load: ${BAD}:9: userload must be true, false or null`,
  `lmod-load: ${BAD}:10: version must be "12.2.0" for module "gcc/12.2.0"`,
];

async function flatRows(client: SqlClient): Promise<unknown[][]> {
  const rows = await client.query<Record<string, unknown>>(
    'SELECT time, user, host, module, name, version, path, jobid, userload, extra FROM module_loads_flat ORDER BY time, user, module',
  );
  return rows.map((r) => [r.time, r.user, r.host, r.module, r.name, r.version, r.path, r.jobid, r.userload === null ? null : Number(r.userload), r.extra]);
}

async function ids(client: SqlClient, table: string): Promise<[number, string][]> {
  const rows = await client.query<{ id: number; k: string }>(
    `SELECT id, ${table === 'modules' ? 'module' : table === 'paths' ? 'path' : 'name'} AS k FROM ${table} ORDER BY id`,
  );
  return rows.map((r) => [Number(r.id), r.k]);
}

interface Target {
  label: 'MySQL' | 'SQLite';
  url: string;
  /** lmod-load options for every load (`--no-load-data`). */
  options?: string[];
}

function sqliteTarget(): Target {
  return { label: 'SQLite', url: `sqlite:${join(tempDir('sqlite'), 'lmod.sqlite')}` };
}

/** The same scenario against both stores: they must agree row for row and count for count. */
async function loadTwice(target: Target): Promise<void> {
  if (target.label === 'MySQL') {
    const missing = await runLoad(['--db', target.url, BASIC]);
    assert.equal(missing.code, 2);
    assert.match(
      missing.stderr,
      /^lmod-load: mysql:\/\/root@[^ ]+ has no lmod-tracking schema: run `lmod-load migrate` \(with the same --db or --env-file\) first\n$/,
    );
    const migrated = await runLoad(['migrate', '--db', target.url]);
    assert.equal(migrated.code, 0, migrated.stderr);
  }
  const first = await runLoad(['--db', target.url, ...(target.options ?? []), BASIC, BAD]);
  assert.equal(first.code, 1, first.stderr);
  const lines = first.stderr.trimEnd().split('\n');
  assert.deepEqual(lines.slice(0, -1), BAD_LINES);
  assert.equal(summaryOf(first.stderr), 'lmod-load: 17 read, 8 new, 1 already present, 8 rejected');
  assert.equal(first.stdout, '');

  const client = await openClient(parseDbUrl(target.url));
  try {
    assert.deepEqual(await flatRows(client), EXPECTED_ROWS);
    const usersBefore = await ids(client, 'users');
    const modulesBefore = await ids(client, 'modules');
    assert.deepEqual(
      usersBefore.map(([, name]) => name).sort(),
      ['Alice', 'alice', 'bob', 'carol', 'frank', 'josé', "x'); DROP TABLE module_loads; --"].sort(),
    );

    const again = await runLoad(['--db', target.url, ...(target.options ?? []), BASIC, BAD]);
    assert.equal(again.code, 1);
    assert.equal(summaryOf(again.stderr), 'lmod-load: 17 read, 0 new, 9 already present, 8 rejected');
    assert.deepEqual(await flatRows(client), EXPECTED_ROWS);
    assert.deepEqual(await ids(client, 'users'), usersBefore);
    assert.deepEqual(await ids(client, 'modules'), modulesBefore);

    // Reloads burned no ids: the next new user gets the next number.
    const zoe = await runLoad(['--db', target.url, ...(target.options ?? [])], { stdin: JSON.stringify(record({ user: 'zoe' })) + '\n' });
    assert.equal(summaryOf(zoe.stderr), 'lmod-load: 1 read, 1 new, 0 already present, 0 rejected');
    const users = await ids(client, 'users');
    assert.deepEqual(users.at(-1), [Math.max(...usersBefore.map(([id]) => id)) + 1, 'zoe']);

    const counts = await client.query<Record<string, unknown>>(
      'SELECT module, name, version, loads, users, hosts, first_load, last_load FROM version_counts WHERE name = ?',
      ['gcc'],
    );
    assert.deepEqual(
      counts.map((r) => ({ ...r, loads: Number(r.loads), users: Number(r.users), hosts: Number(r.hosts) })),
      [
        {
          module: 'gcc/12.2.0',
          name: 'gcc',
          version: '12.2.0',
          loads: 3,
          users: 3,
          hosts: 2,
          first_load: '2023-04-27 07:22:57.622180',
          last_load: '2023-05-01 10:00:00.000008',
        },
      ],
    );
    const packages = await client.query<Record<string, unknown>>('SELECT name, loads, hosts FROM package_counts WHERE name = ?', ['StdEnv']);
    assert.deepEqual(
      packages.map((r) => [r.name, Number(r.loads), Number(r.hosts)]),
      [['StdEnv', 1, 0]],
    );
  } finally {
    await client.close();
  }
}

test('a log loaded twice into SQLite: exact rows, then 0 new and the same ids', async () => {
  await loadTwice(sqliteTarget());
});

test('a log loaded twice into MySQL (LOAD DATA LOCAL): exact rows, then 0 new and the same ids', (t) =>
  withMysql(t, 'twice', false, (db) => loadTwice({ label: 'MySQL', url: db.url })));

test('a log loaded twice into MySQL with --no-load-data (multi-row INSERT): the same rows and counts', (t) =>
  withMysql(t, 'twiceins', false, (db) => loadTwice({ label: 'MySQL', url: db.url, options: ['--no-load-data'] })));

test('LOAD DATA LOCAL and INSERT store tabs, CR, newlines, backslashes, NUL and a literal \\N verbatim', (t) =>
  withMysql(t, 'escapes', true, async (db) => {
    const values = ['a\tb', 'c\r\nd', 'back\\slash\\', '\u0000', '\\N', 'N', '\\', 'end\\t'];
    const ndjson = values.map((v, i) => JSON.stringify(record({ time: `2023-04-27T07:22:57.00000${i}Z`, jobid: v, extra: { note: v } }))).join('\n') + '\n';
    const second = await createTestDatabase('escapes2');
    assert.ok(second);
    try {
      assert.equal((await runLoad(['migrate', '--quiet', '--db', second.url])).code, 0);
      for (const [url, options] of [
        [db.url, []],
        [second.url, ['--no-load-data']],
      ] as const) {
        const run = await runLoad(['--db', url, ...options], { stdin: ndjson });
        assert.equal(summaryOf(run.stderr), `lmod-load: 8 read, 8 new, 0 already present, 0 rejected`);
        const client = await openClient(parseDbUrl(url));
        try {
          const rows = await client.query<{ jobid: string; extra: string }>('SELECT jobid, extra FROM module_loads ORDER BY time');
          assert.deepEqual(
            rows.map((r) => r.jobid),
            values,
            options.join(' '),
          );
          assert.deepEqual(
            rows.map((r) => (JSON.parse(r.extra) as { note: string }).note),
            values,
          );
        } finally {
          await client.close();
        }
      }
    } finally {
      await second.drop();
    }
  }));

test('a server that refuses LOAD DATA LOCAL gets multi-row INSERTs, from the first batch on', (t) =>
  withMysql(t, 'nolocal', true, async (db) => {
    const config = parseDbUrl(db.url) as MysqlConfig;
    // A client without the LOCAL_FILES capability: the server refuses LOAD DATA LOCAL, as MySQL 8 does by default.
    const pool = createPool({ ...mysqlConnectionOptions(config), flags: ['-FOUND_ROWS', '-LOCAL_FILES'] });
    const client = new MysqlClient(pool.promise(), config);
    try {
      const store = await MysqlStore.open(client, 1);
      assert.equal(store.method, 'LOAD DATA LOCAL');
      const rows = [0, 1, 2].map((i) => toRow(record({ time: `2023-04-27T07:22:57.00000${i}Z` }), 'in', i + 1) as LoadRow);
      assert.deepEqual(await store.loadBatch(rows), { inserted: 3, present: 0 });
      assert.equal(store.method, 'INSERT');
      assert.deepEqual(await store.loadBatch(rows), { inserted: 0, present: 3 });
      const [count] = await client.query<{ n: number }>('SELECT COUNT(*) AS n FROM module_loads');
      assert.equal(Number(count.n), 3);
    } finally {
      await client.close();
    }
  }));

test('a value the server cuts though the checks passed: LOAD DATA is rolled back, the INSERT names the record, the rest loads', (t) =>
  withMysql(t, 'cut', true, async (db) => {
    const client = await openClient(parseDbUrl(db.url));
    try {
      // A column narrower than the checks know: only the server can refuse the value.
      await client.query('ALTER TABLE module_loads MODIFY jobid VARCHAR(4) NULL');
      const ndjson = ['1', 'toolong', '3'].map((jobid, i) => JSON.stringify(record({ time: `2023-04-27T07:22:57.00000${i}Z`, jobid }))).join('\n') + '\n';
      const run = await runLoad(['--db', db.url], { stdin: ndjson });
      assert.equal(run.code, 1);
      assert.equal(run.stderr.split('\n')[0], "lmod-load: stdin:2: refused by the database: Data too long for column 'jobid' at row 1");
      assert.equal(summaryOf(run.stderr), 'lmod-load: 3 read, 2 new, 0 already present, 1 rejected');
      assert.deepEqual(
        (await client.query<{ jobid: string }>('SELECT jobid FROM module_loads ORDER BY time')).map((r) => r.jobid),
        ['1', '3'],
      );
    } finally {
      await client.close();
    }
  }));

/** Loads of one instant that differ in one identity field each: a reload must tell them apart. */
async function sameInstant(target: Target): Promise<void> {
  const ndjson = (records: Record<string, unknown>[]): string => records.map((r) => JSON.stringify(r)).join('\n') + '\n';
  const first = record();
  const others = [
    record({ user: 'bob' }),
    record({ host: 'node002' }),
    record({ module: 'gcc/13.1.0', version: '13.1.0' }),
    record({ time: '2023-04-27T07:22:57.622181Z' }),
  ];
  const one = await runLoad(['--db', target.url], { stdin: ndjson([first]) });
  assert.equal(summaryOf(one.stderr), 'lmod-load: 1 read, 1 new, 0 already present, 0 rejected');
  // A new process, so names are learned from the stored ids; the stored row sits among the new ones.
  const mixed = await runLoad(['--db', target.url], { stdin: ndjson([others[0], others[1], first, others[2], others[3]]) });
  assert.equal(summaryOf(mixed.stderr), 'lmod-load: 5 read, 4 new, 1 already present, 0 rejected');
  const again = await runLoad(['--db', target.url], { stdin: ndjson([...others, first]) });
  assert.equal(summaryOf(again.stderr), 'lmod-load: 5 read, 0 new, 5 already present, 0 rejected');
}

test('loads of one instant that differ in user, host or module each count once, on reloads too: SQLite', () => sameInstant(sqliteTarget()));

test('loads of one instant that differ in user, host or module each count once, on reloads too: MySQL', (t) =>
  withMysql(t, 'instant', true, (db) => sameInstant({ label: 'MySQL', url: db.url })));

/** Values at and over the column limits, counted in characters as the columns count them. */
async function limits(target: Target): Promise<void> {
  const emoji255 = '😀'.repeat(255);
  const lines = [
    record({ time: '2023-06-01T00:00:00.000001Z', user: emoji255 }),
    record({ time: '2023-06-01T00:00:00.000002Z', user: 'é'.repeat(256) }),
    record({ time: '2023-06-01T00:00:00.000003Z', module: `m/${'v'.repeat(254)}`, name: 'm', version: 'v'.repeat(254) }),
    record({ time: '2023-06-01T00:00:00.000004Z', path: `/${'p'.repeat(767)}` }),
    record({ time: '2023-06-01T00:00:00.000005Z', path: `/${'p'.repeat(768)}` }),
    record({ time: '2023-06-01T00:00:00.000006Z', extra: { big: 'x'.repeat(65_000) } }),
    record({ time: '2023-06-01T00:00:00.000007Z', extra: { big: 'x'.repeat(65_530) } }),
    record({ time: '2023-02-29T00:00:00.000000Z' }),
    record({ time: '2023-06-01T00:00:00.000008Z', host: 'node01 ' }),
    record({ time: '2023-06-01T00:00:00.000009Z', user: '' }),
    record({ time: '2023-06-01T00:00:00.000010Z', user: '\ud800x' }),
    record({ time: '2023-06-01T00:00:00.000011Z', extra: { n: 1 } }),
  ].map((r) => JSON.stringify(r));
  const run = await runLoad(['--db', target.url, '-'], { stdin: lines.join('\n') + '\n' });
  assert.equal(run.code, 1, run.stderr);
  assert.deepEqual(run.stderr.trimEnd().split('\n').slice(0, -1), [
    'lmod-load: stdin:2: user is longer than 255 characters',
    'lmod-load: stdin:3: module is longer than 255 characters',
    'lmod-load: stdin:5: path is longer than 768 characters',
    'lmod-load: stdin:7: extra is longer than 65535 bytes as JSON',
    'lmod-load: stdin:8: time "2023-02-29T00:00:00.000000Z" is not a UTC time like 2023-04-27T07:22:57.622180Z',
    'lmod-load: stdin:9: host "node01 " ends with a space (database keys ignore trailing spaces)',
    'lmod-load: stdin:10: user is empty',
    'lmod-load: stdin:11: user is not valid Unicode (lone surrogate)',
    'lmod-load: stdin:12: extra.n must be a string',
  ]);
  assert.equal(summaryOf(run.stderr), 'lmod-load: 12 read, 3 new, 0 already present, 9 rejected');
  const client = await openClient(parseDbUrl(target.url));
  try {
    const rows = await client.query<{ user: string; path: string; extra: string | null }>('SELECT user, path, extra FROM module_loads_flat ORDER BY time');
    assert.deepEqual(
      rows.map((r) => [r.user, r.path.length, r.extra?.length ?? null]),
      [
        [emoji255, 41, null],
        ['alice', 768, null],
        ['alice', 41, 65_010],
      ],
    );
  } finally {
    await client.close();
  }
}

test('column limits, in characters: SQLite refuses exactly what MySQL would', async () => {
  await limits(sqliteTarget());
});

test('column limits, in characters: MySQL stores 255 emoji and refuses 256 accented letters', (t) =>
  withMysql(t, 'limits', true, (db) => limits({ label: 'MySQL', url: db.url })));

test('no MySQL configured: the SQLite default in the working directory, announced, migrated by itself', async () => {
  const cwd = tempDir('default');
  const run = await runLoad([], { cwd, stdin: gzipSync(readFileSync(BASIC)) });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr.split('\n')[0], 'lmod-load: no MySQL configured (DB_NAME/DB_USER, .env or --db): loading into sqlite:./lmod_tracking.sqlite');
  assert.equal(summaryOf(run.stderr), 'lmod-load: 6 read, 5 new, 1 already present, 0 rejected');
  assert.ok(existsSync(join(cwd, 'lmod_tracking.sqlite')));
  const quiet = await runLoad(['--quiet', BASIC], { cwd });
  assert.deepEqual([quiet.code, quiet.stderr], [0, '']);
});

test('--dry-run validates without any database; --max-errors stops with exit 2', async () => {
  const cwd = tempDir('dry');
  const run = await runLoad(['--dry-run', BASIC, BAD], {
    cwd,
    env: { DB_USER: 'nobody', DB_NAME: 'nothing', DB_HOST: '127.0.0.1', DB_PORT: '1' },
  });
  assert.equal(run.code, 1);
  assert.equal(summaryOf(run.stderr), 'lmod-load: 17 read, 9 valid, 8 rejected');
  assert.ok(!existsSync(join(cwd, 'lmod_tracking.sqlite')));
  const stopped = await runLoad(['--dry-run', '--max-errors', '2', BAD], { cwd });
  assert.equal(stopped.code, 2);
  const tail = stopped.stderr.trimEnd().split('\n').slice(-3);
  assert.deepEqual(
    [tail[0], summaryOf(tail[1]), tail[2]],
    [
      `lmod-load: ${BAD}:4: user is longer than 255 characters`,
      'lmod-load: 4 read, 0 valid, 3 rejected, 1 not loaded',
      'lmod-load: stopped after 3 errors (--max-errors 2)',
    ],
  );
});

test('a missing input is reported, the others load, exit 2', async () => {
  const dir = tempDir('missing');
  const run = await runLoad(['--db', `sqlite:${join(dir, 'x.sqlite')}`, join(dir, 'nope.ndjson'), BASIC]);
  assert.equal(run.code, 2);
  assert.equal(run.stderr.split('\n')[0], `lmod-load: ${join(dir, 'nope.ndjson')}: No such file or directory`);
  assert.equal(summaryOf(run.stderr), 'lmod-load: 6 read, 5 new, 1 already present, 0 rejected');
});

test('connection errors name host, port, user and database and never the password', async () => {
  const refused = await runLoad(['--db', 'mysql://lmod:Pa55word-xyz@127.0.0.1:1/lmoddb', '--retries', '0', BASIC]);
  assert.equal(refused.code, 2);
  assert.equal(
    refused.stderr,
    'lmod-load: warning: a password in --db shows in the process list: set DB_PASS or DB_PASS_FILE, or put it in .env (mode 0600)\n' +
      'lmod-load: cannot connect to MySQL database lmoddb at 127.0.0.1:1 as user lmod: connection refused: is the server running, and are DB_HOST/DB_PORT (or --db) right?\n',
  );
  const cwd = tempDir('envpass');
  writeFileSync(join(cwd, '.env'), 'DB_USER=lmod\nDB_PASS=Pa55word-xyz\nDB_NAME=lmoddb\nDB_HOST=127.0.0.1\nDB_PORT=1\n', { mode: 0o600 });
  const fromEnv = await runLoad(['migrate'], { cwd });
  assert.equal(fromEnv.code, 2);
  assert.ok(fromEnv.stderr.startsWith('lmod-load: cannot connect to MySQL database lmoddb at 127.0.0.1:1 as user lmod: connection refused'));
  assert.ok(!fromEnv.stderr.includes('Pa55word'));
});

test('access denied by a real server: DB_USER/DB_PASS named, the password not', (t) =>
  withMysql(t, 'denied', false, async (db) => {
    const url = db.url.replace('mysql://root', 'mysql://lmod_nobody:Pa55word-xyz');
    const run = await runLoad(['--db', url, BASIC]);
    assert.equal(run.code, 2);
    assert.match(
      run.stderr,
      /^lmod-load: warning: a password in --db [^\n]*\nlmod-load: cannot connect to MySQL database lmod_test_denied_\w+ at [\d.]+:\d+ as user lmod_nobody: access denied: check DB_USER and DB_PASS\n$/,
    );
  }));

test('--db with a host list: a first host that refuses gives way to the next, for migrate and the load (MySQL)', (t) =>
  withMysql(t, 'hostlist', false, async (db) => {
    const url = db.url.replace('@', '@127.0.0.1:1,');
    const migrated = await runLoad(['migrate', '--db', url]);
    assert.deepEqual(saidLines(migrated), [`schema migrated from v0 to v${LATEST_VERSION}`]);
    const run = await runLoad(['--db', url, BASIC]);
    assert.equal(summaryOf(run.stderr), 'lmod-load: 6 read, 5 new, 1 already present, 0 rejected');
  }));

test('migrate twice is harmless, on MySQL and SQLite', async (t) => {
  const sqlite = sqliteTarget();
  for (const [target, name] of [[sqlite, sqlite.url]] as const) {
    const first = await runLoad(['migrate', '--db', target.url]);
    assert.deepEqual([first.code, first.stderr], [0, `lmod-load: ${name}: schema migrated from v0 to v${LATEST_VERSION}\n`]);
    const second = await runLoad(['migrate', '--db', target.url]);
    assert.deepEqual([second.code, second.stderr], [0, `lmod-load: ${name}: schema is up to date (v${LATEST_VERSION})\n`]);
  }
  const db = await createTestDatabase('migrate');
  if (!db) return t.skip(SKIP_NOTICE);
  try {
    const first = await runLoad(['migrate', '--db', db.url]);
    assert.equal(first.code, 0);
    assert.ok(first.stderr.endsWith(`: schema migrated from v0 to v${LATEST_VERSION}\n`), first.stderr);
    const second = await runLoad(['migrate', '--db', db.url]);
    assert.ok(second.stderr.endsWith(`: schema is up to date (v${LATEST_VERSION})\n`), second.stderr);
    const run = await runLoad(['--db', db.url, BASIC]);
    assert.equal(summaryOf(run.stderr), 'lmod-load: 6 read, 5 new, 1 already present, 0 rejected');
  } finally {
    await db.drop();
  }
});

/** The secondary indexes of module_loads as `name(col,...)`, in name order. */
async function loadIndexes(client: SqlClient): Promise<string[]> {
  const rows =
    client.dialect === 'mysql'
      ? await client.query<{ name: string; cols: string }>(
          "SELECT index_name AS name, GROUP_CONCAT(column_name ORDER BY seq_in_index) AS cols FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'module_loads' AND index_name <> 'PRIMARY' GROUP BY index_name ORDER BY index_name",
        )
      : await client.query<{ name: string; cols: string }>(
          "SELECT il.name AS name, (SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_index_info(il.name) ORDER BY seqno)) AS cols FROM pragma_index_list('module_loads') il WHERE il.origin = 'c' ORDER BY il.name",
        );
  return rows.map((r) => `${r.name}(${r.cols})`);
}

/** A current database taken back to v2 (its indexes, no tables or columns of later versions), as a site that loaded with that release has it. */
async function migrateFromV2(url: string): Promise<void> {
  assert.equal((await runLoad(['migrate', '--quiet', '--db', url])).code, 0);
  assert.equal((await runLoad(['--quiet', '--db', url, BASIC])).code, 0);
  const client = await openClient(parseDbUrl(url));
  try {
    const v2 =
      client.dialect === 'mysql'
        ? [
            'ALTER TABLE module_loads DROP INDEX ix_loads_module, DROP INDEX ix_loads_user, ADD INDEX ix_loads_module (module_id, time, user_id), ADD INDEX ix_loads_user (user_id, time), ADD INDEX ix_loads_userload (userload, module_id, user_id)',
          ]
        : [
            'DROP INDEX ix_loads_module',
            'DROP INDEX ix_loads_user',
            'CREATE INDEX ix_loads_module ON module_loads (module_id, time, user_id)',
            'CREATE INDEX ix_loads_user ON module_loads (user_id, time)',
            'CREATE INDEX ix_loads_userload ON module_loads (userload, module_id, user_id)',
          ];
    const later = [
      'DROP VIEW module_loads_flat',
      'ALTER TABLE module_loads DROP COLUMN cluster',
      ...['jobs', 'summary_state', 'summary_packages', 'summary_versions', 'summary_users', 'summary_periods'].map((t) => `DROP TABLE ${t}`),
    ];
    const recordV2 = [...later, 'DELETE FROM lmod_schema WHERE version > 1', "INSERT INTO lmod_schema (version, applied_at) VALUES (2, '2024-01-01 00:00:00')"];
    for (const statement of [...v2, ...recordV2]) await client.query(statement);
    const migrated = await runLoad(['migrate', '--db', url]);
    assert.deepEqual([migrated.code, migrated.stderr.replace(/^lmod-load: \S+: /, '')], [0, `schema migrated from v2 to v${LATEST_VERSION}\n`]);
    assert.deepEqual(await loadIndexes(client), ['ix_loads_module(module_id,time,user_id,userload)', 'ix_loads_user(user_id,time,userload)']);
    const [row] = await client.query<{ n: number }>('SELECT COUNT(*) AS n FROM module_loads');
    assert.equal(Number(row.n), 5);
  } finally {
    await client.close();
  }
}

test('from v2: ix_loads_userload gives way to userload in the other two indexes, rows kept (SQLite)', () => migrateFromV2(sqliteTarget().url));

test('from v2: ix_loads_userload gives way to userload in the other two indexes, rows kept (MySQL)', (t) =>
  withMysql(t, 'v2to3', false, (db) => migrateFromV2(db.url)));

test('migrate --sql applies cleanly (twice) with the mariadb client, and lmod-load accepts the result', async (t) => {
  const sql = await runLoad(['migrate', '--sql']);
  assert.equal(sql.code, 0);
  assert.ok(sql.stdout.startsWith(`-- lmod-tracking schema v${LATEST_VERSION} (mysql); safe to apply again.\n`));
  assert.match(sql.stdout, /CREATE TABLE IF NOT EXISTS module_loads \(\n {2}time DATETIME\(6\) NOT NULL,/);
  const db = await createTestDatabase('ddl');
  if (!db) return t.skip(SKIP_NOTICE);
  const client = ['mariadb', 'mysql'].find((c) => {
    try {
      execFileSync('which', [c]);
      return true;
    } catch {
      return false;
    }
  });
  if (!client) return t.skip('no mariadb/mysql client installed');
  try {
    const url = new URL(db.url);
    const args = ['--protocol=tcp', '-h', url.hostname, '-P', url.port || '3306', '-u', decodeURIComponent(url.username), db.name];
    if (url.password) args.push(`-p${decodeURIComponent(url.password)}`);
    execFileSync(client, args, { input: sql.stdout });
    execFileSync(client, args, { input: sql.stdout });
    const tables = execFileSync(client, [...args, '-N', '-e', 'SHOW FULL TABLES'], { encoding: 'utf8' });
    assert.deepEqual(tables.trim().split('\n').sort(), [
      'hosts\tBASE TABLE',
      'jobs\tBASE TABLE',
      'lmod_schema\tBASE TABLE',
      'module_loads\tBASE TABLE',
      'module_loads_flat\tVIEW',
      'modules\tBASE TABLE',
      'package_counts\tVIEW',
      'paths\tBASE TABLE',
      'summary_accounts\tBASE TABLE',
      'summary_package_periods\tBASE TABLE',
      'summary_packages\tBASE TABLE',
      'summary_periods\tBASE TABLE',
      'summary_state\tBASE TABLE',
      'summary_users\tBASE TABLE',
      'summary_versions\tBASE TABLE',
      'users\tBASE TABLE',
      'version_counts\tVIEW',
    ]);
    const run = await runLoad(['--db', db.url, BASIC]);
    assert.equal(summaryOf(run.stderr), 'lmod-load: 6 read, 5 new, 1 already present, 0 rejected');
  } finally {
    await db.drop();
  }
});

test('a MySQL schema that is older or newer than this lmod-load: exit 2 naming what to do', (t) =>
  withMysql(t, 'versions', true, async (db) => {
    const client = await openClient(parseDbUrl(db.url));
    try {
      await client.run('INSERT INTO lmod_schema (version, applied_at) VALUES (?, UTC_TIMESTAMP())', [LATEST_VERSION + 1]);
      const newer = await runLoad(['--db', db.url, BASIC]);
      assert.equal(newer.code, 2);
      assert.match(
        newer.stderr,
        new RegExp(`has schema v${LATEST_VERSION + 1}, newer than this lmod-load knows \\(v${LATEST_VERSION}\\): upgrade lmod-tracking\\n$`),
      );
      await client.run('DELETE FROM lmod_schema WHERE version >= ?', [LATEST_VERSION]);
      const older = await runLoad(['--db', db.url, BASIC]);
      assert.equal(older.code, 2);
      assert.match(
        older.stderr,
        new RegExp(
          `has schema v${MIGRATIONS[MIGRATIONS.length - 2].version}, this lmod-load needs v${LATEST_VERSION}: run \`lmod-load migrate\` \\(with the same --db or --env-file\\) first\\n$`,
        ),
      );
      assert.equal((await runLoad(['migrate', '--quiet', '--db', db.url])).code, 0);
      assert.equal(summaryOf((await runLoad(['--db', db.url, BASIC])).stderr), 'lmod-load: 6 read, 5 new, 1 already present, 0 rejected');
    } finally {
      await client.close();
    }
  }));

test('DB_* settings with DB_SOCKET: loads through the Unix socket', (t) =>
  withMysql(t, 'socket', true, async (db) => {
    const client = await openClient(parseDbUrl(db.url));
    const [row] = await client.query<{ socket: string }>('SELECT @@socket AS socket').finally(() => client.close());
    if (!existsSync(row.socket)) return t.skip(`the server's socket ${row.socket} is not on this machine`);
    const url = new URL(db.url);
    const env = {
      DB_USER: decodeURIComponent(url.username),
      DB_PASS: decodeURIComponent(url.password),
      DB_NAME: db.name,
      DB_HOST: 'localhost',
      DB_SOCKET: row.socket,
    };
    const run = await runLoad([BASIC], { env });
    assert.equal(summaryOf(run.stderr), 'lmod-load: 6 read, 5 new, 1 already present, 0 rejected');
  }));

test('an SQLite schema newer than this lmod-load is refused with exit 2, not written into', async () => {
  const path = join(tempDir('newer'), 'x.sqlite');
  assert.equal((await runLoad(['--db', `sqlite:${path}`, BASIC])).code, 0);
  const client = await openClient(parseDbUrl(`sqlite:${path}`));
  try {
    await client.run("INSERT INTO lmod_schema (version, applied_at) VALUES (?, '2030-01-01 00:00:00')", [LATEST_VERSION + 1]);
    const newer = await runLoad(['--db', `sqlite:${path}`, BASIC]);
    assert.equal(newer.code, 2);
    assert.match(
      newer.stderr,
      new RegExp(`has schema v${LATEST_VERSION + 1}, newer than this lmod-load knows \\(v${LATEST_VERSION}\\): upgrade lmod-tracking\\n$`),
    );
  } finally {
    await client.close();
  }
});

test('--max-errors: the records gathered but not sent are counted as not loaded', async () => {
  const dir = tempDir('maxerrors');
  const good = readFileSync(BASIC, 'utf8').trimEnd().split('\n').slice(0, 3);
  const input = join(dir, 'in.ndjson');
  writeFileSync(input, [...good, 'not json', 'not json either', ''].join('\n'));
  const run = await runLoad(['--db', `sqlite:${join(dir, 'x.sqlite')}`, '--max-errors', '1', input]);
  assert.equal(run.code, 2);
  const lines = run.stderr.trimEnd().split('\n');
  assert.equal(lines.at(-1), 'lmod-load: stopped after 2 errors (--max-errors 1)');
  assert.equal(summaryOf(lines.slice(0, -1).join('\n')), 'lmod-load: 5 read, 0 new, 0 already present, 2 rejected, 3 not loaded');
});

test('migrate may follow the options: `lmod-load --db URL migrate`', async () => {
  const path = join(tempDir('migrate-after'), 'x.sqlite');
  const first = await runLoad(['--db', `sqlite:${path}`, 'migrate']);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stderr, `lmod-load: sqlite:${path}: schema migrated from v0 to v${LATEST_VERSION}\n`);
  const again = await runLoad(['--db', `sqlite:${path}`, 'migrate']);
  assert.equal(again.stderr, `lmod-load: sqlite:${path}: schema is up to date (v${LATEST_VERSION})\n`);
});

/** Six `lmod-load migrate` started at once, as several hosts might: they take turns; one migrates, the others find it done. */
async function migratesAtOnce(url: string): Promise<void> {
  const runs = await Promise.all(Array.from({ length: 6 }, () => runLoad(['migrate', '--db', url])));
  for (const run of runs) assert.equal(run.code, 0, run.stderr);
  // Each ends with its outcome; a MySQL migrate that waited for another's claim said so first.
  const lines = runs.map(saidLines);
  for (const line of lines.flatMap((l) => l.slice(0, -1))) assert.match(line, /^waiting for the migrate of /);
  const said = lines.map((l) => l.at(-1)).sort();
  assert.deepEqual(said, [...Array(5).fill(`schema is up to date (v${LATEST_VERSION})`), `schema migrated from v0 to v${LATEST_VERSION}`]);
  assert.equal(summaryOf((await runLoad(['--db', url, join(FIXTURES, 'basic.ndjson')])).stderr), 'lmod-load: 6 read, 5 new, 1 already present, 0 rejected');
}

test('concurrent migrate on MySQL: one migrates, the others wait and find the schema current', (t) =>
  withMysql(t, 'migrace', false, (db) => migratesAtOnce(db.url)));

test('concurrent migrate on SQLite: one migrates, the others wait and find the schema current', () =>
  migratesAtOnce(`sqlite:${join(tempDir('migrace'), 'lmod.sqlite')}`));

test('--no-load-data with large, escape-heavy extra values stays under 150 MB and stores them exactly (MySQL)', (t) =>
  withMysql(t, 'bigextra', true, async (db) => {
    if (!existsSync('/usr/bin/time')) {
      if (process.env.CI === 'true') assert.fail('GNU time is needed in CI (.ci/setup.d/tools.sh)');
      return t.skip('GNU time (/usr/bin/time) is not installed');
    }
    const value = '"é\\'.repeat(5400);
    const dir = tempDir('bigextra');
    const file = join(dir, 'big.ndjson');
    const lines = Array.from({ length: 1500 }, (_, i) =>
      JSON.stringify(record({ time: `2023-05-01T12:00:00.${String(i).padStart(6, '0')}Z`, extra: { a: value } })),
    );
    writeFileSync(file, `${lines.join('\n')}\n`);
    const rss = join(dir, 'rss');
    const run = spawnSync('/usr/bin/time', ['-f', '%M', '-o', rss, LOAD_BIN, '--no-load-data', '--db', db.url, file], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(summaryOf(run.stderr), 'lmod-load: 1,500 read, 1,500 new, 0 already present, 0 rejected');
    const peakMb = Number(readFileSync(rss, 'utf8').trim().split('\n').pop()) / 1024;
    assert.ok(peakMb < 150, `peak RSS ${peakMb.toFixed(0)} MB`);
    const client = await openClient(parseDbUrl(db.url));
    try {
      const rows = await client.query<{ n: number; same: number }>('SELECT COUNT(*) AS n, SUM(extra = ?) AS same FROM module_loads', [
        JSON.stringify({ a: value }),
      ]);
      assert.deepEqual([Number(rows[0].n), Number(rows[0].same)], [1500, 1500]);
    } finally {
      await client.close();
    }
  }));
