/**
 * The one line splitter of lmod-parse, lmod-dedupe and lmod-load: an input's bytes in one window of memory, handed out
 * line by line as byte ranges. A fast path (a WebAssembly scanner) may read a run of complete lines in place.
 *
 * - A line ends at `\n`; a `\r` before it is not part of the line.
 * - A line longer than `maxLine` bytes (without its `\r`) is handed out as too long, its bytes not: once the
 *   unfinished line outgrows the bound it is dropped up to its newline, so memory stays bounded.
 * - A last line without a newline is a line (`finish`).
 */

/** Where a window keeps its bytes: a Buffer, or a WebAssembly memory that a scanner reads in place. */
export interface WindowMemory {
  /** The first address the window may use. */
  readonly base: number;
  /** A view of the whole memory, grown to at least `bytes` (growing may detach older views). */
  grow(bytes: number): Uint8Array;
}

/** A Buffer that grows, keeping its bytes. */
export class BufferMemory implements WindowMemory {
  readonly base = 0;
  private buffer = Buffer.allocUnsafe(0);

  grow(bytes: number): Uint8Array {
    if (bytes > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(bytes, 2 * this.buffer.length));
      this.buffer.copy(grown);
      this.buffer = grown;
    }
    return this.buffer;
  }
}

/** A Buffer over the same bytes, for its native searches and decoders. */
const asBuffer = (view: Uint8Array): Buffer => (Buffer.isBuffer(view) ? view : Buffer.from(view.buffer, view.byteOffset, view.byteLength));

export const DEFAULT_MAX_LINE = 64 * 1024;

/** The bound for NDJSON record lines (lmod-dedupe, lmod-load): a record is longer than the syslog line it came from. */
export const MAX_RECORD_LINE = 1024 * 1024;

const NEWLINE = 10;
const NON_ASCII = /[\x80-\xff]/;
const CR = 13;

export class LineWindow {
  /** The whole memory; the unread bytes are memory[start, end). Valid until the next fill. */
  memory: Buffer;
  start: number;
  end: number;
  /** Bytes of input the memory has room for (a scanner may put its output after them). */
  capacity = 0;
  /** The line `next` or `finish` handed out: its number in the input, and its bytes (-1 when too long). */
  lineNo = 0;
  lineStart = -1;
  lineEnd = -1;
  /** Just past the last newline of the unread bytes (`start` when there is none). */
  private complete: number;
  /** Inside a line longer than maxLine: dropped up to its newline. */
  private skipping = false;
  /** A too-long line ended: the next line handed out is it. */
  private dropped = false;
  /** The complete lines as latin1 text (blockText), from `blockStart`; null until asked for after a fill. */
  private blockCache: string | null = null;
  blockStart = 0;

  constructor(
    readonly maxLine: number,
    private readonly store: WindowMemory = new BufferMemory(),
    /** Memory a scanner needs after `capacity` input bytes, for its output. */
    private readonly extraRoom: (capacity: number) => number = () => 0,
  ) {
    this.memory = asBuffer(store.grow(store.base));
    this.start = this.end = this.complete = store.base;
  }

  /** Adds the input's next bytes (a copy) after what is still unread. */
  append(bytes: Uint8Array): void {
    this.fill((into) => {
      into.set(bytes);
      return bytes.length;
    }, bytes.length);
  }

  /**
   * Lets `read` put up to `size` of the input's next bytes straight into the memory, after what is still unread. Returns
   * what `read` returned: how many bytes.
   */
  fill(read: (into: Uint8Array) => number, size: number): number {
    if (!this.skipping && this.end - this.start > this.maxLine + 1) {
      // The unfinished line is already too long to keep: dropped up to its newline.
      this.start = this.end = this.store.base;
      this.skipping = true;
    }
    const kept = this.end - this.start;
    this.reserve(kept + size);
    const base = this.store.base;
    this.memory.copyWithin(base, this.start, this.end);
    this.start = base;
    this.end = base + kept;
    const count = read(this.memory.subarray(this.end, this.end + size));
    if (!this.skipping) {
      this.end += count;
    } else {
      const newline = this.memory.subarray(this.end, this.end + count).indexOf(NEWLINE);
      if (newline >= 0) {
        this.skipping = false;
        this.dropped = true;
        this.memory.copyWithin(this.end, this.end + newline + 1, this.end + count);
        this.end += count - newline - 1;
      }
    }
    this.blockCache = null;
    this.blockStart = this.start;
    const last = this.end > this.start ? this.memory.lastIndexOf(NEWLINE, this.end - 1) : -1;
    this.complete = last >= this.start ? last + 1 : this.start;
    return count;
  }

  /** Whether a too-long line that was dropped comes next (scanners stop before it). */
  get droppedNext(): boolean {
    return this.dropped;
  }

  /** The end of the complete lines in the window: just past the last newline, or `start`. */
  completeEnd(): number {
    return Math.max(this.complete, this.start);
  }

  /** The next complete line: true with lineNo, lineStart and lineEnd set (both -1 for a line that is too long); false when only an unfinished line is left. */
  next(): boolean {
    if (this.dropped) {
      this.dropped = false;
      return this.tooLong();
    }
    // Searched only up to the last newline: no search runs into the unfinished line.
    if (this.start >= this.complete) return false;
    // Searched in the text where a consumer made it (one call into V8's string search rather than one into Buffer's).
    const newline =
      this.blockCache !== null ? this.blockStart + this.blockCache.indexOf('\n', this.start - this.blockStart) : this.memory.indexOf(NEWLINE, this.start);
    this.take(this.start, newline);
    this.start = newline + 1;
    return true;
  }

  /** A fast path read the complete lines up to `to` (just past a newline), `lines` of them. */
  skip(to: number, lines: number): void {
    this.start = to;
    this.lineNo += lines;
  }

  /**
   * The end of the input, once `next` gave false: its unfinished last line as `next` gives it (true), or false when
   * there is none. Call restart() before the next input.
   */
  finish(): boolean {
    const last = this.skipping ? this.tooLong() : this.end > this.start ? (this.take(this.start, this.end), true) : false;
    this.skipping = false;
    this.start = this.end = this.complete = this.store.base;
    this.blockCache = null;
    return last;
  }

  /** Starts a new input: line numbers from 1. */
  restart(): void {
    this.lineNo = 0;
  }

  /** The complete lines read by the last fill as latin1 text, made once per fill: a line is `blockText().slice(lineStart - blockStart, lineEnd - blockStart)`. */
  blockText(): string {
    this.blockCache ??= this.latin1(this.blockStart, this.completeEnd());
    return this.blockCache;
  }

  /** The bytes memory[from, to) as latin1 text: one character a byte. */
  latin1(from: number, to: number): string {
    return this.memory.toString('latin1', from, to);
  }

  /** The bytes memory[from, to) as text: UTF-8 decoded where they are not all ASCII (invalid bytes become U+FFFD). */
  text(from: number, to: number): string {
    const latin1 = this.latin1(from, to);
    return NON_ASCII.test(latin1) ? this.memory.toString('utf8', from, to) : latin1;
  }

  private take(from: number, newline: number): void {
    const end = newline > from && this.memory[newline - 1] === CR ? newline - 1 : newline;
    this.lineNo++;
    if (end - from > this.maxLine) {
      this.lineStart = this.lineEnd = -1;
      return;
    }
    this.lineStart = from;
    this.lineEnd = end;
  }

  private tooLong(): true {
    this.lineNo++;
    this.lineStart = this.lineEnd = -1;
    return true;
  }

  /** Makes room for `inputBytes` unread bytes and what a scanner needs after them. */
  private reserve(inputBytes: number): void {
    if (inputBytes <= this.capacity) return;
    const capacity = Math.max(inputBytes, 2 * this.capacity);
    this.memory = asBuffer(this.store.grow(this.store.base + capacity + this.extraRoom(capacity)));
    this.capacity = capacity;
  }
}
