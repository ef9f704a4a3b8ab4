import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { JobRecord } from '../src/job-record';
import { SACCT_FORMAT } from '../src/jobs/sacct-header';
import { cli, lines, ROOT, run, tempDir } from './helpers/contrib';

const BIN = join(ROOT, 'bin', 'lmod-jobs.js');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'jobs');
const TMP = tempDir('jobs-cli');
after(() => TMP.remove());

for (const name of readdirSync(FIXTURES)) copyFileSync(join(FIXTURES, name), join(TMP.path, name));
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');
const DAY1 = fixture('day1.ndjson');
const DAY2 = fixture('day2.ndjson');
const SUMMARY = /^lmod-jobs: ([\d,]+) lines, ([\d,]+) jobs, ([\d,]+) steps, ([\d,]+) skipped, ([\d,]+) malformed in \d+\.\d\d s \([\d,]+ lines\/s\)$/;

/** lmod-jobs in the scratch directory holding copies of the fixtures, in UTC unless the arguments say otherwise. */
function lmodJobs(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
  return cli('jobs', args, { cwd: TMP.path, input: options.input ?? '', env: { ...process.env, TZ: 'UTC', ...options.env } });
}

/** The counts of the closing summary, the last line on stderr. */
function summaryCounts(stderr: string): string[] | undefined {
  return SUMMARY.exec(lines(stderr).at(-1) ?? '')?.slice(1, 6);
}

const jobsOf = (stdout: string): JobRecord[] => lines(stdout).map((l) => JSON.parse(l) as JobRecord);

/** The job records of stdout as [cluster, jobid, start, end]. */
function clusterIdTimes(stdout: string): (string | null)[][] {
  return jobsOf(stdout).map((job) => [job.cluster, job.jobid, job.start, job.end]);
}

test('two clusters, array jobs, steps, GPUs, running and pending jobs: exact NDJSON, the summary, exit 0; -q hides the summary', () => {
  const r = lmodJobs(['day1.txt']);
  assert.equal(r.stdout, DAY1);
  assert.equal(lines(r.stderr).length, 1);
  assert.deepEqual(summaryCounts(r.stderr), ['15', '8', '6', '1', '0']);
  assert.equal(r.status, 0);
  const quiet = lmodJobs(['-q', 'day1.txt']);
  assert.equal(quiet.stdout, DAY1);
  assert.equal(quiet.stderr, '');
  assert.equal(quiet.status, 0);
});

test('files in order, each with its own header and column order (Elapsed instead of ElapsedRaw); - among them is stdin', () => {
  const r = lmodJobs(['-q', 'day1.txt', 'day2.txt']);
  assert.equal(r.stdout, DAY1 + DAY2);
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
  const dash = lmodJobs(['day2.txt', '-', 'day2.txt'], { input: fixture('day1.txt') });
  assert.equal(dash.stdout, DAY2 + DAY1 + DAY2);
  assert.deepEqual(summaryCounts(dash.stderr), ['27', '16', '8', '3', '0']);
  assert.equal(dash.status, 0);
});

test('real sacct output of Slurm 22.05 (the Slurm test harness), steps and the Elapsed and NCPUS columns too', () => {
  const r = lmodJobs(['slurm-22.05.txt']);
  const job = (jobid: string, id: string, state: string, start: string | null, end: string | null, elapsed: number, cpus: number, gpus: number) =>
    `{"cluster":"jobscheck","jobid":"${jobid}","job":"${id}","user":"root","account":"root","partition":"debug","state":"${state}",` +
    `"start":${start === null ? null : `"2026-12-04T16:02:${start}.000000Z"`},"end":${end === null ? null : `"2026-12-04T16:02:${end}.000000Z"`},` +
    `"elapsed_s":${elapsed},"cpus":${cpus},"gpus":${gpus},"nodes":1}`;
  assert.deepEqual(lines(r.stdout), [
    job('2', '2', 'COMPLETED', '35', '36', 1, 2, 1),
    job('3', '3', 'FAILED', '36', '36', 0, 1, 0),
    job('4', '4', 'RUNNING', '37', null, 0, 2, 0),
    job('6', '1_1', 'COMPLETED', '31', '33', 2, 1, 0),
    job('7', '1_2', 'COMPLETED', '31', '33', 2, 1, 0),
    job('1', '1_3', 'COMPLETED', '33', '35', 2, 1, 0),
    job('5', '5_[1-4]', 'PENDING', null, null, 0, 2, 0),
  ]);
  assert.deepEqual(summaryCounts(r.stderr), ['20', '7', '12', '1', '0']);
  assert.equal(r.status, 0);
});

test('cat day1 day2 | lmod-jobs: the header repeated mid-stream is read again, not reported', () => {
  const r = lmodJobs([], { input: fixture('day1.txt') + fixture('day2.txt') });
  assert.equal(r.stdout, DAY1 + DAY2);
  assert.deepEqual(summaryCounts(r.stderr), ['21', '12', '7', '2', '0']);
  assert.equal(lines(r.stderr).length, 1);
  assert.equal(r.status, 0);
});

test('gzip files and gzip on stdin are found by their magic bytes; CRLF files read like LF ones', () => {
  writeFileSync(join(TMP.path, 'day1.txt.gz'), gzipSync(readFileSync(join(FIXTURES, 'day1.txt'))));
  writeFileSync(join(TMP.path, 'sacct-rotated.1'), gzipSync(readFileSync(join(FIXTURES, 'day2.txt'))));
  writeFileSync(join(TMP.path, 'crlf.txt'), fixture('day2.txt').replace(/\n/g, '\r\n'));
  const files = lmodJobs(['-q', 'day1.txt.gz', 'sacct-rotated.1', 'crlf.txt']);
  assert.equal(files.stdout, DAY1 + DAY2 + DAY2);
  assert.equal(files.stderr, '');
  assert.equal(files.status, 0);
  const piped = run('bash', ['-c', `cat day1.txt.gz | ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} -q --tz UTC`], { cwd: TMP.path });
  assert.equal(piped.stdout, DAY1);
  assert.equal(piped.stderr, '');
  assert.equal(piped.status, 0);
});

test('malformed rows: the exact stderr line with FILE:LINE, reason and excerpt; the good rows still go out; exit 1', () => {
  const r = lmodJobs(['malformed.txt']);
  assert.deepEqual(clusterIdTimes(r.stdout), [['alpha', '40', '2026-12-04T09:00:00.000000Z', '2026-12-04T09:00:30.000000Z']]);
  const rows = fixture('malformed.txt').trimEnd().split('\n');
  const reasons = [
    '12 fields, the header has 13',
    '14 fields, the header has 13',
    'empty JobIDRaw',
    'empty ElapsedRaw',
    'bad ElapsedRaw',
    'empty AllocCPUS',
    'bad AllocCPUS',
    'bad NNodes',
    'bad Start',
    'bad End',
    'bad AllocTRES',
  ];
  assert.deepEqual(
    lines(r.stderr).slice(0, -1),
    reasons.map((reason, i) => `lmod-jobs: malformed.txt:${i + 2}: ${reason}: ${rows[i + 1].slice(0, 120)}`),
  );
  assert.equal(
    lines(r.stderr)[0],
    'lmod-jobs: malformed.txt:2: 12 fields, the header has 13: alpha|30|30|hank|bio|batch|COMPLETED|2026-12-04T09:00:00|2026-12-04T09:00:30|30|1|cpu=1,node=1',
  );
  assert.deepEqual(summaryCounts(r.stderr), ['13', '1', '0', '1', '11']);
  assert.equal(r.status, 1);
});

test('a header that lacks a needed field: one message, its rows skipped, the other files read, exit 2', () => {
  const r = lmodJobs(['badheader.txt', 'day2.txt']);
  assert.equal(r.stdout, DAY2);
  assert.equal(lines(r.stderr)[0], 'lmod-jobs: badheader.txt:1: header lacks ElapsedRaw or Elapsed');
  assert.deepEqual(summaryCounts(r.stderr), ['9', '4', '1', '4', '0']);
  assert.equal(lines(r.stderr).length, 2);
  assert.equal(r.status, 2);
  const noHeader = lmodJobs(['-q'], { input: 'alpha|50|50|ivan|COMPLETED|10|1\n' });
  assert.equal(noHeader.stdout, '');
  assert.equal(noHeader.stderr, 'lmod-jobs: stdin:1: header lacks JobIDRaw or JobID, ElapsedRaw or Elapsed, AllocCPUS or NCPUS\n');
  assert.equal(noHeader.status, 2);
});

test('a missing file is reported by name, the other files are still read, exit 2 (also when others have malformed rows)', () => {
  const r = lmodJobs(['nope.txt', 'day1.txt', 'malformed.txt']);
  assert.equal(r.stdout.startsWith(DAY1), true);
  assert.equal(lines(r.stdout).length, 9);
  assert.equal(lines(r.stderr)[0], 'lmod-jobs: nope.txt: No such file or directory');
  assert.equal(lines(r.stderr).length, 13);
  assert.deepEqual(summaryCounts(r.stderr), ['28', '9', '6', '2', '11']);
  assert.equal(r.status, 2);
});

test('--cluster names the cluster of rows without one; a Cluster column wins', () => {
  const job = (cluster: string | null) => [
    `{"cluster":${JSON.stringify(cluster)},"jobid":"20","job":"20","user":"gina","account":null,"partition":null,"state":"COMPLETED","start":"2026-12-04T09:00:00.000000Z","end":"2026-12-04T09:00:30.000000Z","elapsed_s":30,"cpus":1,"gpus":0,"nodes":null}`,
    `{"cluster":${JSON.stringify(cluster)},"jobid":"21","job":"21","user":"gina","account":null,"partition":null,"state":"RUNNING","start":"2026-12-04T09:05:00.000000Z","end":null,"elapsed_s":55,"cpus":2,"gpus":0,"nodes":null}`,
  ];
  const named = lmodJobs(['--cluster', 'hpc1', 'nocluster.txt']);
  assert.deepEqual(lines(named.stdout), job('hpc1'));
  assert.deepEqual(summaryCounts(named.stderr), ['5', '2', '1', '2', '0']);
  assert.equal(named.status, 0);
  assert.deepEqual(lines(lmodJobs(['-q', 'nocluster.txt']).stdout), job(null));
  assert.equal(lmodJobs(['-q', '--cluster', 'hpc1', 'day1.txt']).stdout, DAY1);
});

test("--tz: default is this machine's zone; UTC, offsets and IANA names", () => {
  const times = (args: string[], tz: string) => clusterIdTimes(lmodJobs(['-q', ...args, 'day2.txt'], { env: { TZ: tz } }).stdout)[1].slice(2);
  assert.deepEqual(times([], 'UTC'), ['2026-12-05T08:00:00.000000Z', '2026-12-06T09:01:02.000000Z']);
  assert.deepEqual(times([], 'Asia/Tokyo'), ['2026-12-04T23:00:00.000000Z', '2026-12-06T00:01:02.000000Z']);
  assert.deepEqual(times(['--tz', 'UTC'], 'Asia/Tokyo'), ['2026-12-05T08:00:00.000000Z', '2026-12-06T09:01:02.000000Z']);
  assert.deepEqual(times(['--tz', '-03:00'], 'Asia/Tokyo'), ['2026-12-05T11:00:00.000000Z', '2026-12-06T12:01:02.000000Z']);
  assert.deepEqual(times(['--tz', 'Europe/Berlin'], 'UTC'), ['2026-12-05T07:00:00.000000Z', '2026-12-06T08:01:02.000000Z']);
  // A summer time: the zone's offset on that day.
  const summer = lmodJobs(['-q', '--tz', 'Europe/Berlin'], { input: 'JobIDRaw|Start|ElapsedRaw|AllocCPUS\n1|2026-07-01T12:00:00|0|1\n' });
  assert.deepEqual(clusterIdTimes(summer.stdout), [[null, '1', '2026-07-01T10:00:00.000000Z', null]]);
});

test('--max-errors N stops after more than N malformed rows with exit 2; the jobs before go out', () => {
  const r = lmodJobs(['--max-errors', '2', 'malformed.txt']);
  const rows = fixture('malformed.txt').split('\n');
  assert.deepEqual(lines(r.stderr), [
    `lmod-jobs: malformed.txt:2: 12 fields, the header has 13: ${rows[1]}`,
    `lmod-jobs: malformed.txt:3: 14 fields, the header has 13: ${rows[2]}`,
    `lmod-jobs: malformed.txt:4: empty JobIDRaw: ${rows[3]}`,
    'lmod-jobs: stopped after 3 errors (--max-errors 2)',
  ]);
  assert.equal(r.stdout, '');
  assert.equal(r.status, 2);
  const before = lmodJobs(['--max-errors', '0', 'day1.txt', 'malformed.txt', 'day2.txt']);
  assert.equal(before.stdout, DAY1);
  assert.equal(lines(before.stderr).at(-1), 'lmod-jobs: stopped after 1 errors (--max-errors 0)');
  assert.equal(before.status, 2);
  const enough = lmodJobs(['-q', '--max-errors', '11', 'malformed.txt']);
  assert.equal(lines(enough.stderr).length, 11);
  assert.equal(enough.status, 1);
});

test('--max-line: a longer line is reported by number without excerpt and skipped; a header too long leaves the next line for one', () => {
  const r = lmodJobs(['-q', '--max-line', '130', 'day1.txt']);
  assert.deepEqual(
    lines(r.stderr),
    [2, 4, 11, 13].map((n) => `lmod-jobs: day1.txt:${n}: line longer than 130 bytes`),
  );
  assert.deepEqual(
    jobsOf(r.stdout).map((j) => j.jobid),
    ['101', '102', '103', '8', '9'],
  );
  assert.equal(r.status, 1);
  const header = lmodJobs(['-q', '--max-line', '30'], { input: 'JobIDRaw|ElapsedRaw|AllocCPUS|User\n1|1|1|a\n2|2|2|b\n' });
  assert.deepEqual(lines(header.stderr), [
    'lmod-jobs: stdin:1: line longer than 30 bytes',
    'lmod-jobs: stdin:2: header lacks JobIDRaw or JobID, ElapsedRaw or Elapsed, AllocCPUS or NCPUS',
  ]);
  assert.equal(header.stdout, '');
  assert.equal(header.status, 2);
});

test('usage errors exit 2 with one line; --help (with the sacct command) and --version exit 0', () => {
  for (const args of [['--tz', 'Mars/Olympus'], ['--max-errors', '-1'], ['--max-line', '0'], ['--bogus'], ['--cluster']]) {
    const r = lmodJobs(args);
    assert.equal(r.status, 2, args.join(' '));
    assert.equal(r.stdout, '');
    assert.equal(lines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /^lmod-jobs: /);
  }
  assert.match(lmodJobs(['--tz', 'Mars/Olympus']).stderr, /Mars\/Olympus/);
  const help = lmodJobs(['--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Usage: lmod-jobs/);
  assert.ok(
    help.stdout.includes(
      `sacct --allusers --allocations --parsable2 --starttime=2026-12-04 --endtime=2026-12-05 --format=${SACCT_FORMAT} | lmod-jobs | lmod-load`,
    ),
  );
  assert.doesNotMatch(help.stdout, /default: null/);
  const version = lmodJobs(['--version']);
  assert.equal(version.status, 0);
  assert.equal(version.stdout.trim(), (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
});

test('lmod-jobs big.txt | head -1 exits 0 with nothing on stderr', () => {
  const header = fixture('day1.txt').split('\n')[0];
  const rows = Array.from(
    { length: 50000 },
    (_, i) => `alpha|${i}|${i}|u${i % 97}|acct|batch|COMPLETED|2026-12-04T08:00:00|2026-12-04T09:00:00|3600|4|cpu=4,node=1|1`,
  );
  writeFileSync(join(TMP.path, 'big.txt'), `${header}\n${rows.join('\n')}\n`);
  const script = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} big.txt | head -1; echo "status \${PIPESTATUS[*]}"`;
  const r = spawnSync('bash', ['-c', script], { cwd: TMP.path, encoding: 'utf8' });
  const [first, status] = r.stdout.trimEnd().split('\n');
  assert.equal(status, 'status 0 0', r.stderr);
  assert.equal(jobsOf(first)[0].jobid, '0');
  assert.equal(r.stderr, '');
});
