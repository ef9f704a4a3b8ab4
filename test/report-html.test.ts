import assert from 'node:assert/strict';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { loadFixture, run, sqliteTarget } from './helpers/report';

/**
 * The little of playwright-core this test uses. Its own typings need the DOM lib, which this
 * Node-only project does not compile with, so it is required untyped and the page code is a string.
 */
interface Page {
  on(event: 'console', listener: (m: { type(): string; text(): string }) => void): void;
  on(event: 'pageerror', listener: (e: Error) => void): void;
  on(event: 'request', listener: (r: { url(): string }) => void): void;
  goto(url: string): Promise<unknown>;
  evaluate(expression: string): Promise<unknown>;
  screenshot(options: { path: string; fullPage: boolean }): Promise<unknown>;
}
interface Browser {
  newPage(options: { viewport: { width: number; height: number } }): Promise<Page>;
  close(): Promise<void>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { chromium } = require('playwright-core') as {
  chromium: { launch(options: { executablePath: string; args: string[] }): Promise<Browser> };
};

/**
 * The --format html page in a real headless Chromium (Debian's, installed by .ci/setup.d/chromium.sh):
 * no console errors, no network requests, and bars that match the fixture's numbers.
 */
const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

interface BarInfo {
  label: string;
  value: number;
  width: number;
  height: number;
}

test('the HTML page renders in Chromium with the expected bars and tables', { timeout: 180_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI === 'true') assert.fail(`${CHROMIUM} is missing: .ci/setup.d/chromium.sh should have installed it`);
    return t.skip(`${CHROMIUM} not installed (run .ci/setup.d/chromium.sh): HTML browser test skipped`);
  }
  const target = await sqliteTarget();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    await loadFixture(target.url);
    const r = await run('lmod-report', ['--db', target.url, 'modules', '--format', 'html']);
    assert.equal(r.code, 0, r.stderr);
    const file = join(target.url.slice('sqlite:'.length), '..', 'report.html');
    writeFileSync(file, r.stdout);

    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    const url = pathToFileURL(file).href;
    page.on('request', (req) => {
      if (req.url() !== url) problems.push(`request: ${req.url()}`);
    });
    await page.goto(url);

    // The sizes the browser laid out (getBBox), not just the attributes written.
    const bars = async (chart: string) =>
      (await page.evaluate(
        `[...document.querySelectorAll('svg#${chart} rect.bar')].map((rect) => {
          const box = rect.getBBox();
          return { label: rect.getAttribute('data-label'), value: Number(rect.getAttribute('data-value')), width: box.width, height: box.height };
        })`,
      )) as BarInfo[];
    const modules = await bars('chart-modules');
    const expectedUsers: [string, number][] = [
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
      modules.map((b) => [b.label, b.value]),
      expectedUsers,
    );
    // The longest bar is 480 units; the others in proportion to distinct users.
    assert.deepEqual(
      modules.map((b) => Math.round(b.width)),
      expectedUsers.map(([, users]) => (users / 4) * 480),
    );
    const labels = await page.evaluate(`[...document.querySelectorAll('svg#chart-modules text.label')].map((x) => x.textContent)`);
    assert.deepEqual(
      labels,
      expectedUsers.map(([name]) => name),
    );

    // The fixture spans June 2023 to March 2024: more than half a year, so month bars.
    const loads = await bars('chart-loads');
    const months = ['2023-06-01', '2023-07-01', '2023-08-01', '2023-09-01', '2023-10-01', '2023-11-01', '2023-12-01', '2024-01-01', '2024-02-01', '2024-03-01'];
    assert.deepEqual(
      loads.map((b) => [b.label, b.value]),
      months.map((m, i) => [m, [1, 0, 0, 0, 0, 0, 1, 7, 5, 5][i]]),
    );
    assert.deepEqual(
      loads.map((b) => Math.round(b.height)),
      [29, 0, 0, 0, 0, 0, 29, 200, 143, 143],
    );
    const users = await bars('chart-users');
    assert.deepEqual(
      users.map((b) => [b.value, Math.round(b.height)]),
      [
        [1, 50],
        [0, 0],
        [0, 0],
        [0, 0],
        [0, 0],
        [0, 0],
        [1, 50],
        [4, 200],
        [4, 200],
        [3, 150],
      ],
    );

    const tables = await page.evaluate(
      `[...document.querySelectorAll('section')].map((s) => ({ id: s.id, charts: s.querySelectorAll('svg').length, rows: s.querySelectorAll('tbody tr').length, firstRow: s.querySelector('tbody tr').textContent }))`,
    );
    assert.deepEqual(tables, [
      { id: 'modules', charts: 1, rows: 8, firstRow: 'gcc2742' + '2023-12-31T23:59:59.999999Z2024-03-05T06:00:00.000000Z' },
      { id: 'trend', charts: 2, rows: 10, firstRow: '2023-06-0111' },
    ]);
    const shot = join(tmpdir(), 'lmod-report-html.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 1000);
    t.diagnostic(`screenshot: ${shot}`);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await target.drop();
  }
});
