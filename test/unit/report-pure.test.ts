import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatCsv, formatNdjson, formatTable } from '../../src/report/format';
import { globToRegExp, tokenizeGlob } from '../../src/report/glob';
import { barChartSvg, compactNumber, escapeHtml, formatNumber, niceTicks, periodLabel, periodName, sparklineSvg, timeChartSvg } from '../../src/report/svg';
import { parseInventory, parsePlainList, parseSpiderJson } from '../../src/report/inventory';
import { periodFor } from '../../src/report/reports';
import { isoTime, parseTimeBound } from '../../src/report/period';
import { durationSeconds as parseDuration } from '../../src/time/duration';
import { moduleMatcher, nextPeriod, periodOf } from '../../src/report/reports';
import type { ReportTable } from '../../src/report/table';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'report');
const NOW = new Date('2024-04-01T12:00:00.250Z');

test('durations: units s, m or min, h, d, w, y; anything else is not a duration', () => {
  assert.equal(parseDuration('30d'), 30 * 86400);
  assert.equal(parseDuration('12h'), 12 * 3600);
  assert.equal(parseDuration('90min'), 5400);
  assert.equal(parseDuration('45s'), 45);
  assert.equal(parseDuration('2w'), 14 * 86400);
  assert.equal(parseDuration('1y'), 365 * 86400);
  assert.equal(parseDuration('30m'), 1800);
  for (const bad of ['30', 'd', '30mo', '1.5d', '-3d', '30 days', '']) assert.equal(parseDuration(bad), null, bad);
});

test('time bounds: dates, times, zones and durations become stored UTC text with microseconds', () => {
  assert.equal(parseTimeBound('2024-01-31', NOW), '2024-01-31 00:00:00.000000');
  assert.equal(parseTimeBound('2024-01-31T12:05', NOW), '2024-01-31 12:05:00.000000');
  assert.equal(parseTimeBound('2024-01-31 12:05:07', NOW), '2024-01-31 12:05:07.000000');
  assert.equal(parseTimeBound('2024-01-31T12:05:07.123456Z', NOW), '2024-01-31 12:05:07.123456');
  assert.equal(parseTimeBound('2024-01-31T12:05:07.5', NOW), '2024-01-31 12:05:07.500000');
  assert.equal(parseTimeBound('2024-01-01T01:30:00.000001+02:00', NOW), '2023-12-31 23:30:00.000001');
  assert.equal(parseTimeBound('2024-01-01T00:00-0130', NOW), '2024-01-01 01:30:00.000000');
  assert.equal(parseTimeBound('30d', NOW), '2024-03-02 12:00:00.250000');
  assert.equal(parseTimeBound('12h', NOW), '2024-04-01 00:00:00.250000');
  for (const bad of ['2024-02-30', '2024-13-01', '2024-01-31T25:00', 'yesterday', '31/01/2024', '2024-1-31']) {
    assert.equal(parseTimeBound(bad, NOW), null, bad);
  }
  assert.equal(isoTime('2024-01-31 12:05:07.123456'), '2024-01-31T12:05:07.123456Z');
  assert.equal(isoTime(null), null);
});

test('globs: tokens, quoting with backslash, classes and an unclosed bracket', () => {
  assert.deepEqual(tokenizeGlob('a\\*b*[!x-z]?'), [
    { kind: 'text', value: 'a*b' },
    { kind: 'star' },
    { kind: 'class', negated: true, body: 'x-z' },
    { kind: 'one' },
  ]);
  assert.deepEqual(tokenizeGlob('[]a]'), [{ kind: 'class', negated: false, body: ']a' }]);
  assert.throws(() => tokenizeGlob('gcc[12'), /unclosed \[ in pattern "gcc\[12"/);
});

test('globs: literal text, quoted wildcards, SQL and regex specials, classes and negated classes', () => {
  const cases: [string, string[], string[]][] = [
    ['gcc/12.2.0', ['gcc/12.2.0'], ['gcc/12.2.01', 'gcc/12x2.0']],
    ['a\\*b', ['a*b'], ['axb', 'a\\*b']],
    ['my_t%!*?', ['my_t%!xy', 'my_t%!y'], ['myxt%!y', 'my_tx!y', 'my_t%!']],
    ['my_t%*\\?x[ab]', ['my_t%1?xa', 'my_t%?xb'], ['my_t%1?xc', 'my_t%1yxa']],
    ['x[!ab]', ['xc', 'x]'], ['xa', 'xb', 'x']],
    ['gcc/1[0-2].*', ['gcc/12.2.0', 'gcc/10.'], ['gcc/13.1', 'gcc/12x2']],
    ['a+[!^\\]b', ['a+xb'], ['a+^b', 'a+\\b', 'aab']],
    ['[]a]', [']', 'a'], ['b']],
  ];
  for (const [glob, matching, others] of cases) {
    const re = globToRegExp(glob);
    for (const name of matching) assert.equal(re.test(name), true, `${glob} matches ${name}`);
    for (const name of others) assert.equal(re.test(name), false, `${glob} does not match ${name}`);
  }
});

test('globs in JavaScript match whole names, case-sensitively', () => {
  const re = globToRegExp('gcc/1[0-2]*');
  assert.equal(re.test('gcc/12.2.0'), true);
  assert.equal(re.test('gcc/9.4.0'), false);
  assert.equal(re.test('Gcc/12.2.0'), false);
  assert.equal(globToRegExp('my_tool*').test('myxtool/1.0'), false);
  assert.equal(globToRegExp('p?thon/[!2]*').test('python/3.11.4'), true);
  const matches = moduleMatcher(['gcc', 'mpi/*']);
  assert.deepEqual(['gcc/9.4.0', 'gcc', 'Gcc/5.4.0', 'mpi/openmpi/4.1.5', 'R/4.3.1'].filter(matches), ['gcc/9.4.0', 'gcc', 'mpi/openmpi/4.1.5']);
});

test('inventory: real `spider -o spider-json` output, hidden modules included', () => {
  const inv = parseInventory(readFileSync(join(FIXTURES, 'inventory.spider.json'), 'utf8'));
  assert.deepEqual(inv, {
    modules: ['R/4.3.1', 'StdEnv', 'cmake/3.27.0', 'gcc/12.2.0', 'gcc/9.4.0', 'mpi/openmpi/4.1.5', 'python/.3.9.0', 'python/3.11.4'],
    problems: [],
  });
});

test('inventory: real `module -t avail` output, headers and package lines skipped', () => {
  const inv = parseInventory(readFileSync(join(FIXTURES, 'inventory.avail.txt'), 'utf8'));
  assert.deepEqual(inv, {
    modules: ['R/4.3.1', 'StdEnv', 'cmake/3.27.0', 'gcc/12.2.0', 'gcc/9.4.0', 'mpi/openmpi/4.1.5', 'python/3.11.4'],
    problems: [],
  });
});

test('inventory: default and alias markers stripped, duplicates merged, bad lines reported', () => {
  const text = '/apps/Core:\ngcc/12.2.0(default)\ngcc/12.2.0\nR/4.3.1 (D)\nintel/2023 <aL>\r\n\n# note\nnot a module name\n';
  assert.deepEqual(parsePlainList(text), {
    modules: ['R/4.3.1', 'gcc/12.2.0', 'intel/2023'],
    problems: [{ line: 8, reason: 'not a module name (contains white space)', text: 'not a module name' }],
  });
  assert.deepEqual(parseSpiderJson('{"gcc": {"/a/gcc/1.lua": {"fullName": "gcc/1"}, "/a/gcc/2.lua": {}}}'), {
    modules: ['gcc/1'],
    problems: [{ line: 1, reason: 'no fullName for gcc in /a/gcc/2.lua', text: '{}' }],
  });
  const broken = parseSpiderJson('{"gcc": ');
  assert.equal(broken.modules.length, 0);
  assert.match(broken.problems[0].reason, /^not valid JSON/);
  assert.deepEqual(parseSpiderJson('[1]').problems[0].reason, 'spider-json must be an object of packages');
});

test('periods: starts, next periods across month and year ends, ISO weeks from Monday', () => {
  assert.equal(periodOf('2024-01-14 23:00:00.000000', 'week'), '2024-01-08');
  assert.equal(periodOf('2024-01-15 00:00:00.000000', 'week'), '2024-01-15');
  assert.equal(periodOf('2023-12-31 23:59:59.999999', 'week'), '2023-12-25');
  assert.equal(periodOf('2024-02-29 12:00:00.000000', 'month'), '2024-02-01');
  assert.equal(periodOf('2024-02-29 12:00:00.000000', 'day'), '2024-02-29');
  assert.equal(nextPeriod('2024-01-31', 'day'), '2024-02-01');
  assert.equal(nextPeriod('2023-12-25', 'week'), '2024-01-01');
  assert.equal(nextPeriod('2023-12-01', 'month'), '2024-01-01');
  assert.equal(periodFor('2024-01-01 00:00:00.000000', '2024-01-31 00:00:00.000000'), 'day');
  assert.equal(periodFor('2024-01-01 00:00:00.000000', '2024-02-15 00:00:00.000000'), 'week');
  assert.equal(periodFor('2023-06-15 00:00:00.000000', '2024-03-31 00:00:00.000000'), 'month');
});

const SAMPLE: ReportTable = {
  title: 'sample',
  columns: [
    { key: 'module', label: 'module' },
    { key: 'loads', label: 'loads', numeric: true },
    { key: 'last_load', label: 'last load' },
  ],
  rows: [
    { module: 'gcc/12.2.0', loads: 1234, last_load: '2024-03-05T06:00:00.000000Z' },
    { module: 'a,"quoted"', loads: 7, last_load: null },
  ],
};

test('formats: aligned table, NDJSON in column order, RFC 4180 CSV', () => {
  assert.equal(
    formatTable(SAMPLE),
    'module      loads  last load\n' +
      '----------  -----  ---------------------------\n' +
      'gcc/12.2.0   1234  2024-03-05T06:00:00.000000Z\n' +
      'a,"quoted"      7  -\n',
  );
  assert.equal(
    formatNdjson(SAMPLE),
    '{"module":"gcc/12.2.0","loads":1234,"last_load":"2024-03-05T06:00:00.000000Z"}\n{"module":"a,\\"quoted\\"","loads":7,"last_load":null}\n',
  );
  assert.equal(formatCsv(SAMPLE), 'module,loads,last_load\r\ngcc/12.2.0,1234,2024-03-05T06:00:00.000000Z\r\n"a,""quoted""",7,\r\n');
  assert.equal(formatTable({ ...SAMPLE, rows: [] }), 'module  loads  last load\n------  -----  ---------\n');
});

test('charts: nice ticks, bar lengths and heights on the axis, date labels, labels escaped', () => {
  assert.equal(escapeHtml(`<a href="x">&'`), '&#60;a href=&#34;x&#34;&#62;&#38;&#39;');
  assert.deepEqual(niceTicks(4), [0, 1, 2, 3, 4]);
  assert.deepEqual(niceTicks(7), [0, 2, 4, 6, 8]);
  assert.deepEqual(niceTicks(0), [0, 1]);
  assert.deepEqual(niceTicks(1234), [0, 250, 500, 750, 1000, 1250]);
  assert.deepEqual(niceTicks(98_000), [0, 20_000, 40_000, 60_000, 80_000, 100_000]);
  assert.equal(compactNumber(950), '950');
  assert.equal(compactNumber(12_500), '12.5k');
  assert.equal(compactNumber(1_500_000), '1.5M');
  assert.equal(formatNumber(1234567), '1,234,567');
  assert.equal(formatNumber(12.345), '12.3');
  assert.equal(formatNumber(190_893_966.8), '190,893,967');
  assert.equal(periodLabel('2024-03-01', 'month'), 'Mar 2024');
  assert.equal(periodLabel('2024-03-04', 'week'), '4 Mar 2024');
  assert.equal(periodName('2024-03-04', 'week'), 'week of 4 Mar 2024');

  // 4 users: the axis runs 0-4, so 4 is the whole 600-unit plot and 1 a quarter of it.
  const bars = barChartSvg(
    'c',
    'cap',
    [
      { label: 'gcc', value: 4 },
      { label: '<b>', value: 1 },
    ],
    'users',
  );
  assert.deepEqual(
    [...bars.matchAll(/<g class="row" data-tip="([^"]*)">.*?<rect class="bar"[^>]* width="([\d.]+)"[^>]*data-label="([^"]*)" data-value="(\d+)"/g)].map((m) =>
      m.slice(1),
    ),
    [
      ['gcc: 4 users', '600', 'gcc', '4'],
      ['&#60;b&#62;: 1 user', '150', '&#60;b&#62;', '1'],
    ],
  );
  assert.deepEqual(
    [...bars.matchAll(/<text class="tick"[^>]*>([^<]*)</g)].map((m) => m[1]),
    ['0', '1', '2', '3', '4'],
  );

  // 6 loads: the axis runs 0-6 on 220 units.
  const columns = timeChartSvg(
    't',
    'cap',
    [
      { label: '2024-01-01', value: 3 },
      { label: '2024-02-01', value: 0 },
      { label: '2024-03-01', value: 6 },
    ],
    'month',
    'loads',
  );
  assert.deepEqual(
    [...columns.matchAll(/<g class="col" data-tip="([^"]*)">.*? height="([\d.]+)" data-label="([^"]*)"/g)].map((m) => m.slice(1)),
    [
      ['Jan 2024: 3 loads', '110', '2024-01-01'],
      ['Feb 2024: 0 loads', '0', '2024-02-01'],
      ['Mar 2024: 6 loads', '220', '2024-03-01'],
    ],
  );
  assert.deepEqual(
    [...columns.matchAll(/<text class="tick"[^>]*>([^<]*)</g)].map((m) => m[1]),
    ['0', '2', '4', '6', 'Jan 2024', 'Feb 2024', 'Mar 2024'],
  );
  const long = barChartSvg('c', 'cap', [{ label: `apps/${'x'.repeat(40)}/1.0`, value: 1 }], 'loads');
  assert.match(long, new RegExp(`text-anchor="end">apps/${'x'.repeat(26)}\u2026</text>`));
  assert.match(long, new RegExp(`data-tip="apps/${'x'.repeat(40)}/1.0: 1 load"`));
  const spark = sparklineSvg('gcc', ['2024-01-01', '2024-02-01'], [2, 5], 'month');
  assert.match(spark, /data-tip="gcc: 7 loads; most in Feb 2024 \(5\)" data-values="2 5"/);
});
