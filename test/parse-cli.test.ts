import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { logLines } from './helpers/generate';
import { canMakeNonBlocking, runNonBlocking } from './helpers/nonblocking';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'lmod-parse.js');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'parse');
const TMP = mkdtempSync(join(tmpdir(), 'lmod-parse-cli-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

for (const name of ['formats.log', 'formats.ndjson', 'malformed.log', 'skipped.log']) copyFileSync(join(FIXTURES, name), join(TMP, name));
const FORMATS_NDJSON = readFileSync(join(FIXTURES, 'formats.ndjson'), 'utf8');
const FIXTURE_OPTIONS = ['--year', '2024', '--tz', 'UTC', '--tag', 'MySite_Tracker'];
const SUMMARY = /^lmod-parse: ([\d,]+) lines, ([\d,]+) records, ([\d,]+) skipped, ([\d,]+) malformed in \d+\.\d\d s \([\d,]+ lines\/s\)$/;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs lmod-parse as a user would, in the scratch directory holding copies of the fixtures. */
function lmodParse(args: string[], options: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): Run {
  const spawnOptions: SpawnSyncOptions = {
    cwd: TMP,
    input: options.input ?? '',
    encoding: 'utf8',
    env: { ...process.env, ...options.env },
    maxBuffer: 1 << 28,
  };
  const r = spawnSync(process.execPath, [BIN, ...args], spawnOptions);
  return { status: r.status, stdout: r.stdout as unknown as string, stderr: r.stderr as unknown as string };
}

function stderrLines(run: Run): string[] {
  return run.stderr.split('\n').filter((l) => l !== '');
}

/** What malformed.log gives on stderr, line by line, for an input named `name`. */
function malformedMessages(name: string): string[] {
  const reasons = [
    'empty user',
    'no module',
    'no user',
    'no module',
    'no time',
    'bad time',
    'empty time',
    'cut short (unterminated quote)',
    'cut short (ends in a word without =)',
    'bad JSON payload',
    'JSON payload is not an object',
    'empty user',
    'no time',
    'bad time',
    'no time',
    'bad time',
    'empty user',
  ];
  const lines = readFileSync(join(FIXTURES, 'malformed.log'), 'utf8').trimEnd().split('\n');
  return lines.map((line, i) => {
    const excerpt = line.slice(0, 120).replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
    return `lmod-parse: ${name}:${i + 1}: ${reasons[i]}: ${excerpt}`;
  });
}

test('a file: exact NDJSON on stdout, the summary on stderr, exit 0; --quiet hides the summary', () => {
  const run = lmodParse([...FIXTURE_OPTIONS, 'formats.log']);
  assert.equal(run.stdout, FORMATS_NDJSON);
  assert.match(run.stderr.trimEnd(), SUMMARY);
  assert.deepEqual(SUMMARY.exec(run.stderr.trimEnd())?.slice(1, 5), ['32', '32', '0', '0']);
  assert.equal(run.status, 0);
  const quiet = lmodParse([...FIXTURE_OPTIONS, '--quiet', 'formats.log']);
  assert.equal(quiet.stdout, FORMATS_NDJSON);
  assert.equal(quiet.stderr, '');
  assert.equal(quiet.status, 0);
});

test('malformed lines: the exact stderr line with FILE:LINE, reason and excerpt; nothing on stdout; exit 1', () => {
  const run = lmodParse(['-q', 'malformed.log']);
  assert.equal(run.stdout, '');
  assert.deepEqual(stderrLines(run), malformedMessages('malformed.log'));
  assert.ok(run.stderr.includes('user= module=a\\x01b\\x09path=/x'), 'control characters shown as \\xNN');
  // The excerpt is the first 120 characters.
  assert.equal(
    stderrLines(run)[1],
    'lmod-parse: malformed.log:2: no module: Jun 28 10:00:01 tss-hpccm-t01 ModuleUsageTracking[2574390]: user=rootmodule=cmsh path=/cm/local/modulefiles/cmsh host=ts',
  );
  assert.equal(run.status, 1);
});

test('skipped lines are counted, not reported: exit 0', () => {
  const run = lmodParse(['skipped.log']);
  assert.equal(run.stdout, '');
  assert.deepEqual(SUMMARY.exec(run.stderr.trimEnd())?.slice(1, 5), ['22', '0', '22', '0']);
  assert.equal(run.status, 0);
});

test('stdin with no argument and with -, named stdin in messages and sources', () => {
  const none = lmodParse([...FIXTURE_OPTIONS, '-q'], { input: readFileSync(join(FIXTURES, 'formats.log')) });
  assert.equal(none.stdout, FORMATS_NDJSON);
  assert.equal(none.status, 0);
  const dash = lmodParse(['-q', '-'], { input: readFileSync(join(FIXTURES, 'malformed.log')) });
  assert.deepEqual(stderrLines(dash), malformedMessages('stdin'));
  assert.equal(dash.status, 1);
  const sourced = lmodParse([...FIXTURE_OPTIONS, '-q', '--with-source', 'formats.log', '-'], {
    input: 'ModuleUsageTracking: user=s module=m time=1\n',
  });
  const sources = sourced.stdout
    .trimEnd()
    .split('\n')
    .map((l) => (JSON.parse(l) as { source: string }).source);
  assert.deepEqual(sources, [...Array.from({ length: 32 }, (_, i) => `formats.log:${i + 1}`), 'stdin:1']);
});

test('several files in order, - among them; counts add up; exit 1 for the malformed ones', () => {
  const run = lmodParse([...FIXTURE_OPTIONS, 'formats.log', '-', 'skipped.log'], { input: readFileSync(join(FIXTURES, 'malformed.log')) });
  assert.equal(run.stdout, FORMATS_NDJSON);
  const lines = stderrLines(run);
  assert.deepEqual(lines.slice(0, -1), malformedMessages('stdin'));
  assert.deepEqual(SUMMARY.exec(lines.at(-1) ?? '')?.slice(1, 5), ['71', '32', '22', '17']);
  assert.equal(run.status, 1);
});

test('gzip input is found by its magic bytes, whatever the name; CRLF files parse like LF ones', () => {
  const raw = readFileSync(join(FIXTURES, 'formats.log'));
  writeFileSync(join(TMP, 'formats.log.gz'), gzipSync(raw));
  writeFileSync(join(TMP, 'rotated.1'), gzipSync(raw));
  writeFileSync(join(TMP, 'crlf.log'), raw.toString().replace(/\n/g, '\r\n'));
  const run = lmodParse([...FIXTURE_OPTIONS, '-q', 'formats.log.gz', 'rotated.1', 'crlf.log']);
  assert.equal(run.stdout, FORMATS_NDJSON.repeat(3));
  assert.equal(run.stderr, '');
  assert.equal(run.status, 0);
  const piped = lmodParse([...FIXTURE_OPTIONS, '-q'], { input: gzipSync(raw) });
  assert.equal(piped.stdout, FORMATS_NDJSON);
});

test('a cut gzip file and a directory are reported by name, the records before the cut go out, the other files are read, exit 2', () => {
  const raw = readFileSync(join(FIXTURES, 'formats.log'));
  const gzip = gzipSync(raw);
  writeFileSync(join(TMP, 'cut.gz'), gzip.subarray(0, gzip.length - 10));
  const run = lmodParse([...FIXTURE_OPTIONS, 'cut.gz', '.', 'formats.log']);
  assert.equal(run.stdout, FORMATS_NDJSON.repeat(2));
  assert.deepEqual(stderrLines(run).slice(0, 2), ['lmod-parse: cut.gz: gzip: unexpected end of file', 'lmod-parse: .: Is a directory']);
  assert.match(stderrLines(run)[2], SUMMARY);
  assert.equal(run.status, 2);
});

test('a missing file is reported by name, the other files are still read, exit 2', () => {
  const run = lmodParse([...FIXTURE_OPTIONS, 'nope.log', 'formats.log', 'malformed.log']);
  assert.equal(run.stdout, FORMATS_NDJSON);
  const lines = stderrLines(run);
  assert.equal(lines[0], 'lmod-parse: nope.log: No such file or directory');
  assert.deepEqual(lines.slice(1, -1), malformedMessages('malformed.log'));
  assert.match(lines.at(-1) ?? '', SUMMARY);
  assert.equal(run.status, 2);
});

test('--max-errors N stops after more than N malformed lines with exit 2', () => {
  const run = lmodParse(['--max-errors', '2', 'malformed.log']);
  assert.deepEqual(stderrLines(run), [...malformedMessages('malformed.log').slice(0, 3), 'lmod-parse: stopped after 3 errors (--max-errors 2)']);
  assert.equal(run.status, 2);
  const zero = lmodParse(['--max-errors', '0', 'malformed.log']);
  assert.deepEqual(stderrLines(zero), [malformedMessages('malformed.log')[0], 'lmod-parse: stopped after 1 errors (--max-errors 0)']);
  assert.equal(zero.status, 2);
  const enough = lmodParse(['-q', '--max-errors', '17', 'malformed.log']);
  assert.equal(stderrLines(enough).length, 17);
  assert.equal(enough.status, 1);
});

test('--max-errors: the records before the line that stopped the run are written', () => {
  const run = lmodParse([...FIXTURE_OPTIONS, '--max-errors', '0', 'formats.log', 'malformed.log', 'formats.log']);
  assert.equal(run.stdout, FORMATS_NDJSON);
  assert.deepEqual(stderrLines(run), [malformedMessages('malformed.log')[0], 'lmod-parse: stopped after 1 errors (--max-errors 0)']);
  assert.equal(run.status, 2);
});

test('--max-line: longer lines are reported by number without excerpt and skipped; the rest parses', () => {
  const lengths = readFileSync(join(FIXTURES, 'formats.log'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => l.length);
  const run = lmodParse([...FIXTURE_OPTIONS, '-q', '--max-line', '200', 'formats.log']);
  const long = lengths.flatMap((n, i) => (n > 200 ? [i + 1] : []));
  assert.ok(long.length >= 3);
  assert.deepEqual(
    stderrLines(run),
    long.map((n) => `lmod-parse: formats.log:${n}: line longer than 200 bytes`),
  );
  const kept = FORMATS_NDJSON.trimEnd()
    .split('\n')
    .filter((_, i) => lengths[i] <= 200);
  assert.equal(run.stdout, kept.map((l) => `${l}\n`).join(''));
  assert.equal(run.status, 1);
});

test('--max-line counts UTF-8 bytes, as syslog size limits do', () => {
  const line = `ModuleUsageTracking: user=a module=${'é'.repeat(200)} time=1`;
  assert.equal(line.length, 242);
  assert.equal(Buffer.byteLength(line), 442);
  const over = lmodParse(['-q', '--max-line', '441'], { input: `${line}\n` });
  assert.equal(over.stderr, 'lmod-parse: stdin:1: line longer than 441 bytes\n');
  assert.equal(over.stdout, '');
  assert.equal(over.status, 1);
  const within = lmodParse(['-q', '--max-line', '442'], { input: `${line}\n` });
  assert.equal(within.stderr, '');
  assert.equal((JSON.parse(within.stdout) as { module: string }).module, 'é'.repeat(200));
  assert.equal(within.status, 0);
});

test('a 50 MB line without newline is reported and skipped with peak RSS far below its size', (t) => {
  if (!existsSync('/usr/bin/time')) return t.skip('GNU time (/usr/bin/time) is not installed');
  const fd = openSync(join(TMP, 'huge.log'), 'w');
  writeSync(fd, 'ModuleUsageTracking: user=a module=m time=1\n');
  const mb = Buffer.alloc(1 << 20, 'x');
  for (let i = 0; i < 50; i++) writeSync(fd, mb);
  writeSync(fd, '\nModuleUsageTracking: user=b module=m time=2\n');
  closeSync(fd);
  const r = spawnSync('/usr/bin/time', ['-f', 'peak %M', process.execPath, BIN, '-q', 'huge.log'], { cwd: TMP, encoding: 'utf8' });
  const lines = r.stderr.trimEnd().split('\n');
  const peakKb = Number(/^peak (\d+)$/.exec(lines.pop() ?? '')?.[1]);
  assert.deepEqual(lines, ['lmod-parse: huge.log:2: line longer than 65536 bytes', 'Command exited with non-zero status 1']);
  assert.deepEqual(
    r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => (JSON.parse(l) as { user: string }).user),
    ['a', 'b'],
  );
  // Holding the line would take 50 MB for the text alone, several times that while joining chunks.
  assert.ok(peakKb > 0 && peakKb < 120 * 1024, `peak RSS ${peakKb} kB`);
});

test('--tag REGEX is matched against the whole tag', () => {
  const input = 'May  1 09:00:05 n1 MySite_Tracker[5]: user=quinn module=lammps/2023 time=1700000012\n';
  const users = (args: string[]) =>
    lmodParse(['-q', ...args], { input })
      .stdout.trimEnd()
      .split('\n')
      .filter((l) => l !== '').length;
  assert.equal(users([]), 0);
  assert.equal(users(['--tag', 'MySite']), 0);
  assert.equal(users(['--tag', 'Tracker']), 0);
  assert.equal(users(['--tag', 'MySite_Tracker']), 1);
  assert.equal(users(['--tag', 'MySite_.*|Other']), 1);
});

test('usage errors exit 2; --help (with examples) and --version exit 0', () => {
  for (const args of [['--tz', 'Mars/Olympus'], ['--year', 'soon'], ['--tag', '('], ['--max-errors', '-1'], ['--max-line', '0'], ['--bogus']]) {
    const run = lmodParse(args);
    assert.equal(run.status, 2, args.join(' '));
    assert.equal(run.stdout, '');
    assert.notEqual(run.stderr, '');
  }
  const help = lmodParse(['--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Usage: lmod-parse/);
  assert.match(help.stdout, /lmod-parse \/var\/log\/lmod\/lmod\.log-\*\.gz \| lmod-dedupe \| lmod-load/);
  const version = lmodParse(['--version']);
  assert.equal(version.status, 0);
  assert.equal(version.stdout.trim(), (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
});

test('--help shows no "default: null" for --max-errors', () => {
  assert.doesNotMatch(lmodParse(['--help']).stdout, /default: null/);
});

test('--tz: default is the machine zone; UTC, offsets and IANA names apply to RFC 3164 stamps', () => {
  const line = 'Nov  5 13:29:32 host ModuleUsage[1]: user=a module=m\n';
  const time = (args: string[], tz: string) =>
    (JSON.parse(lmodParse(['-q', '--year', '2024', ...args], { input: line, env: { TZ: tz } }).stdout) as { time: string }).time;
  assert.equal(time([], 'Asia/Tokyo'), '2024-11-05T04:29:32.000000Z');
  assert.equal(time([], 'UTC'), '2024-11-05T13:29:32.000000Z');
  assert.equal(time(['--tz', 'UTC'], 'Asia/Tokyo'), '2024-11-05T13:29:32.000000Z');
  assert.equal(time(['--tz', '-03:00'], 'Asia/Tokyo'), '2024-11-05T16:29:32.000000Z');
  assert.equal(time(['--tz', 'America/New_York'], 'Asia/Tokyo'), '2024-11-05T18:29:32.000000Z');
});

test('without --year the year comes from the file mtime (stdin: now), at most a day ahead', () => {
  writeFileSync(join(TMP, 'june.log'), 'Jun 16 06:00:00 h lmod: user=a module=m\nJun 17 06:00:00 h lmod: user=a module=m\n');
  writeFileSync(join(TMP, 'late.log'), 'Jun 20 06:00:00 h lmod: user=a module=m\n');
  const mtime = new Date('2021-06-15T12:00:00Z');
  utimesSync(join(TMP, 'june.log'), mtime, mtime);
  utimesSync(join(TMP, 'late.log'), mtime, mtime);
  const times = (run: Run) =>
    run.stdout
      .trimEnd()
      .split('\n')
      .map((l) => (JSON.parse(l) as { time: string }).time);
  assert.deepEqual(times(lmodParse(['-q', '--tz', 'UTC', 'june.log', 'late.log'])), [
    '2021-06-16T06:00:00.000000Z',
    '2021-06-17T06:00:00.000000Z',
    '2020-06-20T06:00:00.000000Z',
  ]);
  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const stamp = (d: Date) => `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${d.toISOString().slice(11, 19)}`;
  const now = Date.now();
  const past = new Date(Math.floor(now / 1000) * 1000 - 3 * 86400e3);
  const future = new Date(Math.floor(now / 1000) * 1000 + 3 * 86400e3);
  assert.deepEqual(times(lmodParse(['-q', '--tz', 'UTC'], { input: `${stamp(past)} h lmod: user=a module=m\n` })), [
    past.toISOString().replace('.000Z', '.000000Z'),
  ]);
  const back = new Date(future);
  back.setUTCFullYear(future.getUTCFullYear() - 1);
  assert.deepEqual(times(lmodParse(['-q', '--tz', 'UTC'], { input: `${stamp(future)} h lmod: user=a module=m\n` })), [
    back.toISOString().replace('.000Z', '.000000Z'),
  ]);
});

test('the same file given twice: its first stamp takes --year both times', () => {
  writeFileSync(
    join(TMP, 'year.log'),
    'Jan  1 06:00:00 h lmod: user=a module=m\nJun  1 06:00:00 h lmod: user=a module=m\nDec 31 06:00:00 h lmod: user=a module=m\n',
  );
  const run = lmodParse(['-q', '--tz', 'UTC', '--year', '2020', 'year.log', 'year.log']);
  const times = run.stdout
    .trimEnd()
    .split('\n')
    .map((l) => (JSON.parse(l) as { time: string }).time);
  const once = ['2020-01-01T06:00:00.000000Z', '2020-06-01T06:00:00.000000Z', '2020-12-31T06:00:00.000000Z'];
  assert.deepEqual(times, [...once, ...once]);
});

test('lmod-parse big.log | head -1 exits 0 with nothing on stderr', () => {
  writeFileSync(join(TMP, 'big.log'), [...logLines({ lines: 200000, seed: 3, variety: true })].join('\n') + '\n');
  const script = `node ${JSON.stringify(BIN)} big.log | head -1; echo "status \${PIPESTATUS[*]}"`;
  const r = spawnSync('bash', ['-c', script], { cwd: TMP, encoding: 'utf8' });
  const [first, status] = r.stdout.trimEnd().split('\n');
  assert.equal(status, 'status 0 0', `stdout ${r.stdout.slice(0, 300)} stderr ${r.stderr.slice(0, 300)}`);
  assert.equal((JSON.parse(first) as { user: string }).user.startsWith('u'), true);
  assert.equal(r.stderr, '');
});

test('stdin and stdout that another process made non-blocking: every record arrives, in order, exit 0', (t) => {
  if (!canMakeNonBlocking()) return t.skip('python3 is not installed');
  writeFileSync(join(TMP, 'nonblocking.log'), [...logLines({ lines: 100000, seed: 5, variety: true })].join('\n') + '\n');
  const expected = lmodParse(['-q', 'nonblocking.log']);
  const r = runNonBlocking(BIN, ['-q'], 'nonblocking.log', 'out.ndjson', TMP);
  assert.deepEqual(r, { statuses: '0 0 0', stderr: '' });
  assert.equal(readFileSync(join(TMP, 'out.ndjson'), 'utf8'), expected.stdout);
  assert.equal(expected.stdout.split('\n').length > 90000, true);
});
