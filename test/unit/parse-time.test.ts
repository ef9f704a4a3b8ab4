import assert from 'node:assert/strict';
import { test } from 'node:test';
import { epochToIso, micros } from '../../src/parse/epoch';
import { rfc3339ToIso, YearResolver, zoneConverter } from '../../src/parse/header-time';
import { parseLine, tagMatcher } from '../../src/parse/line';
import { prng } from '../helpers/generate';

test('epochToIso converts the decimal text exactly: pad to 6, cut (never round) past 6, none -> .000000', () => {
  const cases: [string, string | null][] = [
    ['1682580178.901394', '2023-04-27T07:22:58.901394Z'],
    ['1682580177.622180', '2023-04-27T07:22:57.622180Z'],
    ['1700000000.5', '2023-11-14T22:13:20.500000Z'],
    ['1700000000.05', '2023-11-14T22:13:20.050000Z'],
    ['1700000000', '2023-11-14T22:13:20.000000Z'],
    ['1700000000.9999999', '2023-11-14T22:13:20.999999Z'],
    ['1700000000.1234565', '2023-11-14T22:13:20.123456Z'],
    ['0', '1970-01-01T00:00:00.000000Z'],
    ['0.000001', '1970-01-01T00:00:00.000001Z'],
    ['99999999999.999999', '5138-11-16T09:46:39.999999Z'],
    ['253402300799', null],
    ['', null],
    ['abc', null],
    ['-1', null],
    ['1.', null],
    ['.5', null],
    ['1e9', null],
    [' 1', null],
    ['1,5', null],
    ['0x10', null],
    ['253402300800', null],
  ];
  for (const [text, iso] of cases) assert.equal(epochToIso(text), iso, text);
});

test('epochToIso keeps every microsecond on 20,000 seeded times where a float would lose about half', () => {
  const random = prng(11);
  let floatWouldDiffer = 0;
  for (let i = 0; i < 20000; i++) {
    const seconds = 1_000_000_000 + Math.floor(random() * 900_000_000);
    const fraction = String(Math.floor(random() * 1e6)).padStart(6, '0');
    const text = `${seconds}.${fraction}`;
    assert.equal(epochToIso(text), `${new Date(seconds * 1000).toISOString().slice(0, 19)}.${fraction}Z`, text);
    const viaFloat = new Date(Math.floor(Number(text)) * 1000).toISOString().slice(0, 19) + '.' + String(Math.floor((Number(text) % 1) * 1e6)).padStart(6, '0');
    if (!viaFloat.endsWith(fraction)) floatWouldDiffer++;
  }
  // Shows the test can tell exact from float conversion.
  assert.ok(floatWouldDiffer > 1000, `float differs on ${floatWouldDiffer}`);
});

test('micros pads and cuts', () => {
  assert.equal(micros(''), '000000');
  assert.equal(micros('5'), '500000');
  assert.equal(micros('123456'), '123456');
  assert.equal(micros('1234569'), '123456');
});

test('RFC 3339 / 5424 stamps convert exactly to UTC', () => {
  const cases: [string, string | null][] = [
    ['2016-06-07T17:50:22.658452+02:00', '2016-06-07T15:50:22.658452Z'],
    ['2024-04-09T10:33:16+00:00', '2024-04-09T10:33:16.000000Z'],
    ['2024-04-09T10:33:16.1Z', '2024-04-09T10:33:16.100000Z'],
    ['2024-04-09T10:33:16.123456789z', '2024-04-09T10:33:16.123456Z'],
    ['2021-03-02T05:06:22.075251-05:00', '2021-03-02T10:06:22.075251Z'],
    ['2024-01-01T03:00:00+0530', '2023-12-31T21:30:00.000000Z'],
    ['2024-12-31T23:30:00-01:00', '2025-01-01T00:30:00.000000Z'],
    ['2024-02-29T12:00:00Z', '2024-02-29T12:00:00.000000Z'],
    ['2024-04-09 10:33:16+00:00', '2024-04-09T10:33:16.000000Z'],
    ['2024-04-09T10:33:16', null],
    ['-', null],
    ['2024-13-01T00:00:00Z', null],
    ['2023-02-29T00:00:00Z', null],
    ['2024-04-31T00:00:00Z', null],
    ['2024-04-09T24:00:00Z', null],
    ['2024-04-09T10:60:00Z', null],
    ['2024-00-10T10:00:00Z', null],
    // Years below 100 stay as written (Date.UTC would make 0050 into 1950).
    ['0050-06-01T12:00:00Z', '0050-06-01T12:00:00.000000Z'],
    ['0000-01-01T00:00:00.5Z', '0000-01-01T00:00:00.500000Z'],
    ['0004-02-29T00:00:00Z', '0004-02-29T00:00:00.000000Z'],
    // A leap second is no usable time: as 23:59:60 it would take the next second's place, where a real load may be.
    ['2016-12-31T23:59:60Z', null],
    ['2016-12-31T23:59:60.5+00:00', null],
  ];
  for (const [stamp, iso] of cases) assert.equal(rfc3339ToIso(stamp), iso, stamp);
});

test('zoneConverter: UTC, fixed offsets and IANA names with summer time; unknown zones throw', () => {
  const at = (tz: string, ...p: [number, number, number, number, number, number]) => new Date(zoneConverter(tz)(...p) * 1000).toISOString();
  assert.equal(at('UTC', 2024, 11, 5, 13, 29, 32), '2024-11-05T13:29:32.000Z');
  assert.equal(at('+02:00', 2024, 11, 5, 13, 29, 32), '2024-11-05T11:29:32.000Z');
  assert.equal(at('-0530', 2024, 11, 5, 13, 29, 32), '2024-11-05T18:59:32.000Z');
  assert.equal(at('Europe/Berlin', 2024, 11, 5, 13, 29, 32), '2024-11-05T12:29:32.000Z');
  assert.equal(at('Europe/Berlin', 2024, 7, 5, 13, 29, 32), '2024-07-05T11:29:32.000Z');
  assert.equal(at('America/New_York', 2024, 3, 10, 12, 0, 0), '2024-03-10T16:00:00.000Z');
  assert.equal(at('America/New_York', 2024, 3, 9, 12, 0, 0), '2024-03-09T17:00:00.000Z');
  assert.equal(at('UTC', 50, 6, 1, 12, 0, 0), '0050-06-01T12:00:00.000Z');
  assert.equal(at('+01:00', 99, 1, 1, 0, 0, 0), '0098-12-31T23:00:00.000Z');
  assert.throws(() => zoneConverter('Mars/Olympus'));
});

function resolver(year: number | undefined, reference: string, tz = 'UTC'): YearResolver {
  return new YearResolver(zoneConverter(tz), year, new Date(reference));
}

function iso(r: YearResolver, month: number, day: number, h = 12, m = 0, s = 0): string {
  return new Date(r.resolve(month, day, h, m, s) * 1000).toISOString();
}

test('year of the first stamp: --year, else the latest year not more than a day after the mtime', () => {
  assert.equal(iso(resolver(2019, '2024-06-01T00:00:00Z'), 12, 1), '2019-12-01T12:00:00.000Z');
  assert.equal(iso(resolver(undefined, '2024-06-01T00:00:00Z'), 5, 31), '2024-05-31T12:00:00.000Z');
  assert.equal(iso(resolver(undefined, '2024-06-01T00:00:00Z'), 6, 1, 23, 59, 59), '2024-06-01T23:59:59.000Z');
  assert.equal(iso(resolver(undefined, '2024-06-01T00:00:00Z'), 6, 2, 0, 0, 1), '2023-06-02T00:00:01.000Z');
  assert.equal(iso(resolver(undefined, '2024-06-01T00:00:00Z'), 12, 24), '2023-12-24T12:00:00.000Z');
  // Written on Dec 31, a Jan 1 stamp less than a day later belongs to the next year.
  assert.equal(iso(resolver(undefined, '2023-12-31T23:50:00Z'), 1, 1, 0, 30), '2024-01-01T00:30:00.000Z');
  assert.equal(iso(resolver(undefined, '2023-12-31T23:50:00Z'), 1, 2, 0, 30), '2023-01-02T00:30:00.000Z');
});

test('later stamps keep the year: Dec 31 -> Jan 1 forward, December right after January back, sparse logs forward', () => {
  const forward = resolver(2023, '2030-01-01T00:00:00Z');
  assert.equal(iso(forward, 12, 31, 23, 59, 59), '2023-12-31T23:59:59.000Z');
  assert.equal(iso(forward, 1, 1, 0, 0, 1), '2024-01-01T00:00:01.000Z');
  assert.equal(iso(forward, 1, 1, 0, 0, 2), '2024-01-01T00:00:02.000Z');
  assert.equal(iso(forward, 12, 31, 23, 59, 58), '2023-12-31T23:59:58.000Z');
  const back = resolver(2024, '2030-01-01T00:00:00Z');
  assert.equal(iso(back, 1, 3), '2024-01-03T12:00:00.000Z');
  assert.equal(iso(back, 12, 30), '2023-12-30T12:00:00.000Z');
  assert.equal(iso(back, 6, 30), '2023-06-30T12:00:00.000Z');
  assert.equal(iso(back, 1, 2), '2023-01-02T12:00:00.000Z');
  // Logs run forward: a half-year gap forward stays in the year, one backwards wraps into the next.
  const sparse = resolver(2023, '2030-01-01T00:00:00Z');
  assert.equal(iso(sparse, 1, 1, 0), '2023-01-01T00:00:00.000Z');
  assert.equal(iso(sparse, 7, 2, 18), '2023-07-02T18:00:00.000Z');
  assert.equal(iso(sparse, 12, 31, 6), '2023-12-31T06:00:00.000Z');
  assert.equal(iso(sparse, 11, 30, 6), '2023-11-30T06:00:00.000Z');
  assert.equal(iso(sparse, 2, 1, 6), '2024-02-01T06:00:00.000Z');
});

test('RFC 3164 lines without time= take year and zone from the resolver; with time= the header is ignored', () => {
  const context = (tz: string, year?: number) => ({ isTrackingTag: tagMatcher(), years: resolver(year, '2025-12-01T00:00:00Z', tz) });
  const time = (line: string, ctx: ReturnType<typeof context>) => {
    const outcome = parseLine(line, ctx);
    assert.ok('record' in outcome, JSON.stringify(outcome));
    return outcome.record.time;
  };
  const berlin = context('Europe/Berlin', 2024);
  assert.equal(time('Nov  5 13:29:32 host ModuleUsage[1]: user=a module=m', berlin), '2024-11-05T12:29:32.000000Z');
  assert.equal(time('Nov 5 13:29:33 host ModuleUsage[1]: user=a module=m', berlin), '2024-11-05T12:29:33.000000Z');
  assert.equal(time('Nov 05 13:29:34 host ModuleUsage[1]: user=a module=m time=1.25', berlin), '1970-01-01T00:00:01.250000Z');
  const plus2 = context('+02:00', 2025);
  assert.equal(time('Dec 31 23:59:59 host lmod: user=a module=m', plus2), '2025-12-31T21:59:59.000000Z');
  assert.equal(time('Jan  1 00:00:01 host lmod: user=a module=m', plus2), '2025-12-31T22:00:01.000000Z');
  assert.deepEqual(parseLine('Jan  1 25:00:01 host lmod: user=a module=m', plus2), { malformed: 'no time' });
  assert.equal(time('Jan  1 25:00:01 host lmod: user=a module=m time=3', plus2), '1970-01-01T00:00:03.000000Z');
  assert.equal(time('Dec 30 10:00:00 host lmod: user=a module=m', plus2), '2025-12-30T08:00:00.000000Z');
});

test('an RFC 3164 stamp at second 60 (a leap second) is no usable time, so the line is malformed, not moved onto the next second', () => {
  const context = { isTrackingTag: tagMatcher(), years: new YearResolver(zoneConverter('UTC'), 2016, new Date('2017-01-02T00:00:00Z')) };
  assert.deepEqual(parseLine('Dec 31 23:59:60 n1 ModuleUsageTracking: user=a module=m', context), { malformed: 'no time' });
  const next = parseLine('Dec 31 23:59:59 n1 ModuleUsageTracking: user=a module=m', context);
  assert.equal('record' in next && next.record.time, '2016-12-31T23:59:59.000000Z');
});
