import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { logLines, prng } from '../helpers/generate';
import { DocumentedScanner } from '../../src/parse/documented/scanner';
import { YearResolver, zoneConverter } from '../../src/parse/header-time';
import { parseLine, tagMatcher } from '../../src/parse/line';
import { recordToNdjson } from '../../src/parse/serialize';
import { ALPHABET, mutate } from '../helpers/mutate';

/**
 * lmod-parse's fast path is the WebAssembly scanner (src/parse/documented/documented.c): every
 * line it converts must come out as the general parser writes it. (Which lines it must take is
 * held in test/parse-documented-wasm.test.ts.)
 */

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'parse');
const UTC = zoneConverter('UTC');

/** What the general parser writes for a line, or its outcome when there is no record. */
function general(line: string): string {
  const outcome = parseLine(line, { isTrackingTag: tagMatcher(), years: new YearResolver(UTC, 2024, new Date()) });
  return 'record' in outcome ? recordToNdjson(outcome.record) : JSON.stringify(outcome);
}

/**
 * Each line through the scanner as lmod-parse feeds it (its UTF-8 bytes and a newline): the NDJSON
 * of each line it takes (null for a line it leaves to the general parser), in order.
 */
function fastPath(lines: string[]): (string | null)[] {
  const scanner = new DocumentedScanner(64 * 1024);
  const window = scanner.window;
  return lines.map((line) => {
    window.append(Buffer.from(`${line}\n`, 'utf8'));
    const run = scanner.convert();
    const left = window.next();
    assert.equal(left, run.lines === 0, 'a line is either converted or handed out');
    assert.equal(window.next(), false);
    // The scanner takes only printable ASCII, where latin1 and UTF-8 are the same text.
    return run.ndjson === null ? null : Buffer.from(run.ndjson).toString('latin1');
  });
}

/** Checks every line the fast path takes; returns how many it took. */
function assertSameWhereFast(lines: string[], label: string): number {
  let fast = 0;
  fastPath(lines).forEach((ndjson, i) => {
    if (ndjson === null) return;
    fast++;
    // A `\r` before the newline is not part of the line.
    assert.equal(ndjson, general(lines[i].replace(/\r$/, '')), `${label}: ${JSON.stringify(lines[i])}`);
  });
  return fast;
}

test('fast path equals the general parser on every fixture line it takes', () => {
  let taken = 0;
  for (const name of ['formats.log', 'malformed.log', 'skipped.log', 'wild.log']) {
    taken += assertSameWhereFast(readFileSync(join(FIXTURES, name), 'utf8').split('\n'), name);
  }
  assert.ok(taken >= 10, `fast path took only ${taken} fixture lines`);
});

function generated(): string[] {
  return [...logLines({ lines: 20000, seed: 7, variety: true, foreign: 0.01, malformed: 0.01 })];
}

test('fast path equals the general parser on 20,000 generated lines', () => {
  const taken = assertSameWhereFast(generated(), 'generated');
  assert.ok(taken > 10000, `fast path took ${taken}`);
});

/** The generated and wild lines that the fast path takes. */
function documentedLines(): string[] {
  const lines = [...generated(), ...readFileSync(join(FIXTURES, 'wild.log'), 'utf8').split('\n')];
  const ndjson = fastPath(lines);
  return lines.filter((_, i) => ndjson[i] !== null);
}

test('fast path equals the general parser on 100,000 seeded mutations of documented lines', () => {
  const base = documentedLines();
  const random = prng(2024);
  const mutants = Array.from({ length: 100000 }, () => mutate(base[Math.floor(random() * base.length)], random, ALPHABET));
  const taken = assertSameWhereFast(mutants, 'mutant');
  assert.ok(taken > 15000, `fast path took ${taken} mutants`);
});

test('fast path: a value starting with a single quote is unquoted like the general parser does', () => {
  const base = documentedLines();
  const random = prng(99);
  const mutants = Array.from({ length: 100000 }, () => mutate(base[Math.floor(random() * base.length)], random, [...ALPHABET, "'"]));
  assertSameWhereFast(["ModuleUsageTracking: user='a' module=m path=/p host=h time=1.000000", ...mutants], 'quote');
});

test('fast path: an RFC 3164 header with day 00 or 32-39 is not taken, the general parser decides (day 00: foreign)', () => {
  const lines = [
    'Nov 00 13:29:32 host ModuleUsageTracking: user=a module=m path=/p host=h time=1.000000',
    'Nov 39 13:29:32 host ModuleUsageTracking: user=a module=m path=/p host=h time=1.000000',
  ];
  assert.deepEqual(fastPath(lines), [null, null]);
  assert.equal(general(lines[0]), JSON.stringify({ skip: 'foreign' }));
});
