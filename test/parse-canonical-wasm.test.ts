import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { logLines, prng } from '../bench/generate';
import { CanonicalWindow } from '../src/parse/canonical/window';
import { canonicalToNdjson } from '../src/parse/fast-path';
import { ALPHABET, mutate } from './helpers/mutate';

const ROOT = join(__dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'parse');

/**
 * The WebAssembly fast path against the regex one (which test/parse-fastpath.test.ts holds
 * to the general parser): for each line, both take it or both leave it, with the same NDJSON.
 * The regex sees what lmod-parse used to give it: the line's bytes as latin1, one `\r` cut.
 */
function assertSameAsRegex(lines: Iterable<string>, label: string): number {
  const window = new CanonicalWindow(64 * 1024);
  let taken = 0;
  for (const line of lines) {
    const latin1 = Buffer.from(line, 'utf8').toString('latin1');
    const expected = canonicalToNdjson(latin1.endsWith('\r') ? latin1.slice(0, -1) : latin1);
    window.append(Buffer.from(`${line}\n`, 'utf8'));
    const run = window.convert();
    if (run.lines === 0) {
      assert.equal(expected, null, `${label}: the regex takes ${JSON.stringify(line)}, WebAssembly does not`);
      assert.notEqual(window.nextLine(), undefined);
    } else {
      taken++;
      assert.equal(run.lines, 1);
      assert.equal((run.ndjson && Buffer.from(run.ndjson).toString('latin1')), expected, `${label}: ${JSON.stringify(line)}`);
    }
    assert.equal(window.nextLine(), undefined);
  }
  return taken;
}

const fixtureLines = (name: string): string[] => readFileSync(join(FIXTURES, name), 'utf8').split('\n');
const generated = (): string[] => [...logLines({ lines: 20000, seed: 7, variety: true, foreign: 0.01, malformed: 0.01 })];

test('WebAssembly fast path: takes exactly the fixture lines the regex takes, with the same NDJSON', () => {
  let taken = 0;
  for (const name of ['formats.log', 'malformed.log', 'skipped.log', 'wild.log']) taken += assertSameAsRegex(fixtureLines(name), name);
  assert.ok(taken >= 10, `took only ${taken} fixture lines`);
});

test('WebAssembly fast path: the same on 20,000 generated lines', () => {
  assert.ok(assertSameAsRegex(generated(), 'generated') > 10000);
});

test('WebAssembly fast path: the same on 200,000 seeded mutations of canonical lines, CR, quotes and non-ASCII included', () => {
  const base = [...generated(), ...fixtureLines('wild.log')].filter((l) => canonicalToNdjson(l) !== null);
  const random = prng(4711);
  const alphabet = [...ALPHABET, "'", '\r', '\u00e0', '\u00a0'];
  const mutants = Array.from({ length: 200000 }, () => mutate(base[Math.floor(random() * base.length)], random, alphabet));
  assert.ok(assertSameAsRegex(mutants, 'mutant') > 30000);
});

test('WebAssembly fast path: edges of the layout', () => {
  const line = (s: string): string => `ModuleUsageTracking: user=a module=m/1 path=/p host=h ${s}`;
  assertSameAsRegex(
    [
      line('time=99999999999.999999'),
      line('time=999999999999.999999'),
      line('time=0.000000'),
      line('time=951782400.000000'),
      line('time=4107542399.999999'),
      line('time=1.0000000'),
      line('time=1.00000'),
      line('jobid=1 userload=yes time=1.000000 jobid=2 userload=no'),
      line('time=1.000000 jobid=2 userload=no'),
      line('userload=maybe time=1.000000'),
      line('time=1.000000 userload=yes '),
      'ModuleUsageTracking[12]: user=a module=gcc/ path=/p host=h time=1.000000',
      'ModuleUsageTracking[]: user=a module=/x path=/p host=h time=1.000000',
      ...['0', '00', '1', '01', '09', '10', '29', '30', '31', '32', '39', '40', '123'].map(
        (day) => `Nov ${day} 13:29:32 h ModuleUsageTracking: user=a module=m path=/p host=h time=1.000000`,
      ),
      ...['Jan', 'Dec', 'Sept', 'jan', 'Foo'].map((month) => `${month} 1 13:29:32 h ModuleUsageTracking: user=a module=m path=/p host=h time=1.000000`),
      'Feb 29 23:59:59 h ModuleUsageTracking: user=a module=m path=/p host=h time=1.000000',
      'Feb 29 23:59:59  ModuleUsageTracking: user=a module=m path=/p host=h time=1.000000',
      'Feb 29 23:59:5 h ModuleUsageTracking: user=a module=m path=/p host=h time=1.000000',
      'Feb 29 23:59:59 h\u00a0x ModuleUsageTracking: user=a module=m path=/p host=h time=1.000000',
      'Feb  9 23:59:59 h ModuleUsageTracking: user=a module=m path=/p host=h time=1.000000',
      'Feb   9 23:59:59 h ModuleUsageTracking: user=a module=m path=/p host=h time=1.000000',
      'Feb 09 23:59:59 h:x ModuleUsageTracking: user=a module=m path=/p host=h time=1.000000',
      'Dec 31 23:59:59 h ModuleUsageTracking: user=a module=m path=/p host=h time=1.000000\r',
      '',
    ],
    'edge',
  );
});

test('CanonicalWindow: lines split anywhere between appends or fills, CRLF, a last line without newline, too-long lines', () => {
  const canonical = 'ModuleUsageTracking: user=a module=m/1 path=/p host=h time=1.000000';
  const text = `${canonical}\r\nforeign line\n${'y'.repeat(150)}\n${canonical}\n${'z'.repeat(101)}\r\n${canonical}`;
  const bytes = Buffer.from(text);
  const maxLine = 100;
  const expected = ['converted', 'foreign line', null, 'converted', null, canonical];
  const drain = (window: CanonicalWindow, got: (string | null)[]): void => {
    for (;;) {
      const run = window.convert();
      for (let i = 0; i < run.lines; i++) got.push('converted');
      const line = window.nextLine();
      if (line === undefined) return;
      got.push(line);
    }
  };
  for (const size of [1, 2, 7, 64, 1000]) {
    const appended = new CanonicalWindow(maxLine);
    const got: (string | null)[] = [];
    for (let at = 0; at < bytes.length; at += size) {
      appended.append(bytes.subarray(at, at + size));
      drain(appended, got);
    }
    assert.deepEqual([...got, appended.finish()], expected, `appends of ${size} bytes`);
    // fill: the reader gives fewer bytes than there is room for, as a pipe does.
    const filled = new CanonicalWindow(maxLine);
    const gotFilled: (string | null)[] = [];
    let at = 0;
    const read = (into: Uint8Array): number => {
      const n = Math.min(size, into.length, bytes.length - at);
      into.set(bytes.subarray(at, at + n));
      at += n;
      return n;
    };
    while (filled.fill(read, 500) > 0) drain(filled, gotFilled);
    assert.deepEqual([...gotFilled, filled.finish()], expected, `fills of ${size} bytes`);
  }
});

test('CanonicalWindow: a 20 MB line is dropped as one null while memory stays near maxLine', () => {
  const window = new CanonicalWindow(1000);
  const piece = Buffer.alloc(64 * 1024, 0x61);
  const before = process.memoryUsage().arrayBuffers;
  let results = 0;
  for (let i = 0; i < 320; i++) {
    window.append(piece);
    while (window.nextLine() !== undefined) results++;
  }
  window.append(Buffer.from('\nnext\n'));
  assert.equal(window.nextLine(), null);
  assert.equal(window.nextLine(), 'next');
  assert.equal(results, 0);
  assert.ok(process.memoryUsage().arrayBuffers - before < 4 * 1024 * 1024, 'the WebAssembly memory grew with the line');
});

test('the committed WebAssembly is the build of canonical.c (scripts/build-wasm.sh --check)', (t) => {
  const hasClang = spawnSync('sh', ['-c', 'command -v clang && command -v wasm-ld'], { stdio: 'ignore' }).status === 0;
  if (!hasClang) {
    // CI installs clang (.ci/setup.d/clang.sh), so the check runs there.
    if (process.env.CI === 'true') assert.fail('clang and wasm-ld are needed in CI to check canonical-wasm.ts');
    t.skip('no clang/wasm-ld here: apt-get install clang lld to check canonical-wasm.ts against canonical.c');
    return;
  }
  execFileSync(join(ROOT, 'scripts', 'build-wasm.sh'), ['--check'], { stdio: 'pipe' });
});
