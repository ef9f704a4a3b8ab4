import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytesToUtf8, LineBatch, LineSplitter } from '../src/stream/lines';

interface Split {
  lines: (string | null)[];
  /** firstLine of every batch, to check the numbering. */
  numbering: number[];
}

/** Writes the chunks into a LineSplitter and collects what comes out. */
function split(chunks: Buffer[], maxLength?: number, binary = false): Split {
  const splitter = new LineSplitter({ source: 'in.log', maxLength, binary });
  const lines: (string | null)[] = [];
  const numbering: number[] = [];
  splitter.on('data', (batch: LineBatch) => {
    assert.equal(batch.source, 'in.log');
    assert.equal(batch.firstLine, lines.length + 1);
    numbering.push(batch.firstLine);
    lines.push(...batch.lines);
  });
  for (const chunk of chunks) splitter.write(chunk);
  splitter.end();
  return { lines, numbering };
}

function bytewise(buffer: Buffer): Buffer[] {
  return [...buffer].map((b) => Buffer.from([b]));
}

const MIXED = Buffer.concat([
  Buffer.from('Apr 27 03:22:57 n1 ModuleUsageTracking: user=zoë module=café/1.0 host=nœud time=1\n'),
  Buffer.from('日本語のモジュール/1.0 🚀 emoji\r\n'),
  Buffer.from('\n'),
  Buffer.from('\r\n'),
  Buffer.from('cr \r inside\n'),
  Buffer.from('last line without newline ü'),
]);

test('one byte at a time and in one piece give the same lines, multi-byte characters and CRLF included', () => {
  const whole = split([MIXED]);
  const bytes = split(bytewise(MIXED));
  const expected = [
    'Apr 27 03:22:57 n1 ModuleUsageTracking: user=zoë module=café/1.0 host=nœud time=1',
    '日本語のモジュール/1.0 🚀 emoji',
    '',
    '',
    'cr \r inside',
    'last line without newline ü',
  ];
  assert.deepEqual(whole.lines, expected);
  assert.deepEqual(bytes.lines, expected);
  assert.equal(whole.numbering.length, 2, 'one batch per chunk with lines, plus the unterminated tail at the end');
});

test('every split point of the input gives the same lines', () => {
  const expected = split([MIXED]).lines;
  for (let cut = 1; cut < MIXED.length; cut++) {
    assert.deepEqual(split([MIXED.subarray(0, cut), MIXED.subarray(cut)]).lines, expected, `cut at byte ${cut}`);
  }
});

test('invalid UTF-8 becomes U+FFFD inside its line and does not merge or split lines', () => {
  const input = Buffer.concat([Buffer.from('user=a'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(' module=m\nnext\n')]);
  const expected = ['user=a\ufffd\ufffd\ufffd module=m', 'next'];
  assert.deepEqual(split([input]).lines, expected);
  assert.deepEqual(split(bytewise(input)).lines, expected);
  // A truncated multi-byte sequence at the very end.
  assert.deepEqual(split([Buffer.from([0x61, 0xe2, 0x82])]).lines, ['a\ufffd']);
});

test('lines longer than maxLength become null, in one piece or byte by byte; the next line is kept', () => {
  const input = Buffer.from(`${'x'.repeat(11)}\n${'y'.repeat(10)}\nshort\n${'z'.repeat(25)}`);
  const expected = [null, 'y'.repeat(10), 'short', null];
  assert.deepEqual(split([input], 10).lines, expected);
  assert.deepEqual(split(bytewise(input), 10).lines, expected);
});

test('a CRLF line of exactly maxLength characters is kept, in one piece', () => {
  const input = Buffer.from(`${'a'.repeat(10)}\r\nb\n`);
  assert.deepEqual(split([input], 10).lines, ['a'.repeat(10), 'b']);
});

test('a CRLF line of exactly maxLength characters is kept when the \\r ends a chunk', () => {
  const input = Buffer.from(`${'a'.repeat(10)}\r\nb\n`);
  assert.deepEqual(split(bytewise(input), 10).lines, ['a'.repeat(10), 'b']);
});

test('a 50 MB line without newline is dropped with at most maxLength characters buffered', () => {
  const maxLength = 64 * 1024;
  const splitter = new LineSplitter({ source: 'big', maxLength });
  const lines: (string | null)[] = [];
  splitter.on('data', (batch: LineBatch) => lines.push(...batch.lines));
  const chunk = Buffer.alloc(64 * 1024 + 17, 'q');
  let written = 0;
  let maxBuffered = 0;
  // White-box: the pending partial line is the splitter's only growing state.
  const pending = () => (splitter as unknown as { tail: string }).tail.length;
  while (written < 50 * 1024 * 1024) {
    splitter.write(chunk);
    written += chunk.length;
    maxBuffered = Math.max(maxBuffered, pending());
  }
  splitter.write(Buffer.from('q\nafter\n'));
  splitter.end();
  assert.ok(maxBuffered <= maxLength, `buffered ${maxBuffered} characters`);
  assert.deepEqual(lines, [null, 'after']);
});

test('binary mode (what lmod-parse uses): byte by byte equals one piece, and bytesToUtf8 gives the text lines', () => {
  const invalid = Buffer.concat([Buffer.from('user=a'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(' module=m\r\n')]);
  const input = Buffer.concat([MIXED.subarray(0, MIXED.lastIndexOf('\n') + 1), invalid, Buffer.from('tail ü')]);
  const text = split([input]).lines;
  const whole = split([input], undefined, true).lines;
  assert.deepEqual(split(bytewise(input), undefined, true).lines, whole);
  assert.deepEqual(whole.map((l) => (l === null ? null : bytesToUtf8(l))), text);
  assert.equal(text.at(-2), 'user=a\ufffd\ufffd\ufffd module=m');
  assert.equal(text.at(-1), 'tail ü');
});
