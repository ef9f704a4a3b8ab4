import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { LATEST_VERSION } from '../src/db/migrate';
import { openClient } from '../src/db/client';
import { parseDbUrl } from '../src/db/config';
import { FIXTURES as REPORT_FIXTURES, mysqlTarget, ndjson, report, run, sqliteTarget, type Target } from './helpers/report';

/**
 * Jobs in the reports, exact to the core-second, on a fixture that has two clusters, array tasks, a running job, a GPU
 * job, a job without loads, loads outside any job, and a load whose cluster is unknown (matched to either cluster's job
 * of its id, as docs/jobs.md says).
 */
const FIXTURES = join(REPORT_FIXTURES, '..', 'jobs-report');
const LOADS = join(FIXTURES, 'loads.ndjson');
const JOBS = join(FIXTURES, 'jobs.ndjson');

const row = (
  name: string,
  versions: number,
  jobs: number,
  core: number,
  gpu: number,
  loads: number,
  users: number,
  hosts: number,
  first: string,
  last: string,
) => ({
  name,
  versions,
  jobs,
  core_hours: core,
  gpu_hours: gpu,
  loads,
  users,
  hosts,
  first_load: `2026-11-0${first}Z`,
  last_load: `2026-11-0${last}Z`,
});

const BY_CORE_HOURS = [
  row('python', 1, 3, 30, 4, 3, 3, 3, '2T10:00:01.000000', '4T08:00:00.000000'),
  row('gcc', 2, 4, 16, 0, 6, 4, 4, '2T10:00:00.000000', '4T08:30:00.000000'),
  row('cuda', 1, 1, 16, 4, 1, 1, 1, '3T09:00:00.000000', '3T09:00:00.000000'),
  row('vim', 1, 0, 0, 0, 1, 1, 1, '4T08:31:00.000000', '4T08:31:00.000000'),
];

const pick = (rows: unknown[], keys: string[]) => rows.map((r) => Object.fromEntries(keys.map((k) => [k, (r as Record<string, unknown>)[k]])));

async function reportRows(url: string, args: string[]): Promise<unknown[]> {
  const r = await report(['--db', url, '--format', 'ndjson', ...args]);
  assert.equal(r.stderr, '', args.join(' '));
  assert.equal(r.code, 0, args.join(' '));
  return ndjson(r.stdout);
}

async function weightedReports(target: Target): Promise<void> {
  for (const args of [['migrate'], ['--quiet', LOADS, JOBS]]) {
    const r = await run('lmod-load', [...args, '--db', target.url]);
    assert.equal(r.code, 0, r.stderr);
  }
  // Loading the jobs again changes nothing; an older record of an ended job (still running then) does not replace it.
  const again = await run('lmod-load', ['--db', target.url, JOBS]);
  assert.match(again.stderr, /: 6 read, 0 new, 0 already present, 0 rejected, 0 jobs stored, 6 jobs unchanged in /);
  for (const summarized of [false, true]) {
    const label = `${target.dialect}${summarized ? ', summarized' : ''}`;
    if (summarized) assert.equal((await run('lmod-load', ['summarize', '--db', target.url])).code, 0);
    assert.deepEqual(await reportRows(target.url, ['modules', '--weight', 'core-hours']), BY_CORE_HOURS, label);
    assert.deepEqual(
      pick(await reportRows(target.url, ['modules', '--weight', 'gpu-hours', '--top', '2']), ['name', 'gpu_hours']),
      [
        { name: 'python', gpu_hours: 4 },
        { name: 'cuda', gpu_hours: 4 },
      ],
      label,
    );
    assert.deepEqual(
      pick(await reportRows(target.url, ['modules', '--weight', 'jobs', '--by', 'version']), ['module', 'jobs', 'core_hours']),
      [
        { module: 'python/3.11', jobs: 3, core_hours: 30 },
        { module: 'gcc/12', jobs: 2, core_hours: 5 },
        { module: 'gcc/13', jobs: 2, core_hours: 11 },
        { module: 'cuda/12', jobs: 1, core_hours: 16 },
        { module: 'vim/9', jobs: 0, core_hours: 0 },
      ],
      label,
    );
    assert.deepEqual(await reportRows(target.url, ['accounts']), [
      { account: 'chem', jobs: 2, core_hours: 26, gpu_hours: 4, users: 2, top_modules: 'python (26), cuda (16), gcc (10)' },
      { account: 'bio', jobs: 1, core_hours: 10, gpu_hours: 0, users: 1, top_modules: '' },
      { account: 'physics', jobs: 3, core_hours: 6, gpu_hours: 0, users: 2, top_modules: 'gcc (6), python (4)' },
    ]);
  }
  // Filters go to the loads (and their jobs), never to the summaries.
  assert.deepEqual(pick(await reportRows(target.url, ['modules', '--weight', 'core-hours', '--account', 'physics']), ['name', 'jobs', 'core_hours', 'loads']), [
    { name: 'gcc', jobs: 3, core_hours: 6, loads: 4 },
    { name: 'python', jobs: 1, core_hours: 4, loads: 2 },
  ]);
  assert.deepEqual(pick(await reportRows(target.url, ['modules', '--weight', 'core-hours', '--cluster', 'beta']), ['name', 'jobs', 'core_hours']), [
    { name: 'gcc', jobs: 1, core_hours: 10 },
  ]);
  assert.deepEqual(pick(await reportRows(target.url, ['users', '--partition', 'gpu']), ['user', 'loads']), [{ user: 'cat', loads: 2 }]);
  assert.deepEqual(pick(await reportRows(target.url, ['accounts', '--partition', 'cpu', '--since', '2026-11-03']), ['account', 'jobs', 'core_hours']), [
    { account: 'bio', jobs: 1, core_hours: 10 },
    { account: 'chem', jobs: 1, core_hours: 10 },
  ]);
  // The page shows core-hours and accounts once jobs are loaded (test/report-html.test.ts reads it in Chromium).
  const page = await report(['--db', target.url, '--format', 'html', 'users']);
  assert.equal(page.code, 0);
  assert.deepEqual(
    [...page.stdout.matchAll(/<section id="([^"]+)"/g)].map((m) => m[1]),
    ['users', 'overview', 'trend', 'modules', 'compute', 'retire'],
  );
  for (const id of ['chart-core-hours', 'chart-accounts']) assert.match(page.stdout, new RegExp(`<svg id="${id}"`), id);
}

test('weighted reports and accounts on SQLite: exact core- and GPU-hours, from the loads and from the summaries', async () => {
  const target = await sqliteTarget();
  try {
    await weightedReports(target);
  } finally {
    await target.drop();
  }
});

test('weighted reports and accounts on MySQL/MariaDB: the same', async (t) => {
  const target = await mysqlTarget('jobs');
  if (target === null) return t.skip('no MySQL server');
  try {
    await weightedReports(target);
  } finally {
    await target.drop();
  }
});

test('--weight applies to modules only; --weight takes jobs, core-hours or gpu-hours', async () => {
  assert.deepEqual(await report(['users', '--weight', 'jobs']), {
    code: 2,
    stdout: '',
    stderr: 'lmod-report: --weight applies to modules only (see lmod-report --help)\n',
  });
  const bad = await run('lmod-report', ['modules', '--weight', 'cpu']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^lmod-report: option '--weight <what>' argument 'cpu' is invalid\. Allowed choices are jobs, core-hours, gpu-hours\./);
});

test('a database not yet migrated to jobs: plain reports read the loads, job reports say to migrate', async () => {
  const target = await sqliteTarget();
  try {
    for (const args of [['migrate'], ['--quiet', LOADS, JOBS], ['summarize', '--quiet']])
      assert.equal((await run('lmod-load', [...args, '--db', target.url])).code, 0);
    // As after an upgrade of the commands, before `lmod-load migrate`: version 7 and later not recorded.
    const client = await openClient(parseDbUrl(target.url));
    await client.run('DELETE FROM lmod_schema WHERE version >= 7');
    await client.close();
    const plain = await report(['--db', target.url, '--format', 'ndjson', 'modules', '--top', '1']);
    assert.equal(plain.code, 0);
    assert.equal(plain.stderr, `lmod-report: schema v6 is older than v${LATEST_VERSION} (reports may be slow): run \`lmod-load migrate\`\n`);
    assert.deepEqual(pick(ndjson(plain.stdout), ['name', 'loads']), [{ name: 'gcc', loads: 6 }]);
    for (const args of [['accounts'], ['modules', '--weight', 'jobs'], ['users', '--cluster', 'alpha']]) {
      const r = await report(['--db', target.url, ...args]);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, /has schema v6: jobs, clusters and accounts need v7: run `lmod-load migrate`\n$/, args.join(' '));
    }
  } finally {
    await target.drop();
  }
});
