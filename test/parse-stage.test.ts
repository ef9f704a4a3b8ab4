import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { prng } from '../bench/generate';
import type { RawChunk } from '../src/stream/feed';
import { LineSplitter } from '../src/stream/lines';
import { ParseStage, ParseStageOptions } from '../src/stream/parse-stage';

const FIXTURES = join(__dirname, '..', '..', 'test', 'fixtures', 'parse');
const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, name));

interface StageRun {
  ndjson: string;
  malformed: string[];
  counts: ParseStage['counts'];
}

/** Bytes (as the given chunks) through LineSplitter and ParseStage, as lmod-parse runs them. */
async function runStage(chunks: Buffer[], options: ParseStageOptions = {}, maxLength?: number, binary = false): Promise<StageRun> {
  const malformed: string[] = [];
  const stage = new ParseStage({ year: 2024, tz: 'UTC', tag: /^(?:MySite_Tracker)$/, maxLength, ...options, onMalformed: (source, line, reason) => malformed.push(`${source}:${line}: ${reason}`) });
  let ndjson = '';
  const sink = new Writable({ write(chunk: Buffer, _e, callback) { ndjson += chunk.toString(); callback(); } });
  await pipeline(Readable.from(chunks), new LineSplitter({ source: 'in.log', maxLength, binary }), stage, sink);
  return { ndjson, malformed, counts: stage.counts };
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

test('the whole stage gives identical output fed one byte at a time and in one piece', async () => {
  const whole = await runStage([ALL], {}, 400);
  const bytes = await runStage([...ALL].map((b) => Buffer.from([b])), {}, 400);
  assert.equal(bytes.ndjson, whole.ndjson);
  assert.deepEqual(bytes.malformed, whole.malformed);
  assert.deepEqual(bytes.counts, whole.counts);
  const records = whole.ndjson.trimEnd().split('\n');
  const formats = fixture('formats.ndjson').toString().trimEnd().split('\n');
  assert.deepEqual(records.slice(0, 32), formats);
  assert.deepEqual(records.slice(32).map((r) => JSON.parse(r) as { user: string; module: string; time: string }).map((r) => [r.user, r.module, r.time]), [
    ['zoë', '日本/1.0', '2023-11-14T22:13:20.000001Z'],
    ['bad\ufffd\ufffdbyte', 'm/1', '2023-11-14T22:13:20.500000Z'],
    ['end', 'e/1', '1970-01-01T00:00:02.000000Z'],
  ]);
  assert.deepEqual(whole.counts, { lines: 32 + 17 + 22 + 4, records: 35, skipped: 22, malformed: 18 });
  assert.equal(whole.malformed.at(-1), 'in.log:74: line longer than 400 characters');
});

test('binary lines (as lmod-parse feeds them) give the same output as text lines, byte by byte too', async () => {
  const text = await runStage([ALL], {}, 400);
  const binary = await runStage([ALL], {}, 400, true);
  const binaryBytes = await runStage([...ALL].map((b) => Buffer.from([b])), {}, 400, true);
  assert.equal(binary.ndjson, text.ndjson);
  // The same lines are refused; binary lines count the bound in bytes.
  assert.deepEqual(binary.malformed, text.malformed.map((m) => m.replace(/ characters$/, ' bytes')));
  assert.deepEqual(binary.counts, text.counts);
  assert.equal(binaryBytes.ndjson, text.ndjson);
  assert.deepEqual(binaryBytes.counts, text.counts);
});

test('--with-source adds FILE:LINE to every record, after the other fields', async () => {
  const run = await runStage([fixture('formats.log')], { withSource: true });
  const records = run.ndjson.trimEnd().split('\n').map((r) => JSON.parse(r) as Record<string, unknown>);
  const formats = fixture('formats.ndjson').toString().trimEnd().split('\n').map((r) => JSON.parse(r) as Record<string, unknown>);
  assert.equal(records.length, 32);
  records.forEach((record, i) => {
    assert.deepEqual(record, { ...formats[i], source: `in.log:${i + 1}` });
    assert.equal(Object.keys(record).at(-1), 'source');
  });
});

test('each input starts its own year: the first RFC 3164 stamp of every input takes --year', async () => {
  const stage = new ParseStage({ year: 2020, tz: 'UTC' });
  let ndjson = '';
  stage.on('data', (chunk: string) => (ndjson += chunk));
  stage.write({ source: 'a.log', firstLine: 1, lines: ['Dec 31 23:00:00 h lmod: user=a module=m', 'Jan  1 01:00:00 h lmod: user=a module=m'] });
  stage.write({ source: 'b.log', firstLine: 1, lines: ['Dec 31 23:30:00 h lmod: user=b module=m'] });
  stage.end();
  await new Promise((resolve) => stage.on('end', resolve));
  assert.deepEqual(ndjson.trimEnd().split('\n').map((r) => (JSON.parse(r) as { time: string }).time), [
    '2020-12-31T23:00:00.000000Z', '2021-01-01T01:00:00.000000Z', '2020-12-31T23:30:00.000000Z',
  ]);
});

/** Bytes (as the given chunks) straight into ParseStage as RawChunks, as lmod-parse feeds them. */
async function runRaw(inputs: { source: string; chunks: Buffer[] }[], options: ParseStageOptions = {}, maxLength?: number): Promise<StageRun> {
  const malformed: string[] = [];
  const stage = new ParseStage({ year: 2024, tz: 'UTC', tag: /^(?:MySite_Tracker)$/, maxLength, ...options, onMalformed: (source, line, reason) => malformed.push(`${source}:${line}: ${reason}`) });
  let ndjson = '';
  const sink = new Writable({ write(chunk: Buffer, _e, callback) { ndjson += chunk.toString(); callback(); } });
  const raw: RawChunk[] = inputs.flatMap(({ source, chunks }) => [...chunks.map((bytes) => ({ source, bytes })), { source, bytes: null }]);
  await pipeline(Readable.from(raw), stage, sink);
  return { ndjson, malformed, counts: stage.counts };
}

/** ALL with canonical lines around each of its lines, so runs of converted lines alternate with the others. */
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

test('raw chunks (as lmod-parse feeds them) give what binary lines give: in one piece, byte by byte, in random chunks', async () => {
  const lines = await runStage([MIXED], {}, 400, true);
  assert.equal(lines.counts.records, 35 + 75);
  for (const [label, chunks] of [
    ['one piece', [MIXED]],
    ['bytes', [...MIXED].map((b) => Buffer.from([b]))],
    ['random chunks', randomChunks(MIXED, 5)],
  ] as const) {
    const raw = await runRaw([{ source: 'in.log', chunks: [...chunks] }], {}, 400);
    assert.equal(raw.ndjson, lines.ndjson, label);
    assert.deepEqual(raw.malformed, lines.malformed, label);
    assert.deepEqual(raw.counts, lines.counts, label);
  }
});

test('raw chunks: --with-source numbers every line, converted or not', async () => {
  const lines = await runStage([MIXED], { withSource: true }, 400, true);
  const raw = await runRaw([{ source: 'in.log', chunks: randomChunks(MIXED, 9) }], { withSource: true }, 400);
  assert.equal(raw.ndjson, lines.ndjson);
  assert.match(raw.ndjson.split('\n')[0], /"source":"in\.log:1"\}$/);
});

test('raw chunks: line numbers and years restart with each input, also when a file is named twice', async () => {
  const a = Buffer.from('ModuleUsageTracking: user=a module=m path=/p host=h time=1.000000\nDec 31 23:00:00 h lmod: user=a module=m\nJan  1 01:00:00 h lmod: user=\n');
  const b = Buffer.from('Dec 31 23:30:00 h lmod: user=b module=m\nModuleUsageTracking: user=\n');
  const run = await runRaw([
    { source: 'a.log', chunks: [a] },
    { source: 'b.log', chunks: randomChunks(b, 3) },
    { source: 'a.log', chunks: [a] },
  ]);
  assert.deepEqual(run.malformed, ['a.log:3: empty user', 'b.log:2: empty user', 'a.log:3: empty user']);
  assert.deepEqual(run.ndjson.trimEnd().split('\n').map((r) => (JSON.parse(r) as { time: string }).time), [
    '1970-01-01T00:00:01.000000Z', '2024-12-31T23:00:00.000000Z', '2024-12-31T23:30:00.000000Z', '1970-01-01T00:00:01.000000Z', '2024-12-31T23:00:00.000000Z',
  ]);
});
