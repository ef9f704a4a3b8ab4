import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LayoutMatcher } from '../../src/dedupe/layout-matcher';
import { extractParsed, KeyExtractor } from '../../src/dedupe/extract';
import { type KeySpec, type KeyValue, parseKeySpec } from '../../src/dedupe/key-spec';
import { prng } from '../helpers/generate';

const RECORD =
  '{"time":"2023-04-27T07:22:57.622180Z","user":"alice","module":"gcc/12.2.0","name":"gcc","version":"12.2.0",' +
  '"path":"/opt/mf/gcc/12.2.0.lua","host":"n1","jobid":null,"userload":true,"cluster":null,"extra":{"stack":"2023a","cluster":"alpha"}}';

const SPECS: KeySpec[] = [
  parseKeySpec('time,user,host,module', false),
  parseKeySpec('user,host,module', true),
  parseKeySpec('extra.stack,userload,jobid', false),
  parseKeySpec('extra', false),
  parseKeySpec('module,extra.cluster,extra.stack', true),
];

/** What the reference gives: the reason, or the values. */
function reference(line: string, spec: KeySpec): { reason: string | null; values: KeyValue[] } {
  const values: KeyValue[] = [];
  const reason = extractParsed(line, spec, values);
  return { reason, values: reason === null ? values : [] };
}

function viaExtractor(line: string, spec: KeySpec): { reason: string | null; values: KeyValue[] } {
  const values: KeyValue[] = new Array<KeyValue>(spec.paths.length).fill(null);
  const reason = new KeyExtractor(spec).extract(line, values);
  return { reason, values: reason === null ? values : [] };
}

/** The fast readers may decline a line, but what they accept must be what JSON.parse says. */
function assertSameAsParse(line: string, spec: KeySpec): void {
  const expected = reference(line, spec);
  assert.deepEqual(viaExtractor(line, spec), expected, line);
  const matcher = LayoutMatcher.for(spec);
  const matched: KeyValue[] = new Array<KeyValue>(spec.paths.length).fill(null);
  if (matcher !== null && matcher.match(line, 0, matched) === line.length) {
    assert.deepEqual({ reason: null, values: matched }, expected, `layout: ${line}`);
  }
}

describe('key extraction', () => {
  test('reads the key fields of a record in lmod-parse layout', () => {
    assert.deepEqual(viaExtractor(RECORD, SPECS[0]), {
      reason: null,
      values: ['2023-04-27T07:22:57.622180Z', 'alice', 'n1', 'gcc/12.2.0'],
    });
    assert.deepEqual(viaExtractor(RECORD, SPECS[1]), {
      reason: null,
      values: ['alice', 'n1', 'gcc/12.2.0', '2023-04-27T07:22:57.622180Z'],
    });
    assert.deepEqual(viaExtractor(RECORD, SPECS[2]), { reason: null, values: ['2023a', true, null] });
    assert.deepEqual(viaExtractor(RECORD, SPECS[3]), { reason: null, values: [{ stack: '2023a', cluster: 'alpha' }] });
  });

  test('the layout matcher takes lmod-parse records itself, and only keys of its top-level fields', () => {
    const out: KeyValue[] = [null, null, null, null];
    assert.equal(LayoutMatcher.for(SPECS[0])?.match(RECORD, 0, out), RECORD.length);
    assert.deepEqual(out, ['2023-04-27T07:22:57.622180Z', 'alice', 'n1', 'gcc/12.2.0']);
    assert.equal(LayoutMatcher.for(SPECS[2]), null);
    const reordered = '{"user":"alice","host":"n1","module":"gcc/12.2.0","time":"2023-04-27T07:22:57.622180Z"}';
    assert.equal(LayoutMatcher.for(SPECS[0])?.match(reordered, 0, out), -1);
  });

  const cases: [string, string][] = [
    ['escaped quote in a value', RECORD.replace('"alice"', '"al\\"ice"')],
    ['unicode escape in a value', RECORD.replace('"alice"', '"\\u0061lice"')],
    ['escaped slash', RECORD.replace('"gcc/12.2.0","name"', '"gcc\\/12.2.0","name"')],
    ['surrogate pair escape', RECORD.replace('"alice"', '"\\ud83d\\ude00"')],
    ['lone surrogate escape', RECORD.replace('"alice"', '"\\ud83d"')],
    ['raw non-ASCII', RECORD.replace('"alice"', '"álïcé😀"')],
    ['escaped backslash before the closing quote', RECORD.replace('"alice"', '"alice\\\\"')],
    ['escapes in a field that is not read', RECORD.replace('"/opt/mf/gcc/12.2.0.lua"', '"C:\\\\mf\\"x\\""')],
    ['invalid escape in a field that is not read', RECORD.replace('"/opt/mf/gcc/12.2.0.lua"', '"\\x"')],
    ['short unicode escape', RECORD.replace('"alice"', '"\\u00e"')],
    ['raw tab in a value', RECORD.replace('"alice"', '"al\tice"')],
    ['raw DEL and U+2028 in a value', RECORD.replace('"alice"', '"al\u007fi\u2028ce"')],
    ['escaped key name', RECORD.replace('"user"', '"us\\u0065r"')],
    ['key given twice', RECORD.replace('"jobid":null', '"user":"mallory"')],
    ['extra given twice', RECORD.replace('}}', '},"extra":{"cluster":"beta"}}')],
    ['null host', RECORD.replace('"n1"', 'null')],
    ['host missing', RECORD.replace('"host":"n1",', '')],
    ['host is a number', RECORD.replace('"n1"', '42')],
    ['host is an object', RECORD.replace('"n1"', '{"a":1}')],
    ['host is an array', RECORD.replace('"n1"', '["n1"]')],
    ['extra is an array', RECORD.replace(/"extra":\{.*\}\}$/, '"extra":["stack"]}')],
    ['extra is null', RECORD.replace(/"extra":\{.*\}\}$/, '"extra":null}')],
    ['empty extra', RECORD.replace(/"extra":\{.*\}\}$/, '"extra":{}}')],
    ['whitespace between tokens', RECORD.replace(/,"/g, ', "').replace(/":/g, '": ')],
    ['trailing garbage', `${RECORD}x`],
    ['trailing second object', `${RECORD}{}`],
    ['trailing space', `${RECORD} `],
    ['leading BOM', `\ufeff${RECORD}`],
    ['cut short', RECORD.slice(0, 80)],
    ['not an object', '["2023-04-27T07:22:57.622180Z","alice"]'],
    ['a string', '"alice"'],
    ['empty object', '{}'],
    ['nested arrays and numbers elsewhere', RECORD.replace('"jobid":null', '"jobid":[1,[true,{"x":-2.5e3}],"y"]')],
    ['__proto__ field', RECORD.replace('"jobid":null', '"__proto__":{"user":"x"}')],
    ['source field', RECORD.replace(/}$/, ',"source":"lmod.log:12"}')],
    ['unknown field in the middle', RECORD.replace('"jobid":null', '"site":"x","jobid":null')],
    ['literal that is not one', RECORD.replace('"userload":true', '"userload":tru')],
  ];
  for (const [name, line] of cases) {
    test(`same as JSON.parse: ${name}`, () => {
      for (const spec of SPECS) assertSameAsParse(line, spec);
    });
  }

  test('same as JSON.parse on 20,000 randomly damaged records', () => {
    const random = prng(3);
    const pieces = [
      '"',
      '\\',
      '\\"',
      '\\u00e9',
      '\\ud83d',
      '\\n',
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      ' ',
      '\t',
      'null',
      'true',
      '1',
      'é',
      '😀',
      '\u2028',
      '"host":"n9",',
      '"extra":{},',
    ];
    for (let i = 0; i < 20000; i++) {
      let line = RECORD;
      const edits = 1 + Math.floor(random() * 3);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(random() * (line.length + 1));
        const r = random();
        if (r < 0.5) line = line.slice(0, at) + pieces[Math.floor(random() * pieces.length)] + line.slice(at);
        else if (r < 0.8) line = line.slice(0, at) + line.slice(at + 1 + Math.floor(random() * 4));
        else line = line.slice(0, at) + line.slice(at).replace(/"[a-z]+"/, '"user"');
      }
      for (const spec of SPECS) assertSameAsParse(line, spec);
    }
  });
});
