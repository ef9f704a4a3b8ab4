import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { type TestContext, test } from 'node:test';
import { LATEST_VERSION } from '../src/db/migrate';
import { requirePrograms } from './helpers/contrib';
import { GALERA_MISSING, type GaleraCluster, type GaleraNode, startGalera } from './helpers/galera';
import { manyRecords, runLoad, saidLines, summaryOf } from './helpers/load';
import { FIXTURES, report, sqliteTarget } from './helpers/report';

const JOBS_FIXTURES = join(FIXTURES, '..', 'jobs-report');

/**
 * A real 3-node MariaDB Galera cluster on loopback: two loaders on two nodes with overlapping inputs. Galera certifies
 * their overlapping transactions at COMMIT and fails the loser with 1213; the loader retries the batch, so every node
 * ends with exactly the distinct rows.
 */
const TOTAL = 30_000;

/** Runs `body` on a fresh 3-node cluster, stopped afterwards whatever happens; skipped where Galera is not installed. */
async function onGalera(t: TestContext, body: (cluster: GaleraCluster) => Promise<void>): Promise<void> {
  if (!requirePrograms(t, GALERA_MISSING)) return;
  const cluster = await startGalera();
  try {
    await body(cluster);
  } finally {
    await cluster.stop();
  }
}

/** Every node holds exactly `count` loads, each at a time of its own. */
async function loadsOnEveryNode(cluster: GaleraCluster, count: number): Promise<void> {
  for (const node of cluster.nodes) {
    const [row] = (await cluster.query(node.index, 'SELECT COUNT(*) AS n, COUNT(DISTINCT time) AS times FROM module_loads')) as {
      n: unknown;
      times: unknown;
    }[];
    assert.deepEqual([Number(row.n), Number(row.times)], [count, count], `node ${node.index}`);
  }
}

test('Galera: two loaders on two nodes with overlapping inputs end with exactly the distinct rows on all three nodes', { timeout: 10 * 60_000 }, (t) =>
  onGalera(t, async (cluster) => {
    const [n1, n2] = cluster.nodes;
    const migrated = await runLoad(['migrate', '--quiet', '--db', n1.url]);
    assert.equal(migrated.code, 0, migrated.stderr);
    await cluster.waitSynced();
    // Records 0-17,999 on node 1 and 12,000-29,999 on node 2: 6,000 loaded by both at once.
    const [a, b] = await Promise.all([
      runLoad(['--batch-size', '1000', '--db', n1.url, '-'], { stdin: manyRecords(18_000, 0) }),
      runLoad(['--batch-size', '1000', '--db', n2.url, '-'], { stdin: manyRecords(18_000, 12_000) }),
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const retried = (a.stderr + b.stderr).split('\n').filter((line) => /retrying the batch/.test(line)).length;
    t.diagnostic(`${summaryOf(a.stderr)} | ${summaryOf(b.stderr)} | ${retried} batches retried`);
    // Between them they stored each record once.
    const inserted = (r: string): number => Number(/(\d[\d,]*) new/.exec(summaryOf(r))![1].replaceAll(',', ''));
    assert.equal(inserted(a.stderr) + inserted(b.stderr), TOTAL);
    await cluster.waitSynced();
    await loadsOnEveryNode(cluster, TOTAL);
  }),
);

/** Resolves once the node holds at least `count` loads (polled). */
async function loadsReach(cluster: GaleraCluster, node: number, count: number): Promise<void> {
  for (;;) {
    const [row] = (await cluster.query(node, `SELECT COUNT(*) AS n FROM \`${cluster.database}\`.module_loads`)) as { n: unknown }[];
    if (Number(row.n) >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * An input given in two parts: `first` records go in at once, the rest only when `release()` is called. A test waits
 * until the first part is committed (whole batches), kills a node, then releases the rest: the kill always falls
 * between two batches of the load, however fast or slow the machine.
 */
function heldInput(records: string, first: number): { stdin: PassThrough; release(): void } {
  const lines = records.split(/(?<=\n)/);
  const stdin = new PassThrough();
  stdin.write(lines.slice(0, first).join(''));
  return { stdin, release: () => stdin.end(lines.slice(first).join('')) };
}

test("Galera: kill -9 of another node during a load, and of the loader's own node, then reruns: exact on all three", { timeout: 10 * 60_000 }, (t) =>
  onGalera(t, async (cluster) => {
    const [n1, n2, n3] = cluster.nodes;
    assert.equal((await runLoad(['migrate', '--quiet', '--db', n1.url])).code, 0);
    await cluster.waitSynced();
    const first = manyRecords(40_000, 0);
    const second = manyRecords(20_000, 40_000);

    // Another node dies after three batches: the loader's writes stall while the cluster drops it, then go on.
    const held = heldInput(first, 3000);
    const loading = runLoad(['--batch-size', '1000', '--db', n1.url, '-'], { stdin: held.stdin });
    await loadsReach(cluster, n1.index, 3000);
    await n2.kill9();
    held.release();
    const survived = await loading;
    assert.equal(survived.code, 0, survived.stderr);
    assert.equal(summaryOf(survived.stderr), 'lmod-load: 40,000 read, 40,000 new, 0 already present, 0 rejected');
    // Back before the next kill: one node of two left would be no majority, and Galera would stop it (non-Primary).
    await n2.restart();
    await cluster.waitSynced();

    // The loader's own node dies after three batches: it gives up after its retries, saying what was committed.
    const cut = heldInput(second, 3000);
    const failing = runLoad(['--batch-size', '1000', '--retries', '2', '--db', n3.url, '-'], { stdin: cut.stdin });
    await loadsReach(cluster, n3.index, 43_000);
    await n3.kill9();
    cut.release();
    const failed = await failing;
    assert.equal(failed.code, 2, failed.stderr);
    assert.match(failed.stderr, /records were committed before it \(3,000 new, 0 already present\); rerun with the same input to complete the load\n$/);

    // Back, then the reruns: through another node, and into a node that was down.
    await n3.restart();
    await cluster.waitSynced();
    const rerun = await runLoad(['--db', n1.url, '-'], { stdin: second });
    assert.equal(summaryOf(rerun.stderr), 'lmod-load: 20,000 read, 17,000 new, 3,000 already present, 0 rejected');
    const again = await runLoad(['--db', n2.url, '-'], { stdin: first });
    assert.equal(summaryOf(again.stderr), 'lmod-load: 40,000 read, 0 new, 40,000 already present, 0 rejected');
    await cluster.waitSynced();
    await loadsOnEveryNode(cluster, 60_000);
    t.diagnostic(`the cut load: ${failed.stderr.trimEnd().split('\n').pop()}`);
  }),
);

test("Galera: a host list in --db: kill -9 of the loader's node mid-load, the load goes on through the next, exact on all", { timeout: 10 * 60_000 }, (t) =>
  onGalera(t, async (cluster) => {
    const [, n2, n3] = cluster.nodes;
    assert.equal((await runLoad(['migrate', '--quiet', '--db', n3.url])).code, 0);
    await cluster.waitSynced();
    const hosts = `mysql://root@127.0.0.1:${n3.port},127.0.0.1:${n2.port}/${cluster.database}`;
    const held = heldInput(manyRecords(40_000, 0), 5000);
    const loading = runLoad(['--batch-size', '1000', '--db', hosts, '-'], { stdin: held.stdin });
    await loadsReach(cluster, n3.index, 5000);
    await n3.kill9();
    held.release();
    const run = await loading;
    assert.equal(run.code, 0, run.stderr);
    // The kill fell between two batches: nothing was in flight, so the next batch goes to node 2 and no row is met twice.
    assert.equal(summaryOf(run.stderr), 'lmod-load: 40,000 read, 40,000 new, 0 already present, 0 rejected');
    assert.match(run.stderr, /retrying the batch/);
    await n3.restart();
    await cluster.waitSynced();
    await loadsOnEveryNode(cluster, 40_000);
    t.diagnostic(run.stderr.trimEnd().split('\n').join(' | '));
  }),
);

/** What a schema is on one node: tables, columns, indexes and views, and the versions recorded in lmod_schema. */
async function schemaOf(cluster: GaleraCluster, node: number, database: string): Promise<unknown> {
  const inDatabase = (sql: string) => cluster.query(node, sql.replaceAll('?', `'${database}'`));
  return {
    tables: await inDatabase('SELECT table_name, table_type, engine, table_collation FROM information_schema.tables WHERE table_schema = ? ORDER BY 1'),
    columns: await inDatabase(
      'SELECT table_name, column_name, ordinal_position, column_type, is_nullable, column_default, collation_name FROM information_schema.columns ' +
        'WHERE table_schema = ? ORDER BY 1, 3',
    ),
    indexes: await inDatabase(
      'SELECT table_name, index_name, seq_in_index, column_name, non_unique FROM information_schema.statistics WHERE table_schema = ? ORDER BY 1, 2, 3',
    ),
    // A view's text names its database: compared without it.
    views: (await inDatabase('SELECT table_name, view_definition FROM information_schema.views WHERE table_schema = ? ORDER BY 1')).map((row) => {
      const view = row as { table_name: string; view_definition: string };
      return [view.table_name, view.view_definition.replaceAll(`\`${database}\`.`, '')];
    }),
    versions: await inDatabase(`SELECT version FROM \`${database}\`.lmod_schema ORDER BY version`),
    claims: await inDatabase(`SELECT COUNT(*) AS n FROM \`${database}\`.lmod_migrate_lock`),
  };
}

/**
 * Migrate started at the same moment on all three nodes of a fresh database, round after round: migrates on two nodes
 * once waited on each other's DDL for good. Each must end within the bound, one of them having migrated, and every node
 * must hold the schema one migrate alone makes.
 */
test('Galera: migrate at once on three nodes of a fresh database, five rounds: each ends, one migrates, one schema on all', { timeout: 10 * 60_000 }, (t) =>
  onGalera(t, async (cluster) => {
    const urlOf = (node: GaleraNode, database: string) => `mysql://root@127.0.0.1:${node.port}/${database}`;
    const fresh = async (database: string) => {
      await cluster.query(1, `CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
      await cluster.waitSynced();
    };
    const reference = `${cluster.database}_alone`;
    await fresh(reference);
    const alone = await runLoad(['migrate', '--quiet', '--db', urlOf(cluster.nodes[0], reference)]);
    assert.equal(alone.code, 0, alone.stderr);
    await cluster.waitSynced();
    const expected = await schemaOf(cluster, 1, reference);
    const timings: string[] = [];
    for (let round = 1; round <= 5; round++) {
      const database = `${cluster.database}_${round}`;
      await fresh(database);
      const started = Date.now();
      const runs = await Promise.all(cluster.nodes.map((node) => runLoad(['migrate', '--db', urlOf(node, database)], { timeoutMs: 120_000 })));
      timings.push(`${((Date.now() - started) / 1000).toFixed(1)} s`);
      for (const run of runs) assert.deepEqual([run.code, run.signal], [0, null], `round ${round}: ${run.stderr}`);
      // Each ends with one line of its outcome; a migrate that waited said so before it.
      const outcomes = runs.map((run) => saidLines(run).at(-1)).sort();
      assert.deepEqual(outcomes, [
        `schema is up to date (v${LATEST_VERSION})`,
        `schema is up to date (v${LATEST_VERSION})`,
        `schema migrated from v0 to v${LATEST_VERSION}`,
      ]);
      await cluster.waitSynced();
      const recorded = (node: number) => cluster.query(node, `SELECT version, applied_at FROM \`${database}\`.lmod_schema ORDER BY version`);
      for (const node of cluster.nodes) {
        assert.deepEqual(await schemaOf(cluster, node.index, database), expected, `round ${round}, node ${node.index}`);
        assert.deepEqual(await recorded(node.index), await recorded(1), `round ${round}: lmod_schema on node ${node.index}`);
      }
    }
    t.diagnostic(`three migrates at once, per round: ${timings.join(', ')}`);
  }),
);

test('Galera: summarize at once on two nodes stores the summaries of the loads', { timeout: 10 * 60_000 }, (t) =>
  onGalera(t, async (cluster) => {
    const sqlite = await sqliteTarget();
    try {
      const [n1, , n3] = cluster.nodes;
      const migrated = await runLoad(['migrate', '--db', n1.url]);
      assert.equal(migrated.code, 0, migrated.stderr);
      await cluster.waitSynced();
      for (const node of cluster.nodes) {
        const [row] = (await cluster.query(node.index, `SELECT MAX(version) AS v FROM \`${cluster.database}\`.lmod_schema`)) as { v: unknown }[];
        assert.equal(Number(row.v), LATEST_VERSION, `node ${node.index}`);
      }
      const fixture = [join(JOBS_FIXTURES, 'loads.ndjson'), join(JOBS_FIXTURES, 'jobs.ndjson')];
      assert.equal((await runLoad(['--quiet', '--db', n1.url, ...fixture])).code, 0);
      await cluster.waitSynced();
      const summaries = await Promise.all([n1, n3].map((node) => runLoad(['summarize', '--db', node.url])));
      for (const s of summaries) assert.equal(s.code, 0, s.stderr);
      await cluster.waitSynced();
      // Each node's reports, from its summaries, are those of the same loads in SQLite.
      for (const args of [['migrate'], ['--quiet', ...fixture], ['summarize']]) assert.equal((await runLoad([...args, '--db', sqlite.url])).code, 0);
      for (const args of [['modules', '--weight', 'core-hours'], ['accounts'], ['users'], ['trend', '--every', 'day']]) {
        const expected = await report(['--db', sqlite.url, '--format', 'ndjson', ...args]);
        for (const node of cluster.nodes) {
          const got = await report(['--db', node.url, '--format', 'ndjson', ...args]);
          assert.deepEqual([got.code, got.stdout], [0, expected.stdout], `${args.join(' ')} on node ${node.index}`);
        }
      }
    } finally {
      await sqlite.drop();
    }
  }),
);
