import type { KeySpec } from '../key-spec';
import { BaseExports, instantiate, memoryOf } from '../../wasm/instance';
import { KEYS_WASM_BASE64 } from './keys-wasm';

interface KeysExports extends BaseExports {
  scan(origin: number, input: number, end: number, results: number, maxLines: number): number;
  key_fields(): number;
  /** Address of keys.c's key_length. */
  key_length: WebAssembly.Global;
}

/** The fields of lmod-parse's layout, in its order, as keys.c numbers them. */
const LAYOUT_FIELDS = ['time', 'user', 'module', 'name', 'version', 'path', 'host', 'jobid', 'userload'];
/** Lines whose results one scan() call writes (16 bytes each). */
const LINES_PER_SCAN = 4096;

/**
 * The key hashes of the lines in lmod-parse's layout, computed in WebAssembly (keys.c) exactly
 * as KeyHasher computes them. Only for keys made of that layout's top-level fields; `forSpec`
 * says whether a spec is one.
 */
export class KeyScanner {
  private readonly wasm: KeysExports;
  private memory: Uint8Array;
  private readonly base: number;
  private inputCapacity = 0;
  /** The last scan's results: four words a line (see scan()). */
  private results = new Uint32Array(0);
  /** Lines of the last scan. */
  lines = 0;

  private constructor(fields: number[]) {
    ({ exports: this.wasm, base: this.base } = instantiate<KeysExports>(KEYS_WASM_BASE64));
    this.memory = new Uint8Array(this.wasm.memory.buffer);
    this.memory.set(fields, this.wasm.key_fields());
    new DataView(this.wasm.memory.buffer).setUint32(this.wasm.key_length.value, fields.length, true);
  }

  /** A scanner for this key, or null when a key field is not a top-level field of the layout (or the key has no fields). */
  static forSpec(spec: KeySpec): KeyScanner | null {
    if (spec.paths.length !== spec.keyLength || spec.keyLength === 0 || spec.keyLength > 16) return null;
    const fields = spec.paths.map((path) => (path.length === 1 ? LAYOUT_FIELDS.indexOf(path[0]) : -1));
    return fields.includes(-1) ? null : new KeyScanner(fields);
  }

  /**
   * Scans the complete lines of bytes[0, length) (each ending in `\n`). Line i's results are
   * words 4i to 4i+3: the offset of its `\n`, 1 when it is in the layout (else 0: read it
   * the general way), and its key hash's high and low words. Valid until the next call.
   */
  scan(bytes: Buffer, length: number): Uint32Array {
    this.reserve(length);
    const input = this.base;
    this.memory.set(bytes.subarray(0, length), input);
    const resultsAt = (input + this.inputCapacity + 15) & ~15;
    let results = this.results;
    let lines = 0;
    for (let at = input; at < input + length; ) {
      const done = this.wasm.scan(input, at, input + length, resultsAt, LINES_PER_SCAN);
      if (done === 0) break;
      if (results.length < 4 * (lines + done)) {
        const grown = new Uint32Array(Math.max(4 * (lines + done), 2 * results.length));
        grown.set(results.subarray(0, 4 * lines));
        results = grown;
      }
      results.set(new Uint32Array(this.wasm.memory.buffer, resultsAt, 4 * done), 4 * lines);
      lines += done;
      at = input + results[4 * (lines - 1)] + 1;
    }
    this.results = results;
    this.lines = lines;
    return results;
  }

  /** Room for `length` input bytes and one scan's results (keys.c reads up to 16 bytes past the input: into them). */
  private reserve(length: number): void {
    if (length <= this.inputCapacity) return;
    const capacity = Math.max(length, 2 * this.inputCapacity);
    this.memory = memoryOf(this.wasm.memory, this.base + capacity + 16 + 16 * LINES_PER_SCAN);
    this.inputCapacity = capacity;
  }
}
