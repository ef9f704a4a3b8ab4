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

const ROOT = join(__dirname, '..', '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'parse');

/**
 * Which lines are in Lmod's documented format (documented.c's header), read as latin1 bytes
 * without their `\n` or `\r\n`: the lines the WebAssembly scanner must take, no more, no fewer.
 * Values are printable ASCII but space, quotes, `,`, `=` and `\` (nothing to unquote or escape);
 * the optional RFC 3164 header has a day of 1-31; `jobid=`/`userload=` stand before or after `time=`,
 * a `cluster=` last.
 */
const VALUE = '[!#-&(-+\\--<>-\\[\\]-~]+';
const HEADER = '(?:(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}(?:0?[1-9]|[12]\\d|3[01]) \\d\\d:\\d\\d:\\d\\d [^\\s:\\[]+ )?';
const DOCUMENTED = new RegExp(
  `^${HEADER}ModuleUsageTracking(?:\\[\\d+\\])?: user=${VALUE} module=${VALUE} path=${VALUE} host=${VALUE}` +
    `(?: jobid=${VALUE})?(?: userload=(?:yes|no))? time=\\d{1,11}\\.\\d{6}(?: jobid=${VALUE})?(?: userload=(?:yes|no))?(?: cluster=${VALUE})?$`,
);

const UTC = zoneConverter('UTC');

/** The reference: what the general parser (parseLine, recordToNdjson) writes for a line's text, as UTF-8 bytes in latin1. */
function reference(text: string, cluster: string | null): string | undefined {
  const outcome = parseLine(text, { isTrackingTag: tagMatcher(), years: new YearResolver(UTC, 2024, new Date()), cluster });
  return 'record' in outcome ? Buffer.from(recordToNdjson(outcome.record), 'utf8').toString('latin1') : undefined;
}

/**
 * The WebAssembly scanner against the general parser, line by line as lmod-parse feeds it (UTF-8
 * bytes, a `\r` before the `\n` not part of the line): it takes exactly the lines in the
 * documented format, each with the general parser's NDJSON byte for byte, and leaves every other
 * line in its window for the general parser. Returns how many lines it took.
 */
function assertScannerIsReference(lines: Iterable<string>, label: string, cluster: string | null = null): number {
  const scanner = new DocumentedScanner(64 * 1024, cluster);
  const window = scanner.window;
  let taken = 0;
  let seen = 0;
  for (const line of lines) {
    const bytes = Buffer.from(`${line}\n`, 'utf8');
    const end = bytes.length - (bytes.length >= 2 && bytes[bytes.length - 2] === 13 ? 2 : 1);
    const latin1 = bytes.toString('latin1', 0, end);
    const documented = DOCUMENTED.test(latin1);
    window.append(bytes);
    const run = scanner.convert();
    if (run.lines === 0) {
      assert.equal(documented, false, `${label}: the scanner leaves ${JSON.stringify(line)}, which is in the documented format`);
      assert.equal(window.next(), true, `${label}: ${JSON.stringify(line)} is handed out for the general parser`);
      assert.equal(window.latin1(window.lineStart, window.lineEnd), latin1);
    } else {
      taken++;
      assert.equal(documented, true, `${label}: the scanner takes ${JSON.stringify(line)}, which is not in the documented format`);
      assert.equal(run.lines, 1);
      const expected = reference(bytes.toString('utf8', 0, end), cluster);
      assert.notEqual(expected, undefined, `${label}: the general parser gives no record for ${JSON.stringify(line)}`);
      assert.equal(Buffer.from(run.ndjson as Uint8Array).toString('latin1'), expected, `${label}: ${JSON.stringify(line)}`);
    }
    assert.equal(window.next(), false);
    assert.equal(window.lineNo, ++seen, 'every line counted, converted or not');
  }
  return taken;
}

const fixtureLines = (name: string): string[] => readFileSync(join(FIXTURES, name), 'utf8').split('\n');
const generated = (): string[] => [...logLines({ lines: 20000, seed: 7, variety: true, foreign: 0.01, malformed: 0.01 })];

test("WebAssembly scanner: takes exactly the fixture lines in the documented format, with the general parser's NDJSON", () => {
  let taken = 0;
  for (const name of ['formats.log', 'malformed.log', 'skipped.log', 'wild.log']) taken += assertScannerIsReference(fixtureLines(name), name);
  assert.ok(taken >= 10, `took only ${taken} fixture lines`);
});

test('WebAssembly scanner: the same on 20,000 generated lines', () => {
  assert.ok(assertScannerIsReference(generated(), 'generated') > 10000);
});

test('WebAssembly scanner: the same on 200,000 seeded mutations of documented lines, CR, quotes and non-ASCII included', () => {
  const base = [...generated(), ...fixtureLines('wild.log')].filter((l) => DOCUMENTED.test(l));
  const random = prng(4711);
  const alphabet = [...ALPHABET, "'", '\r', '\u00e0', '\u00a0'];
  const mutants = Array.from({ length: 200000 }, () => mutate(base[Math.floor(random() * base.length)], random, alphabet));
  assert.ok(assertScannerIsReference(mutants, 'mutant') > 30000);
});

test('WebAssembly scanner: edges of the layout', () => {
  const line = (s: string): string => `ModuleUsageTracking: user=a module=m/1 path=/p host=h ${s}`;
  const edges = [
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
    line('time=1.000000 jobid=2 userload=no cluster=alpha'),
    line('time=1.000000 cluster=alpha'),
    line('time=1.000000 cluster='),
    line('time=1.000000 cluster=alpha jobid=2'),
    line('time=1.000000 cluster="alpha"'),
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
  ];
  assert.equal(assertScannerIsReference(edges, 'edge'), 21);
  // lmod-parse --cluster: the lines without cluster= get it, in both parsers.
  assert.equal(assertScannerIsReference(edges, 'edge, --cluster', 'c-1.x'), 21);
  assert.equal(assertScannerIsReference(edges, 'edge, longest --cluster', 'c'.repeat(64)), 21);
});

/** What a window hands out, as LogParser reads it: NDJSON of converted runs, other lines as latin1, null for a too-long line; with line numbers. */
function drain(scanner: DocumentedScanner, got: [number, string | null][]): void {
  const window = scanner.window;
  for (;;) {
    const run = scanner.convert();
    if (run.ndjson !== null) {
      const records = Buffer.from(run.ndjson)
        .toString('latin1')
        .split(/(?<=\n)/);
      assert.equal(records.length, run.lines);
      records.forEach((record, i) => got.push([window.lineNo - run.lines + i + 1, record]));
    }
    if (!window.next()) return;
    got.push([window.lineNo, window.lineStart < 0 ? null : window.latin1(window.lineStart, window.lineEnd)]);
  }
}

test('DocumentedScanner: lines split anywhere between appends or fills, CRLF, a last line without newline, too-long lines', () => {
  const documented = 'ModuleUsageTracking: user=a module=m/1 path=/p host=h time=1.000000';
  const text = `${documented}\r\nforeign line\n${'y'.repeat(150)}\n${documented}\n${'z'.repeat(101)}\r\n${documented}`;
  const bytes = Buffer.from(text);
  const maxLine = 100;
  const ndjson = reference(documented, null) as string;
  // The last line, without newline, is the caller's (LogParser parses it with the general parser).
  const expected: [number, string | null][] = [
    [1, ndjson],
    [2, 'foreign line'],
    [3, null],
    [4, ndjson],
    [5, null],
    [6, documented],
  ];
  const finish = (scanner: DocumentedScanner, got: [number, string | null][]): [number, string | null][] => {
    const w = scanner.window;
    if (w.finish()) got.push([w.lineNo, w.lineStart < 0 ? null : w.latin1(w.lineStart, w.lineEnd)]);
    assert.equal(w.finish(), false, 'nothing is left after the end');
    return got;
  };
  for (const size of [1, 2, 7, 64, 1000]) {
    const appended = new DocumentedScanner(maxLine);
    const got: [number, string | null][] = [];
    for (let at = 0; at < bytes.length; at += size) {
      appended.window.append(bytes.subarray(at, at + size));
      drain(appended, got);
    }
    assert.deepEqual(finish(appended, got), expected, `appends of ${size} bytes`);
    // fill: the reader gives fewer bytes than there is room for, as a pipe does.
    const filled = new DocumentedScanner(maxLine);
    const gotFilled: [number, string | null][] = [];
    let at = 0;
    const read = (into: Uint8Array): number => {
      const n = Math.min(size, into.length, bytes.length - at);
      into.set(bytes.subarray(at, at + n));
      at += n;
      return n;
    };
    while (filled.window.fill(read, 500) > 0) drain(filled, gotFilled);
    assert.deepEqual(finish(filled, gotFilled), expected, `fills of ${size} bytes`);
  }
});

test('DocumentedScanner: a 20 MB line is dropped as one too-long line while memory stays near maxLine', () => {
  const scanner = new DocumentedScanner(1000);
  const window = scanner.window;
  const piece = Buffer.alloc(64 * 1024, 0x61);
  const before = process.memoryUsage().arrayBuffers;
  const got: [number, string | null][] = [];
  for (let i = 0; i < 320; i++) {
    window.append(piece);
    drain(scanner, got);
  }
  assert.deepEqual(got, []);
  assert.ok(window.capacity <= 2 * (1000 + 1 + piece.length), `the window holds ${window.capacity} bytes of input`);
  window.append(Buffer.from('\nnext\n'));
  drain(scanner, got);
  assert.deepEqual(got, [
    [1, null],
    [2, 'next'],
  ]);
  assert.ok(process.memoryUsage().arrayBuffers - before < 4 * 1024 * 1024, 'the WebAssembly memory grew with the line');
});
