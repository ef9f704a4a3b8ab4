import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_MAX_LINE, LineWindow, type WindowMemory } from '../../src/lines/line-window';

/** What a LineWindow hands out: each line as text (null when too long), and its number. */
interface Split {
  lines: (string | null)[];
  numbers: number[];
}

type Feed = 'append' | 'fill';

/** The line `next` or `finish` handed out. */
const handedOut = (window: LineWindow, as: 'text' | 'latin1'): string | null => (window.lineStart < 0 ? null : window[as](window.lineStart, window.lineEnd));

/**
 * The chunks into a LineWindow, by `append` or by `fill` (the reader putting each chunk into
 * the window's memory, with more room than it uses, as a pipe does), and what comes out.
 */
function split(chunks: Buffer[], maxLine = DEFAULT_MAX_LINE, feed: Feed = 'append', as: 'text' | 'latin1' = 'text'): Split {
  const window = new LineWindow(maxLine);
  const out: Split = { lines: [], numbers: [] };
  const take = (): void => {
    out.lines.push(handedOut(window, as));
    out.numbers.push(window.lineNo);
  };
  for (const chunk of chunks) {
    if (feed === 'append') {
      window.append(chunk);
    } else {
      const count = window.fill((into) => {
        assert.ok(into.length >= chunk.length);
        into.set(chunk);
        return chunk.length;
      }, chunk.length + 100);
      assert.equal(count, chunk.length);
    }
    while (window.next()) take();
  }
  if (window.finish()) take();
  assert.equal(window.finish(), false, 'nothing is left after the end');
  return out;
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

const MIXED_LINES = [
  'Apr 27 03:22:57 n1 ModuleUsageTracking: user=zoë module=café/1.0 host=nœud time=1',
  '日本語のモジュール/1.0 🚀 emoji',
  '',
  '',
  'cr \r inside',
  'last line without newline ü',
];

test('LineWindow: one byte at a time and in one piece give the same lines and line numbers, multi-byte characters and CRLF included', () => {
  for (const feed of ['append', 'fill'] as const) {
    const whole = split([MIXED], undefined, feed);
    const bytes = split(bytewise(MIXED), undefined, feed);
    assert.deepEqual(whole.lines, MIXED_LINES, feed);
    assert.deepEqual(bytes.lines, MIXED_LINES, feed);
    assert.deepEqual(whole.numbers, [1, 2, 3, 4, 5, 6], feed);
    assert.deepEqual(bytes.numbers, [1, 2, 3, 4, 5, 6], feed);
  }
});

test('LineWindow: every split point of the input gives the same lines', () => {
  for (let cut = 1; cut < MIXED.length; cut++) {
    const chunks = [MIXED.subarray(0, cut), MIXED.subarray(cut)];
    assert.deepEqual(split(chunks).lines, MIXED_LINES, `append cut at byte ${cut}`);
    assert.deepEqual(split(chunks, undefined, 'fill').lines, MIXED_LINES, `fill cut at byte ${cut}`);
  }
});

test('LineWindow: invalid UTF-8 becomes U+FFFD inside its line (text) and does not merge or split lines', () => {
  const input = Buffer.concat([Buffer.from('user=a'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(' module=m\nnext\n')]);
  const expected = ['user=a\ufffd\ufffd\ufffd module=m', 'next'];
  assert.deepEqual(split([input]).lines, expected);
  assert.deepEqual(split(bytewise(input)).lines, expected);
  // A truncated multi-byte sequence at the very end.
  assert.deepEqual(split([Buffer.from([0x61, 0xe2, 0x82])]).lines, ['a\ufffd']);
});

test('LineWindow: lines longer than maxLine bytes (not characters) are too long, in one piece or byte by byte; the next line is kept', () => {
  // 'é' is 2 bytes: 5 of them fit in 10 bytes, 6 do not.
  const input = Buffer.from(`${'x'.repeat(11)}\n${'y'.repeat(10)}\nshort\n${'é'.repeat(6)}\n${'é'.repeat(5)}\n${'z'.repeat(25)}`);
  const expected = [null, 'y'.repeat(10), 'short', null, 'é'.repeat(5), null];
  for (const feed of ['append', 'fill'] as const) {
    assert.deepEqual(split([input], 10, feed), { lines: expected, numbers: [1, 2, 3, 4, 5, 6] }, `${feed} in one piece`);
    assert.deepEqual(split(bytewise(input), 10, feed), { lines: expected, numbers: [1, 2, 3, 4, 5, 6] }, `${feed} byte by byte`);
  }
  // A too-long last line without newline that was already being dropped when the input ended.
  assert.deepEqual(split([Buffer.from('ok\n'), Buffer.from('w'.repeat(20)), Buffer.from('w'.repeat(20))], 10).lines, ['ok', null]);
});

test('LineWindow: a CRLF line of exactly maxLine bytes is kept, in one piece', () => {
  const input = Buffer.from(`${'a'.repeat(10)}\r\nb\n${'é'.repeat(5)}\r\n`);
  assert.deepEqual(split([input], 10).lines, ['a'.repeat(10), 'b', 'é'.repeat(5)]);
});

test('LineWindow: a CRLF line of exactly maxLine bytes is kept when the \\r ends a chunk; one byte more is too long', () => {
  const input = Buffer.from(`${'a'.repeat(10)}\r\nb\n`);
  assert.deepEqual(split(bytewise(input), 10).lines, ['a'.repeat(10), 'b']);
  assert.deepEqual(split([input.subarray(0, 11), input.subarray(11)], 10).lines, ['a'.repeat(10), 'b']);
  assert.deepEqual(split([input.subarray(0, 11), input.subarray(11)], 10, 'fill').lines, ['a'.repeat(10), 'b']);
  const longer = Buffer.from(`${'a'.repeat(11)}\r\nb\n`);
  assert.deepEqual(split(bytewise(longer), 10).lines, [null, 'b']);
  assert.deepEqual(split([longer], 10).lines, [null, 'b']);
});

test('LineWindow: a 50 MB line without newline is dropped, the memory bounded by maxLine + 1 bytes and one chunk', () => {
  const maxLine = 64 * 1024;
  for (const size of [64 * 1024 + 17, 4093]) {
    const window = new LineWindow(maxLine);
    const lines: (string | null)[] = [];
    const chunk = Buffer.alloc(size, 'q');
    const unread: number[] = [];
    let written = 0;
    while (written < 50 * 1024 * 1024) {
      window.append(chunk);
      written += chunk.length;
      // White-box: the unread bytes (memory[start, end)) are the window's only growing state.
      unread.push(window.end - window.start);
      while (window.next()) lines.push(handedOut(window, 'text'));
    }
    window.append(Buffer.from('q\nafter\n'));
    while (window.next()) lines.push(handedOut(window, 'text'));
    if (window.finish()) lines.push(handedOut(window, 'text'));
    // The line is kept while it might still fit; once longer than maxLine + 1 bytes it is dropped, and so is the rest of it.
    const dropped = unread.indexOf(0);
    assert.equal(dropped, Math.floor((maxLine + 1) / size) + 1, `${size}-byte chunks: dropped as soon as it is too long`);
    assert.ok(Math.max(...unread) <= maxLine + 1 + size, `${size}-byte chunks: held ${Math.max(...unread)} unread bytes`);
    assert.ok(
      unread.slice(dropped).every((n) => n === 0),
      `${size}-byte chunks: nothing kept once the line is too long`,
    );
    assert.ok(window.capacity <= 2 * (maxLine + 1 + size), `${size}-byte chunks: the window has room for ${window.capacity} bytes`);
    assert.ok(window.memory.length <= 2 * (maxLine + 1 + size), `${size}-byte chunks: the window's memory is ${window.memory.length} bytes`);
    assert.deepEqual(lines, [null, 'after'], `${size}-byte chunks`);
  }
});

test("LineWindow: latin1 gives each line's bytes one character a byte, text their UTF-8 decoding; byte by byte equals one piece", () => {
  const invalid = Buffer.concat([Buffer.from('user=a'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(' module=m\r\n')]);
  const input = Buffer.concat([MIXED.subarray(0, MIXED.lastIndexOf('\n') + 1), invalid, Buffer.from('tail ü')]);
  const text = split([input]).lines;
  const whole = split([input], undefined, 'append', 'latin1').lines;
  assert.deepEqual(split(bytewise(input), undefined, 'append', 'latin1').lines, whole);
  assert.deepEqual(split(bytewise(input), undefined, 'fill', 'latin1').lines, whole);
  // The latin1 lines are exactly the input's bytes between the line ends.
  const expectedBytes = input
    .toString('latin1')
    .split('\n')
    .map((line) => line.replace(/\r$/, ''));
  assert.deepEqual(whole, expectedBytes);
  assert.deepEqual(
    whole.map((l) => (l === null ? null : Buffer.from(l, 'latin1').toString('utf8'))),
    text,
  );
  assert.equal(text.at(-2), 'user=a\ufffd\ufffd\ufffd module=m');
  assert.equal(text.at(-1), 'tail ü');
});

test('LineWindow: what a fast path sees: completeEnd, skip (counting the lines it read) and droppedNext', () => {
  const window = new LineWindow(4);
  window.append(Buffer.from('a\nbb\r\nc'));
  assert.equal(window.completeEnd(), window.start + 6, 'just past the last newline');
  assert.equal(window.droppedNext, false);
  window.skip(window.completeEnd(), 2);
  assert.equal(window.lineNo, 2);
  assert.equal(window.next(), false, 'only the unfinished line is left');
  assert.equal(window.completeEnd(), window.start, 'no complete line: start');
  window.append(Buffer.from('\nxxxxx'));
  assert.equal(window.next(), true);
  assert.deepEqual([window.lineNo, handedOut(window, 'latin1')], [3, 'c']);
  assert.equal(window.next(), false);
  // 'xxxxx' is already longer than maxLine + 1 = 5 bytes once one more byte comes: dropped up to its newline.
  window.append(Buffer.from('x'));
  assert.equal(window.end - window.start, 6);
  window.append(Buffer.from('x\nok\n'));
  assert.equal(window.droppedNext, true, 'a dropped line comes next: a fast path stops before it');
  assert.equal(window.next(), true);
  assert.deepEqual([window.lineNo, window.lineStart, window.lineEnd], [4, -1, -1]);
  assert.equal(window.droppedNext, false);
  assert.equal(window.next(), true);
  assert.deepEqual([window.lineNo, handedOut(window, 'latin1')], [5, 'ok']);
  assert.equal(window.next(), false);
  assert.equal(window.finish(), false);
});

test('LineWindow: restart numbers the lines of the next input from 1; a memory whose free part starts above 0 is left alone below it', () => {
  let buffer = Buffer.alloc(0);
  const memory: WindowMemory = {
    base: 4096,
    grow(bytes: number): Uint8Array {
      if (bytes > buffer.length) {
        const grown = Buffer.alloc(bytes);
        buffer.copy(grown);
        buffer = grown;
      }
      return buffer;
    },
  };
  const window = new LineWindow(DEFAULT_MAX_LINE, memory);
  const got: [number, string | null][] = [];
  for (const input of ['one\ntwo\nthree', 'four\r\nfive\n']) {
    window.restart();
    for (const chunk of bytewise(Buffer.from(input))) {
      window.append(chunk);
      while (window.next()) got.push([window.lineNo, handedOut(window, 'text')]);
    }
    if (window.finish()) got.push([window.lineNo, handedOut(window, 'text')]);
  }
  assert.deepEqual(got, [
    [1, 'one'],
    [2, 'two'],
    [3, 'three'],
    [1, 'four'],
    [2, 'five'],
  ]);
  assert.ok(
    buffer.subarray(0, 4096).every((b) => b === 0),
    'nothing written below the base',
  );
});
