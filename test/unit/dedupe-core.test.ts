import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CountTable, countLine } from '../../src/dedupe/count';
import { KeyHasher } from '../../src/dedupe/hash';
import { HashSet64 } from '../../src/dedupe/hash-set';
import { type KeyValue, parseKeySpec } from '../../src/dedupe/key-spec';
import { planDedupe } from '../../src/dedupe/plan';
import { RecentBuckets } from '../../src/dedupe/recent-buckets';
import { durationSeconds } from '../../src/time/duration';
import { bucketLabel, bucketOf, formatRecordTime, parseRecordTime, type Period, sliceOf, type TimeParts } from '../../src/time/record-time';
import type { DeduperOptions } from '../../src/dedupe/deduper';
import { DedupeStage } from '../../src/stream/stages';
import { prng } from '../helpers/generate';
import { memoryInUse } from '../helpers/heap';

function time(text: string): TimeParts {
  const parts = parseRecordTime(text);
  assert.notEqual(parts, null, text);
  return parts as TimeParts;
}

describe('record times', () => {
  test('parses exactly the record format, real dates only', () => {
    assert.equal(time('2023-04-27T07:22:57.622180Z').micros, 1682580177622180);
    assert.equal(time('1970-01-01T00:00:00.000000Z').micros, 0);
    assert.equal(time('2024-02-29T23:59:59.999999Z').micros, Date.UTC(2024, 1, 29, 23, 59, 59) * 1000 + 999999);
    for (const bad of [
      '2023-02-29T00:00:00.000000Z',
      '2023-04-27T24:00:00.000000Z',
      '2023-04-27T07:60:00.000000Z',
      '2023-13-01T00:00:00.000000Z',
      '2023-04-27T07:22:57.62218Z',
      '2023-04-27T07:22:57Z',
      '2023-04-27 07:22:57.622180Z',
      '2023-04-27T07:22:57.622180+00:00',
      '2023-04-27T07:22:57.62218xZ',
    ]) {
      assert.equal(parseRecordTime(bad), null, bad);
    }
  });

  test('formats microseconds back to the same text', () => {
    for (const text of ['2023-04-27T07:22:57.622180Z', '1969-12-31T23:59:59.999999Z', '2000-02-29T00:00:00.000001Z']) {
      assert.equal(formatRecordTime(time(text).micros), text);
    }
  });

  test('buckets change exactly at UTC hour, day, ISO week and month edges', () => {
    const edges: [Period, string, string][] = [
      ['hour', '2023-04-27T07:59:59.999999Z', '2023-04-27T08:00:00.000000Z'],
      ['day', '2023-04-27T23:59:59.999999Z', '2023-04-28T00:00:00.000000Z'],
      ['week', '2023-04-30T23:59:59.999999Z', '2023-05-01T00:00:00.000000Z'],
      ['month', '2023-12-31T23:59:59.999999Z', '2024-01-01T00:00:00.000000Z'],
    ];
    for (const [period, before, after] of edges) {
      assert.equal(bucketOf(period, time(after)), bucketOf(period, time(before)) + 1, period);
    }
    assert.equal(bucketOf('week', time('2023-05-01T00:00:00.000000Z')), bucketOf('week', time('2023-05-07T23:59:59.999999Z')));
  });

  test('labels buckets; ISO weeks belong to the year of their Thursday', () => {
    const label = (period: Period, text: string): string => bucketLabel(period, bucketOf(period, time(text)));
    assert.equal(label('hour', '2023-04-27T07:22:57.622180Z'), '2023-04-27T07');
    assert.equal(label('day', '2023-04-27T07:22:57.622180Z'), '2023-04-27');
    assert.equal(label('month', '2023-04-27T07:22:57.622180Z'), '2023-04');
    assert.equal(label('week', '2023-04-27T07:22:57.622180Z'), '2023-W17');
    assert.equal(label('week', '2021-01-03T12:00:00.000000Z'), '2020-W53');
    assert.equal(label('week', '2021-01-04T00:00:00.000000Z'), '2021-W01');
    assert.equal(label('week', '2024-12-30T00:00:00.000000Z'), '2025-W01');
    assert.equal(label('week', '1970-01-01T00:00:00.000000Z'), '1970-W01');
  });

  test('window slices are exact at their edges; durations', () => {
    const width = (durationSeconds('10m') as number) * 1e6;
    assert.equal(width, 600e6);
    const edge = time('2023-04-27T07:30:00.000000Z').micros;
    assert.equal(sliceOf(edge, width), sliceOf(edge - 1, width) + 1);
    assert.equal(sliceOf(edge + width - 1, width), sliceOf(edge, width));
    assert.deepEqual(['90s', '1h', '2d', '1w'].map(durationSeconds), [90, 3600, 2 * 86400, 7 * 86400]);
    assert.equal(durationSeconds('1y'), 365 * 86400);
    assert.equal(durationSeconds('0m'), 0);
    for (const bad of ['10', 'm', '1.5h', '-1h', '1mo', '10 m']) assert.equal(durationSeconds(bad), null, bad);
  });
});

describe('key hashes', () => {
  const hasher = new KeyHasher();
  const hashOf = (values: KeyValue[]): string => {
    hasher.hash(values, values.length);
    return `${hasher.high}:${hasher.low}`;
  };

  test('equal values hash equally; field boundaries and types count', () => {
    assert.equal(hashOf(['alice', 'gcc']), hashOf(['alice', 'gcc'.slice(0)]));
    const distinct = [
      ['ab', 'c'],
      ['a', 'bc'],
      ['abc'],
      [null],
      ['null'],
      [true],
      ['true'],
      [false],
      [1],
      ['1'],
      [{ a: '1' }],
      ['', ''],
      [''],
      [],
      ['é'],
      ['e\u0301'],
      ['😀'],
      ['\u0000'],
    ];
    const hashes = distinct.map(hashOf);
    assert.equal(new Set(hashes).size, distinct.length);
  });

  test('a string hashes the same whichever way it was read (one-byte or wide units)', () => {
    assert.equal(hashOf(['café/1.0']), hashOf([JSON.parse('"caf\\u00e9/1.0"') as string]));
    assert.notEqual(hashOf(['ā/1']), hashOf(['\u0001\u0001/1']));
  });
});

describe('HashSet64', () => {
  test('says whether a hash is new, across growth; (0, x) and (x, 0) are ordinary values', () => {
    const set = new HashSet64(16);
    const random = prng(11);
    const added: [number, number][] = [
      [0, 1],
      [1, 0],
      [0xffffffff, 0xffffffff],
    ];
    for (let i = 0; i < 5000; i++) added.push([Math.floor(random() * 2 ** 32), Math.floor(random() * 2 ** 32)]);
    for (const [h, l] of added) assert.equal(set.add(h, l), true);
    for (const [h, l] of added) assert.equal(set.add(h, l), false);
    assert.equal(set.size, added.length);
    assert.equal(set.byteLength, 8192 * 8);
  });

  test('hashes that share their low bits are told apart', () => {
    const set = new HashSet64(16);
    for (let h = 1; h <= 100; h++) assert.equal(set.add(h, 7), true);
    for (let h = 1; h <= 100; h++) assert.equal(set.add(h, 7), false);
  });
});

describe('RecentBuckets', () => {
  test('keeps the newest bucket and the one before; retires older ones oldest first', () => {
    const retired: number[] = [];
    let made = 0;
    const buckets = new RecentBuckets(
      () => ++made,
      (bucket) => retired.push(bucket),
    );
    assert.equal(buckets.at(10), 1);
    assert.equal(buckets.at(11), 2);
    assert.equal(buckets.at(10), 1);
    assert.equal(buckets.at(9), undefined);
    assert.deepEqual(retired, []);
    assert.equal(buckets.at(12), 3);
    assert.deepEqual(retired, [10]);
    assert.equal(buckets.at(15), 4);
    assert.deepEqual(retired, [10, 11, 12]);
    assert.equal(buckets.at(14), 5);
    buckets.close();
    assert.deepEqual(retired, [10, 11, 12, 14, 15]);
  });
});

describe('counts', () => {
  test('count lines hold the key fields, nested ones as objects, then count, first and last', () => {
    const spec = parseKeySpec('module,extra.stack', true);
    const table = new CountTable();
    table.add(['gcc', '2023a', 'ignored'], 2, time('2023-04-27T09:00:00.000000Z').micros);
    table.add(['gcc', '2023a', 'ignored'], 2, time('2023-04-27T07:00:00.000000Z').micros);
    table.add(['gcc', null, 'ignored'], 2, time('2023-04-27T08:00:00.000000Z').micros);
    assert.deepEqual(
      [...table.entries].map(([key, entry]) => countLine(spec, key, entry, ['day', '2023-04-27'])),
      [
        '{"day":"2023-04-27","module":"gcc","extra":{"stack":"2023a"},"count":2,"first":"2023-04-27T07:00:00.000000Z","last":"2023-04-27T09:00:00.000000Z"}',
        '{"day":"2023-04-27","module":"gcc","extra":{"stack":null},"count":1,"first":"2023-04-27T08:00:00.000000Z","last":"2023-04-27T08:00:00.000000Z"}',
      ],
    );
  });

  test('a key field named like a count field is refused', () => {
    assert.throws(() => planDedupe({ key: 'module,first', count: true }), /--count: key field "first" clashes/);
    assert.throws(() => planDedupe({ key: 'day.x', per: 'day', count: true }), /key field "day.x" clashes/);
    assert.doesNotThrow(() => planDedupe({ key: 'first' }));
  });
});

/** Runs the stage over one input's chunks and collects output and messages. */
async function runStage(options: DeduperOptions, inputs: Buffer[], source = 'x'): Promise<{ out: string; messages: string[]; stage: DedupeStage }> {
  const messages: string[] = [];
  const stage = new DedupeStage({
    ...options,
    source,
    onReject: (source, line, reason) => messages.push(`${source}:${line}: ${reason}`),
    onLate: (source, line, message) => messages.push(`${source}:${line}: ${message}`),
  });
  const parts: Buffer[] = [];
  await pipeline(
    Readable.from(inputs),
    stage,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        parts.push(chunk);
        callback();
      },
    }),
  );
  return { out: Buffer.concat(parts).toString('utf8'), messages, stage };
}

/** Bytes cut into pieces of 1 to 300 bytes. */
function randomChunks(bytes: Buffer, random: () => number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = 1 + Math.floor(random() * 300);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

describe('DedupeStage', () => {
  test('chunks cut anywhere give what the input in one piece gives', async () => {
    const random = prng(5);
    const users = ['alice', 'bob', 'al\\"ice', '\\u0061lice', 'zoë', '😀', 'cárol'];
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const user = users[Math.floor(random() * users.length)];
      const second = String(Math.floor(random() * 20)).padStart(2, '0');
      const r = random();
      let line = `{"time":"2023-04-27T07:22:${second}.000000Z","user":"${user}","module":"gcc/12","name":"gcc","version":"12","path":null,"host":"n${Math.floor(random() * 3)}","jobid":null,"userload":true,"cluster":null}`;
      if (r < 0.05) line = line.slice(0, 40);
      else if (r < 0.1) line = line.replace('"host"', '"hostname"');
      else if (r < 0.15) line = `${line}\r`;
      else if (r < 0.2) line = line.replace(/,"/g, ', "');
      else if (r < 0.22) line = '';
      lines.push(line);
    }
    const text = `${lines.join('\n')}\n{"time":"2023-04-27T07:23:00.000000Z","user":"last","module":"m","host":null}`;
    for (const options of [{}, { key: 'user,host', per: 'hour' as const }, { key: 'user', count: true }]) {
      const bytes = Buffer.from(text);
      const expected = await runStage(options, [bytes]);
      const raw = await runStage(options, randomChunks(bytes, random));
      assert.equal(raw.out, expected.out);
      assert.deepEqual(raw.messages, expected.messages);
      assert.deepEqual(raw.stage.stats, expected.stage.stats);
      assert.ok(expected.stage.stats.rejected > 100, 'the input has its share of bad lines');
    }
  });

  test('--max-errors: records kept before the line that stops the stream still go out, either way in', async () => {
    const text =
      '{"time":"2023-04-27T07:22:57.622180Z","user":"a","module":"m","host":null}\n{"user":"b"}\n{"time":"2023-04-27T07:22:57.622180Z","user":"c","module":"m","host":null}\n';
    for (const input of [[Buffer.from(text)], randomChunks(Buffer.from(text), prng(3))]) {
      const parts: Buffer[] = [];
      const stage = new DedupeStage({
        onReject: () => {
          throw new Error('stop');
        },
      });
      const done = pipeline(Readable.from(input), stage, new Writable({ write: (chunk: Buffer, _e, callback) => (parts.push(chunk), callback()) }));
      await assert.rejects(done, /stop/);
      assert.equal(Buffer.concat(parts).toString(), text.split('\n')[0] + '\n');
    }
  });

  test('a raw line longer than the bound is rejected by number and the stream goes on', async () => {
    const record = '{"time":"2023-04-27T07:22:57.622180Z","user":"alice","module":"m","host":null}\n';
    const long = `{"x":"${'y'.repeat(300)}"}\n`;
    const bytes = Buffer.from(record + long + record.replace('alice', 'bob') + long.trimEnd());
    for (const size of [64, bytes.length]) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
      const { out, messages, stage } = await runStage({ maxLength: 200 }, chunks, 'f');
      assert.equal(out, record + record.replace('alice', 'bob'), `chunks of ${size}`);
      assert.deepEqual(messages, ['f:2: line longer than 200 bytes', 'f:4: line longer than 200 bytes']);
      assert.equal(stage.stats.rejected, 2);
    }
  });

  test('memory: 1,000,000 distinct keys take 16 MiB of hashes, under 24 MB measured on the heap', async () => {
    const used = memoryInUse();
    let inBytes = 0;
    function* batches(): Generator<Buffer> {
      for (let b = 0; b < 1000; b++) {
        const lines: string[] = [];
        for (let i = 0; i < 1000; i++) {
          const n = b * 1000 + i;
          lines.push(
            `{"time":"2023-04-27T07:22:57.${String(n % 1e6).padStart(6, '0')}Z","user":"u${n % 2000}","module":"gcc/${n % 300}","host":"node${n % 500}"}\n`,
          );
          inBytes += lines[i].length;
        }
        yield Buffer.from(lines.join(''));
      }
    }
    const before = used();
    const stage = new DedupeStage();
    let outBytes = 0;
    await pipeline(
      Readable.from(batches()),
      stage,
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          outBytes += chunk.length;
          callback();
        },
      }),
    );
    const grown = used() - before;
    assert.equal(stage.stats.out, 1_000_000);
    assert.equal(stage.stats.duplicates, 0);
    assert.equal(outBytes, inBytes);
    assert.equal(stage.keyBytes, 16 * 2 ** 20);
    assert.ok(grown < 24e6, `grew by ${grown} bytes`);
  });
});

test('records with invalid UTF-8 are rejected by line, not decoded to U+FFFD and dropped as duplicates of each other', async () => {
  const line = (user: Buffer): Buffer =>
    Buffer.concat([Buffer.from('{"time":"2023-04-27T07:22:57.622180Z","user":"'), user, Buffer.from('","module":"m","host":null}\n')]);
  const input = Buffer.concat([line(Buffer.from([0x61, 0xff])), line(Buffer.from([0x61, 0xfe])), line(Buffer.from('a\ufffd')), line(Buffer.from('a\ufffd'))]);
  const { out, messages, stage } = await runStage({}, [input], 'u');
  assert.deepEqual(messages, ['u:1: not valid UTF-8', 'u:2: not valid UTF-8']);
  assert.equal(out, line(Buffer.from('a\ufffd')).toString());
  assert.deepEqual(stage.stats, { in: 4, out: 1, duplicates: 1, rejected: 2, late: 0 });
});
