import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { type Browser, CHROMIUM, chromiumInstalled, launchChromium, openPage, type Page } from './helpers/browser';
import { FIXTURES, loadFixture, mysqlTarget, ndjson, ROOT, run, sqliteTarget, type Target } from './helpers/report';

/**
 * The HTML page (`lmod-report html`, `--format html`) in a real headless Chromium: no console errors, no request, every
 * section with the fixture's exact numbers, sorting, searching, versions and hover driven as a reader would, and a
 * screenshot of each section. Without Chromium the browser tests skip (fail in CI).
 */

const AVAIL = join(FIXTURES, 'inventory.avail.txt');
const JOBS_FIXTURE = join(ROOT, 'test', 'fixtures', 'jobs-report');

function daysSince(iso: string): number {
  return Math.ceil((Date.now() - Date.parse(iso)) / 86_400_000);
}
/** Versions last loaded before 2024-03-02 are stale, whatever today is. */
const OLDER_THAN = `${daysSince('2024-03-02T00:00:00Z')}d`;
const CUTOFF_DAY = new Date(Date.now() - daysSince('2024-03-02T00:00:00Z') * 86_400_000).toISOString().slice(0, 10);

async function withChromium(t: { skip(m: string): void }, body: (browser: Browser) => Promise<void>): Promise<void> {
  if (!chromiumInstalled()) {
    if (process.env.CI === 'true') assert.fail(`${CHROMIUM} is missing: .ci/setup.d/chromium.sh should have installed it`);
    t.skip(`${CHROMIUM} not installed (run .ci/setup.d/chromium.sh): HTML browser test skipped`);
    return;
  }
  const browser = await launchChromium();
  try {
    await body(browser);
  } finally {
    await browser.close();
  }
}

async function page(target: Target, args: string[]): Promise<string> {
  const r = await run('lmod-report', ['--db', target.url, ...args]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  return r.stdout;
}

function writePage(html: string, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'lmod-page-'));
  const file = join(dir, name);
  writeFileSync(file, html);
  return pathToFileURL(file).href;
}

const json = async (p: Page, expression: string): Promise<unknown> => p.evaluate(expression);

/** The rows of a table as the reader sees them (visible rows only), first cell's own text for the name. */
const visibleRows = (p: Page, table: string): Promise<unknown> =>
  json(
    p,
    `[...document.querySelectorAll('#${table} > tbody > tr')].filter((r) => !r.hidden).map((r) =>
      [...r.cells].map((c) => (c.querySelector('summary') ?? c).textContent))`,
  );

/** Each section as an image, for reading by eye; the sticky navigation bar is left out of them. */
async function screenshots(p: Page, dir: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  await p.evaluate(`document.querySelector('nav').style.position = 'static'`);
  const ids = (await json(p, `[...document.querySelectorAll('section')].map((s) => s.id)`)) as string[];
  for (const id of ids) await p.locator(`section#${id}`).screenshot({ path: join(dir, `${id}.png`) });
  return ids;
}

test('the dashboard in Chromium: every section with the fixture numbers; sorting, searching, versions and hover work', { timeout: 240_000 }, async (t) => {
  const target = await sqliteTarget();
  try {
    await loadFixture(target.url);
    const html = await page(target, ['html', '--inventory', AVAIL, '--older-than', OLDER_THAN]);
    await withChromium(t, async (browser) => {
      const { page: p, problems } = await openPage(browser, writePage(html, 'dashboard.html'));
      assert.equal(await json(p, 'document.title'), 'Lmod module usage');
      assert.deepEqual(await json(p, `[...document.querySelectorAll('section')].map((s) => s.id)`), ['overview', 'trend', 'modules', 'retire', 'users']);
      assert.deepEqual(await json(p, `[...document.querySelectorAll('nav a')].map((a) => a.textContent)`), [
        'Overview',
        'Trend',
        'Modules',
        'To retire',
        'Users',
      ]);

      // Overview: 19 loads by 4 users of 8 packages in 9 versions, June 2023 to March 2024; no jobs yet.
      assert.deepEqual(await json(p, `[...document.querySelectorAll('.card')].map((c) => [c.id, c.querySelector('.v').textContent])`), [
        ['card-loads', '19'],
        ['card-users', '4'],
        ['card-modules', '8'],
        ['card-versions', '9'],
        ['card-first', '2023-06-15'],
        ['card-last', '2024-03-31'],
      ]);
      assert.match((await json(p, `document.querySelector('#overview .note').textContent`)) as string, /^No Slurm jobs are loaded: /);

      // Trend: month columns on an axis 0-8 with gridlines, 220 units high; dates as "Jan 2024".
      const columns = async (chart: string) =>
        json(
          p,
          `[...document.querySelectorAll('svg#${chart} rect.bar')].map((r) => [r.dataset.label, Number(r.dataset.value), Math.round(r.getBBox().height * 10) / 10])`,
        );
      const loads = [1, 0, 0, 0, 0, 0, 1, 7, 5, 5];
      const months = [
        '2023-06-01',
        '2023-07-01',
        '2023-08-01',
        '2023-09-01',
        '2023-10-01',
        '2023-11-01',
        '2023-12-01',
        '2024-01-01',
        '2024-02-01',
        '2024-03-01',
      ];
      assert.deepEqual(
        await columns('chart-trend-loads'),
        months.map((m, i) => [m, loads[i], Math.round((loads[i] / 8) * 2200) / 10]),
      );
      assert.deepEqual(await json(p, `[...document.querySelectorAll('svg#chart-trend-loads text.tick')].map((x) => x.textContent)`), [
        ...['0', '2', '4', '6', '8'],
        ...['Jun 2023', 'Jul 2023', 'Aug 2023', 'Sep 2023', 'Oct 2023', 'Nov 2023', 'Dec 2023', 'Jan 2024', 'Feb 2024', 'Mar 2024'],
      ]);
      assert.equal(await json(p, `document.querySelectorAll('svg#chart-trend-loads line.grid').length`), 5);
      // The time charts take the page's whole width (1,160 less the margins), not a few hundred pixels.
      assert.equal(await json(p, `Math.round(document.getElementById('chart-trend-loads').getBoundingClientRect().width)`), 1112);
      const users = [1, 0, 0, 0, 0, 0, 1, 4, 4, 3];
      assert.deepEqual(
        await columns('chart-trend-users'),
        months.map((m, i) => [m, users[i], Math.round((users[i] / 4) * 2200) / 10]),
      );
      // Hover shows the value, also of an empty month.
      await p.locator('svg#chart-trend-loads g.col').nth(7).hover();
      assert.equal(await json(p, `document.getElementById('tip').textContent`), 'Jan 2024: 7 loads');
      assert.equal(await json(p, `document.getElementById('tip').hidden`), false);
      await p.locator('svg#chart-trend-loads g.col').nth(2).hover();
      assert.equal(await json(p, `document.getElementById('tip').textContent`), 'Aug 2023: 0 loads');

      // Modules: the chart by distinct users, the axis 0-4.
      const byUsers: [string, number][] = [
        ['gcc', 4],
        ['python', 3],
        ['mpi/openmpi', 2],
        ['Gcc', 1],
        ['StdEnv', 1],
        ['intel', 1],
        ['my_tool', 1],
        ['myxtool', 1],
      ];
      assert.deepEqual(
        await json(
          p,
          `[...document.querySelectorAll('svg#chart-modules rect.bar')].map((r) => [r.dataset.label, Number(r.dataset.value), Math.round(r.getBBox().width)])`,
        ),
        byUsers.map(([name, n]) => [name, n, (n / 4) * 600]),
      );
      await p.locator('svg#chart-modules g.row').first().hover();
      assert.equal(await json(p, `document.getElementById('tip').textContent`), 'gcc: 4 distinct users');
      const table = [
        ['gcc', '2', '7', '4', '2', '2023-12-31', '2024-03-05'],
        ['python', '1', '5', '3', '3', '2024-01-08', '2024-03-31'],
        ['mpi/openmpi', '1', '2', '2', '1', '2024-01-31', '2024-02-10'],
        ['Gcc', '1', '1', '1', '1', '2024-03-05', '2024-03-05'],
        ['StdEnv', '1', '1', '1', '1', '2024-01-01', '2024-01-01'],
        ['intel', '1', '1', '1', '1', '2023-06-15', '2023-06-15'],
        ['my_tool', '1', '1', '1', '1', '2024-02-29', '2024-02-29'],
        ['myxtool', '1', '1', '1', '1', '2024-03-01', '2024-03-01'],
      ];
      const rowsOf = (names: string[]) => names.map((n) => [...(table.find((r) => r[0] === n) as string[]), '']);
      assert.deepEqual(await visibleRows(p, 'modules-table'), rowsOf(table.map((r) => r[0])));
      // Each module's small trend: its loads per month.
      assert.deepEqual(await json(p, `[...document.querySelectorAll('#modules-table svg.spark')].slice(0, 3).map((s) => s.dataset.values)`), [
        '0 0 0 0 0 0 1 2 3 1',
        '0 0 0 0 0 0 0 3 0 2',
        '0 0 0 0 0 0 0 1 1 0',
      ]);
      // A full time on hover over a date.
      assert.equal(await json(p, `document.querySelector('#modules-table > tbody > tr > td:nth-child(7)').title`), '2024-03-05T06:00:00.000000Z');

      // Sorting: loads, most first (ties keep their order), again for fewest first; then by name.
      const column = (label: string) => p.locator(`#modules-table > thead th button:text-is("${label}")`);
      await column('loads').click();
      assert.deepEqual(await visibleRows(p, 'modules-table'), rowsOf(['gcc', 'python', 'mpi/openmpi', 'Gcc', 'StdEnv', 'intel', 'my_tool', 'myxtool']));
      assert.equal(await json(p, `document.querySelector('#modules-table th[aria-sort]').textContent`), 'loads');
      await column('loads').click();
      assert.deepEqual(await visibleRows(p, 'modules-table'), rowsOf(['Gcc', 'StdEnv', 'intel', 'my_tool', 'myxtool', 'mpi/openmpi', 'python', 'gcc']));
      await column('last load').click();
      assert.deepEqual(await visibleRows(p, 'modules-table'), rowsOf(['python', 'Gcc', 'gcc', 'myxtool', 'my_tool', 'mpi/openmpi', 'StdEnv', 'intel']));
      await column('name').click();
      assert.deepEqual(await visibleRows(p, 'modules-table'), rowsOf(['Gcc', 'StdEnv', 'gcc', 'intel', 'mpi/openmpi', 'my_tool', 'myxtool', 'python']));

      // Searching: by name, case-blind, and by a version's full name.
      const search = p.locator('input[data-search="modules-table"]');
      await search.fill('GC');
      assert.deepEqual(await visibleRows(p, 'modules-table'), rowsOf(['Gcc', 'gcc']));
      assert.equal(await json(p, `document.getElementById('modules-table-count').textContent`), '2 of 8 modules');
      await search.fill('9.4.0');
      assert.deepEqual(await visibleRows(p, 'modules-table'), rowsOf(['gcc']));
      await search.fill('');
      assert.equal(await json(p, `document.getElementById('modules-table-count').textContent`), '8 modules');

      // A module's versions open under its name.
      await p.locator('#modules-table summary:text-is("gcc")').click();
      assert.deepEqual(
        await json(
          p,
          `[...document.querySelectorAll('#modules-table details[open] table.versions tbody tr')].map((r) => [...r.cells].map((c) => c.textContent))`,
        ),
        [
          ['12.2.0', '6', '4', '2024-03-05'],
          ['9.4.0', '1', '1', '2023-12-31'],
        ],
      );

      // Versions to retire: exactly what `stale` and `unused` say.
      const reference = async (args: string[]) =>
        ndjson((await run('lmod-report', ['--db', target.url, '--format', 'ndjson', ...args])).stdout) as { module: string }[];
      // Of the six versions last loaded before the cutoff, three are still installed.
      const stale = await reference(['stale', '--older-than', OLDER_THAN, '--inventory', AVAIL]);
      assert.deepEqual(
        stale.map((r) => r.module),
        ['gcc/9.4.0', 'StdEnv', 'mpi/openmpi/4.1.5'],
      );
      // The page shows a version's full name, loads, users and days.
      assert.deepEqual(await visibleRows(p, 'stale-table'), [
        ['gcc/9.4.0', '1', '1', '2023-12-31', '2023-12-31'],
        ['StdEnv', '1', '1', '2024-01-01', '2024-01-01'],
        ['mpi/openmpi/4.1.5', '2', '2', '2024-01-31', '2024-02-10'],
      ]);
      assert.deepEqual(
        stale.map((r) => r.module),
        ['gcc/9.4.0', 'StdEnv', 'mpi/openmpi/4.1.5'],
      );
      const unused = await reference(['unused', '--inventory', AVAIL]);
      assert.deepEqual(
        unused.map((r) => r.module),
        ['R/4.3.1', 'cmake/3.27.0'],
      );
      assert.deepEqual(await visibleRows(p, 'unused-table'), [
        ['R/4.3.1', '-'],
        ['cmake/3.27.0', '-'],
      ]);
      assert.deepEqual(await json(p, `[...document.querySelectorAll('#retire h3')].map((h) => h.textContent)`), [
        `Installed versions not loaded since ${CUTOFF_DAY} (more than ${OLDER_THAN} ago): 3`,
        'Installed but not loaded: 2',
      ]);

      // Users: by loads.
      assert.deepEqual(await visibleRows(p, 'users-table'), [
        ['alice', '7', '5', '2023-06-15', '2024-03-20'],
        ['bob', '5', '4', '2023-12-31', '2024-03-31'],
        ['carol', '5', '4', '2024-01-08', '2024-03-05'],
        ['dave', '2', '2', '2024-01-31', '2024-02-01'],
      ]);
      await p.locator('input[data-search="users-table"]').fill('car');
      assert.deepEqual(await visibleRows(p, 'users-table'), [['carol', '5', '4', '2024-01-08', '2024-03-05']]);

      const dir = join(tmpdir(), 'lmod-page-screenshots');
      const shots = await screenshots(p, dir);
      t.diagnostic(`screenshots of ${shots.join(', ')} in ${dir}`);
      // On screen a section is laid out when it nears the viewport; printed, every section is.
      const visibility = `[...document.querySelectorAll('section')].map((s) => getComputedStyle(s).contentVisibility)`;
      assert.deepEqual(await json(p, visibility), ['auto', 'auto', 'auto', 'auto', 'auto']);
      await p.emulateMedia({ media: 'print' });
      assert.deepEqual(await json(p, visibility), ['visible', 'visible', 'visible', 'visible', 'visible']);
      await p.emulateMedia({ media: 'screen' });
      assert.deepEqual(problems, []);
    });

    // The summaries give the same page.
    const summarized = await run('lmod-load', ['summarize', '--quiet', '--db', target.url]);
    assert.equal(summarized.code, 0, summarized.stderr);
    const again = await page(target, ['html', '--inventory', AVAIL, '--older-than', OLDER_THAN]);
    const stable = (s: string) => s.replace(/generated [0-9T:-]+Z/, 'generated -');
    assert.equal(stable(again), stable(html));

    // MySQL draws the same page.
    const mysql = await mysqlTarget('page');
    if (mysql !== null) {
      try {
        await loadFixture(mysql.url);
        const other = await page(mysql, ['html', '--inventory', AVAIL, '--older-than', OLDER_THAN]);
        const anyDb = (s: string) => stable(s).replace(/Database: [^;]*;/, 'Database: -;');
        assert.equal(anyDb(other), anyDb(html));
      } finally {
        await mysql.drop();
      }
    }
  } finally {
    await target.drop();
  }
});

test('the dashboard with Slurm jobs: core-hours by module and account, and the overview totals', { timeout: 120_000 }, async (t) => {
  const target = await sqliteTarget();
  try {
    await loadFixture(target.url, join(JOBS_FIXTURE, 'loads.ndjson'));
    const loaded = await run('lmod-load', ['--quiet', '--db', target.url, join(JOBS_FIXTURE, 'jobs.ndjson')]);
    assert.equal(loaded.code, 0, loaded.stderr);
    const html = await page(target, ['accounts', '--format', 'html']);
    await withChromium(t, async (browser) => {
      const { page: p, problems } = await openPage(browser, writePage(html, 'accounts.html'));
      // The accounts page leads with its own section and title.
      assert.equal(await json(p, 'document.title'), 'Lmod module usage: Accounts by core-hours');
      assert.deepEqual(await json(p, `[...document.querySelectorAll('section')].map((s) => s.id)`), [
        'compute',
        'overview',
        'trend',
        'modules',
        'retire',
        'users',
      ]);
      const accounts = ndjson((await run('lmod-report', ['--db', target.url, '--format', 'ndjson', 'accounts'])).stdout) as {
        account: string;
        core_hours: number;
        jobs: number;
      }[];
      assert.deepEqual(
        accounts.map((a) => [a.account, a.core_hours]),
        [
          ['chem', 26],
          ['bio', 10],
          ['physics', 6],
        ],
      );
      assert.deepEqual(
        await json(p, `[...document.querySelectorAll('svg#chart-accounts rect.bar')].map((r) => [r.dataset.label, Number(r.dataset.value)])`),
        accounts.map((a) => [a.account, a.core_hours]),
      );
      const modules = ndjson((await run('lmod-report', ['--db', target.url, '--format', 'ndjson', 'modules', '--weight', 'core-hours'])).stdout) as {
        name: string;
        core_hours: number;
      }[];
      assert.deepEqual(
        await json(p, `[...document.querySelectorAll('svg#chart-core-hours rect.bar')].map((r) => [r.dataset.label, Number(r.dataset.value)])`),
        modules.map((m) => [m.name, m.core_hours]),
      );
      assert.deepEqual(await json(p, `['card-jobs', 'card-core-hours'].map((id) => document.querySelector('#' + id + ' .v').textContent)`), ['6', '42']);
      await p.locator('input[data-search="accounts-table"]').fill('bio');
      assert.deepEqual(await visibleRows(p, 'accounts-table'), [['bio', '1', '10', '0', '1', '']]);
      const dir = join(tmpdir(), 'lmod-page-screenshots');
      await p.evaluate(`document.querySelector('nav').style.position = 'static'`);
      await p.locator('section#compute').screenshot({ path: join(dir, 'compute.png') });
      t.diagnostic(`screenshot: ${join(dir, 'compute.png')}`);
      assert.deepEqual(problems, []);
    });
  } finally {
    await target.drop();
  }
});

test('an empty result says why, on the page and on stderr; the page draws no empty chart', { timeout: 120_000 }, async (t) => {
  const target = await sqliteTarget();
  try {
    const migrated = await run('lmod-load', ['migrate', '--quiet', '--db', target.url]);
    assert.equal(migrated.code, 0, migrated.stderr);
    const html = await page(target, ['html']);
    assert.doesNotMatch(html, /<svg/);
    const noLoads = 'The database holds no loads yet: load some with lmod-parse FILE | lmod-dedupe | lmod-load.';
    assert.equal([...html.matchAll(/<p class="empty">([^<]*)<\/p>/g)].map((m) => m[1]).join('\n'), [noLoads, noLoads, noLoads, noLoads, noLoads].join('\n'));
    for (const [args, reason] of [
      [['modules'], noLoads],
      [['users', '--format', 'csv'], noLoads],
      [['trend', '--format', 'ndjson'], noLoads],
      [['stale'], noLoads],
      [['accounts'], 'No Slurm jobs are loaded: sacct --parsable2 ... | lmod-jobs | lmod-load adds them, with core-hours per module and account.'],
    ] as [string[], string][]) {
      const r = await run('lmod-report', ['--db', target.url, ...args]);
      assert.equal(r.code, 0, args.join(' '));
      assert.equal(r.stderr, `lmod-report: ${reason}\n`, args.join(' '));
    }
    await loadFixture(target.url);
    const longAgo = new Date(Date.now() - 30000 * 86_400_000).toISOString().slice(0, 10);
    for (const [args, reason] of [
      [['modules', '--user', 'nobody'], 'No loads match the filters.'],
      [
        ['stale', '--older-than', '30000d', '--since', '2024-03-01'],
        `No module version was last loaded before ${longAgo} (more than 30000d ago): the loads run from 2024-03-01 to 2024-03-31; try a shorter --older-than.`,
      ],
      [['unused', '--inventory', AVAIL, '--module', 'gcc'], 'Every installed module in the inventory matching --module has a load (7 listed).'],
      [
        ['unused', '--inventory', AVAIL, '--module', 'gcc', '--since', '2023-01-01'],
        'Every installed module in the inventory matching --module has a load in the period (7 listed).',
      ],
      [['modules', '--format', 'openmetrics', '--user', 'nobody'], ''],
    ] as [string[], string][]) {
      const r = await run('lmod-report', ['--db', target.url, ...args]);
      assert.equal(r.code, 0, args.join(' '));
      assert.equal(r.stderr, reason === '' ? '' : `lmod-report: ${reason}\n`, args.join(' '));
    }
    await withChromium(t, async (browser) => {
      const { page: p, problems } = await openPage(browser, writePage(html, 'empty.html'));
      assert.equal(await json(p, `document.querySelectorAll('svg').length`), 0);
      assert.equal(await json(p, `document.querySelectorAll('p.empty').length`), 5);
      assert.deepEqual(problems, []);
    });
  } finally {
    await target.drop();
  }
});

test("each report's page leads with its own section and title", async () => {
  const target = await sqliteTarget();
  try {
    await loadFixture(target.url);
    const cases: [string[], string, string | RegExp][] = [
      [['modules'], 'modules', 'Lmod module usage: Top modules by distinct users'],
      [['modules', '--by', 'version', '--top', '3'], 'report', 'Lmod module usage: Top module versions by distinct users'],
      [['users'], 'users', 'Lmod module usage: Users by loads'],
      [['users', '--user', 'alice'], 'report', 'Lmod module usage: Modules used by alice'],
      [['stale', '--older-than', OLDER_THAN], 'retire', /^Lmod module usage: Modules last loaded before 2024-03-0[12]T\d\d:\d\d:\d\d\.\d{6}Z$/],
      [['unused', '--inventory', AVAIL], 'retire', 'Lmod module usage: Installed modules never loaded in the period'],
      [['trend', '--every', 'week'], 'trend', 'Lmod module usage: Loads and distinct users per week'],
      [['html'], 'overview', 'Lmod module usage'],
    ];
    for (const [args, first, title] of cases) {
      const html = await page(target, [...args, ...(args[0] === 'html' ? [] : ['--format', 'html'])]);
      assert.equal(/<section id="([^"]+)"/.exec(html)?.[1], first, args.join(' '));
      const h1 = /<h1>([^<]*)<\/h1>/.exec(html)?.[1] as string;
      if (typeof title === 'string') assert.equal(h1, title, args.join(' '));
      else assert.match(h1, title);
    }
    // The trend page's own period is the one charted, and its own table: 42 weeks, from the week of 12 Jun 2023 to that of 25 Mar 2024.
    const weekly = await page(target, ['trend', '--every', 'week', '--format', 'html']);
    assert.equal((weekly.match(/<g class="col"/g) ?? []).length / 2, 42);
    const bad = await run('lmod-report', ['--db', target.url, 'html', '--format', 'csv']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, 'lmod-report: html writes the HTML page: --format does not apply (see lmod-report --help)\n');
  } finally {
    await target.drop();
  }
});

test('the shipped sample and its inventory: every report runs', async () => {
  const target = await sqliteTarget();
  try {
    const parsed = await new Promise<string>((resolve, reject) => {
      const { execFile } = require('node:child_process') as typeof import('node:child_process');
      execFile(process.execPath, [join(ROOT, 'bin', 'lmod-parse.js'), join(ROOT, 'examples', 'lmod.log')], { maxBuffer: 64 << 20 }, (err, stdout) =>
        err !== null && err.code !== 1 ? reject(err) : resolve(stdout),
      );
    });
    const records = join(target.url.slice('sqlite:'.length), '..', 'sample.ndjson');
    writeFileSync(records, parsed);
    await loadFixture(target.url, records);
    const inventory = join(ROOT, 'examples', 'inventory.txt');
    const unused = ndjson((await run('lmod-report', ['--db', target.url, '--format', 'ndjson', 'unused', '--inventory', inventory])).stdout) as {
      module: string;
    }[];
    assert.equal(unused.length, 12);
    const lines = readFileSync(inventory, 'utf8').split('\n');
    assert.ok(unused.every((u) => lines.includes(u.module)));
    for (const args of [
      ['modules'],
      ['users'],
      ['trend'],
      ['stale', '--older-than', '1d'],
      ['stale', '--inventory', inventory, '--older-than', '1d'],
      ['html', '--inventory', inventory],
    ]) {
      const r = await run('lmod-report', ['--db', target.url, ...args]);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(r.stdout.split('\n').length > 3, args.join(' '));
    }
  } finally {
    await target.drop();
  }
});

test('a site of many users: the page lists the first 1,000 and says which command lists them all', async () => {
  const target = await sqliteTarget();
  try {
    const records = join(target.url.slice('sqlite:'.length), '..', 'many.ndjson');
    const line = (i: number) =>
      JSON.stringify({
        time: `2024-01-01T00:00:${String(i % 60).padStart(2, '0')}.${String(i).padStart(6, '0')}Z`,
        user: `u${String(i).padStart(4, '0')}`,
        module: 'gcc/12',
        name: 'gcc',
        version: '12',
        path: null,
        host: 'n1',
        jobid: null,
        userload: true,
      });
    writeFileSync(records, `${Array.from({ length: 1001 }, (_, i) => line(i)).join('\n')}\n`);
    await loadFixture(target.url, records);
    const html = await page(target, ['html']);
    assert.match(html, /<p class="note">The first 1,000 of 1,001 users; <code>lmod-report users<\/code> lists them all\.<\/p>/);
    const users = /<table class="sortable" id="users-table">[\s\S]*?<\/table>/.exec(html)?.[0] ?? '';
    assert.equal((users.match(/<tr>/g) ?? []).length, 1 + 1000);
    assert.match(html, /<span class="count" id="users-table-count" data-noun="users">1,000 users<\/span>/);
  } finally {
    await target.drop();
  }
});
