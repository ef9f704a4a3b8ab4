import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { YearResolver, zoneConverter } from '../../src/parse/header-time';
import { parseLine, type ParseOutcome, tagMatcher } from '../../src/parse/line';
import { recordToNdjson } from '../../src/parse/serialize';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'parse');

function fixtureLines(name: string): string[] {
  return readFileSync(join(FIXTURES, name), 'utf8').replace(/\n$/, '').split('\n');
}

/** One input's parsing context: `--year 2024 --tz UTC --tag MySite_Tracker`. */
function context(tag?: RegExp) {
  return { isTrackingTag: tagMatcher(tag), years: new YearResolver(zoneConverter('UTC'), 2024, new Date()) };
}

function parseOne(line: string): ParseOutcome {
  return parseLine(line, context());
}

function recordOf(line: string): Record<string, unknown> {
  const outcome = parseOne(line);
  assert.ok('record' in outcome, `no record for ${line}: ${JSON.stringify(outcome)}`);
  return JSON.parse(recordToNdjson(outcome.record)) as Record<string, unknown>;
}

test('formats.log: every header, tag, separator, quoting, key alias and payload gives its exact record', () => {
  const lines = fixtureLines('formats.log');
  const expected = fixtureLines('formats.ndjson');
  assert.equal(lines.length, 32);
  assert.equal(expected.length, lines.length);
  const ctx = context(/^(?:MySite_Tracker)$/);
  lines.forEach((line, i) => {
    const outcome = parseLine(line, ctx);
    assert.ok('record' in outcome, `formats.log:${i + 1} gave ${JSON.stringify(outcome)}`);
    assert.equal(recordToNdjson(outcome.record), `${expected[i]}\n`, `formats.log:${i + 1}`);
  });
});

test('record fields come in the fixed order, extra only when non-empty', () => {
  const plain = recordOf('ModuleUsageTracking: user=a module=m/1 path=/p host=h time=1.5');
  assert.deepEqual(Object.keys(plain), ['time', 'user', 'module', 'name', 'version', 'path', 'host', 'jobid', 'userload', 'cluster']);
  const withExtra = recordOf('ModuleUsageTracking: user=a module=m/1 group=g time=1.5');
  assert.deepEqual(Object.keys(withExtra), ['time', 'user', 'module', 'name', 'version', 'path', 'host', 'jobid', 'userload', 'cluster', 'extra']);
  assert.deepEqual(withExtra.extra, { group: 'g' });
});

test('time=1682580178.901394 becomes .901394Z, never .901393 (no float on the way)', () => {
  assert.equal(recordOf('ModuleUsageTracking: user=a module=m time=1682580178.901394').time, '2023-04-27T07:22:58.901394Z');
});

const ALIASES: [string, string, string, unknown][] = [
  // key, value, field, expected
  ['user', 'x1', 'user', 'x1'],
  ['username', 'x1', 'user', 'x1'],
  ['USER', 'x1', 'user', 'x1'],
  ['U', 'x1', 'user', 'x1'],
  ['cluster', 'c1', 'cluster', 'c1'],
  ['CLUSTER', 'c1', 'cluster', 'c1'],
  ['User', 'x1', 'user', 'x1'],
  ['module', 'a/1', 'module', 'a/1'],
  ['MODULE', 'a/1', 'module', 'a/1'],
  ['M', 'a/1', 'module', 'a/1'],
  ['path', '/p', 'path', '/p'],
  ['fn', '/p', 'path', '/p'],
  ['FULLPATH', '/p', 'path', '/p'],
  ['FN', '/p', 'path', '/p'],
  ['modulefile', '/p', 'path', '/p'],
  ['host', 'h1', 'host', 'h1'],
  ['HOST', 'h1', 'host', 'h1'],
  ['H', 'h1', 'host', 'h1'],
  ['syshost', 'h1', 'host', 'h1'],
  ['jobid', '77', 'jobid', '77'],
  ['JOB_ID', '77', 'jobid', '77'],
  ['J', '77', 'jobid', '77'],
  ['job', '77', 'jobid', '77'],
  ['jobid', 'nil', 'jobid', 'nil'],
  ['jobid', 'interactive', 'jobid', 'interactive'],
  ['jobid', '', 'jobid', null],
  ['userload', 'yes', 'userload', true],
  ['UL', 'true', 'userload', true],
  ['requested', '1', 'userload', true],
  ['userload', 'no', 'userload', false],
  ['UL', 'false', 'userload', false],
  ['requested', '0', 'userload', false],
  ['userload', 'sometimes', 'userload', null],
  ['path', '', 'path', null],
  ['time', '1700000000.5', 'time', '2023-11-14T22:13:20.500000Z'],
  ['TIME', '1700000000', 'time', '2023-11-14T22:13:20.000000Z'],
  ['time', '1700000000.12345678', 'time', '2023-11-14T22:13:20.123456Z'],
  ['time', '1700000000.999999999', 'time', '2023-11-14T22:13:20.999999Z'],
];

test('key aliases map to their fields (exact, then lower-cased)', () => {
  for (const [key, value, field, expected] of ALIASES) {
    const pairs = new Map([
      ['user', 'x0'],
      ['module', 'a/0'],
      ['time', '1700000000'],
    ]);
    // The alias goes first, so the default pair for the same field does not win.
    const line = `Apr 27 03:22:57 hdr ModuleUsageTracking: ${key}=${value} ${[...pairs].map(([k, v]) => `${k}=${v}`).join(' ')}`;
    assert.deepEqual(recordOf(line)[field], expected, line);
  }
});

test('host: message, else header, null when headerless or RFC 5424 NIL; userload: JSON auto inverted', () => {
  assert.equal(recordOf('Apr 27 03:22:57 hdr lmod: user=a module=m time=1').host, 'hdr');
  assert.equal(recordOf('lmod: user=a module=m time=1').host, null);
  assert.equal(recordOf('<13>1 2024-01-15T08:00:01Z - lmod: - lmod:: username=a, module=m').host, null);
  assert.equal(recordOf('module[1]: {"user":"a","module":"m","auto":false,"date":"1"}').userload, true);
  assert.equal(recordOf('module[1]: {"user":"a","module":"m","auto":true,"date":"1"}').userload, false);
  assert.equal(recordOf('module[1]: {"user":"a","module":"m","auto":"odd","date":"1"}').userload, null);
});

test('JSON payload values become strings in extra; the first occurrence of a key wins', () => {
  const r = recordOf('module[1]: {"user":"a","module":"m","date":1700000000,"n":3,"o":{"k":[1]},"z":null}');
  assert.equal(r.time, '2023-11-14T22:13:20.000000Z');
  assert.deepEqual(r.extra, { n: '3', o: '{"k":[1]}', z: '' });
  assert.deepEqual(recordOf('lmod: user=a module=m k=1 K=2 k=3 time=1').extra, { k: '1', K: '2' });
});

test('tags: the known ones are tracking, others are foreign; [pid] optional', () => {
  const tracking = [
    'ModuleUsageTracking',
    'ModuleUsage',
    'GoodLawd_ModuleUsage',
    'Site-2_ModuleUsageTracking',
    'lmod',
    'lmod-1.0',
    'lmod-8.7.32',
    'modules',
    'module',
  ];
  for (const tag of tracking) {
    for (const pid of ['', '[42]']) {
      const outcome = parseOne(`Apr 27 03:22:57 n1 ${tag}${pid}: user=a module=m time=1`);
      assert.ok('record' in outcome, `${tag}${pid}: ${JSON.stringify(outcome)}`);
    }
  }
  const foreign = ['GoodLawdModuleUsageTracking', 'ModuleUsageTrackingX', 'lmodx', 'lmod-beta', 'XALT_LOGGING_owens', 'sshd', '_ModuleUsage', 'Modules'];
  for (const tag of foreign) assert.deepEqual(parseOne(`Apr 27 03:22:57 n1 ${tag}[1]: user=a module=m time=1`), { skip: 'foreign' }, tag);
});

test('--tag adds a site tag, matched against the whole tag', () => {
  const line = 'May  1 09:00:05 n1 MySite_Tracker[5]: user=quinn module=lammps/2023 time=1700000012';
  assert.deepEqual(parseLine(line, context()), { skip: 'foreign' });
  assert.ok('record' in parseLine(line, context(/^(?:MySite_Tracker)$/)));
  assert.ok('record' in parseLine(line, context(/^(?:MySite_.*)$/)));
  assert.deepEqual(parseLine(line, context(/^(?:MySite)$/)), { skip: 'foreign' });
});

test('skipped.log: blank, foreign, command, unload, failed-load and message-less lines are skipped', () => {
  const expected = [
    'empty',
    'empty',
    'foreign',
    'foreign',
    'foreign',
    'not-tracking',
    'foreign',
    'foreign',
    'command',
    'command',
    'command',
    'unload',
    'command',
    'unload',
    'failed',
    'foreign',
    'foreign',
    'foreign',
    'not-tracking',
    'foreign',
    'foreign',
    'foreign',
  ];
  const lines = fixtureLines('skipped.log');
  assert.equal(lines.length, expected.length);
  const ctx = context();
  lines.forEach((line, i) => assert.deepEqual(parseLine(line, ctx), { skip: expected[i] }, `skipped.log:${i + 1}`));
});

test('malformed.log: each malformed kind gives its reason', () => {
  const expected = [
    'empty user',
    'no module',
    'no user',
    'no module',
    'no time',
    'bad time',
    'empty time',
    'cut short (unterminated quote)',
    'cut short (ends in a word without =)',
    'bad JSON payload',
    'JSON payload is not an object',
    'empty user',
    'no time',
    'bad time',
    'no time',
    'bad time',
    'empty user',
  ];
  const lines = fixtureLines('malformed.log');
  assert.equal(lines.length, expected.length);
  const ctx = context();
  lines.forEach((line, i) => assert.deepEqual(parseLine(line, ctx), { malformed: expected[i] }, `malformed.log:${i + 1}`));
});

test('pairs: bare values end at space, tab or comma; quotes keep spaces and commas; single quotes keep backslashes', () => {
  const r = recordOf(`lmod: user='o\\'b' module="a, b/1" path=/x,host=h\tjobid="j \\"q\\"" time=1`);
  assert.equal(r.user, 'o\\');
  assert.equal(r.module, 'a, b/1');
  assert.equal(r.path, '/x');
  assert.equal(r.host, 'h');
  assert.equal(r.jobid, 'j "q"');
});

test('wild.log (published real lines): 57 records, the 7 broken lines reported by number, the rest skipped', () => {
  const ctx = context();
  const malformed: string[] = [];
  let records = 0;
  let skipped = 0;
  fixtureLines('wild.log').forEach((line, i) => {
    const outcome = parseLine(line, ctx);
    if ('record' in outcome) records++;
    else if ('skip' in outcome) skipped++;
    else malformed.push(`${i + 1}: ${outcome.malformed}`);
  });
  assert.equal(records, 57);
  assert.equal(skipped, 49);
  assert.deepEqual(malformed, ['66: empty user', '67: no module', '82: no time', '84: no time', '85: no time', '88: no time', '91: no time']);
});

test('RFC 5424: a BOM before the message, several structured data elements with quoted ] and spaces', () => {
  const bom = recordOf('<13>1 2024-01-15T08:00:01Z n1 lmod - - - \ufeffusername=gina, module=vim/9.0');
  assert.deepEqual([bom.user, bom.module, bom.time, bom.host], ['gina', 'vim/9.0', '2024-01-15T08:00:01.000000Z', 'n1']);
  const sd = recordOf('<13>1 2024-01-15T08:00:01Z n1 lmod 12 - [a b="] x \\"y"][c@1 d="e f"] user=a module=m');
  assert.equal(sd.user, 'a');
  assert.equal(sd.extra, undefined);
});

test('keys named like Object properties stay plain extra keys', () => {
  const r = recordOf('ModuleUsageTracking: __proto__=x constructor=y toString=z user=a module=m time=1');
  assert.equal(JSON.stringify(r.extra), '{"__proto__":"x","constructor":"y","toString":"z"}');
});
