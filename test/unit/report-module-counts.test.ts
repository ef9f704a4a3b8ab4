import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openClient, type SqliteClient } from '../../src/db/client';
import { migrate } from '../../src/db/migrate';
import { compareCodePoints, ModuleCounter } from '../../src/report/module-counts';
import { type IdFilters, type ModulesOptions, NO_FILTERS } from '../../src/report/queries';
import { moduleCountRows, type QueryClient, resolveFilters } from '../../src/report/reports';

/** A seeded generator, so a failure can be run again. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('code-point order: as the bytes of UTF-8 compare, astral characters after every BMP one', () => {
  assert.ok(compareCodePoints('gcc', 'gcc/1') < 0);
  assert.ok(compareCodePoints('GCC', 'gcc') < 0);
  assert.equal(compareCodePoints('intel', 'intel'), 0);
  // U+1D49C (a surrogate pair) sorts after U+FFFD, though its first UTF-16 unit is smaller.
  assert.ok('\u{1D49C}' < '\uFFFD');
  assert.ok(compareCodePoints('\u{1D49C}', '\uFFFD') > 0);
  const random = prng(7);
  const alphabet = ['a', 'b', 'é', '\u00ff', '\u4e2d', '\uFFFD', '\u{1D49C}', '\u{1F600}', '/'];
  const word = (): string => Array.from({ length: Math.floor(random() * 4) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
  for (let i = 0; i < 5000; i++) {
    const [a, b] = [word(), word()];
    assert.equal(Math.sign(compareCodePoints(a, b)), Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))), `${a} vs ${b}`);
  }
});

test('counting in the client: loads, distinct users, hosts without the blank one, versions, first and last, ties by name, --top', () => {
  const modules = [
    { id: 1, module: 'gcc/12.2.0', name: 'gcc', version: '12.2.0' },
    { id: 2, module: 'gcc/9.4.0', name: 'gcc', version: '9.4.0' },
    { id: 3, module: 'StdEnv', name: 'StdEnv', version: null },
    { id: 4, module: 'zlib/1.3', name: 'zlib', version: '1.3' },
  ];
  const loads: [number, number, number, string][] = [
    [1, 10, 100, '2024-01-02 00:00:00.000000'],
    [2, 10, 101, '2024-01-01 00:00:00.000001'],
    [2, 11, 9, '2024-01-03 12:00:00.000000'],
    [3, 12, 9, '2024-01-05 00:00:00.000000'],
    [3, 13, 100, '2024-01-04 00:00:00.000000'],
    [99, 10, 100, '2024-01-06 00:00:00.000000'],
  ];
  const count = (o: Omit<ModulesOptions, 'blankHostId'>) => {
    const counter = new ModuleCounter(modules, { ...o, blankHostId: 9 });
    for (const l of loads) counter.add(...l);
    return counter.rows();
  };
  assert.deepEqual(count({ by: 'name', sort: 'users', top: null }), [
    {
      name: 'gcc',
      versions: 2,
      loads: 3,
      users: 2,
      hosts: 2,
      first_load: '2024-01-01 00:00:00.000001',
      last_load: '2024-01-03 12:00:00.000000',
    },
    {
      name: 'StdEnv',
      versions: 1,
      loads: 2,
      users: 2,
      hosts: 1,
      first_load: '2024-01-04 00:00:00.000000',
      last_load: '2024-01-05 00:00:00.000000',
    },
  ]);
  // A tie in loads and users: by full name, 'S' before 'g'.
  assert.deepEqual(count({ by: 'version', sort: 'loads', top: 2 }), [
    {
      module: 'StdEnv',
      name: 'StdEnv',
      version: null,
      loads: 2,
      users: 2,
      hosts: 1,
      first_load: '2024-01-04 00:00:00.000000',
      last_load: '2024-01-05 00:00:00.000000',
    },
    {
      module: 'gcc/9.4.0',
      name: 'gcc',
      version: '9.4.0',
      loads: 2,
      users: 2,
      hosts: 1,
      first_load: '2024-01-01 00:00:00.000001',
      last_load: '2024-01-03 12:00:00.000000',
    },
  ]);
});

/** The SQLite client with eachRow, so moduleCountRows takes the streamed path that MySQL takes. */
/** The SQLite database posing as MySQL, which the reports count in the client. */
function streaming(client: SqliteClient): QueryClient {
  return {
    dialect: 'mysql',
    query: (sql, params) => client.query(sql, params),
    eachRow: (sql, params, onRow) => client.eachRow(sql, params, onRow),
  };
}

test('counting in the client gives the SQL rows: 20,000 random loads, every option, filters, non-ASCII names', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lmod-module-counts-'));
  const client = (await openClient({ dialect: 'sqlite', path: join(dir, 'db.sqlite'), isDefault: false })) as SqliteClient;
  try {
    await migrate(client);
    const random = prng(42);
    const names = ['gcc', 'GCC', 'gcc-x', 'py\u00e9', 'py\u{1D49C}', 'py\uFFFD', 'StdEnv', 'a', 'a/b'];
    const db = client.db;
    const module = db.prepare('INSERT INTO modules (id, module, name, version) VALUES (?, ?, ?, ?)');
    let id = 0;
    for (const name of names) {
      // Modules without a version, and one never loaded (its id is above every load's).
      if (name === 'StdEnv' || name === 'a') module.run(++id, name, name, null);
      else for (const v of ['1', '2', '10']) module.run(++id, `${name}/${v}`, name, v);
    }
    module.run(++id, 'unloaded/1', 'unloaded', '1');
    const host = db.prepare('INSERT INTO hosts (id, name) VALUES (?, ?)');
    for (let h = 1; h <= 6; h++) host.run(h, h === 6 ? '' : `node${h}`);
    const load = db.prepare('INSERT OR IGNORE INTO module_loads (time, user_id, host_id, module_id, userload) VALUES (?, ?, ?, ?, ?)');
    db.transaction(() => {
      for (let i = 0; i < 20_000; i++) {
        const second = Math.floor(random() * 86400 * 60);
        const time =
          new Date(Date.UTC(2024, 0, 1) + second * 1000).toISOString().replace('T', ' ').replace('Z', '') +
          String(Math.floor(random() * 1000)).padStart(3, '0');
        // Few users and skewed modules: many ties in users and loads.
        load.run(time, 1 + Math.floor(random() * 8), 1 + Math.floor(random() * 6), 1 + Math.floor(random() ** 2 * (id - 1)), random() < 0.7 ? 1 : 0);
      }
    })();
    const sql: QueryClient = client;
    const cases: [string, Partial<IdFilters>][] = [
      ['no filter', {}],
      ['a time range', { since: '2024-01-20 00:00:00.000000', until: '2024-02-10 12:00:00.000000' }],
      ['some hosts', { hostIds: [1, 6] }],
      ['no host matches', { hostIds: [] }],
      ['users and modules', { userIds: [1, 2, 3], moduleIds: [1, 2, 5, 8, 13] }],
      ['user loads only', { userloadOnly: true }],
    ];
    for (const [what, filter] of cases) {
      const ids = { ...(await resolveFilters(sql, NO_FILTERS)), ...filter };
      for (const by of ['name', 'version'] as const) {
        for (const sort of ['users', 'loads'] as const) {
          for (const top of [null, 3]) {
            const o = { by, sort, top, blankHostId: 6 };
            const expected = await moduleCountRows(sql, ids, o);
            assert.deepEqual(await moduleCountRows(streaming(client), ids, o), expected, `${what}, by ${by}, sort ${sort}, top ${top}`);
            if (what === 'no filter' && top === null) assert.equal(expected.length, by === 'name' ? names.length : id - 1);
          }
        }
      }
    }
  } finally {
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
