import { LineWindow } from '../../lines/line-window';
import { RECORD_FIELDS } from '../../record';
import { type BaseExports, instantiate, memoryOf } from '../../wasm/instance';
import type { HashKey } from '../hash';
import type { KeySpec } from '../key-spec';
import { KEYS_WASM_BASE64 } from './keys-wasm';

interface KeysExports extends BaseExports {
  scan(origin: number, input: number, end: number, results: number, maxLines: number): number;
  key_fields(): number;
  hash_key(): number;
  /** Address of keys.c's key_length. */
  key_length: WebAssembly.Global;
}

/** Lines whose results one scan() call writes (16 bytes each). */
const LINES_PER_SCAN = 4096;
/** keys.c reads up to 16 bytes past the input, then come one scan's results. */
const resultsRoom = (): number => 32 + 16 * LINES_PER_SCAN;

/**
 * The key hashes of records in lmod-parse's layout, computed in WebAssembly (keys.c) with the same key exactly as
 * KeyHasher computes them, on the input's LineWindow, which lives in the module's memory. Only for keys made of that
 * layout's top-level fields; `forSpec` says whether a spec is one.
 */
export class LayoutKeyScanner {
  readonly window: LineWindow;
  private readonly wasm: KeysExports;
  private readonly base: number;
  /** The last scan's results: four words a line (see scan()). */
  private results = new Uint32Array(0);
  /** Lines of the last scan. */
  lines = 0;

  private constructor(fields: number[], maxLine: number, key: HashKey) {
    ({ exports: this.wasm, base: this.base } = instantiate<KeysExports>(KEYS_WASM_BASE64));
    const memory = this.wasm.memory;
    this.window = new LineWindow(maxLine, { base: this.base, grow: (bytes) => memoryOf(memory, bytes) }, resultsRoom);
    new Uint8Array(memory.buffer).set(fields, this.wasm.key_fields());
    new DataView(memory.buffer).setUint32(this.wasm.key_length.value, fields.length, true);
    new Uint32Array(memory.buffer, this.wasm.hash_key(), 4).set(key);
  }

  /** A scanner for this key, or null when a key field is not a top-level field of the layout (or the key has no fields). */
  static forSpec(spec: KeySpec, maxLine: number, key: HashKey): LayoutKeyScanner | null {
    if (spec.paths.length !== spec.keyLength || spec.keyLength === 0 || spec.keyLength > 16) return null;
    const fields = spec.paths.map((path) => (path.length === 1 ? (RECORD_FIELDS as readonly string[]).indexOf(path[0]) : -1));
    return fields.includes(-1) ? null : new LayoutKeyScanner(fields, maxLine, key);
  }

  /**
   * Scans the complete lines of the window's memory[from, to) (each ending in `\n`). Line i's results are words 4i to
   * 4i+3: the offset of its `\n` from `from`, 1 when it is in the layout (else 0: read it the general way), and its key
   * hash's high and low words. Valid until the next call.
   */
  scan(from: number, to: number): Uint32Array {
    const w = this.window;
    const resultsAt = (this.base + w.capacity + 16 + 15) & ~15;
    let results = this.results;
    let lines = 0;
    for (let at = from; at < to; ) {
      const done = this.wasm.scan(from, at, to, resultsAt, LINES_PER_SCAN);
      if (done === 0) break;
      if (results.length < 4 * (lines + done)) {
        const grown = new Uint32Array(Math.max(4 * (lines + done), 2 * results.length));
        grown.set(results.subarray(0, 4 * lines));
        results = grown;
      }
      results.set(new Uint32Array(w.memory.buffer, resultsAt, 4 * done), 4 * lines);
      lines += done;
      at = from + results[4 * (lines - 1)] + 1;
    }
    this.results = results;
    this.lines = lines;
    return results;
  }
}
