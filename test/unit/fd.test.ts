import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writevAll } from '../../src/io/fd';

const TMP = mkdtempSync(join(tmpdir(), 'lmod-fd-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

test('writevAll: more pieces than one writev takes (IOV_MAX), empty ones among them, arrive whole and in order', () => {
  const pieces = Array.from({ length: 3000 }, (_, i) => Buffer.from(i % 7 === 3 ? '' : `${i},`));
  const path = join(TMP, 'pieces');
  const fd = openSync(path, 'w');
  try {
    writevAll(fd, pieces);
  } finally {
    closeSync(fd);
  }
  assert.equal(readFileSync(path, 'utf8'), Buffer.concat(pieces).toString());
});
