import { BaseExports, instantiate, memoryOf } from '../../wasm/instance';
import { CANONICAL_WASM_BASE64 } from './canonical-wasm';

interface CanonicalExports extends BaseExports {
  scan(input: number, end: number, output: number, outputEnd: number, maxLine: number): number;
  /** Addresses of canonical.c's results of the last scan(). */
  scan_output_end: WebAssembly.Global;
  scan_lines: WebAssembly.Global;
}

/** Room canonical.c's scan() asks for: 5 bytes per input byte, 256 more, and 8 for its word copies. */
const outputRoom = (inputBytes: number): number => 5 * inputBytes + 256 + 8;

/**
 * One input's bytes in WebAssembly memory, read line by line: runs of canonical lines are
 * converted to NDJSON by canonical.c, any other line is handed out as latin1 text. The
 * unfinished last line is kept for the next bytes, up to maxLine (+1 for a `\r`); a longer
 * one is dropped up to its newline and handed out as null, so memory stays bounded.
 */
export class CanonicalWindow {
  private readonly wasm: CanonicalExports;
  private memory: Uint8Array;
  private readonly base: number;
  private inputCapacity = 0;
  /** The unread bytes are memory[start, end). */
  private start: number;
  private end: number;
  /** Inside a line longer than maxLine: dropped up to its newline. */
  private skipping = false;
  /** A too-long line ended: the next line handed out is its null. */
  private droppedLine = false;

  constructor(private readonly maxLine: number) {
    ({ exports: this.wasm, base: this.base } = instantiate<CanonicalExports>(CANONICAL_WASM_BASE64));
    this.memory = new Uint8Array(this.wasm.memory.buffer);
    this.start = this.end = this.base;
  }

  /** Adds the input's next bytes (a copy) after what is still unread. */
  append(bytes: Uint8Array): void {
    this.fill((into) => {
      into.set(bytes);
      return bytes.length;
    }, bytes.length);
  }

  /**
   * Lets `read` put up to `size` of the input's next bytes straight into this memory, after
   * what is still unread (no copy on the way in). Returns what `read` returned: how many.
   */
  fill(read: (into: Uint8Array) => number, size: number): number {
    if (!this.skipping && this.end - this.start > this.maxLine + 1) {
      // The unfinished line is already too long to keep: dropped up to its newline.
      this.start = this.end = this.base;
      this.skipping = true;
    }
    const kept = this.end - this.start;
    this.reserve(kept + size);
    this.memory.copyWithin(this.base, this.start, this.end);
    this.start = this.base;
    this.end = this.base + kept;
    const count = read(this.memory.subarray(this.end, this.end + size));
    if (!this.skipping) {
      this.end += count;
      return count;
    }
    const newline = this.memory.subarray(this.end, this.end + count).indexOf(10);
    if (newline >= 0) {
      this.skipping = false;
      this.droppedLine = true;
      this.memory.copyWithin(this.end, this.end + newline + 1, this.end + count);
      this.end += count - newline - 1;
    }
    return count;
  }

  /**
   * Converts the canonical lines at the start of the unread bytes: their NDJSON and how many.
   * The NDJSON is a view of this memory, valid until the next fill or append.
   */
  convert(): { ndjson: Uint8Array | null; lines: number } {
    if (this.droppedLine || this.start === this.end) return { ndjson: null, lines: 0 };
    const output = this.base + this.inputCapacity;
    this.start = this.wasm.scan(this.start, this.end, output, output + outputRoom(this.inputCapacity), this.maxLine);
    const lines = this.word(this.wasm.scan_lines.value);
    const outputEnd = this.word(this.wasm.scan_output_end.value);
    return { ndjson: lines === 0 ? null : this.memory.subarray(output, outputEnd), lines };
  }

  /**
   * The next complete line as latin1 text, without its `\n` or `\r\n`; null for a line
   * longer than maxLine; undefined when only an unfinished line is left.
   */
  nextLine(): string | null | undefined {
    if (this.droppedLine) {
      this.droppedLine = false;
      return null;
    }
    const at = this.memory.subarray(this.start, this.end).indexOf(10);
    if (at < 0) return undefined;
    const newline = this.start + at;
    const line = this.take(newline);
    this.start = newline + 1;
    return line;
  }

  /** The end of the input, once nextLine gave undefined: its unfinished last line (as nextLine gives it) or undefined. */
  finish(): string | null | undefined {
    const pending = this.skipping ? null : this.end > this.start ? this.take(this.end) : undefined;
    this.skipping = false;
    this.start = this.end = this.base;
    return pending;
  }

  /** The 32-bit little-endian word at an address (WebAssembly is little-endian). */
  private word(address: number): number {
    const m = this.memory;
    return (m[address] | (m[address + 1] << 8) | (m[address + 2] << 16) | (m[address + 3] << 24)) >>> 0;
  }

  private take(lineEnd: number): string | null {
    const end = lineEnd > this.start && this.memory[lineEnd - 1] === 13 ? lineEnd - 1 : lineEnd;
    if (end - this.start > this.maxLine) return null;
    return Buffer.from(this.memory.buffer, this.memory.byteOffset + this.start, end - this.start).toString('latin1');
  }

  /** Makes room for `inputBytes` unread bytes and their output. */
  private reserve(inputBytes: number): void {
    if (inputBytes <= this.inputCapacity) return;
    const capacity = Math.max(inputBytes, 2 * this.inputCapacity);
    this.memory = memoryOf(this.wasm.memory, this.base + capacity + outputRoom(capacity));
    this.inputCapacity = capacity;
  }
}
