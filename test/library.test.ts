import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { ByteConsumer, NdjsonSink } from '../src/index';

// The package entry, as `require('lmod-tracking')` resolves it (package.json "main").
// eslint-disable-next-line @typescript-eslint/no-require-imports
const lib = require(join(__dirname, '..', '..', require('../../package.json').main)) as typeof import('../src/index');

const EXAMPLE = join(__dirname, '..', '..', 'examples', 'lmod.log');

/** A Writable that gathers what it is given as text. */
function collect(): { sink: Writable; text: () => string } {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  });
  return { sink, text: () => text };
}

test('the README library example: parseLine gives the record', () => {
  const context = { isTrackingTag: lib.tagMatcher(), years: new lib.YearResolver(lib.zoneConverter('UTC'), 2024, new Date()) };
  const outcome = lib.parseLine('Apr 27 03:22:57 node1 ModuleUsageTracking: user=alice module=gcc/12.2.0 path=/p host=n1 time=1682580177.622180', context);
  assert.deepEqual(outcome, {
    record: {
      time: '2023-04-27T07:22:57.622180Z',
      user: 'alice',
      module: 'gcc/12.2.0',
      name: 'gcc',
      version: '12.2.0',
      path: '/p',
      host: 'n1',
      jobid: null,
      userload: null,
      cluster: null,
    },
  });
});

test('the README library example: ParseStage over the bytes of a file in a pipeline', async () => {
  const malformed: string[] = [];
  const parse = new lib.ParseStage({
    source: 'lmod.log',
    onMalformed: (source, line, reason) => malformed.push(`${source}:${line}: ${reason}`),
  });
  const { sink, text } = collect();
  await pipeline(createReadStream(EXAMPLE), parse, sink);
  assert.deepEqual(parse.counts, { lines: 2506, records: 2432, skipped: 64, malformed: 10 });
  assert.equal(text().split('\n').length - 1, 2432);
  assert.equal(malformed[0], 'lmod.log:83: empty user');
  assert.equal(malformed.at(-1), 'lmod.log:2506: cut short (unterminated quote)');
});

test('the README library example: feedInputs into a LogParser gives what ParseStage gives, for a gzip input too, in both read modes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lmod-library-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const gz = join(dir, 'lmod.log-20240101.gz');
  writeFileSync(gz, gzipSync(readFileSync(EXAMPLE)));
  const staged = collect();
  await pipeline(createReadStream(EXAMPLE), new lib.ParseStage(), staged.sink);
  const missing = join(EXAMPLE, 'missing');
  for (const blocking of [true, false]) {
    const messages: string[] = [];
    const parser = new lib.LogParser({ onMalformed: (source, line, reason) => messages.push(`${source}:${line}: ${reason}`) });
    const pieces: Buffer[] = [];
    // A bytes view is the parser's WebAssembly memory: copied before the next call.
    const out: NdjsonSink = {
      bytes: (view) => pieces.push(Buffer.from(view)),
      text: (latin1) => pieces.push(Buffer.from(latin1, 'latin1')),
    };
    const consumer: ByteConsumer = {
      write: (source, bytes) => parser.write(source, bytes, out),
      read: (source, read, size) => parser.read(source, read, size, out),
      end: () => parser.end(out),
      flush: () => undefined,
    };
    const failed = await lib.feedInputs([EXAMPLE, gz, missing], consumer, {
      chunkSize: 64 * 1024,
      blocking,
      onInputError: (name, err) => messages.push(`${name}: ${(err as NodeJS.ErrnoException).code}`),
    });
    const mode = blocking ? 'blocking reads' : 'reads in the thread pool';
    assert.equal(failed, 1, mode);
    assert.deepEqual(parser.counts, { lines: 2 * 2506, records: 2 * 2432, skipped: 2 * 64, malformed: 2 * 10 }, mode);
    assert.equal(Buffer.concat(pieces).toString(), staged.text().repeat(2), mode);
    assert.equal(messages.length, 21, mode);
    assert.equal(messages[0], `${EXAMPLE}:83: empty user`, mode);
    assert.equal(messages[9], `${EXAMPLE}:2506: cut short (unterminated quote)`, mode);
    assert.equal(messages[10], `${gz}:83: empty user`, mode);
    assert.equal(messages[19], `${gz}:2506: cut short (unterminated quote)`, mode);
    assert.equal(messages.at(-1), `${missing}: ENOTDIR`, mode);
  }
});

test('the package exports the one line splitter: LineWindow and its bounds', () => {
  assert.equal(lib.DEFAULT_MAX_LINE, 64 * 1024);
  assert.equal(lib.MAX_RECORD_LINE, 1024 * 1024);
  const window = new lib.LineWindow(4);
  window.append(Buffer.from('ab\r\ntoo long\nzoë'));
  const lines: (string | null)[] = [];
  while (window.next()) lines.push(window.lineStart < 0 ? null : window.text(window.lineStart, window.lineEnd));
  if (window.finish()) lines.push(window.lineStart < 0 ? null : window.text(window.lineStart, window.lineEnd));
  assert.deepEqual(lines, ['ab', null, 'zoë']);
});

test('DedupeStage over the bytes of an input: byte by byte and in one piece give the same records, non-ASCII included', async () => {
  const ndjson =
    [
      '{"time":"2024-01-01T00:00:00.000000Z","user":"zoë","module":"日本/1.0","name":"日本","version":"1.0","path":null,"host":"h","jobid":null,"userload":null,"cluster":null}',
      '{"time":"2024-01-01T00:00:00.000000Z","user":"zoë","module":"日本/1.0","name":"日本","version":"1.0","path":null,"host":"h","jobid":"7","userload":null,"cluster":null}',
      '{"time":"2024-01-01T00:00:00.000000Z","user":"zoe","module":"日本/1.0","name":"日本","version":"1.0","path":null,"host":"h","jobid":null,"userload":null,"cluster":null}',
    ].join('\n') + '\n';
  const run = async (chunks: Buffer[]): Promise<string> => {
    const { sink, text } = collect();
    await pipeline(chunks, new lib.DedupeStage({ source: 'in' }), sink);
    return text();
  };
  const bytes = Buffer.from(ndjson);
  const expected = ndjson
    .split('\n')
    .filter((_, i) => i !== 1)
    .join('\n');
  assert.equal(await run([...bytes].map((b) => Buffer.from([b]))), expected);
  assert.equal(await run([bytes]), expected);
});

test('the job engine from the package root: sacct bytes in, job records out, in JOB_FIELDS order', () => {
  const reader = new lib.JobReader({ tz: 'UTC' });
  const pieces: Buffer[] = [];
  const sink = { bytes: (view: Uint8Array) => pieces.push(Buffer.from(view)) };
  const sacct = `${lib.SACCT_FORMAT.replaceAll(',', '|')}\nalpha|7|7|ann|physics|cpu|COMPLETED|2026-12-01T10:00:00|2026-12-01T11:00:00|3600|4|cpu=4,gres/gpu=1|1\nalpha|7.batch|7.batch||physics||COMPLETED|2026-12-01T10:00:00|2026-12-01T11:00:00|3600|4|cpu=4|1\n`;
  reader.write('sacct.txt', Buffer.from(sacct), sink);
  reader.end(sink);
  const job = JSON.parse(Buffer.concat(pieces).toString());
  assert.deepEqual(Object.keys(job), [...lib.JOB_FIELDS]);
  assert.equal(Buffer.concat(pieces).toString(), lib.jobToNdjson(job));
  assert.deepEqual(job, {
    cluster: 'alpha',
    jobid: '7',
    job: '7',
    user: 'ann',
    account: 'physics',
    partition: 'cpu',
    state: 'COMPLETED',
    start: '2026-12-01T10:00:00.000000Z',
    end: '2026-12-01T11:00:00.000000Z',
    elapsed_s: 3600,
    cpus: 4,
    gpus: 1,
    nodes: 1,
  });
  assert.deepEqual(reader.counts, { lines: 3, jobs: 1, steps: 1, skipped: 1, malformed: 0, badHeaders: 0 });
});
