import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { logLines, prng } from '../bench/generate';
import { canonicalToNdjson } from '../src/parse/fast-path';
import { YearResolver, zoneConverter } from '../src/parse/header-time';
import { parseLine, tagMatcher } from '../src/parse/line';
import { recordToNdjson } from '../src/parse/serialize';
import { ALPHABET, mutate } from './helpers/mutate';

const FIXTURES = join(__dirname, '..', '..', 'test', 'fixtures', 'parse');

/** What the general parser writes for a line, or its outcome when there is no record. */
function general(line: string): string {
  const outcome = parseLine(line, { isTrackingTag: tagMatcher(), years: new YearResolver(zoneConverter('UTC'), 2024, new Date()) });
  return 'record' in outcome ? recordToNdjson(outcome.record) : JSON.stringify(outcome);
}

/** Checks every line the fast path takes; returns how many it took. */
function assertSameWhereFast(lines: Iterable<string>, label: string): number {
  let fast = 0;
  for (const line of lines) {
    const ndjson = canonicalToNdjson(line);
    if (ndjson === null) continue;
    fast++;
    assert.equal(ndjson, general(line), `${label}: ${JSON.stringify(line)}`);
  }
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

function canonicalLines(): string[] {
  const lines = generated().filter((l) => canonicalToNdjson(l) !== null);
  lines.push(...readFileSync(join(FIXTURES, 'wild.log'), 'utf8').split('\n').filter((l) => canonicalToNdjson(l) !== null));
  return lines;
}

test('fast path equals the general parser on 100,000 seeded mutations of canonical lines', () => {
  const base = canonicalLines();
  const random = prng(2024);
  const mutants = Array.from({ length: 100000 }, () => mutate(base[Math.floor(random() * base.length)], random, ALPHABET));
  const taken = assertSameWhereFast(mutants, 'mutant');
  assert.ok(taken > 15000, `fast path took ${taken} mutants`);
});

test('fast path: a value starting with a single quote is unquoted like the general parser does', () => {
  const base = canonicalLines();
  const random = prng(99);
  const mutants = Array.from({ length: 100000 }, () => mutate(base[Math.floor(random() * base.length)], random, [...ALPHABET, "'"]));
  assertSameWhereFast(["ModuleUsageTracking: user='a' module=m path=/p host=h time=1.000000", ...mutants], 'quote');
});

test('fast path: an RFC 3164 header with day 00 or 32-39 is not taken when the general parser calls it foreign', () => {
  assertSameWhereFast(['Nov 00 13:29:32 host ModuleUsageTracking: user=a module=m path=/p host=h time=1.000000', 'Nov 39 13:29:32 host ModuleUsageTracking: user=a module=m path=/p host=h time=1.000000'], 'day');
});
