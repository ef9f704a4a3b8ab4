import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openClient } from '../src/db/client';
import { parseDbUrl } from '../src/db/config';
import { NO_FILTERS } from '../src/report/queries';
import { modulesReport, trendReport, unusedReport } from '../src/report/reports';
import { SKIP_NOTICE } from './helpers/mysql';
import { FIXTURES, loadFixture, mysqlTarget, ndjson, report, run, sqliteTarget, type Target } from './helpers/report';

/**
 * Every report on the fixture test/fixtures/report/loads.ndjson (19 loads by alice, bob, carol
 * and dave, June 2023 to March 2024, edges at midnight and a microsecond before), loaded with
 * lmod-load into SQLite and MariaDB; the same exact rows are expected from both.
 */
const AVAIL = join(FIXTURES, 'inventory.avail.txt');
const SPIDER = join(FIXTURES, 'inventory.spider.json');
const DAY = 86400000;

/** Whole days from a date to now: `--since ${n}d` then starts within the day after the date. */
function daysSince(iso: string): number {
  return Math.floor((Date.now() - Date.parse(iso)) / DAY);
}

const t = (s: string) => `${s}Z`;
const mod = (name: string, versions: number, loads: number, users: number, hosts: number, first: string, last: string) => ({
  name,
  versions,
  loads,
  users,
  hosts,
  first_load: t(first),
  last_load: t(last),
});
const ver = (module: string, name: string, version: string | null, loads: number, users: number, hosts: number, first: string, last: string) => ({
  module,
  name,
  version,
  loads,
  users,
  hosts,
  first_load: t(first),
  last_load: t(last),
});
const period = (p: string, loads: number, users: number) => ({ period: p, loads, users });

const ALL_BY_NAME = [
  mod('gcc', 2, 7, 4, 2, '2023-12-31T23:59:59.999999', '2024-03-05T06:00:00.000000'),
  mod('python', 1, 5, 3, 3, '2024-01-08T12:00:00.000000', '2024-03-31T23:59:59.999999'),
  mod('mpi/openmpi', 1, 2, 2, 1, '2024-01-31T23:59:59.999999', '2024-02-10T10:10:11.000000'),
  mod('Gcc', 1, 1, 1, 1, '2024-03-05T06:00:01.000000', '2024-03-05T06:00:01.000000'),
  mod('StdEnv', 1, 1, 1, 1, '2024-01-01T08:30:00.123456', '2024-01-01T08:30:00.123456'),
  mod('intel', 1, 1, 1, 1, '2023-06-15T10:00:00.000000', '2023-06-15T10:00:00.000000'),
  mod('my_tool', 1, 1, 1, 1, '2024-02-29T12:00:00.000000', '2024-02-29T12:00:00.000000'),
  mod('myxtool', 1, 1, 1, 1, '2024-03-01T00:00:00.000000', '2024-03-01T00:00:00.000000'),
];

function cases(): [string, string[], unknown[]][] {
  return [
    ['modules: per package, by distinct users, ties by name byte order', ['modules'], ALL_BY_NAME],
    ['modules --top 2', ['modules', '--top', '2'], ALL_BY_NAME.slice(0, 2)],
    [
      'modules --by version --sort loads --top 3',
      ['modules', '--by', 'version', '--sort', 'loads', '--top', '3'],
      [
        ver('gcc/12.2.0', 'gcc', '12.2.0', 6, 4, 2, '2024-01-01T00:00:00.000000', '2024-03-05T06:00:00.000000'),
        ver('python/3.11.4', 'python', '3.11.4', 5, 3, 3, '2024-01-08T12:00:00.000000', '2024-03-31T23:59:59.999999'),
        ver('mpi/openmpi/4.1.5', 'mpi/openmpi', '4.1.5', 2, 2, 1, '2024-01-31T23:59:59.999999', '2024-02-10T10:10:11.000000'),
      ],
    ],
    [
      'period edges: --since is inclusive, --until exclusive, to the microsecond',
      ['modules', '--by', 'version', '--since', '2024-01-01', '--until', '2024-02-01'],
      [
        ver('python/3.11.4', 'python', '3.11.4', 3, 2, 2, '2024-01-08T12:00:00.000000', '2024-01-15T00:00:00.000000'),
        ver('gcc/12.2.0', 'gcc', '12.2.0', 2, 2, 1, '2024-01-01T00:00:00.000000', '2024-01-02T09:00:00.000000'),
        ver('StdEnv', 'StdEnv', null, 1, 1, 1, '2024-01-01T08:30:00.123456', '2024-01-01T08:30:00.123456'),
        ver('mpi/openmpi/4.1.5', 'mpi/openmpi', '4.1.5', 1, 1, 1, '2024-01-31T23:59:59.999999', '2024-01-31T23:59:59.999999'),
      ],
    ],
    [
      'time bounds with microseconds and a zone',
      ['modules', '--by', 'version', '--since', '2024-01-01T08:30:00.123457Z', '--until', '2024-01-08T13:00:00+01:00'],
      [ver('gcc/12.2.0', 'gcc', '12.2.0', 1, 1, 1, '2024-01-02T09:00:00.000000', '2024-01-02T09:00:00.000000')],
    ],
    [
      '--since as a duration before now',
      ['modules', '--since', `${daysSince('2024-03-19T00:00:00Z')}d`],
      [mod('python', 1, 2, 2, 1, '2024-03-20T15:00:00.000000', '2024-03-31T23:59:59.999999')],
    ],
    [
      '--module globs match the package or the full name, case-sensitively',
      ['modules', '--by', 'version', '--module', 'gcc'],
      [
        ver('gcc/12.2.0', 'gcc', '12.2.0', 6, 4, 2, '2024-01-01T00:00:00.000000', '2024-03-05T06:00:00.000000'),
        ver('gcc/9.4.0', 'gcc', '9.4.0', 1, 1, 1, '2023-12-31T23:59:59.999999', '2023-12-31T23:59:59.999999'),
      ],
    ],
    [
      '--module with a bracket class',
      ['modules', '--by', 'version', '--module', 'gcc/1[0-2]*'],
      [ver('gcc/12.2.0', 'gcc', '12.2.0', 6, 4, 2, '2024-01-01T00:00:00.000000', '2024-03-05T06:00:00.000000')],
    ],
    [
      '--module: _ in a glob is a literal underscore, repeated --module adds',
      ['modules', '--module', 'my_tool*', '--module', 'G?c'],
      [
        mod('Gcc', 1, 1, 1, 1, '2024-03-05T06:00:01.000000', '2024-03-05T06:00:01.000000'),
        mod('my_tool', 1, 1, 1, 1, '2024-02-29T12:00:00.000000', '2024-02-29T12:00:00.000000'),
      ],
    ],
    [
      '--userload-only with a user class glob: unknown userload is left out',
      ['modules', '--userload-only', '--user', '[bc]*'],
      [
        mod('gcc', 2, 4, 2, 2, '2023-12-31T23:59:59.999999', '2024-03-05T06:00:00.000000'),
        mod('python', 1, 2, 2, 2, '2024-01-08T12:00:00.000000', '2024-03-31T23:59:59.999999'),
        mod('Gcc', 1, 1, 1, 1, '2024-03-05T06:00:01.000000', '2024-03-05T06:00:01.000000'),
        mod('my_tool', 1, 1, 1, 1, '2024-02-29T12:00:00.000000', '2024-02-29T12:00:00.000000'),
        mod('myxtool', 1, 1, 1, 1, '2024-03-01T00:00:00.000000', '2024-03-01T00:00:00.000000'),
      ],
    ],
    [
      "--host '' selects the loads logged without a host, which count as no host",
      ['modules', '--host', ''],
      [
        mod('gcc', 1, 1, 1, 0, '2024-02-10T10:10:10.101010', '2024-02-10T10:10:10.101010'),
        mod('mpi/openmpi', 1, 1, 1, 0, '2024-02-10T10:10:11.000000', '2024-02-10T10:10:11.000000'),
      ],
    ],
    [
      '--host glob',
      ['modules', '--by', 'version', '--host', 'login*'],
      [
        ver('my_tool/1.0', 'my_tool', '1.0', 1, 1, 1, '2024-02-29T12:00:00.000000', '2024-02-29T12:00:00.000000'),
        ver('myxtool/1.0', 'myxtool', '1.0', 1, 1, 1, '2024-03-01T00:00:00.000000', '2024-03-01T00:00:00.000000'),
        ver('python/3.11.4', 'python', '3.11.4', 2, 1, 1, '2024-01-08T12:00:00.000000', '2024-01-14T23:00:00.000000'),
      ].sort((a, b) => b.users - a.users || b.loads - a.loads || (a.module < b.module ? -1 : 1)),
    ],
    [
      'users: loads, distinct modules, first and last load',
      ['users'],
      [
        { user: 'alice', loads: 7, modules: 5, first_load: t('2023-06-15T10:00:00.000000'), last_load: t('2024-03-20T15:00:00.000000') },
        { user: 'bob', loads: 5, modules: 4, first_load: t('2023-12-31T23:59:59.999999'), last_load: t('2024-03-31T23:59:59.999999') },
        { user: 'carol', loads: 5, modules: 4, first_load: t('2024-01-08T12:00:00.000000'), last_load: t('2024-03-05T06:00:01.000000') },
        { user: 'dave', loads: 2, modules: 2, first_load: t('2024-01-31T23:59:59.999999'), last_load: t('2024-02-01T00:00:00.000000') },
      ],
    ],
    [
      'users --sort modules --top 1 --since 2024-02-01',
      ['users', '--sort', 'modules', '--top', '1', '--since', '2024-02-01'],
      [{ user: 'alice', loads: 3, modules: 3, first_load: t('2024-02-10T10:10:10.101010'), last_load: t('2024-03-20T15:00:00.000000') }],
    ],
    [
      'users --user: the modules one user loaded',
      ['users', '--user', 'alice'],
      [
        {
          user: 'alice',
          module: 'gcc/12.2.0',
          loads: 2,
          first_load: t('2024-01-01T00:00:00.000000'),
          last_load: t('2024-02-10T10:10:10.101010'),
        },
        {
          user: 'alice',
          module: 'python/3.11.4',
          loads: 2,
          first_load: t('2024-01-15T00:00:00.000000'),
          last_load: t('2024-03-20T15:00:00.000000'),
        },
        {
          user: 'alice',
          module: 'StdEnv',
          loads: 1,
          first_load: t('2024-01-01T08:30:00.123456'),
          last_load: t('2024-01-01T08:30:00.123456'),
        },
        {
          user: 'alice',
          module: 'intel/2019',
          loads: 1,
          first_load: t('2023-06-15T10:00:00.000000'),
          last_load: t('2023-06-15T10:00:00.000000'),
        },
        {
          user: 'alice',
          module: 'mpi/openmpi/4.1.5',
          loads: 1,
          first_load: t('2024-02-10T10:10:11.000000'),
          last_load: t('2024-02-10T10:10:11.000000'),
        },
      ],
    ],
    [
      'users --user glob over two users, within a host',
      ['users', '--user', '?ave', '--user', 'bob', '--host', 'node2'],
      [
        {
          user: 'bob',
          module: 'gcc/12.2.0',
          loads: 1,
          first_load: t('2024-02-01T00:00:00.000000'),
          last_load: t('2024-02-01T00:00:00.000000'),
        },
        {
          user: 'bob',
          module: 'gcc/9.4.0',
          loads: 1,
          first_load: t('2023-12-31T23:59:59.999999'),
          last_load: t('2023-12-31T23:59:59.999999'),
        },
        {
          user: 'dave',
          module: 'gcc/12.2.0',
          loads: 1,
          first_load: t('2024-02-01T00:00:00.000000'),
          last_load: t('2024-02-01T00:00:00.000000'),
        },
        {
          user: 'dave',
          module: 'mpi/openmpi/4.1.5',
          loads: 1,
          first_load: t('2024-01-31T23:59:59.999999'),
          last_load: t('2024-01-31T23:59:59.999999'),
        },
      ],
    ],
    [
      'unused, spider-json inventory: never loaded at all (hidden versions included)',
      ['unused', '--inventory', SPIDER],
      [
        { module: 'R/4.3.1', name: 'R', version: '4.3.1', last_load: null },
        { module: 'cmake/3.27.0', name: 'cmake', version: '3.27.0', last_load: null },
        { module: 'python/.3.9.0', name: 'python', version: '.3.9.0', last_load: null },
      ],
    ],
    [
      'unused, module -t avail inventory, since 2024: gcc/9.4.0 last loaded a microsecond before',
      ['unused', '--inventory', AVAIL, '--since', '2024-01-01'],
      [
        { module: 'R/4.3.1', name: 'R', version: '4.3.1', last_load: null },
        { module: 'cmake/3.27.0', name: 'cmake', version: '3.27.0', last_load: null },
        { module: 'gcc/9.4.0', name: 'gcc', version: '9.4.0', last_load: t('2023-12-31T23:59:59.999999') },
      ],
    ],
    [
      'unused for one user, inventory narrowed by --module',
      ['unused', '--inventory', AVAIL, '--user', 'dave', '--module', 'gcc', '--module', 'mpi/*'],
      [{ module: 'gcc/9.4.0', name: 'gcc', version: '9.4.0', last_load: t('2023-12-31T23:59:59.999999') }],
    ],
    [
      'stale: last load before the cutoff, oldest first',
      ['stale', '--older-than', `${daysSince('2024-03-02T00:00:00Z')}d`],
      [
        {
          module: 'intel/2019',
          name: 'intel',
          version: '2019',
          loads: 1,
          users: 1,
          first_load: t('2023-06-15T10:00:00.000000'),
          last_load: t('2023-06-15T10:00:00.000000'),
        },
        {
          module: 'gcc/9.4.0',
          name: 'gcc',
          version: '9.4.0',
          loads: 1,
          users: 1,
          first_load: t('2023-12-31T23:59:59.999999'),
          last_load: t('2023-12-31T23:59:59.999999'),
        },
        {
          module: 'StdEnv',
          name: 'StdEnv',
          version: null,
          loads: 1,
          users: 1,
          first_load: t('2024-01-01T08:30:00.123456'),
          last_load: t('2024-01-01T08:30:00.123456'),
        },
        {
          module: 'mpi/openmpi/4.1.5',
          name: 'mpi/openmpi',
          version: '4.1.5',
          loads: 2,
          users: 2,
          first_load: t('2024-01-31T23:59:59.999999'),
          last_load: t('2024-02-10T10:10:11.000000'),
        },
        {
          module: 'my_tool/1.0',
          name: 'my_tool',
          version: '1.0',
          loads: 1,
          users: 1,
          first_load: t('2024-02-29T12:00:00.000000'),
          last_load: t('2024-02-29T12:00:00.000000'),
        },
        {
          module: 'myxtool/1.0',
          name: 'myxtool',
          version: '1.0',
          loads: 1,
          users: 1,
          first_load: t('2024-03-01T00:00:00.000000'),
          last_load: t('2024-03-01T00:00:00.000000'),
        },
      ],
    ],
    [
      'stale limited to an inventory and a user',
      ['stale', '--older-than', `${daysSince('2024-03-02T00:00:00Z')}d`, '--inventory', SPIDER, '--user', 'alice'],
      [
        {
          module: 'StdEnv',
          name: 'StdEnv',
          version: null,
          loads: 1,
          users: 1,
          first_load: t('2024-01-01T08:30:00.123456'),
          last_load: t('2024-01-01T08:30:00.123456'),
        },
        {
          module: 'gcc/12.2.0',
          name: 'gcc',
          version: '12.2.0',
          loads: 2,
          users: 1,
          first_load: t('2024-01-01T00:00:00.000000'),
          last_load: t('2024-02-10T10:10:10.101010'),
        },
        {
          module: 'mpi/openmpi/4.1.5',
          name: 'mpi/openmpi',
          version: '4.1.5',
          loads: 1,
          users: 1,
          first_load: t('2024-02-10T10:10:11.000000'),
          last_load: t('2024-02-10T10:10:11.000000'),
        },
      ],
    ],
    [
      'trend per month (the default), empty months listed',
      ['trend'],
      [
        period('2023-06-01', 1, 1),
        period('2023-07-01', 0, 0),
        period('2023-08-01', 0, 0),
        period('2023-09-01', 0, 0),
        period('2023-10-01', 0, 0),
        period('2023-11-01', 0, 0),
        period('2023-12-01', 1, 1),
        period('2024-01-01', 7, 4),
        period('2024-02-01', 5, 4),
        period('2024-03-01', 5, 3),
      ],
    ],
    [
      'trend per ISO week (Monday) over an exclusive --until',
      ['trend', '--every', 'week', '--since', '2024-01-01', '--until', '2024-02-01'],
      [period('2024-01-01', 3, 2), period('2024-01-08', 2, 1), period('2024-01-15', 1, 1), period('2024-01-22', 0, 0), period('2024-01-29', 1, 1)],
    ],
    [
      'trend per day for one module, from --since to --until',
      ['trend', '--every', 'day', '--module', 'gcc/12.2.0', '--since', '2024-01-31T12:00', '--until', '2024-02-03'],
      [period('2024-01-31', 0, 0), period('2024-02-01', 2, 2), period('2024-02-02', 0, 0)],
    ],
    ['trend with nothing matching is empty', ['trend', '--user', 'nobody'], []],
  ];
}

/** Whole-table reports without exact rows above: summarized, they must give what the loads give. */
const SUMMARIZED_AS_LOADS = [
  ['modules', '--userload-only'],
  ['modules', '--by', 'version', '--userload-only', '--sort', 'loads'],
  ['users', '--sort', 'modules', '--userload-only'],
  ['stale', '--older-than', '1d', '--userload-only'],
  ['trend', '--every', 'day'],
  ['trend', '--every', 'week', '--userload-only'],
];

async function reportNdjson(url: string, args: string[]): Promise<unknown[]> {
  const r = await report(['--db', url, '--format', 'ndjson', ...args]);
  // An empty report says why on stderr (test/report-html.test.ts has each reason).
  if (r.stdout === '') assert.match(r.stderr, /^lmod-report: [^\n]+\n$/, args.join(' '));
  else assert.equal(r.stderr, '', args.join(' '));
  assert.equal(r.code, 0, args.join(' '));
  return ndjson(r.stdout);
}

async function reportsOn(target: Target): Promise<void> {
  await loadFixture(target.url);
  const fromLoads = [];
  for (const args of SUMMARIZED_AS_LOADS) fromLoads.push(await reportNdjson(target.url, args));
  // From the loads, then from the summaries: the same rows.
  for (const summarized of [false, true]) {
    if (summarized) {
      const r = await run('lmod-load', ['summarize', '--db', target.url]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stderr,
        /^lmod-load: .*: summaries stored \(14 packages, 16 versions, 8 users, 686 periods, 0 accounts, \d+ package_periods rows\) in \d+\.\d\d s\n$/,
      );
    }
    for (const [name, args, expected] of cases()) {
      assert.deepEqual(await reportNdjson(target.url, args), expected, `${target.dialect}: ${name}${summarized ? ' (summarized)' : ''}`);
    }
    for (const [i, args] of SUMMARIZED_AS_LOADS.entries())
      assert.deepEqual(await reportNdjson(target.url, args), fromLoads[i], `${args.join(' ')} (summarized)`);
  }
  // The library, as other Node programs use it.
  const client = await openClient(parseDbUrl(target.url));
  try {
    const top = await modulesReport(client, NO_FILTERS, { by: 'name', sort: 'loads', top: 1 });
    assert.deepEqual(top.rows, [ALL_BY_NAME[0]]);
    const trend = await trendReport(client, { ...NO_FILTERS, users: ['dave'] }, 'day');
    assert.deepEqual(trend.rows, [period('2024-01-31', 1, 1), period('2024-02-01', 1, 1)]);
    const unused = await unusedReport(client, { ...NO_FILTERS, hosts: ['node1'] }, ['gcc/12.2.0', 'gcc/9.4.0', 'python/3.11.4', 'zlib/1.3']);
    assert.deepEqual(
      unused.rows.map((r) => r.module),
      ['gcc/9.4.0', 'zlib/1.3'],
    );
  } finally {
    await client.close();
  }
}

/**
 * The summaries are read while current (a stored row changed by hand shows it). A load leaves
 * them out of date and the reports read the loads; `summarize` computes them afresh, a load with
 * --summarize does too, and a load with --summarize that adds nothing leaves them alone.
 */
async function summariesFollowLoads(target: Target): Promise<void> {
  await loadFixture(target.url);
  assert.equal((await run('lmod-load', ['summarize', '--quiet', '--db', target.url])).code, 0);
  const setIntelLoads = async (loads: number): Promise<void> => {
    const client = await openClient(parseDbUrl(target.url));
    try {
      await client.run("UPDATE summary_packages SET loads = ? WHERE name = 'intel'", [loads]);
    } finally {
      await client.close();
    }
  };
  await setIntelLoads(999);
  const intel = async (): Promise<unknown> => (await reportNdjson(target.url, ['modules'])).find((r) => (r as { name: string }).name === 'intel');
  const first = '2023-06-15T10:00:00.000000';
  assert.deepEqual(await intel(), { ...mod('intel', 1, 1, 1, 1, first, first), loads: 999 });
  const dir = mkdtempSync(join(tmpdir(), 'lmod-summary-'));
  const intelLoad = (time: string, user: string): string =>
    `{"time":"${time}Z","user":"${user}","module":"intel/2023.1","name":"intel","version":"2023.1","path":null,"host":"node9","jobid":null,"userload":true}\n`;
  const lmodLoad = async (args: string[]): Promise<string> => {
    const r = await run('lmod-load', ['--db', target.url, ...args]);
    assert.equal(r.code, 0, r.stderr);
    return r.stderr;
  };
  try {
    const erin = join(dir, 'erin.ndjson');
    writeFileSync(erin, intelLoad('2024-04-01T10:00:00.000000', 'erin'));
    assert.match(await lmodLoad([erin]), /: 1 read, 1 new, 0 already present, 0 rejected in [^\n]*\n$/);
    assert.deepEqual(await intel(), mod('intel', 2, 2, 2, 2, first, '2024-04-01T10:00:00.000000'));
    assert.match(
      await lmodLoad(['summarize']),
      /^lmod-load: [^\n]*: summaries stored \(14 packages, 18 versions, 10 users, 692 periods, 0 accounts, \d+ package_periods rows\) in \d+\.\d\d s\n$/,
    );
    assert.deepEqual(await intel(), mod('intel', 2, 2, 2, 2, first, '2024-04-01T10:00:00.000000'));
    await setIntelLoads(999);
    const frank = join(dir, 'frank.ndjson');
    writeFileSync(frank, intelLoad('2024-04-02T10:00:00.000000', 'frank'));
    assert.match(
      await lmodLoad(['--summarize', frank]),
      /: 1 read, 1 new, 0 already present, 0 rejected in [^\n]*\n[^\n]*: summaries stored \(14 packages, 18 versions, 12 users, 694 periods, 0 accounts, \d+ package_periods rows\) in \d+\.\d\d s\n$/,
    );
    assert.deepEqual(await intel(), mod('intel', 2, 3, 3, 2, first, '2024-04-02T10:00:00.000000'));
    await setIntelLoads(999);
    assert.match(await lmodLoad(['--summarize', erin]), /: 1 read, 0 new, 1 already present, 0 rejected in [^\n]*\n[^\n]*: summaries are up to date\n$/);
    assert.deepEqual(await intel(), { ...mod('intel', 2, 3, 3, 2, first, '2024-04-02T10:00:00.000000'), loads: 999 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('summaries: read while current, out of date after a load, stored afresh by summarize and --summarize, on SQLite and MySQL/MariaDB', async (t) => {
  const sqlite = await sqliteTarget();
  try {
    await summariesFollowLoads(sqlite);
  } finally {
    await sqlite.drop();
  }
  const mysql = await mysqlTarget('summaries');
  if (mysql === null) return t.skip(SKIP_NOTICE);
  try {
    await summariesFollowLoads(mysql);
  } finally {
    await mysql.drop();
  }
});

test('every report on SQLite: exact rows', async () => {
  const target = await sqliteTarget();
  try {
    await reportsOn(target);
  } finally {
    await target.drop();
  }
});

test('every report on MySQL/MariaDB: the same exact rows', async (t) => {
  const target = await mysqlTarget('report');
  if (target === null) return t.skip(SKIP_NOTICE);
  try {
    await reportsOn(target);
  } finally {
    await target.drop();
  }
});

/** A fresh SQLite database holding the fixture, for one test. */
async function withFixture(body: (url: string) => Promise<void>): Promise<void> {
  const target = await sqliteTarget();
  try {
    await loadFixture(target.url);
    await body(target.url);
  } finally {
    await target.drop();
  }
}

test('formats: table by default (also in a pipe), CSV with a header', async () => {
  await withFixture(async (url) => {
    const table = await run('lmod-report', ['--db', url, 'modules', '--top', '2', '--until', '2024-01-02']);
    assert.equal(table.code, 0);
    assert.equal(
      table.stdout,
      'name    versions  loads  users  hosts  first load                   last load\n' +
        '------  --------  -----  -----  -----  ---------------------------  ---------------------------\n' +
        'gcc            2      2      2      2  2023-12-31T23:59:59.999999Z  2024-01-01T00:00:00.000000Z\n' +
        'StdEnv         1      1      1      1  2024-01-01T08:30:00.123456Z  2024-01-01T08:30:00.123456Z\n',
    );
    const csv = await run('lmod-report', ['--db', url, '--format', 'csv', 'trend', '--until', '2024-01-01']);
    assert.equal(
      csv.stdout,
      'period,loads,users\r\n2023-06-01,1,1\r\n2023-07-01,0,0\r\n2023-08-01,0,0\r\n2023-09-01,0,0\r\n2023-10-01,0,0\r\n2023-11-01,0,0\r\n2023-12-01,1,1\r\n',
    );
  });
});

test('usage errors exit 2 with one line on stderr and nothing on stdout', async () => {
  await withFixture(async (url) => {
    const db = ['--db', url];
    const expectations: [string[], string][] = [
      [['top'], 'lmod-report: unknown report "top": choose modules, users, unused, stale, trend, accounts, html (see lmod-report --help)\n'],
      [['unused'], 'lmod-report: unused needs --inventory FILE (the output of `spider -o spider-json` or `module -t avail`) (see lmod-report --help)\n'],
      [['modules', '--every', 'week'], 'lmod-report: --every applies to trend, html only (see lmod-report --help)\n'],
      [['trend', '--top', '3'], 'lmod-report: --top applies to modules, users, stale only (see lmod-report --help)\n'],
      [['users', '--sort', 'users'], 'lmod-report: --sort for users must be loads or modules (see lmod-report --help)\n'],
      [
        ['modules', '--since', 'last week'],
        'lmod-report: --since "last week": expected a date like 2024-01-31, a time like 2024-01-31T12:00Z or a duration like 30d (see lmod-report --help)\n',
      ],
      [
        ['modules', '--until', '2024-02-30'],
        'lmod-report: --until "2024-02-30": expected a date like 2024-01-31, a time like 2024-01-31T12:00Z or a duration like 30d (see lmod-report --help)\n',
      ],
      [['stale', '--older-than', '2024-01-01'], 'lmod-report: --older-than "2024-01-01": expected a duration like 180d, 26w or 1y (see lmod-report --help)\n'],
      [['modules', '--user', 'a[b'], 'lmod-report: --user: unclosed [ in pattern "a[b" (see lmod-report --help)\n'],
      [['unused', '--inventory', 'no/such/file'], 'lmod-report: no/such/file: No such file or directory\n'],
    ];
    for (const [args, stderr] of expectations) {
      const r = await run('lmod-report', [...db, ...args]);
      assert.deepEqual({ code: r.code, stdout: r.stdout, stderr: r.stderr }, { code: 2, stdout: '', stderr }, args.join(' '));
    }
    const badFormat = await run('lmod-report', [...db, 'modules', '--format', 'xml']);
    assert.equal(badFormat.code, 2);
    assert.match(badFormat.stderr, /option '--format <format>' argument 'xml' is invalid/);
  });
});

test('an inventory line that is not a module name: reported with file and line, exit 1, the rest reported', async () => {
  await withFixture(async (url) => {
    const inventory = join(url.slice('sqlite:'.length), '..', 'inventory.txt');
    writeFileSync(inventory, '/opt/modulefiles/Core:\ngcc/12.2.0\nLmod has detected the following error\nzlib/1.3(default)\n');
    const r = await run('lmod-report', ['--db', url, '--format', 'ndjson', 'unused', '--inventory', inventory]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `lmod-report: ${inventory}:3: not a module name (contains white space): Lmod has detected the following error\n`);
    assert.deepEqual(ndjson(r.stdout), [{ module: 'zlib/1.3', name: 'zlib', version: '1.3', last_load: null }]);
  });
});

test('database problems: a missing SQLite file is not created, a database without the schema names lmod-load migrate', async (t) => {
  const target = await sqliteTarget();
  try {
    const missing = await run('lmod-report', ['--db', target.url, 'modules']);
    const path = target.url.slice('sqlite:'.length);
    assert.deepEqual(missing, {
      code: 2,
      stdout: '',
      stderr: `lmod-report: no database at ${path}: load records with lmod-load first, or name one with --db\n`,
    });
    const empty = await run('lmod-report', ['--db', target.url, 'modules']);
    assert.equal(empty.code, 2, 'still missing: the first run created nothing');
    writeFileSync(path, '');
    const noSchema = await run('lmod-report', ['--db', target.url, 'users']);
    assert.deepEqual(noSchema, {
      code: 2,
      stdout: '',
      stderr: `lmod-report: sqlite:${path} has no lmod-tracking schema: run \`lmod-load migrate\` and load records first\n`,
    });
  } finally {
    await target.drop();
  }
  const mysql = await mysqlTarget('report_noschema');
  if (mysql === null) return t.skip(SKIP_NOTICE);
  try {
    const r = await run('lmod-report', ['--db', mysql.url, 'trend']);
    const described = mysql.url.replace(/^mysql:\/\/root@127\.0\.0\.1:3306\//, 'mysql://root@127.0.0.1:3306/');
    assert.deepEqual(r, {
      code: 2,
      stdout: '',
      stderr: `lmod-report: ${described} has no lmod-tracking schema: run \`lmod-load migrate\` and load records first\n`,
    });
    const refused = await run('lmod-report', ['--db', 'mysql://root@127.0.0.1:1/x', 'trend']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /^lmod-report: cannot connect to MySQL database x at 127\.0\.0\.1:1 as user root: connection refused/);
  } finally {
    await mysql.drop();
  }
});

test('the embedded default: DB_* unset, ./lmod_tracking.sqlite in the working directory, announced on stderr', async () => {
  const target = await sqliteTarget();
  try {
    const cwd = join(target.url.slice('sqlite:'.length), '..');
    const options = { cwd, env: { PATH: process.env.PATH ?? '' } };
    assert.deepEqual(await run('lmod-report', ['users'], options), {
      code: 2,
      stdout: '',
      stderr: 'lmod-report: no database at ./lmod_tracking.sqlite: load records with lmod-load first, or name one with --db\n',
    });
    assert.equal((await run('lmod-load', ['--quiet', join(FIXTURES, 'loads.ndjson')], options)).code, 0);
    const ok = await run('lmod-report', ['--format', 'ndjson', 'users', '--top', '1'], options);
    assert.equal(ok.stderr, 'lmod-report: using the embedded default database sqlite:./lmod_tracking.sqlite\n');
    assert.deepEqual(ndjson(ok.stdout), [
      { user: 'alice', loads: 7, modules: 5, first_load: t('2023-06-15T10:00:00.000000'), last_load: t('2024-03-20T15:00:00.000000') },
    ]);
  } finally {
    await target.drop();
  }
});
