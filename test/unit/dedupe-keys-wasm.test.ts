import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LayoutKeyScanner } from '../../src/dedupe/layout-keys/scanner';
import { extractParsed } from '../../src/dedupe/extract';
import { KeyHasher, randomHashKey } from '../../src/dedupe/hash';
import { type KeyValue, parseKeySpec } from '../../src/dedupe/key-spec';
import { parseRecordTime } from '../../src/time/record-time';
import { prng } from '../helpers/generate';
import { ALPHABET, mutate } from '../helpers/mutate';
import { parsedRecords } from '../helpers/records';

/** Any key: the scanner and KeyHasher must agree under each; this one is drawn once per run. */
const KEY = randomHashKey();

/** The scanner's results for bytes of complete lines put into its window. */
function scanAll(scanner: LayoutKeyScanner, bytes: Buffer): Uint32Array {
  scanner.window.append(bytes);
  return scanner.scan(scanner.window.start, scanner.window.completeEnd());
}

const KEYS = ['time,user,host,module', 'user,host,module', 'module', 'user,jobid,userload', 'path,version,name,time,userload,jobid,host,module,user'];

/**
 * Every line the scanner takes has the key hash KeyHasher gives for JSON.parse's values, and a
 * valid time; it may leave any line to the general path. Returns how many it took.
 */
function assertHashesAgree(lines: string[], key: string): number {
  const spec = parseKeySpec(key, false);
  const scanner = LayoutKeyScanner.forSpec(spec, 1 << 20, KEY);
  assert.ok(scanner, key);
  const bytes = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
  const results = scanAll(scanner, bytes);
  const hasher = new KeyHasher(KEY);
  const values: KeyValue[] = new Array<KeyValue>(spec.paths.length).fill(null);
  let taken = 0;
  let start = 0;
  lines.forEach((line, i) => {
    const end = results[4 * i];
    assert.equal(end, start + Buffer.byteLength(line), `line ${i} ends where it does`);
    start = end + 1;
    if (results[4 * i + 1] !== 1) return;
    taken++;
    assert.equal(extractParsed(line, spec, values), null, line);
    assert.notEqual(parseRecordTime(JSON.parse(line).time as string), null, line);
    hasher.hash(values, spec.keyLength);
    assert.deepEqual([results[4 * i + 2], results[4 * i + 3]], [hasher.high, hasher.low], `${key}: ${line}`);
  });
  return taken;
}

test("key scanner: the hash of every lmod-parse record it takes is KeyHasher's, for keys of every shape", () => {
  const records = parsedRecords(13);
  for (const key of KEYS) {
    const taken = assertHashesAgree(records, key);
    assert.ok(taken > 0.8 * records.length, `${key}: took ${taken} of ${records.length}`);
  }
});

test('key scanner: 100,000 seeded mutations are taken only with the right hash', () => {
  const records = parsedRecords(13);
  const random = prng(77);
  const alphabet = [...ALPHABET, 'null', 'true', 'false', '"', ':'];
  const mutants = Array.from({ length: 100000 }, () => mutate(records[Math.floor(random() * records.length)], random, alphabet)).map((m) =>
    m.replace(/\n/g, ' '),
  );
  let taken = 0;
  for (const key of ['time,user,host,module', 'user,jobid,userload']) taken += assertHashesAgree(mutants, key);
  assert.ok(taken > 10000, `took ${taken}`);
});

test('key scanner: times that are no real instant, and layouts it does not know, go the general way', () => {
  const base =
    '{"time":"2024-02-29T23:59:59.999999Z","user":"a","module":"m","name":"m","version":null,"path":null,"host":null,"jobid":null,"userload":null,"cluster":null}';
  const lines = [
    base,
    base.replace('2024-02-29', '2000-02-29'),
    base.replace('2024-02-29', '2023-02-29'),
    base.replace('2024-02-29', '2100-02-29'),
    base.replace('23:59:59', '24:00:00'),
    base.replace('23:59:59', '23:60:00'),
    base.replace('2024-02-29', '2024-13-01'),
    base.replace('2024-02-29', '2024-00-10'),
    base.replace('.999999Z', '.99999Z'),
    base.replace('"user":"a"', '"user":null'),
    base.replace('"user":"a"', '"user":"\\u0061"'),
    base.replace('"user":"a"', '"user":"zoë"'),
    base.replace('"userload":null', '"userload":1'),
    base.replace('}', ',"extra":{"k":"v"}}'),
    `${base}\r`,
    base.replace(',"user"', ', "user"'),
  ];
  const scanner = LayoutKeyScanner.forSpec(parseKeySpec('time,user', false), 1 << 20, KEY)!;
  const bytes = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
  const results = scanAll(scanner, bytes);
  assert.deepEqual(
    lines.map((_, i) => results[4 * i + 1]),
    [1, 1, ...lines.slice(2).map(() => 0)],
  );
  assertHashesAgree(lines, 'time,user');
});

test('key scanner: only keys of top-level fields of the layout, without an added time', () => {
  assert.equal(LayoutKeyScanner.forSpec(parseKeySpec('extra.stack', false), 1 << 20, KEY), null);
  assert.equal(LayoutKeyScanner.forSpec(parseKeySpec('user,queue', false), 1 << 20, KEY), null);
  assert.equal(LayoutKeyScanner.forSpec(parseKeySpec('user,module', true), 1 << 20, KEY), null);
  assert.notEqual(LayoutKeyScanner.forSpec(parseKeySpec('userload,jobid,path', false), 1 << 20, KEY), null);
});
