import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { prng } from './helpers/generate';
import { YearResolver, zoneConverter } from '../src/parse/header-time';
import { parseLine, tagMatcher } from '../src/parse/line';
import { recordToNdjson } from '../src/parse/serialize';
import { splitModule } from '../src/record';

const ROOT = join(__dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'parse');
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
const SEEDS = ['formats.log', 'malformed.log', 'skipped.log', 'wild.log'].flatMap((name) => readFileSync(join(FIXTURES, name), 'utf8').split('\n'));

/** parseLine must not throw, and whatever it returns must be a well-formed outcome. */
function checkLine(line: string, random: () => number): void {
  const context = {
    isTrackingTag: tagMatcher(/^(?:MySite_Tracker)$/),
    years: new YearResolver(zoneConverter('Europe/Berlin'), random() < 0.5 ? 2024 : undefined, new Date('2024-06-01T00:00:00Z')),
  };
  const outcome = parseLine(line, context);
  const kinds = ['record', 'skip', 'malformed'].filter((k) => k in outcome);
  assert.equal(kinds.length, 1, JSON.stringify(line));
  if (!('record' in outcome)) return;
  const r = outcome.record;
  assert.match(r.time, ISO, JSON.stringify(line));
  assert.ok(r.user.length > 0 && r.module.length > 0, JSON.stringify(line));
  assert.deepEqual({ name: r.name, version: r.version }, splitModule(r.module));
  const ndjson = recordToNdjson(r);
  assert.equal(ndjson.indexOf('\n'), ndjson.length - 1, 'one line of NDJSON');
  assert.deepEqual(JSON.parse(ndjson), JSON.parse(JSON.stringify(r)));
}

function randomString(random: () => number, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) {
    const pick = random();
    // Mostly ASCII (where the syntax is), some BMP, some astral characters.
    const code = pick < 0.8 ? Math.floor(random() * 128) : pick < 0.95 ? Math.floor(random() * 0xd800) : 0x10000 + Math.floor(random() * 0xfffff);
    s += String.fromCodePoint(code);
  }
  return s;
}

const PIECES = [
  ' ',
  '\t',
  ',',
  '=',
  '"',
  "'",
  '\\',
  '[',
  ']',
  ':',
  '::',
  '{',
  '}',
  '-',
  '<13>1 ',
  'user=',
  'module=',
  'time=',
  'mode=',
  'cmd=',
  'Error=',
  '{"user":',
  '"date":',
  'lmod',
  'ModuleUsageTracking',
  'é',
  '🚀',
  '\x00',
  '\x7f',
  '\ufffd',
];

function mutate(line: string, random: () => number): string {
  let out = line;
  const edits = 1 + Math.floor(random() * 4);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(random() * (out.length + 1));
    const piece = PIECES[Math.floor(random() * PIECES.length)];
    const op = random();
    if (op < 0.35) out = out.slice(0, at) + piece + out.slice(at);
    else if (op < 0.6) out = out.slice(0, at) + out.slice(at + 1 + Math.floor(random() * 8));
    else if (op < 0.8) out = out.slice(0, at) + piece + out.slice(at + piece.length);
    else out = out.slice(0, at);
  }
  return out;
}

test('random strings never crash parseLine (seeded, 20,000 cases)', () => {
  const random = prng(1234);
  for (let i = 0; i < 20000; i++) checkLine(randomString(random, Math.floor(random() * 200)), random);
});

test('random bytes decoded as UTF-8 never crash parseLine (seeded, 10,000 cases)', () => {
  const random = prng(4321);
  for (let i = 0; i < 10000; i++) {
    const bytes = Buffer.from(Array.from({ length: Math.floor(random() * 200) }, () => Math.floor(random() * 256)));
    checkLine(bytes.toString('utf8').replace(/\n/g, ''), random);
  }
});

test('random mutations of valid lines of every format never crash parseLine (seeded, 50,000 cases)', () => {
  const random = prng(777);
  for (let i = 0; i < 50000; i++) checkLine(mutate(SEEDS[Math.floor(random() * SEEDS.length)], random), random);
});

test('the CLI survives a fuzzed file: every stdout line is a record, every stderr line a FILE:LINE report, counts add up', () => {
  const random = prng(31337);
  const dir = mkdtempSync(join(tmpdir(), 'lmod-parse-fuzz-'));
  try {
    const parts: Buffer[] = [];
    for (let i = 0; i < 5000; i++) {
      const r = random();
      if (r < 0.2) parts.push(Buffer.from(Array.from({ length: Math.floor(random() * 120) }, () => Math.floor(random() * 256))));
      else parts.push(Buffer.from(mutate(SEEDS[Math.floor(random() * SEEDS.length)], random)));
      parts.push(Buffer.from(random() < 0.1 ? '\r\n' : '\n'));
    }
    const input = Buffer.concat(parts);
    writeFileSync(join(dir, 'fuzz.log'), input);
    const run = spawnSync(process.execPath, [join(ROOT, 'bin', 'lmod-parse.js'), '--max-line', '300', 'fuzz.log'], {
      cwd: dir,
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    assert.ok(run.status === 0 || run.status === 1, `exit ${run.status}: ${run.stderr.slice(-500)}`);
    const records = run.stdout === '' ? [] : run.stdout.trimEnd().split('\n');
    for (const line of records) assert.match((JSON.parse(line) as { time: string }).time, ISO);
    const errors = run.stderr.trimEnd().split('\n');
    const summary = errors.pop() ?? '';
    for (const line of errors) assert.match(line, /^lmod-parse: fuzz\.log:\d+: (line longer than 300 bytes|[a-zA-Z ()=]+: .*)$/);
    const m = /^lmod-parse: ([\d,]+) lines, ([\d,]+) records, ([\d,]+) skipped, ([\d,]+) malformed in /.exec(summary);
    assert.ok(m, summary);
    const [lines, recordCount, skipped, malformed] = m.slice(1, 5).map((n) => Number(n.replace(/,/g, '')));
    const newlines = input.filter((b) => b === 0x0a).length;
    assert.equal(lines, newlines);
    assert.equal(recordCount, records.length);
    assert.equal(malformed, errors.length);
    assert.equal(lines, recordCount + skipped + malformed);
    assert.ok(recordCount > 100 && malformed > 100 && skipped > 100, summary);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
