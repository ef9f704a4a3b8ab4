import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { layoutRow } from '../../src/load/layout-row';
import { recordToNdjson } from '../../src/parse/serialize';
import { type LoadRecord, RECORD_FIELDS } from '../../src/record';

/** RECORD_FIELDS is the one statement of the layout: the writer, the loader's reader and the C header follow it. */
const RECORD: LoadRecord = {
  time: '2023-04-27T07:22:57.622180Z',
  user: 'alice',
  module: 'gcc/12.2.0',
  name: 'gcc',
  version: '12.2.0',
  path: '/p',
  host: 'n1',
  jobid: '7',
  userload: true,
  cluster: 'c1',
};

test('recordToNdjson writes the fields of RECORD_FIELDS in their order, then extra and source', () => {
  assert.deepEqual(Object.keys(JSON.parse(recordToNdjson(RECORD))), [...RECORD_FIELDS]);
  assert.deepEqual(Object.keys(JSON.parse(recordToNdjson({ ...RECORD, extra: { a: 'b' }, source: 'f:1' }))), [...RECORD_FIELDS, 'extra', 'source']);
  assert.equal(recordToNdjson(RECORD), `${JSON.stringify(RECORD)}\n`);
});

test("the loader's layout reader takes what recordToNdjson writes, and not the fields in another order", () => {
  assert.notEqual(layoutRow(recordToNdjson(RECORD).trimEnd(), 'in', 1), null);
  const { time, user, ...rest } = RECORD;
  const swapped = JSON.stringify({ user, time, ...rest });
  assert.equal(layoutRow(swapped, 'in', 1), null);
});

test('the C header names the fields of RECORD_FIELDS, in order', () => {
  const header = readFileSync(join(__dirname, '..', '..', '..', 'src', 'wasm', 'record-layout.h'), 'utf8');
  const prefixes = /#define LAYOUT_PREFIXES \{(.*)\}/.exec(header)?.[1];
  assert.equal(prefixes, RECORD_FIELDS.map((f, i) => JSON.stringify(`${i === 0 ? '{' : ','}"${f}":`)).join(', '));
  assert.match(header, new RegExp(`#define LAYOUT_FIELD_COUNT ${RECORD_FIELDS.length}\\n`));
});
