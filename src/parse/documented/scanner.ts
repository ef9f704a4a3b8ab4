import { LineWindow } from '../../lines/line-window';
import { type BaseExports, instantiate, memoryOf } from '../../wasm/instance';
import { DOCUMENTED_WASM_BASE64 } from './documented-wasm';

interface DocumentedExports extends BaseExports {
  scan(input: number, end: number, output: number, outputEnd: number, maxLine: number): number;
  /** Addresses of documented.c's results of the last scan(). */
  scan_output_end: WebAssembly.Global;
  scan_lines: WebAssembly.Global;
  default_cluster: WebAssembly.Global;
  default_cluster_length: WebAssembly.Global;
}

/** Room documented.c's scan() asks for: 6 bytes per input byte, 256 more, and 8 for its word copies. */
const outputRoom = (inputBytes: number): number => 6 * inputBytes + 256 + 8;
/** The longest JSON value documented.c holds for the default cluster. */
const MAX_DEFAULT_CLUSTER = 66;

/**
 * Log lines in Lmod's documented format converted to NDJSON in WebAssembly (documented.c): the input's LineWindow lives
 * in the module's memory, so runs of such lines are read in place and converted at a few bytes a cycle; any other line
 * is left in the window for the caller.
 */
export class DocumentedScanner {
  readonly window: LineWindow;
  private readonly wasm: DocumentedExports;
  private readonly base: number;

  /** `cluster`: what records of lines without `cluster=` get (lmod-parse's --cluster). */
  constructor(maxLine: number, cluster: string | null = null) {
    ({ exports: this.wasm, base: this.base } = instantiate<DocumentedExports>(DOCUMENTED_WASM_BASE64));
    const memory = this.wasm.memory;
    this.window = new LineWindow(maxLine, { base: this.base, grow: (bytes) => memoryOf(memory, bytes) }, outputRoom);
    const json = Buffer.from(JSON.stringify(cluster), 'utf8');
    if (json.length > MAX_DEFAULT_CLUSTER) throw new RangeError(`cluster name longer than ${MAX_DEFAULT_CLUSTER - 2} bytes`);
    this.window.memory.set(json, this.wasm.default_cluster.value);
    this.setWord(this.wasm.default_cluster_length.value, json.length);
  }

  /**
   * Converts the documented lines at the start of the window's unread bytes: their NDJSON (a view of the memory, valid
   * until the next fill) and how many; they are skipped in the window.
   */
  convert(): { ndjson: Uint8Array | null; lines: number } {
    const w = this.window;
    if (w.droppedNext || w.start === w.end) return { ndjson: null, lines: 0 };
    const output = this.base + w.capacity;
    const to = this.wasm.scan(w.start, w.end, output, output + outputRoom(w.capacity), w.maxLine);
    const lines = this.word(this.wasm.scan_lines.value);
    w.skip(to, lines);
    return { ndjson: lines === 0 ? null : w.memory.subarray(output, this.word(this.wasm.scan_output_end.value)), lines };
  }

  private setWord(address: number, value: number): void {
    new DataView(this.window.memory.buffer).setUint32(address, value, true);
  }

  /** The 32-bit little-endian word at an address (WebAssembly is little-endian). */
  private word(address: number): number {
    const m = this.window.memory;
    return (m[address] | (m[address + 1] << 8) | (m[address + 2] << 16) | (m[address + 3] << 24)) >>> 0;
  }
}
