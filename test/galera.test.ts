import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { LATEST_VERSION } from '../src/db/migrate';
import { requirePrograms } from './helpers/contrib';
import { GALERA_MISSING, startGalera } from './helpers/galera';
import { manyRecords, runLoad, summaryOf } from './helpers/load';
import { FIXTURES, report, sqliteTarget } from './helpers/report';

const JOBS_FIXTURES = join(FIXTURES, '..', 'jobs-report');

/**
 * A real 3-node MariaDB Galera cluster on loopback: two loaders on two nodes with overlapping inputs. Galera certifies
 * their overlapping transactions at COMMIT and fails the loser with 1213; the loader retries the batch, so every node
 * ends with exactly the distinct rows.
 */
const TOTAL = 30_000;

test('Galera: two loaders on two nodes with overlapping inputs end with exactly the distinct rows on all three nodes', { timeout: 10 * 60_000 }, async (t) => {
  if (!requirePrograms(t, GALERA_MISSING)) return;
  const cluster = await startGalera();
  try {
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
    for (const node of cluster.nodes) {
      const [row] = (await cluster.query(node.index, `SELECT COUNT(*) AS n, COUNT(DISTINCT time) AS times FROM \`${cluster.database}\`.module_loads`)) as {
        n: unknown;
        times: unknown;
      }[];
      assert.deepEqual([Number(row.n), Number(row.times)], [TOTAL, TOTAL], `node ${node.index}`);
    }
  } finally {
    await cluster.stop();
  }
});

/** Resolves once the node holds at least `count` loads (polled). */
async function loadsReach(cluster: Awaited<ReturnType<typeof startGalera>>, node: number, count: number): Promise<void> {
  for (;;) {
    const [row] = (await cluster.query(node, `SELECT COUNT(*) AS n FROM \`${cluster.database}\`.module_loads`)) as { n: unknown }[];
    if (Number(row.n) >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test("Galera: kill -9 of another node during a load, and of the loader's own node, then reruns: exact on all three", { timeout: 10 * 60_000 }, async (t) => {
  if (!requirePrograms(t, GALERA_MISSING)) return;
  const cluster = await startGalera();
  try {
    const [n1, n2, n3] = cluster.nodes;
    assert.equal((await runLoad(['migrate', '--quiet', '--db', n1.url])).code, 0);
    await cluster.waitSynced();
    const first = manyRecords(40_000, 0);
    const second = manyRecords(20_000, 40_000);

    // Another node dies: the loader's writes stall while the cluster drops it, then go on.
    const loading = runLoad(['--batch-size', '1000', '--db', n1.url, '-'], { stdin: first });
    await loadsReach(cluster, n1.index, 3000);
    n2.kill9();
    const survived = await loading;
    assert.equal(survived.code, 0, survived.stderr);
    assert.equal(summaryOf(survived.stderr), 'lmod-load: 40,000 read, 40,000 new, 0 already present, 0 rejected');
    // Back before the next kill: one node of two left would be no majority, and Galera would stop it (non-Primary).
    await n2.restart();
    await cluster.waitSynced();

    // The loader's own node dies: it gives up after its retries, saying what was committed.
    const cut = runLoad(['--batch-size', '1000', '--retries', '2', '--db', n3.url, '-'], { stdin: second });
    await loadsReach(cluster, n1.index, 43_000);
    n3.kill9();
    const failed = await cut;
    assert.equal(failed.code, 2);
    assert.match(failed.stderr, /records were committed before it \([\d,]+ new, 0 already present\); rerun with the same input to complete the load\n$/);

    // Back, then the reruns: through another node, and into a node that was down.
    await n3.restart();
    await cluster.waitSynced();
    const rerun = await runLoad(['--db', n1.url, '-'], { stdin: second });
    assert.equal(rerun.code, 0, rerun.stderr);
    const again = await runLoad(['--db', n2.url, '-'], { stdin: first });
    assert.equal(summaryOf(again.stderr), 'lmod-load: 40,000 read, 0 new, 40,000 already present, 0 rejected');
    await cluster.waitSynced();
    for (const node of cluster.nodes) {
      const [row] = (await cluster.query(node.index, `SELECT COUNT(*) AS n FROM \`${cluster.database}\`.module_loads`)) as { n: unknown }[];
      assert.equal(Number(row.n), 60_000, `node ${node.index}`);
    }
    t.diagnostic(`the cut load: ${failed.stderr.trimEnd().split('\n').pop()}`);
  } finally {
    await cluster.stop();
  }
});

test('Galera: summarize at once on two nodes stores the summaries of the loads', { timeout: 10 * 60_000 }, async (t) => {
  if (!requirePrograms(t, GALERA_MISSING)) return;
  const cluster = await startGalera();
  const sqlite = await sqliteTarget();
  try {
    const [n1, , n3] = cluster.nodes;
    // One migrate: two at once on two nodes can wait on each other's DDL for good (docs/galera.md).
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
    await cluster.stop();
    await sqlite.drop();
  }
});
