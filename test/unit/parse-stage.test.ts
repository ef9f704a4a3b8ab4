import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { prng } from '../helpers/generate';
import { DEFAULT_MAX_LINE } from '../../src/lines/line-window';
import { YearResolver, zoneConverter } from '../../src/parse/header-time';
import { parseLine, tagMatcher } from '../../src/parse/line';
import { LogParser, type NdjsonSink, type ParseCounts, type ParseOptions } from '../../src/parse/log-parser';
import { recordToNdjson } from '../../src/parse/serialize';
import { ParseStage } from '../../src/stream/stages';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'parse');
const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, name));
const TAG = /^(?:MySite_Tracker)$/;

interface StageRun {
  ndjson: string;
  malformed: string[];
  counts: ParseCounts;
}

/** Bytes (as the given chunks) through ParseStage, as a library user pipes a file into it. */
async function runStage(chunks: Buffer[], options: ParseOptions = {}, maxLength?: number): Promise<StageRun> {
  const malformed: string[] = [];
  const stage = new ParseStage({
    source: 'in.log',
    year: 2024,
    tz: 'UTC',
    tag: TAG,
    maxLength,
    ...options,
    onMalformed: (source, line, reason) => malformed.push(`${source}:${line}: ${reason}`),
  });
  let ndjson = '';
  const sink = new Writable({
    write(chunk: Buffer, _e, callback) {
      ndjson += chunk.toString();
      callback();
    },
  });
  await pipeline(Readable.from(chunks), stage, sink);
  return { ndjson, malformed, counts: stage.counts };
}

/** A LogParser and the NDJSON and messages it gave (its text pieces hold one byte per character). */
function parserRun(options: ParseOptions = {}, maxLength?: number): { parser: LogParser; run: StageRun; sink: NdjsonSink; text: () => string } {
  const malformed: string[] = [];
  const parser = new LogParser({
    year: 2024,
    tz: 'UTC',
    tag: TAG,
    maxLength,
    ...options,
    onMalformed: (source, line, reason) => malformed.push(`${source}:${line}: ${reason}`),
  });
  const pieces: Buffer[] = [];
  const sink: NdjsonSink = {
    bytes: (view) => pieces.push(Buffer.from(view)),
    text: (latin1) => pieces.push(Buffer.from(latin1, 'latin1')),
  };
  const run = { ndjson: '', malformed, counts: parser.counts };
  return { parser, run, sink, text: () => Buffer.concat(pieces).toString() };
}

/**
 * What lmod-parse must give for one input, worked out line by line with the general parser
 * alone: lines end at `\n` (a `\r` before it cut), a line longer than maxLength bytes is
 * malformed, the others are decoded as UTF-8 and parsed.
 */
function reference(bytes: Buffer, options: ParseOptions = {}, maxLength = DEFAULT_MAX_LINE, source = 'in.log'): StageRun {
  const context = { isTrackingTag: tagMatcher(TAG), years: new YearResolver(zoneConverter('UTC'), 2024, new Date()) };
  const lines = bytes.toString('latin1').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const run: StageRun = { ndjson: '', malformed: [], counts: { lines: 0, records: 0, skipped: 0, malformed: 0 } };
  lines.forEach((latin1, i) => {
    const line = latin1.replace(/\r$/, '');
    run.counts.lines++;
    if (line.length > maxLength) {
      run.counts.malformed++;
      run.malformed.push(`${source}:${i + 1}: line longer than ${maxLength} bytes`);
      return;
    }
    const outcome = parseLine(Buffer.from(line, 'latin1').toString('utf8'), context);
    if ('record' in outcome) {
      run.counts.records++;
      if (options.withSource === true) outcome.record.source = `${source}:${i + 1}`;
      run.ndjson += recordToNdjson(outcome.record);
    } else if ('skip' in outcome) {
      run.counts.skipped++;
    } else {
      run.counts.malformed++;
      run.malformed.push(`${source}:${i + 1}: ${outcome.malformed}`);
    }
  });
  return run;
}

const ALL = Buffer.concat([
  fixture('formats.log'),
  fixture('malformed.log'),
  fixture('skipped.log'),
  Buffer.from('ModuleUsageTracking: user=zoë module=日本/1.0 path=/s/🚀.lua host=h time=1700000000.000001\r\n'),
  Buffer.from('ModuleUsageTracking: user=bad'),
  Buffer.from([0xff, 0xc0]),
  Buffer.from('byte module=m/1 host=h time=1700000000.5\r\n'),
  Buffer.from(`ModuleUsageTracking: user=long module=${'x'.repeat(500)} time=1\n`),
  Buffer.from('ModuleUsageTracking: user=end module=e/1 time=2'),
]);

const bytewise = (buffer: Buffer): Buffer[] => [...buffer].map((b) => Buffer.from([b]));

test('the whole stage gives identical output fed one byte at a time and in one piece', async () => {
  const whole = await runStage([ALL], {}, 400);
  const bytes = await runStage(bytewise(ALL), {}, 400);
  assert.equal(bytes.ndjson, whole.ndjson);
  assert.deepEqual(bytes.malformed, whole.malformed);
  assert.deepEqual(bytes.counts, whole.counts);
  const records = whole.ndjson.trimEnd().split('\n');
  const formats = fixture('formats.ndjson').toString().trimEnd().split('\n');
  assert.deepEqual(records.slice(0, 32), formats);
  assert.deepEqual(
    records
      .slice(32)
      .map((r) => JSON.parse(r) as { user: string; module: string; time: string })
      .map((r) => [r.user, r.module, r.time]),
    [
      ['zoë', '日本/1.0', '2023-11-14T22:13:20.000001Z'],
      ['bad\ufffd\ufffdbyte', 'm/1', '2023-11-14T22:13:20.500000Z'],
      ['end', 'e/1', '1970-01-01T00:00:02.000000Z'],
    ],
  );
  assert.deepEqual(whole.counts, { lines: 32 + 17 + 22 + 4, records: 35, skipped: 22, malformed: 18 });
  assert.equal(whole.malformed.at(-1), 'in.log:74: line longer than 400 bytes');
  assert.deepEqual(whole, reference(ALL, {}, 400));
});

test('the bound on line length counts bytes, not characters, CRLF not included: in one piece and byte by byte', async () => {
  // 'é' is 2 bytes: the first line has 222 characters in 402 bytes, the others 400 bytes.
  const line = (n: number): string => `ModuleUsageTracking: user=a module=${'é'.repeat(n)} time=1`;
  const input = Buffer.from(`${line(180)}\n${line(179)}\n${line(179)}\r\n${line(180)}`);
  const expected: StageRun = {
    ndjson:
      `${recordToNdjson({ time: '1970-01-01T00:00:01.000000Z', user: 'a', module: 'é'.repeat(179), name: 'é'.repeat(179), version: null, path: null, host: null, jobid: null, userload: null, cluster: null })}`.repeat(
        2,
      ),
    malformed: ['in.log:1: line longer than 400 bytes', 'in.log:4: line longer than 400 bytes'],
    counts: { lines: 4, records: 2, skipped: 0, malformed: 2 },
  };
  assert.deepEqual(reference(input, {}, 400), expected);
  assert.deepEqual(await runStage([input], {}, 400), expected);
  assert.deepEqual(await runStage(bytewise(input), {}, 400), expected);
});

test('--with-source adds FILE:LINE to every record, after the other fields', async () => {
  const run = await runStage([fixture('formats.log')], { withSource: true });
  const records = run.ndjson
    .trimEnd()
    .split('\n')
    .map((r) => JSON.parse(r) as Record<string, unknown>);
  const formats = fixture('formats.ndjson')
    .toString()
    .trimEnd()
    .split('\n')
    .map((r) => JSON.parse(r) as Record<string, unknown>);
  assert.equal(records.length, 32);
  records.forEach((record, i) => {
    assert.deepEqual(record, { ...formats[i], source: `in.log:${i + 1}` });
    assert.equal(Object.keys(record).at(-1), 'source');
  });
});

test('each input starts its own year: the first RFC 3164 stamp of every input takes --year', () => {
  const { parser, sink, text } = parserRun({ year: 2020 });
  parser.write('a.log', Buffer.from('Dec 31 23:00:00 h lmod: user=a module=m\nJan  1 01:00:00 h lmod: user=a module=m\n'), sink);
  parser.write('b.log', Buffer.from('Dec 31 23:30:00 h lmod: user=b module=m\n'), sink);
  parser.end(sink);
  assert.deepEqual(
    text()
      .trimEnd()
      .split('\n')
      .map((r) => (JSON.parse(r) as { time: string }).time),
    ['2020-12-31T23:00:00.000000Z', '2021-01-01T01:00:00.000000Z', '2020-12-31T23:30:00.000000Z'],
  );
});

/** ALL with documented lines around each of its lines, so runs of converted lines alternate with the others. */
const MIXED = Buffer.from(
  ALL.toString('latin1')
    .split('\n')
    .map((line, i) => `ModuleUsageTracking: user=u${i} module=m/${i} path=/p host=h time=${1700000000 + i}.000000\n${line}`)
    .join('\n'),
  'latin1',
);

function randomChunks(bytes: Buffer, seed: number): Buffer[] {
  const random = prng(seed);
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = 1 + Math.floor(random() * 300);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

/** The bytes through LogParser.read (as lmod-parse reads a file), the reader giving `size` bytes or fewer at a time (a pipe). */
function runRead(bytes: Buffer, options: ParseOptions, maxLength: number, size: number): StageRun {
  const { parser, run, sink, text } = parserRun(options, maxLength);
  let at = 0;
  const read = (into: Uint8Array): number => {
    const n = Math.min(into.length, bytes.length - at);
    into.set(bytes.subarray(at, at + n));
    at += n;
    return n;
  };
  while (parser.read('in.log', read, size, sink) > 0);
  parser.end(sink);
  return { ...run, ndjson: text() };
}

test('documented runs converted in WebAssembly give what the general parser gives line by line: in one piece, byte by byte, in random chunks, read in small fills', async () => {
  const expected = reference(MIXED, {}, 400);
  assert.equal(expected.counts.records, 35 + 75);
  for (const [label, chunks] of [
    ['one piece', [MIXED]],
    ['bytes', bytewise(MIXED)],
    ['random chunks', randomChunks(MIXED, 5)],
  ] as const) {
    assert.deepEqual(await runStage([...chunks], {}, 400), expected, label);
  }
  for (const size of [1, 7, 300, 64 * 1024]) assert.deepEqual(runRead(MIXED, {}, 400, size), expected, `reads of ${size} bytes`);
});

test('--with-source numbers every line, converted or not, and turns the WebAssembly scanner off without changing a record', async () => {
  const expected = reference(MIXED, { withSource: true }, 400);
  const run = await runStage(randomChunks(MIXED, 9), { withSource: true }, 400);
  assert.deepEqual(run, expected);
  assert.match(run.ndjson.split('\n')[0], /"source":"in\.log:1"\}$/);
  const converted = await runStage(randomChunks(MIXED, 9), {}, 400);
  assert.equal(run.ndjson.replace(/,"source":"in\.log:\d+"\}$/gm, '}'), converted.ndjson);
});

test('line numbers and years restart with each input, also when a file is named twice', () => {
  const a = Buffer.from(
    'ModuleUsageTracking: user=a module=m path=/p host=h time=1.000000\nDec 31 23:00:00 h lmod: user=a module=m\nJan  1 01:00:00 h lmod: user=\n',
  );
  const b = Buffer.from('Dec 31 23:30:00 h lmod: user=b module=m\nModuleUsageTracking: user=');
  const { parser, run, sink, text } = parserRun();
  for (const [source, chunks] of [
    ['a.log', [a]],
    ['b.log', randomChunks(b, 3)],
    ['a.log', [a]],
    ['a.log', bytewise(a)],
  ] as const) {
    for (const chunk of chunks) parser.write(source, chunk, sink);
    parser.end(sink);
  }
  assert.deepEqual(run.malformed, ['a.log:3: empty user', 'b.log:2: empty user', 'a.log:3: empty user', 'a.log:3: empty user']);
  assert.deepEqual(
    text()
      .trimEnd()
      .split('\n')
      .map((r) => (JSON.parse(r) as { time: string }).time),
    [
      '1970-01-01T00:00:01.000000Z',
      '2024-12-31T23:00:00.000000Z',
      '2024-12-31T23:30:00.000000Z',
      '1970-01-01T00:00:01.000000Z',
      '2024-12-31T23:00:00.000000Z',
      '1970-01-01T00:00:01.000000Z',
      '2024-12-31T23:00:00.000000Z',
    ],
  );
  assert.deepEqual(run.counts, { lines: 11, records: 7, skipped: 0, malformed: 4 });
});

test('a 20 MB line through the stage is one malformed line, the records around it kept, memory bounded', async () => {
  const documented = 'ModuleUsageTracking: user=a module=m/1 path=/p host=h time=1.000000\n';
  const piece = Buffer.alloc(64 * 1024, 'x');
  const before = process.memoryUsage().arrayBuffers;
  let peak = 0;
  function* input(): Generator<Buffer> {
    yield Buffer.from(documented);
    for (let i = 0; i < 320; i++) {
      yield piece;
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
    }
    yield Buffer.from(`\r\n${documented}`);
  }
  const malformed: string[] = [];
  const stage = new ParseStage({
    source: 'big.log',
    onMalformed: (source, line, reason) => malformed.push(`${source}:${line}: ${reason}`),
  });
  let ndjson = '';
  const sink = new Writable({
    write(chunk: Buffer, _e, callback) {
      ndjson += chunk.toString();
      callback();
    },
  });
  await pipeline(Readable.from(input()), stage, sink);
  assert.deepEqual(malformed, ['big.log:2: line longer than 65536 bytes']);
  assert.equal(ndjson, reference(Buffer.from(documented)).ndjson.repeat(2));
  assert.deepEqual(stage.counts, { lines: 3, records: 2, skipped: 0, malformed: 1 });
  assert.ok(Math.max(peak, process.memoryUsage().arrayBuffers - before) < 4 * 1024 * 1024, 'the memory grew with the line');
});
