import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { prng } from '../bench/generate';
import { setTimeout as delay } from 'node:timers/promises';
import { MysqlClient, openClient } from '../src/db/client';
import { parseDbUrl } from '../src/db/config';
import { openStore } from '../src/db/open-store';
import { decodeNewLoads, encodeNewLoads, NewLoad, RECORD_PENDING } from '../src/db/pending-loads';
import { BUMP_GENERATION } from '../src/db/store';
import { toRow } from '../src/load/validate';
import { PairTable } from '../src/report/pair-table';
import { summarize } from '../src/report/summarize';
import { foldPending } from '../src/report/summary-fold';
import { decodeMembers, encodeMembers, KINDS, MODULE_USER, storedPairs, storePairs, updatePairs } from '../src/report/summary-pairs';
import { migrate } from '../src/db/migrate';
import { SKIP_NOTICE } from './helpers/mysql';
import { mysqlTarget, ndjson, report, run, sqliteTarget, Target } from './report-helpers';

/**
 * lmod-load keeps the summaries current: the rows each load transaction added are recorded and
 * folded into the stored summaries (src/report/summary-fold.ts). The fold must store exactly
 * what a full summarize of the same loads stores, pairs included, and fall back to the full
 * summarize, saying why, where the new rows are not known.
 */

test('PairTable: the flags of 40,000 random pairs as a Map holds them, through growth, and in (a, b) order', () => {
  const random = prng(11);
  const table = new PairTable(16);
  const reference = new Map<string, number>();
  for (let i = 0; i < 40_000; i++) {
    const a = Math.floor(random() * 300);
    const b = random() < 0.1 ? 0xffffffff - Math.floor(random() * 5) : Math.floor(random() * 500);
    const flags = 1 + Math.floor(random() * 3);
    const key = `${a},${b}`;
    assert.equal(table.mark(a, b, flags), reference.get(key) ?? 0);
    reference.set(key, (reference.get(key) ?? 0) | flags);
  }
  assert.equal(table.size, reference.size);
  for (const [key, flags] of reference) {
    const [a, b] = key.split(',').map(Number);
    assert.equal(table.get(a, b), flags);
  }
  assert.equal(table.get(301, 1), 0);
  const sorted = table.sorted();
  const expected = [...reference].map(([key, flags]) => [...key.split(',').map(Number), flags]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  assert.deepEqual(
    Array.from(sorted.a, (a, i) => [a, sorted.b[i], sorted.flags[i]]),
    expected,
  );
});

test('pending loads: encoded one per line and decoded back, userload null, 0 and 1', () => {
  const loads: NewLoad[] = [
    { time: '2024-01-31 23:59:59.999999', userId: 1, hostId: 7, moduleId: 3, userload: null },
    { time: '2024-02-01 00:00:00.000000', userId: 4294967295, hostId: 1, moduleId: 12, userload: 0 },
    { time: '2024-02-01 00:00:00.000001', userId: 2, hostId: 2, moduleId: 1, userload: 1 },
  ];
  const text = encodeNewLoads(loads);
  assert.equal(text, '2024-01-31 23:59:59.999999\t1\t7\t3\t\n2024-02-01 00:00:00.000000\t4294967295\t1\t12\t0\n2024-02-01 00:00:00.000001\t2\t2\t1\t1\n');
  assert.deepEqual(decodeNewLoads(text), loads);
  assert.deepEqual(decodeNewLoads(''), []);
});

const USERS = ['ana', 'bo', 'chen', 'dörte', 'eve', 'fu', 'gus', 'hal'];
const MODULES = ['gcc/12.2.0', 'gcc/9.4.0', 'python/3.11.4', 'python/3.9.1', 'R/4.3.1', 'zlib/1.3', 'ümlaut/1.0', 'gcc'];
const HOSTS = ['node1', 'node2', 'node3', null];

interface Chunk {
  label: string;
  /** First day and number of days the times fall in. */
  from: string;
  days: number;
  records: number;
  /** How many of the users and modules it draws from: later chunks bring new ones. */
  users: number;
  modules: number;
}

/**
 * Loads in chunks that each change the summaries differently: later days (a gap of empty
 * periods), earlier ones, times among the stored ones, new users and modules, repeats.
 */
const CHUNKS: Chunk[] = [
  { label: 'first', from: '2024-01-29', days: 10, records: 120, users: 4, modules: 4 },
  { label: 'later, after a gap', from: '2024-04-02', days: 3, records: 60, users: 5, modules: 5 },
  { label: 'before the first', from: '2023-11-20', days: 4, records: 40, users: 6, modules: 6 },
  { label: 'among the stored, new users and modules', from: '2024-01-29', days: 70, records: 150, users: 8, modules: 8 },
];

function record(random: () => number, chunk: Chunk): string {
  const pick = <T>(list: T[], n = list.length): T => list[Math.floor(random() * n)];
  const ms = Date.parse(`${chunk.from}T00:00:00Z`) + Math.floor(random() * chunk.days * 86400) * 1000;
  const module = pick(MODULES, chunk.modules);
  const slash = module.lastIndexOf('/');
  const host = pick(HOSTS);
  const userload = pick([true, false, null]);
  return JSON.stringify({
    time: new Date(ms).toISOString().replace('Z', '000Z'),
    user: pick(USERS, chunk.users),
    module,
    name: slash < 0 ? module : module.slice(0, slash),
    version: slash < 0 ? null : module.slice(slash + 1),
    path: null,
    host,
    jobid: null,
    userload,
  });
}

/** Every summary table and the pairs, ordered, as text: what two databases must agree on. */
async function storedSummaries(url: string): Promise<Record<string, unknown[]>> {
  const client = await openClient(parseDbUrl(url));
  try {
    const out: Record<string, unknown[]> = {};
    for (const table of ['summary_packages', 'summary_versions', 'summary_users', 'summary_periods', 'summary_pairs']) {
      const rows = await client.query<Record<string, unknown>>(`SELECT * FROM ${table}`);
      const text = (v: unknown) => (v === null ? null : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : String(v));
      out[table] = rows.map((r) => JSON.stringify(Object.values(r).map(text))).sort();
    }
    const state = await client.query<{ name: string; generation: unknown }>('SELECT name, generation FROM summary_state ORDER BY name');
    const g = Object.fromEntries(state.map((s) => [s.name, Number(s.generation)]));
    out.current = [g.loads === g.summaries && g.summaries === g.pairs];
    out.pending = (await client.query('SELECT generation FROM summary_pending')).map(() => 'row');
    return out;
  } finally {
    await client.close();
  }
}

const SECONDS = String.raw`\d+\.\d\d s`;

async function lmodLoad(args: string[]): Promise<string> {
  const r = await run('lmod-load', args);
  assert.equal(r.code, 0, r.stderr);
  return r.stderr;
}

/** A folds every chunk into its summaries; B loads the same and summarizes in full: they must store the same. */
async function foldEqualsFull(a: Target, b: Target, batchSize: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lmod-fold-'));
  try {
    for (const t of [a, b]) await lmodLoad(['migrate', '--quiet', '--db', t.url]);
    const random = prng(5);
    const seen: string[] = [];
    for (const [i, chunk] of CHUNKS.entries()) {
      const lines = Array.from({ length: chunk.records }, () => record(random, chunk));
      // Repeats: within the chunk, and of records loaded before.
      lines.push(...lines.slice(0, 5), ...seen.slice(0, 10));
      seen.push(...lines);
      const file = join(dir, `chunk${i}.ndjson`);
      writeFileSync(file, lines.join('\n') + '\n');
      // The third chunk is left pending and added in-process, one load transaction per slice.
      const sliced = i === 2;
      const loaded = await lmodLoad(['--db', a.url, '--batch-size', batchSize, ...(sliced ? ['--no-summarize'] : []), file]);
      const fresh = Number(/: \d+ read, (\d+) new,/.exec(loaded)![1]);
      assert.ok(fresh > 0, chunk.label);
      if (i === 0) {
        assert.doesNotMatch(loaded, /summar/, 'no summaries yet: a load stores none by itself');
        assert.match(await lmodLoad(['summarize', '--db', a.url]), /summaries stored \(/);
      } else if (sliced) {
        assert.doesNotMatch(loaded, /summar/);
        const client = await openClient(parseDbUrl(a.url));
        try {
          assert.deepEqual(await foldPending(client, 1), { folded: true, loads: fresh });
        } finally {
          await client.close();
        }
      } else {
        assert.match(loaded, new RegExp(`\\n[^\\n]*: summaries updated with ${fresh} new loads in ${SECONDS}\\n$`), chunk.label);
      }
      assert.match(await lmodLoad(['--db', b.url, '--no-summarize', '--batch-size', batchSize, file]), new RegExp(`: \\d+ read, ${fresh} new,[^\\n]*\\n$`));
      assert.match(await lmodLoad(['summarize', '--full', '--db', b.url]), /summaries stored \(/);
      const [folded, full] = [await storedSummaries(a.url), await storedSummaries(b.url)];
      assert.deepEqual(folded, full, `${a.dialect}: after the ${chunk.label} chunk`);
      assert.deepEqual(folded.current, [true]);
      assert.deepEqual(folded.pending, []);
      assert.ok((folded.summary_pairs as unknown[]).length > 0);
    }
    // Nothing new: the summaries stay as they are, and `summarize` says so.
    const again = await lmodLoad(['--db', a.url, join(dir, 'chunk0.ndjson')]);
    assert.match(again, /: \d+ read, 0 new, \d+ already present, 0 rejected in [^\n]*\n$/);
    assert.equal(await lmodLoad(['summarize', '--db', a.url]), `lmod-load: ${describe(a)}: summaries are up to date\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function describe(t: Target): string {
  return t.url.startsWith('sqlite:') ? t.url : t.url.replace(/^mysql:\/\/([^:@]+)(:[^@]*)?@/, 'mysql://$1@');
}

async function withTargets(label: string, mysql: boolean, body: (a: Target, b: Target) => Promise<void>): Promise<boolean> {
  const a = mysql ? await mysqlTarget(`${label}_a`) : await sqliteTarget();
  const b = mysql ? await mysqlTarget(`${label}_b`) : await sqliteTarget();
  try {
    if (a === null || b === null) return false;
    await body(a, b);
    return true;
  } finally {
    await a?.drop();
    await b?.drop();
  }
}

test('the fold stores what a full summarize stores, chunk after chunk, on SQLite', async () => {
  assert.ok(await withTargets('fold', false, (a, b) => foldEqualsFull(a, b, '50')));
});

test('the fold stores what a full summarize stores, chunk after chunk, on MySQL/MariaDB', async (t) => {
  if (!(await withTargets('fold', true, (a, b) => foldEqualsFull(a, b, '50')))) t.skip(SKIP_NOTICE);
});

const RECORD = (time: string, user: string, module = 'gcc/12.2.0'): string =>
  JSON.stringify({ time, user, module, name: module.split('/')[0], version: module.split('/')[1], path: null, host: 'node1', jobid: null, userload: true });

/** A store opened before the first summarize records no rows: its load cannot be folded, so the summaries are stored in full. */
async function loaderFromBefore(a: Target): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lmod-fold-'));
  try {
    const file = join(dir, 'first.ndjson');
    writeFileSync(file, `${RECORD('2024-01-01T10:00:00.000000Z', 'ana')}\n`);
    await lmodLoad(['migrate', '--db', a.url, '--quiet']);
    await lmodLoad(['--db', a.url, file]);
    const opened = await openStore(parseDbUrl(a.url), 1);
    try {
      await lmodLoad(['summarize', '--quiet', '--db', a.url]);
      const row = toRow(JSON.parse(RECORD('2024-01-02T10:00:00.000000Z', 'bo')), 'test', 1);
      assert.notEqual(typeof row, 'string');
      assert.deepEqual(await opened.store.loadBatch([row as Exclude<typeof row, string>]), { inserted: 1, present: 0 });
    } finally {
      await opened.client.close();
    }
    const where = `lmod-load: ${describe(a)}`;
    const summarized = await lmodLoad(['summarize', '--db', a.url]);
    assert.match(
      summarized,
      new RegExp(
        `^${where}: cannot add the new loads to the summaries \\(1 of the 1 load transactions since the last summarize did not record their rows\\): storing them in full\\n` +
          `${where}: summaries stored \\(2 packages, 2 versions, 4 users, 8 periods rows; 6 distinct pairs\\) in ${SECONDS}\\n$`,
      ),
    );
    // Stored in full with nothing loaded meanwhile: the next load is folded again.
    writeFileSync(file, `${RECORD('2024-01-03T10:00:00.000000Z', 'chen')}\n`);
    assert.match(await lmodLoad(['--db', a.url, file]), new RegExp(`\\n${where}: summaries updated with 1 new loads in ${SECONDS}\\n$`));
    // Summaries from before schema v5 have no pairs: the first load after stores them in full, without a reason to give.
    const client = await openClient(parseDbUrl(a.url));
    try {
      await client.run("UPDATE summary_state SET generation = 0 WHERE name = 'pairs'");
      await client.run('DELETE FROM summary_pairs');
    } finally {
      await client.close();
    }
    writeFileSync(file, `${RECORD('2024-01-04T10:00:00.000000Z', 'ana')}\n`);
    assert.match(
      await lmodLoad(['--db', a.url, file]),
      new RegExp(`: 1 read, 1 new, 0 already present, 0 rejected in [^\\n]*\\n${where}: summaries stored \\(2 packages, 2 versions, 6 users, 12 periods rows; 8 distinct pairs\\) in ${SECONDS}\\n$`),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a loader that started before the summaries were kept: stored in full, with the reason, on SQLite', async () => {
  assert.ok(await withTargets('before', false, (a) => loaderFromBefore(a)));
});

test('a loader that started before the summaries were kept: stored in full, with the reason, on MySQL/MariaDB', async (t) => {
  if (!(await withTargets('before', true, (a) => loaderFromBefore(a)))) t.skip(SKIP_NOTICE);
});

/** The stored ids of the load RECORD(time, user) stands for. */
async function idsOf(client: MysqlClient, time: string, user: string): Promise<NewLoad> {
  const [ids] = await client.query<{ u: number; h: number; m: number }>(
    "SELECT (SELECT id FROM users WHERE name = ?) AS u, (SELECT id FROM hosts WHERE name = 'node1') AS h, (SELECT id FROM modules WHERE module = 'gcc/12.2.0') AS m",
    [user],
  );
  return { time, userId: ids.u, hostId: ids.h, moduleId: ids.m, userload: 1 };
}

test('MySQL: unsorted input among stored rows is folded, a row another loader adds during the batch is checked again; a NULL pending row means in full', async (t) => {
  const done = await withTargets('unknown', true, async (a) => {
    const dir = mkdtempSync(join(tmpdir(), 'lmod-fold-'));
    const where = `lmod-load: ${describe(a)}`;
    try {
      const many = join(dir, 'many.ndjson');
      const times = Array.from({ length: 20 }, (_, i) => `2024-01-01T10:00:${String(i).padStart(2, '0')}.000000Z`);
      writeFileSync(many, times.map((time) => RECORD(time, 'ana')).join('\n') + '\n');
      await lmodLoad(['migrate', '--quiet', '--db', a.url]);
      await lmodLoad(['--db', a.url, many]);
      await lmodLoad(['summarize', '--quiet', '--db', a.url]);
      // One stored and one new record around 20 stored rows: too many to read the range back, so the batch's times are looked up.
      const mixed = join(dir, 'mixed.ndjson');
      writeFileSync(mixed, `${RECORD(times[0], 'ana')}\n${RECORD('2024-01-01T10:00:30.000000Z', 'bo')}\n`);
      assert.match(
        await lmodLoad(['--db', a.url, mixed]),
        new RegExp(`: 2 read, 1 new, 1 already present, 0 rejected in [^\\n]*\\n${where}: summaries updated with 1 new loads in ${SECONDS}\\n$`),
      );
      // Another loader's uncommitted row, which this batch's check cannot see: the server skips it, so the batch is checked again.
      const other = (await openClient(parseDbUrl(a.url))) as MysqlClient;
      const opened = await openStore(parseDbUrl(a.url), 1);
      try {
        await other.withSession(async (session) => {
          await session.run('START TRANSACTION');
          const load = await idsOf(session, '2024-01-01 10:00:40.000000', 'ana');
          await session.run('INSERT INTO module_loads (time, user_id, host_id, module_id, userload) VALUES (?, ?, ?, ?, 1)', [load.time, load.userId, load.hostId, load.moduleId]);
          await session.run(BUMP_GENERATION);
          await session.run(RECORD_PENDING, [encodeNewLoads([load])]);
          const rows = [RECORD('2024-01-01T10:00:40.000000Z', 'ana'), RECORD('2024-01-01T10:00:50.000000Z', 'bo')].map((r, i) => toRow(JSON.parse(r), 'test', i + 1));
          const batch = opened.store.loadBatch(rows as Exclude<(typeof rows)[number], string>[]);
          // Committed once the batch waits for the row's lock.
          while ((await session.query("SELECT 1 FROM information_schema.processlist WHERE info LIKE 'LOAD DATA%'")).length === 0) await delay(20);
          await session.run('COMMIT');
          assert.deepEqual(await batch, { inserted: 1, present: 1 });
        });
      } finally {
        await opened.client.close();
        await other.close();
      }
      assert.match(await lmodLoad(['summarize', '--db', a.url]), new RegExp(`^${where}: summaries updated with 2 new loads in ${SECONDS}\\n$`));
      // A transaction that could not tell its new rows (checked again RECHECKS times, another loader storing some each time) records NULL.
      const client = await openClient(parseDbUrl(a.url));
      try {
        await client.run(BUMP_GENERATION);
        await client.run(RECORD_PENDING, [null]);
      } finally {
        await client.close();
      }
      assert.match(
        await lmodLoad(['summarize', '--db', a.url]),
        new RegExp(
          `^${where}: cannot add the new loads to the summaries \\(1 of the 1 load transactions since the last summarize did not record their rows\\): storing them in full\\n` +
            `${where}: summaries stored \\(2 packages, 2 versions, 4 users, 6 periods rows; 6 distinct pairs\\) in ${SECONDS}\\n$`,
        ),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  if (!done) t.skip(SKIP_NOTICE);
});

test('pairs are stored packed, a row per kind and module or package: exact bytes, a round trip, and a fold merged into the stored rows', async () => {
  assert.deepEqual([...encodeMembers([1, 2, 300], [1, 3, 1])], [2, 3, 212, 4]);
  const b = [1, 2, 300, 2 ** 31, 4294967295];
  const flags = [1, 3, 1, 3, 3];
  assert.deepEqual(decodeMembers(encodeMembers(b, flags)), { b, flags });
  assert.deepEqual(decodeMembers(new Uint8Array()), { b: [], flags: [] });
  const target = await sqliteTarget();
  const client = await openClient(parseDbUrl(target.url));
  try {
    await migrate(client);
    const tables = (pairs: [number, number, number][]): Map<number, PairTable> => {
      const t = new Map(KINDS.map((k) => [k, new PairTable()]));
      for (const [a, member, f] of pairs) t.get(MODULE_USER)!.mark(a, member, f);
      return t;
    };
    await storePairs(client, tables([[5, 7, 1], [5, 8, 3], [6, 1, 1]]));
    const stored = await storedPairs(client, tables([[5, 8, 1], [5, 9, 1], [7, 1, 1]]));
    const flagsOf = (a: number, member: number) => stored.flags.get(MODULE_USER)!.get(a, member);
    assert.deepEqual([flagsOf(5, 8), flagsOf(5, 9), flagsOf(7, 1)], [3, 0, 0]);
    await updatePairs(client, tables([[5, 9, 1], [5, 7, 3], [7, 1, 1]]), stored);
    const rows = await client.query<{ kind: number; a: number; members: Uint8Array }>('SELECT kind, a, members FROM summary_pairs ORDER BY kind, a');
    assert.deepEqual(
      rows.map((r) => [r.kind, r.a, decodeMembers(r.members)]),
      [
        [MODULE_USER, 5, { b: [7, 8, 9], flags: [3, 3, 1] }],
        [MODULE_USER, 6, { b: [1], flags: [1] }],
        [MODULE_USER, 7, { b: [1], flags: [1] }],
      ],
    );
  } finally {
    await client.close();
    await target.drop();
  }
});

test('a load that commits while a full summarize computes: the summaries say they are out of date, no pairs are kept, the next summarize is in full', async () => {
  assert.ok(
    await withTargets('during', false, async (a) => {
      const dir = mkdtempSync(join(tmpdir(), 'lmod-fold-'));
      try {
        const file = join(dir, 'first.ndjson');
        writeFileSync(file, `${RECORD('2024-01-01T10:00:00.000000Z', 'ana')}\n`);
        await lmodLoad(['--db', a.url, file]);
        const opened = await openStore(parseDbUrl(a.url), 1);
        const client = await openClient(parseDbUrl(a.url));
        try {
          // The pairs are collected last: the load commits just before that stream starts.
          const loadingClient = Object.assign(Object.create(client) as typeof client, {
            eachRow: async (sql: string, params: unknown[], onRow: (row: unknown[]) => void) => {
              const row = toRow(JSON.parse(RECORD('2024-01-02T10:00:00.000000Z', 'bo')), 'test', 1);
              assert.deepEqual(await opened.store.loadBatch([row as Exclude<typeof row, string>]), { inserted: 1, present: 0 });
              return client.eachRow(sql, params, onRow);
            },
          });
          const { rows } = await summarize(loadingClient);
          assert.deepEqual(rows, { summary_packages: 2, summary_versions: 2, summary_users: 2, summary_periods: 6, summary_pairs: 0 });
          const state = await client.query<{ name: string; generation: number }>('SELECT name, generation FROM summary_state ORDER BY name');
          assert.deepEqual(state.map((s) => [s.name, s.generation]), [['loads', 3], ['pairs', 0], ['summaries', 2]]);
        } finally {
          await client.close();
          await opened.client.close();
        }
        const r = await report(['--db', a.url, '--format', 'ndjson', 'users']);
        assert.deepEqual(ndjson(r.stdout).map((u) => (u as { user: string }).user), ['ana', 'bo'], 'read from the loads');
        assert.match(
          await lmodLoad(['summarize', '--db', a.url]),
          new RegExp(`^lmod-load: ${describe(a)}: summaries stored \\(2 packages, 2 versions, 4 users, 8 periods rows; 6 distinct pairs\\) in ${SECONDS}\\n$`),
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }),
  );
});
