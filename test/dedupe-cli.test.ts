import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { canMakeNonBlocking, runNonBlocking } from './helpers/nonblocking';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'lmod-dedupe.js');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'dedupe');
const tmp = mkdtempSync(join(tmpdir(), 'lmod-dedupe-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], input?: string | Buffer): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', cwd: FIXTURES });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The fixture's lines by number (1-based), each with its newline. */
function lines(fixture: string, ...numbers: number[]): string {
  const all = readFileSync(join(FIXTURES, fixture), 'utf8').split('\n');
  return numbers.map((n) => `${all[n - 1]}\n`).join('');
}

/** stderr without the summary's timing, which varies. */
function diagnostics(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.replace(/ in \d+\.\d\d s \([\d,]+ records\/s\)$/, ''));
}

describe('lmod-dedupe: exact de-duplication', () => {
  test('keeps the first of identical lines and of the same event with other extra; reports bad lines by number', () => {
    const r = run(['basic.ndjson']);
    assert.equal(r.stdout, lines('basic.ndjson', 1, 4, 5, 6, 11, 13));
    assert.deepEqual(diagnostics(r.stderr), [
      'lmod-dedupe: basic.ndjson:7: not JSON: {"time":"2023-04-27T07:23:00.000000Z","user":"alice",',
      'lmod-dedupe: basic.ndjson:8: not a JSON object: [1,2]',
      'lmod-dedupe: basic.ndjson:9: missing key field "host"',
      'lmod-dedupe: 13 records in, 6 out, 4 dropped as duplicates, 3 rejected',
    ]);
    assert.equal(r.code, 1);
  });

  test('reads stdin, `-` and several files in order; first occurrence wins across files', () => {
    const basic = readFileSync(join(FIXTURES, 'basic.ndjson'));
    const r = run(['--quiet', '-', 'edges.ndjson'], basic);
    assert.equal(r.stdout, lines('basic.ndjson', 1, 4, 5, 6, 11, 13) + lines('edges.ndjson', 1, 2, 3, 4, 5, 6, 7, 8, 9, 10));
    assert.deepEqual(diagnostics(r.stderr), [
      'lmod-dedupe: stdin:7: not JSON: {"time":"2023-04-27T07:23:00.000000Z","user":"alice",',
      'lmod-dedupe: stdin:8: not a JSON object: [1,2]',
      'lmod-dedupe: stdin:9: missing key field "host"',
    ]);
    assert.equal(r.code, 1);
    const twice = run(['--quiet', 'edges.ndjson', 'edges.ndjson']);
    assert.equal(twice.stdout, lines('edges.ndjson', 1, 2, 3, 4, 5, 6, 7, 8, 9, 10));
    assert.equal(twice.code, 0);
  });

  test('compares key values as JSON.parse gives them: escapes, reordered fields, whitespace, surrogates', () => {
    const r = run(['escapes.ndjson']);
    assert.equal(r.stdout, lines('escapes.ndjson', 1, 3, 5, 9));
    assert.deepEqual(diagnostics(r.stderr), [
      'lmod-dedupe: escapes.ndjson:11: not JSON: {"time":"2023-04-27T07:22:57.622180Z","user":"alice","module":"gcc/12","name":"gcc","version":"12","path":"\\x","host":"n',
      'lmod-dedupe: 11 records in, 4 out, 6 dropped as duplicates, 1 rejected',
    ]);
  });

  test('gzip input, CRLF lines, a last line without newline, blank lines', () => {
    const text = lines('basic.ndjson', 1, 2, 4).replace(/\n/g, '\r\n') + '\n' + lines('basic.ndjson', 5).trimEnd();
    const gz = join(tmp, 'crlf.ndjson.gz');
    writeFileSync(gz, gzipSync(text));
    const r = run([gz]);
    assert.equal(r.stdout, lines('basic.ndjson', 1, 4, 5));
    assert.match(r.stderr, /^lmod-dedupe: 4 records in, 3 out, 1 dropped as duplicates, 0 rejected in /);
    assert.equal(r.code, 0);
  });

  test('--key picks the fields, extra.NAME included; a record without one is rejected', () => {
    const byUser = run(['--quiet', '--key', 'user', 'basic.ndjson']);
    assert.equal(byUser.stdout, lines('basic.ndjson', 1, 4, 9, 11));
    const byStack = run(['--key', 'extra.stack', 'count.ndjson']);
    assert.equal(byStack.stdout, lines('count.ndjson', 2, 6));
    assert.deepEqual(diagnostics(byStack.stderr), [
      'lmod-dedupe: count.ndjson:1: missing key field "extra.stack"',
      'lmod-dedupe: count.ndjson:4: missing key field "extra.stack"',
      'lmod-dedupe: count.ndjson:5: missing key field "extra.stack"',
      'lmod-dedupe: 6 records in, 2 out, 1 dropped as duplicates, 3 rejected',
    ]);
  });

  test('--max-errors stops with exit 2 after the limit, keeping what came before', () => {
    const r = run(['--max-errors', '1', 'basic.ndjson']);
    assert.equal(r.stdout, lines('basic.ndjson', 1, 4, 5, 6));
    assert.deepEqual(diagnostics(r.stderr), [
      'lmod-dedupe: basic.ndjson:7: not JSON: {"time":"2023-04-27T07:23:00.000000Z","user":"alice",',
      'lmod-dedupe: basic.ndjson:8: not a JSON object: [1,2]',
      'lmod-dedupe: stopped after 2 errors (--max-errors 1)',
    ]);
    assert.equal(r.code, 2);
    const none = run(['--max-errors', '0', 'basic.ndjson']);
    assert.equal(none.stdout, lines('basic.ndjson', 1, 4, 5, 6));
    assert.equal(none.code, 2);
  });

  test('a missing input is reported, the others are read, exit 2', () => {
    const r = run(['--quiet', 'nope.ndjson', 'edges.ndjson']);
    assert.equal(r.stdout, lines('edges.ndjson', 1, 2, 3, 4, 5, 6, 7, 8, 9, 10));
    assert.equal(r.stderr, 'lmod-dedupe: nope.ndjson: No such file or directory\n');
    assert.equal(r.code, 2);
  });

  test('a gzip file cut short is reported, the next input is read, exit 2', () => {
    const cut = join(tmp, 'cut.ndjson.gz');
    writeFileSync(cut, gzipSync(readFileSync(join(FIXTURES, 'edges.ndjson'))).subarray(0, 12));
    const r = run(['--quiet', cut, 'window.ndjson']);
    assert.equal(r.stdout, lines('window.ndjson', 1, 2, 4, 6));
    assert.equal(r.stderr.split('\n')[0], `lmod-dedupe: ${cut}: gzip: unexpected end of file`);
    assert.equal(r.code, 2);
  });

  test('usage errors exit 2', () => {
    const cases: [string[], RegExp][] = [
      [['--per', 'fortnight'], /argument 'fortnight' is invalid/],
      [['--window', '10x'], /expected a duration such as 90s, 10m, 1h, 2d or 1w/],
      [['--window', '1h', '--key', 'user,module'], /--window needs a key that contains time/],
      [['--window', '1h', '--per', 'day'], /--per and --window exclude each other/],
      [['--count', '--key', 'count'], /--count: key field "count" clashes/],
      [['--key', 'user,,module'], /--key: "" is not a field name/],
      [['--key', 'user,user'], /--key: "user" is named twice/],
    ];
    for (const [args, message] of cases) {
      const r = run([...args, 'edges.ndjson']);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    }
  });

  test('--help shows an example pipeline and exits 0', () => {
    const r = run(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /lmod-parse \/var\/log\/lmod\/lmod.log-\*.gz \| lmod-dedupe \| lmod-load/);
  });

  test('stdin and stdout that another process made non-blocking: every kept record arrives, in order, exit 0', (t) => {
    if (!canMakeNonBlocking()) return t.skip('python3 is not installed');
    const record = (i: number): string =>
      `{"time":"2023-04-27T07:22:57.${String(i % 1e6).padStart(6, '0')}Z","user":"u${i % 5000}","module":"gcc/12","name":"gcc","version":"12","path":null,"host":"n1","jobid":null,"userload":true}\n`;
    // 150,000 records, every tenth one a repeat of the one before it: 10 MB through each pipe.
    writeFileSync(join(tmp, 'nonblocking.ndjson'), Array.from({ length: 150000 }, (_, i) => record(i % 10 === 9 ? i - 1 : i)).join(''));
    const r = runNonBlocking(BIN, ['-q'], 'nonblocking.ndjson', 'out.ndjson', tmp);
    assert.deepEqual(r, { statuses: '0 0 0', stderr: '' });
    const expected = Array.from({ length: 150000 }, (_, i) => i)
      .filter((i) => i % 10 !== 9)
      .map(record)
      .join('');
    assert.equal(readFileSync(join(tmp, 'out.ndjson'), 'utf8'), expected);
  });

  test('a reader that goes away ends the run quietly with 0', async () => {
    const big = join(tmp, 'big.ndjson');
    const record = (i: number): string =>
      `{"time":"2023-04-27T07:22:57.${String(i % 1e6).padStart(6, '0')}Z","user":"u${i}","module":"gcc/12","name":"gcc","version":"12","path":null,"host":"n1","jobid":null,"userload":true}\n`;
    writeFileSync(big, Array.from({ length: 200000 }, (_, i) => record(i)).join(''));
    const child = spawn('bash', ['-c', `node '${BIN}' '${big}' | head -n 1`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(stdout, record(0));
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });
});

describe('lmod-dedupe --per', () => {
  const expected: [string, number[]][] = [
    ['hour', [1, 2, 4, 5, 6, 7, 8, 9, 10]],
    ['day', [1, 2, 6, 7, 8, 9, 10]],
    ['week', [1, 2, 8, 9]],
    ['month', [1, 2, 10]],
  ];
  for (const [period, kept] of expected) {
    test(`--per ${period}: the first record per key per UTC ${period}, edges to the microsecond`, () => {
      const r = run(['--key', 'user,host,module', '--per', period, 'edges.ndjson']);
      assert.equal(r.stdout, lines('edges.ndjson', ...kept));
      assert.deepEqual(diagnostics(r.stderr), [`lmod-dedupe: 10 records in, ${kept.length} out, ${10 - kept.length} dropped as duplicates, 0 rejected`]);
      assert.equal(r.code, 0);
    });
  }

  test('keeps the previous bucket for records a little out of order; older ones pass unchecked and are counted', () => {
    const input = lines('edges.ndjson', 2, 6, 5, 10, 9, 1, 1);
    const r = run(['--key', 'user,host,module', '--per', 'day'], input);
    // 6 is the newest day when 5 (the day before) comes: a duplicate. 9 is the day before 10: kept.
    // 1 is far older than 10 when it comes: passed on without a check, both times.
    assert.equal(r.stdout, lines('edges.ndjson', 2, 6, 10, 9, 1, 1));
    assert.deepEqual(diagnostics(r.stderr), [
      'lmod-dedupe: stdin:6: record older than the current and previous day: passed on without a duplicate check (further ones only counted)',
      'lmod-dedupe: 7 records in, 6 out, 1 dropped as duplicates, 0 rejected, 2 too late to check',
    ]);
    assert.equal(r.code, 0);
  });

  test('rejects a record whose time is not in the record format', () => {
    const bad = lines('edges.ndjson', 1).replace('2023-04-30T23:59:59.999999Z', '2023-04-31T00:00:00.000000Z');
    const short = lines('edges.ndjson', 1).replace('.999999Z', 'Z');
    const r = run(['--per', 'day', '--key', 'user'], bad + short + lines('edges.ndjson', 2));
    assert.equal(r.stdout, lines('edges.ndjson', 2));
    assert.deepEqual(diagnostics(r.stderr), [
      'lmod-dedupe: stdin:1: time is not YYYY-MM-DDTHH:MM:SS.ffffffZ: "2023-04-31T00:00:00.000000Z"',
      'lmod-dedupe: stdin:2: time is not YYYY-MM-DDTHH:MM:SS.ffffffZ: "2023-04-30T23:59:59Z"',
      'lmod-dedupe: 3 records in, 1 out, 0 dropped as duplicates, 2 rejected',
    ]);
    assert.equal(r.code, 1);
  });
});

describe('lmod-dedupe --window', () => {
  test('forgets keys once the newest time is more than the window past them', () => {
    const r = run(['--window', '10m', 'window.ndjson']);
    // Slices of 10 minutes; the newest and the one before are kept. Line 5's key (00:00) is
    // still remembered at 00:19:59; at 00:25 its slice is forgotten, so 7 and 8 pass again.
    assert.equal(r.stdout, lines('window.ndjson', 1, 2, 4, 6, 7, 8));
    assert.deepEqual(diagnostics(r.stderr), [
      'lmod-dedupe: window.ndjson:7: record older than the window: passed on without a duplicate check (further ones only counted)',
      'lmod-dedupe: 9 records in, 6 out, 3 dropped as duplicates, 0 rejected, 2 too late to check',
    ]);
    assert.equal(r.code, 0);
  });

  test('a window as long as the input forgets nothing', () => {
    const r = run(['--quiet', '--window', '1h', 'window.ndjson']);
    assert.equal(r.stdout, lines('window.ndjson', 1, 2, 4, 6));
  });
});

describe('lmod-dedupe --count', () => {
  test('one object per key with count, first and last time, in order of first appearance', () => {
    const r = run(['--key', 'module', '--count', 'count.ndjson']);
    assert.equal(
      r.stdout,
      '{"module":"gcc/12.2.0","count":4,"first":"2023-04-27T07:00:00.000000Z","last":"2023-04-28T10:00:00.000000Z"}\n' +
        '{"module":"python/3.11","count":2,"first":"2023-04-27T08:00:00.000000Z","last":"2023-04-28T11:00:00.000000Z"}\n',
    );
    assert.deepEqual(diagnostics(r.stderr), ['lmod-dedupe: 6 records in, 2 keys out, 0 rejected']);
  });

  test('after a dedupe, counts loads rather than lines', () => {
    const first = run(['--quiet', 'count.ndjson']);
    const r = run(['--quiet', '--key', 'module', '--count'], first.stdout);
    assert.equal(
      r.stdout,
      '{"module":"gcc/12.2.0","count":3,"first":"2023-04-27T07:00:00.000000Z","last":"2023-04-28T10:00:00.000000Z"}\n' +
        '{"module":"python/3.11","count":2,"first":"2023-04-27T08:00:00.000000Z","last":"2023-04-28T11:00:00.000000Z"}\n',
    );
  });

  test('--per day counts per day, nested key fields as in the records', () => {
    const r = run(['--quiet', '--key', 'user,extra.stack', '--per', 'day', '--count', 'count.ndjson']);
    assert.equal(
      r.stdout,
      '{"day":"2023-04-27","user":"bob","extra":{"stack":"2023a"},"count":2,"first":"2023-04-27T07:00:00.000000Z","last":"2023-04-27T08:00:00.000000Z"}\n' +
        '{"day":"2023-04-28","user":"carol","extra":{"stack":"2022b"},"count":1,"first":"2023-04-28T11:00:00.000000Z","last":"2023-04-28T11:00:00.000000Z"}\n',
    );
    assert.equal(r.code, 1);
  });

  test('--per week labels ISO weeks', () => {
    const r = run(['--quiet', '--key', 'user', '--per', 'week', '--count', 'edges.ndjson']);
    assert.deepEqual(
      r.stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as { week: string; count: number })
        .map((o) => `${o.week} ${o.count}`),
      ['2023-W17 1', '2023-W18 6', '2023-W19 1', '2023-W22 2'],
    );
  });
});
