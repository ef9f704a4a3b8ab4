import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobRecord } from '../../src/job-record';
import { type JobCounts, JobReader, type JobReaderOptions } from '../../src/jobs/job-reader';

interface Result {
  ndjson: string;
  counts: JobCounts;
  /** What onMalformed and onBadHeader were told, as `SOURCE:LINE: reason[: text]`. */
  messages: string[];
}

/** Reads each input, in the chunks given, through one JobReader. */
function read(inputs: [source: string, chunks: Buffer[]][], options: JobReaderOptions = {}): Result {
  const out: Buffer[] = [];
  const messages: string[] = [];
  const reader = new JobReader({
    tz: 'UTC',
    ...options,
    onMalformed: (source, line, reason, text) => messages.push(`${source}:${line}: ${reason}${text === undefined ? '' : `: ${text}`}`),
    onBadHeader: (source, line, lacks) => messages.push(`${source}:${line}: header lacks ${lacks}`),
  });
  const sink = { bytes: (view: Uint8Array) => out.push(Buffer.from(view)) };
  for (const [source, chunks] of inputs) {
    for (const chunk of chunks) reader.write(source, chunk, sink);
    reader.end(sink);
  }
  return { ndjson: Buffer.concat(out).toString('utf8'), counts: reader.counts, messages };
}

/** The job records of NDJSON text, parsed. */
const jobsOf = (ndjson: string): JobRecord[] =>
  ndjson
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as JobRecord);

const counts = (lines: number, jobs: number, steps: number, skipped: number, malformed: number, badHeaders = 0): JobCounts => ({
  lines,
  jobs,
  steps,
  skipped,
  malformed,
  badHeaders,
});

// A job with a two-byte character, its step, an empty line, a second header in another layout, a job and a bad row.
const SMALL = [
  'Cluster|JobIDRaw|JobID|User|Account|Partition|State|Start|End|ElapsedRaw|AllocCPUS|AllocTRES|NNodes',
  'lmodtest|2|2_3|jürgen|physics|debug|COMPLETED|2026-12-04T15:50:01|2026-12-04T15:50:03|2|1|billing=1,cpu=1,mem=1000M,node=1|1',
  'lmodtest|2.batch|2_3.batch||physics||COMPLETED|2026-12-04T15:50:01|2026-12-04T15:50:03|2|1|cpu=1,mem=1000M,node=1|1',
  '',
  'JobID|Elapsed|AllocCPUS|AllocTRES',
  '5|00:00:30|2|billing=2,cpu=2,gres/gpu=1,node=1',
  '6|soon|2|cpu=2',
].join('\n');

const SMALL_RESULT: Result = {
  ndjson:
    '{"cluster":"lmodtest","jobid":"2","job":"2_3","user":"jürgen","account":"physics","partition":"debug","state":"COMPLETED","start":"2026-12-04T15:50:01.000000Z","end":"2026-12-04T15:50:03.000000Z","elapsed_s":2,"cpus":1,"gpus":0,"nodes":1}\n' +
    '{"cluster":"other","jobid":"5","job":"5","user":null,"account":null,"partition":null,"state":null,"start":null,"end":null,"elapsed_s":30,"cpus":2,"gpus":1,"nodes":null}\n',
  counts: counts(7, 2, 1, 3, 1),
  messages: ['stdin:7: bad Elapsed: 6|soon|2|cpu=2'],
};

test('the same records, counts and messages however the bytes are split: at every position, and a byte at a time', () => {
  const bytes = Buffer.from(`${SMALL}\n`);
  assert.deepEqual(read([['stdin', [bytes]]], { cluster: 'other' }), SMALL_RESULT);
  for (let at = 0; at <= bytes.length; at++) {
    assert.deepEqual(read([['stdin', [bytes.subarray(0, at), bytes.subarray(at)]]], { cluster: 'other' }), SMALL_RESULT, `split at ${at}`);
  }
  const single = [...bytes].map((b) => Buffer.from([b]));
  assert.deepEqual(read([['stdin', single]], { cluster: 'other' }), SMALL_RESULT);
});

test('CRLF lines read as LF ones; a last line without a newline is a line', () => {
  const crlf = Buffer.from(`${SMALL.replace(/\n/g, '\r\n')}\r\n`);
  assert.deepEqual(read([['stdin', [crlf]]], { cluster: 'other' }), SMALL_RESULT);
  for (let at = 0; at <= crlf.length; at++) {
    assert.deepEqual(read([['stdin', [crlf.subarray(0, at), crlf.subarray(at)]]], { cluster: 'other' }), SMALL_RESULT, `split at ${at}`);
  }
  assert.deepEqual(read([['stdin', [Buffer.from(SMALL)]]], { cluster: 'other' }), SMALL_RESULT);
});

test('each input starts with its own header, after any empty lines; line numbers restart', () => {
  const a = 'JobIDRaw|ElapsedRaw|AllocCPUS\n1|10|1\nx|10|1\n';
  const b = '\n\nAllocCPUS|JobIDRaw|ElapsedRaw\n2|2|20\n2|x|20\n';
  const r = read([
    ['a.txt', [Buffer.from(a)]],
    ['b.txt', [Buffer.from(b)]],
    ['a.txt', [Buffer.from(a)]],
  ]);
  const job = (id: string, elapsed: number, cpus: number) =>
    `{"cluster":null,"jobid":"${id}","job":"${id}","user":null,"account":null,"partition":null,"state":null,"start":null,"end":null,"elapsed_s":${elapsed},"cpus":${cpus},"gpus":0,"nodes":null}\n`;
  assert.equal(r.ndjson, job('1', 10, 1) + job('2', 20, 2) + job('1', 10, 1));
  assert.deepEqual(r.messages, ['a.txt:3: bad JobIDRaw: x|10|1', 'b.txt:5: bad JobIDRaw: 2|x|20', 'a.txt:3: bad JobIDRaw: x|10|1']);
  assert.deepEqual(r.counts, counts(11, 3, 0, 5, 3));
});

test('a header repeated inside one input is read again, also in another layout; a row of a cluster called `cluster` is a row', () => {
  const text = [
    'Cluster|JobIDRaw|ElapsedRaw|AllocCPUS',
    'cluster|1|10|1',
    'Cluster|JobIDRaw|ElapsedRaw|AllocCPUS',
    'cluster|2|20|2',
    'jobidraw|alloccpus|elapsedraw',
    '3|3|30',
  ].join('\n');
  const r = read([['stdin', [Buffer.from(text)]]]);
  assert.deepEqual(
    jobsOf(r.ndjson).map((j) => [j.cluster, j.jobid, j.elapsed_s, j.cpus]),
    [
      ['cluster', '1', 10, 1],
      ['cluster', '2', 20, 2],
      [null, '3', 30, 3],
    ],
  );
  assert.deepEqual(r.messages, []);
  assert.deepEqual(r.counts, counts(6, 3, 0, 3, 0));
});

test('a header that lacks a needed field: reported once, its rows skipped up to the next header; other inputs are read', () => {
  const text = ['JobIDRaw|AllocCPUS', '1|1', '2|1', 'JobIDRaw|ElapsedRaw|AllocCPUS', '3|30|1'].join('\n');
  const r = read([
    ['bad.txt', [Buffer.from(text)]],
    ['none.txt', [Buffer.from('\n5|lmodtest|10\n6|lmodtest|10\n')]],
    ['good.txt', [Buffer.from('JobID|Elapsed|NCPUS\n7|00:07|1\n')]],
  ]);
  assert.deepEqual(r.messages, [
    'bad.txt:1: header lacks ElapsedRaw or Elapsed',
    'none.txt:2: header lacks JobIDRaw or JobID, ElapsedRaw or Elapsed, AllocCPUS or NCPUS',
  ]);
  assert.deepEqual(
    jobsOf(r.ndjson).map((j) => j.jobid),
    ['3', '7'],
  );
  assert.deepEqual(r.counts, counts(10, 2, 0, 8, 0, 2));
});

test('a line longer than maxLength is reported by number, without text, and skipped; the bound counts UTF-8 bytes', () => {
  const header = 'JobIDRaw|User|ElapsedRaw|AllocCPUS';
  const long = `1|${'é'.repeat(20)}|10|1`;
  assert.equal(Buffer.byteLength(long), 47);
  const text = `${header}\n${long}\n2|b|20|1\n`;
  const over = read([['stdin', [Buffer.from(text)]]], { maxLength: 46 });
  assert.deepEqual(over.messages, ['stdin:2: line longer than 46 bytes']);
  assert.deepEqual(
    jobsOf(over.ndjson).map((j) => j.jobid),
    ['2'],
  );
  assert.deepEqual(over.counts, counts(3, 1, 0, 1, 1));
  const within = read([['stdin', [Buffer.from(text)]]], { maxLength: 47 });
  assert.deepEqual(within.messages, []);
  assert.equal(within.counts.jobs, 2);
});

test('onMalformed may throw to stop the run: the jobs before the row are out', () => {
  const out: string[] = [];
  const reader = new JobReader({
    tz: 'UTC',
    onMalformed: () => {
      throw new Error('stop');
    },
  });
  const sink = { bytes: (view: Uint8Array) => out.push(Buffer.from(view).toString()) };
  assert.throws(() => reader.write('stdin', Buffer.from('JobID|ElapsedRaw|AllocCPUS\n1|1|1\nx\n2|2|2\n'), sink), /stop/);
  assert.deepEqual(
    jobsOf(out.join('')).map((j) => j.jobid),
    ['1'],
  );
});

test('an unknown --tz zone throws when the reader is made', () => {
  assert.throws(() => new JobReader({ tz: 'Mars/Olympus' }), RangeError);
});
