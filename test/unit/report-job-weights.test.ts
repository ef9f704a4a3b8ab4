import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openClient, type SqliteClient } from '../../src/db/client';
import { migrate } from '../../src/db/migrate';
import { countJobWeights, hours, type Weights } from '../../src/report/job-weights';
import { type IdFilters, JOB_OF_LOAD, jobConditions, NO_FILTERS, type Query, whereClause } from '../../src/report/queries';
import { resolveFilters } from '../../src/report/reports';
import { prng } from '../helpers/generate';

/**
 * The reference for countJobWeights: one SQL DISTINCT over the loads joined to their jobs. Too slow to serve reports at
 * millions of loads (MariaDB took 90 s), plain enough to trust.
 */
function referenceQuery(f: IdFilters, key: 'm.name' | 'm.module', perAccount: boolean): Query {
  const job = jobConditions(f);
  const where = whereClause({ ...f, accounts: [], partitions: [] }, ['l.jobid IS NOT NULL', ...(job.sql === '' ? [] : [job.sql])]);
  const account = perAccount ? "COALESCE(j.account, '') AS account, " : '';
  return {
    sql:
      `SELECT ${perAccount ? 'x.account, ' : ''}x.k AS k, COUNT(*) AS jobs, SUM(x.cpu_s) AS cpu_s, SUM(x.gpu_s) AS gpu_s FROM ` +
      `(SELECT DISTINCT ${account}${key} AS k, j.cluster, j.jobid, j.elapsed_s * j.cpus AS cpu_s, j.elapsed_s * j.gpus AS gpu_s ` +
      `FROM module_loads l JOIN jobs j ON ${JOB_OF_LOAD} JOIN modules m ON m.id = l.module_id ${where.sql}) x GROUP BY ${perAccount ? 'x.account, ' : ''}x.k`,
    params: [...where.params, ...job.params],
  };
}

async function reference(client: SqliteClient, f: IdFilters) {
  const weights = async (key: 'm.name' | 'm.module'): Promise<Map<string, Weights>> => {
    const q = referenceQuery(f, key, false);
    const rows = await client.query<Record<string, unknown>>(q.sql, q.params);
    return new Map(rows.map((r) => [String(r.k), { jobs: Number(r.jobs), core_hours: hours(Number(r.cpu_s)), gpu_hours: hours(Number(r.gpu_s)) }]));
  };
  const q = referenceQuery(f, 'm.name', true);
  const accountModules = new Map<string, Map<string, number>>();
  for (const r of await client.query<Record<string, unknown>>(q.sql, q.params)) {
    const perName = accountModules.get(String(r.account)) ?? new Map<string, number>();
    accountModules.set(String(r.account), perName.set(String(r.k), Number(r.cpu_s)));
  }
  return { byName: await weights('m.name'), byModule: await weights('m.module'), accountModules };
}

const sorted = <V>(map: Map<string, V>): [string, V][] => [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

test('countJobWeights gives the SQL reference: 20,000 random loads in 2,000 jobs of three clusters, every filter', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lmod-job-weights-'));
  const client = (await openClient({ dialect: 'sqlite', path: join(dir, 'w.sqlite'), isDefault: false })) as SqliteClient;
  try {
    await migrate(client);
    const random = prng(99);
    const db = client.db;
    const module = db.prepare('INSERT INTO modules (id, module, name, version) VALUES (?, ?, ?, ?)');
    const names = ['gcc', 'python', 'cuda', 'R', 'py\u00e9'];
    let id = 0;
    for (const name of names) for (const v of ['1', '2', '3']) module.run(++id, `${name}/${v}`, name, v);
    db.prepare("INSERT INTO hosts (id, name) VALUES (1, 'n1')").run();
    // Job ids shared by clusters, jobs of an unknown cluster (''), accounts with and without a name.
    const clusters = ['alpha', 'beta', ''];
    const job = db.prepare('INSERT OR IGNORE INTO jobs (cluster, jobid, job, account, partition_name, elapsed_s, cpus, gpus) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    for (let j = 0; j < 2000; j++) {
      const jobid = String(1 + Math.floor(random() * 1500));
      const account = random() < 0.1 ? null : `acct${Math.floor(random() * 5)}`;
      job.run(
        clusters[Math.floor(random() * 3)],
        jobid,
        jobid,
        account,
        random() < 0.5 ? 'cpu' : 'gpu',
        Math.floor(random() * 90000),
        1 + Math.floor(random() * 64),
        Math.floor(random() * 3),
      );
    }
    const load = db.prepare('INSERT OR IGNORE INTO module_loads (time, user_id, host_id, module_id, jobid, userload, cluster) VALUES (?, ?, ?, ?, ?, ?, ?)');
    db.transaction(() => {
      for (let i = 0; i < 20_000; i++) {
        const time = new Date(Date.UTC(2024, 0, 1) + Math.floor(random() * 86400 * 60) * 1000).toISOString().replace('T', ' ').replace('Z', '000');
        const jobid = random() < 0.2 ? null : String(1 + Math.floor(random() * 1700));
        const cluster = random() < 0.3 ? null : clusters[Math.floor(random() * 2)];
        load.run(time, 1 + Math.floor(random() * 8), 1, 1 + Math.floor(random() * id), jobid, random() < 0.7 ? 1 : 0, cluster);
      }
    })();
    const base = await resolveFilters(client, NO_FILTERS);
    const cases: [string, Partial<IdFilters>][] = [
      ['no filter', {}],
      ['a time range', { since: '2024-01-20 00:00:00.000000', until: '2024-02-10 12:00:00.000000' }],
      ['a cluster', { clusters: ['beta'] }],
      ['accounts', { accounts: ['acct1', 'acct3'] }],
      ['a partition and user loads', { partitions: ['gpu'], userloadOnly: true }],
      ['modules', { moduleIds: [1, 2, 7] }],
    ];
    for (const [what, filter] of cases) {
      const ids = { ...base, ...filter };
      const expected = await reference(client, ids);
      const [counted, userOnly] = await countJobWeights(client, ids, true);
      const expectedUserOnly = await reference(client, { ...ids, userloadOnly: true });
      assert.deepEqual(sorted(userOnly.byName), sorted(expectedUserOnly.byName), `${what}: by name, user loads in the same pass`);
      assert.deepEqual(sorted(userOnly.byModule), sorted(expectedUserOnly.byModule), `${what}: by module, user loads in the same pass`);
      assert.ok(expected.byName.size > 0, what);
      assert.deepEqual(sorted(counted.byName), sorted(expected.byName), `${what}: by name`);
      assert.deepEqual(sorted(counted.byModule), sorted(expected.byModule), `${what}: by module`);
      assert.deepEqual(
        sorted(counted.accountModules).map(([a, m]) => [a, sorted(m)]),
        sorted(expected.accountModules).map(([a, m]) => [a, sorted(m)]),
        `${what}: per account`,
      );
    }
  } finally {
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
