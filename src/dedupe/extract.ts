import { CanonicalMatcher } from './canonical';
import { KeySpec, KeyValue } from './key-spec';

/** Why a line yields no key; the reasons lmod-dedupe prints. */
export const NOT_JSON = 'not JSON';
export const NOT_AN_OBJECT = 'not a JSON object';

function missingField(spec: KeySpec, slot: number): string {
  return slot < spec.keyLength ? `missing key field "${spec.fields[slot]}"` : 'missing field "time"';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The reference extraction: JSON.parse the line and walk each path. Fills `out` (one
 * value per path) and returns null, or returns why the line has no key.
 */
export function extractParsed(line: string, spec: KeySpec, out: KeyValue[]): string | null {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return NOT_JSON;
  }
  if (!isObject(record)) return NOT_AN_OBJECT;
  for (let slot = 0; slot < spec.paths.length; slot++) {
    let value: unknown = record;
    for (const name of spec.paths[slot]) {
      if (!isObject(value) || !Object.hasOwn(value, name)) return missingField(spec, slot);
      value = value[name];
    }
    out[slot] = value as KeyValue;
  }
  return null;
}

interface ScanNode {
  name: string;
  /** Index in `out` when this field is read whole, else -1. */
  slot: number;
  /** Wanted fields inside this one, when it is an object on the way to them. */
  children: ScanNode[] | null;
  /** The scan that last met this field, to notice a field given twice. */
  seen: number;
}

function scanTree(spec: KeySpec): { roots: ScanNode[]; leaves: ScanNode[] } {
  const roots: ScanNode[] = [];
  const leaves: ScanNode[] = [];
  spec.paths.forEach((path, slot) => {
    let level = roots;
    path.forEach((name, depth) => {
      let node = level.find((n) => n.name === name);
      if (node === undefined) {
        node = { name, slot: -1, children: null, seen: 0 };
        level.push(node);
      }
      if (depth === path.length - 1) {
        node.slot = slot;
        leaves.push(node);
      } else {
        node.children ??= [];
        level = node.children;
      }
    });
  });
  return { roots, leaves };
}

// JSON forbids raw control characters in strings; a line holding one is left to JSON.parse.
const CONTROL = /[\u0000-\u001f]/;

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/**
 * Reads the key fields straight from the line text, without building the record, when
 * the line is compact JSON (no whitespace between tokens, as JSON.stringify writes it)
 * made of strings, objects, arrays, true, false and null. Any other shape, a key field
 * given twice, or a key field whose value is a number, object or array makes it answer
 * `false`, and the caller asks JSON.parse: whenever it answers `true`, `out` is exactly
 * what extractParsed would give. Field order does not matter.
 */
export class FastKeyScanner {
  private readonly roots: ScanNode[];
  private readonly leaves: ScanNode[];
  private text = '';
  private end = 0;
  private out: KeyValue[] = [];
  private stamp = 0;
  /** Whether the line holds a backslash: without one every string ends at the next quote. */
  private escapes = false;
  /** Whether the string just scanned held an escape sequence. */
  private escaped = false;

  constructor(spec: KeySpec) {
    ({ roots: this.roots, leaves: this.leaves } = scanTree(spec));
  }

  scan(line: string, out: KeyValue[]): boolean {
    const end = line.length;
    if (end < 2 || line.charCodeAt(0) !== 123 || line.charCodeAt(end - 1) !== 125 || CONTROL.test(line)) return false;
    this.text = line;
    this.end = end;
    this.out = out;
    this.escapes = line.indexOf('\\') >= 0;
    this.stamp++;
    if (this.object(0, this.roots) !== end) return false;
    for (const leaf of this.leaves) if (leaf.seen !== this.stamp) return false;
    return true;
  }

  /** From `{` to just past its `}`, or -1. */
  private object(pos: number, nodes: ScanNode[] | null): number {
    const line = this.text;
    pos++;
    if (line.charCodeAt(pos) === 125) return pos + 1;
    for (;;) {
      if (line.charCodeAt(pos) !== 34) return -1;
      const keyEnd = this.stringEnd(pos);
      if (keyEnd < 0 || this.escaped || line.charCodeAt(keyEnd + 1) !== 58) return -1;
      const node = nodes === null ? null : this.match(nodes, pos + 1, keyEnd);
      if (node === null) {
        pos = this.skip(keyEnd + 2);
      } else {
        // JSON.parse keeps the last of two equal names; rare enough to leave to it.
        if (node.seen === this.stamp) return -1;
        node.seen = this.stamp;
        pos = this.wanted(keyEnd + 2, node);
      }
      if (pos < 0) return -1;
      const c = line.charCodeAt(pos);
      if (c === 44) pos++;
      else return c === 125 ? pos + 1 : -1;
    }
  }

  private match(nodes: ScanNode[], start: number, end: number): ScanNode | null {
    for (const node of nodes) {
      if (node.name.length === end - start && this.text.startsWith(node.name, start)) return node;
    }
    return null;
  }

  private wanted(pos: number, node: ScanNode): number {
    const line = this.text;
    const c = line.charCodeAt(pos);
    if (node.children !== null) return c === 123 && node.slot < 0 ? this.object(pos, node.children) : -1;
    if (c === 34) {
      const end = this.stringEnd(pos);
      if (end < 0) return -1;
      this.out[node.slot] = this.escaped ? (JSON.parse(line.slice(pos, end + 1)) as string) : line.slice(pos + 1, end);
      return end + 1;
    }
    const after = this.literal(pos);
    if (after < 0) return -1;
    this.out[node.slot] = c === 110 ? null : c === 116;
    return after;
  }

  /** Past any value this scanner understands, or -1. */
  private skip(pos: number): number {
    const c = this.text.charCodeAt(pos);
    if (c === 34) {
      const end = this.stringEnd(pos);
      return end < 0 ? -1 : end + 1;
    }
    if (c === 123) return this.object(pos, null);
    if (c === 91) return this.array(pos);
    return this.literal(pos);
  }

  private array(pos: number): number {
    const line = this.text;
    pos++;
    if (line.charCodeAt(pos) === 93) return pos + 1;
    for (;;) {
      pos = this.skip(pos);
      if (pos < 0) return -1;
      const c = line.charCodeAt(pos);
      if (c === 44) pos++;
      else return c === 93 ? pos + 1 : -1;
    }
  }

  private literal(pos: number): number {
    const line = this.text;
    switch (line.charCodeAt(pos)) {
      case 110:
        return line.startsWith('null', pos) ? pos + 4 : -1;
      case 116:
        return line.startsWith('true', pos) ? pos + 4 : -1;
      case 102:
        return line.startsWith('false', pos) ? pos + 5 : -1;
      default:
        return -1;
    }
  }

  /** The index of the quote closing the string that opens at `pos`, or -1 when it is not valid JSON. */
  private stringEnd(pos: number): number {
    const line = this.text;
    this.escaped = false;
    if (!this.escapes) {
      const quote = line.indexOf('"', pos + 1);
      return quote < this.end ? quote : -1;
    }
    for (let i = pos + 1; i < this.end; i++) {
      const c = line.charCodeAt(i);
      if (c === 34) return i;
      if (c !== 92) continue;
      this.escaped = true;
      const e = line.charCodeAt(++i);
      if (e === 117) {
        if (!(isHex(line.charCodeAt(i + 1)) && isHex(line.charCodeAt(i + 2)) && isHex(line.charCodeAt(i + 3)) && isHex(line.charCodeAt(i + 4)))) return -1;
        i += 4;
      } else if (!(e === 34 || e === 92 || e === 47 || e === 98 || e === 102 || e === 110 || e === 114 || e === 116)) {
        return -1;
      }
    }
    return -1;
  }
}

/**
 * Key values of one line, by the fastest way that gives the same answer as JSON.parse:
 * lmod-parse's exact layout through one regular expression, other compact JSON through
 * FastKeyScanner, anything else through JSON.parse.
 */
export class KeyExtractor {
  private readonly canonical: CanonicalMatcher | null;
  private readonly scanner: FastKeyScanner;

  constructor(private readonly spec: KeySpec) {
    this.canonical = CanonicalMatcher.for(spec);
    this.scanner = new FastKeyScanner(spec);
  }

  /** Fills `out` and returns null, or returns why the line has no key. */
  extract(line: string, out: KeyValue[]): string | null {
    if (this.canonical !== null && this.canonical.match(line, 0, out) === line.length) return null;
    return this.scanner.scan(line, out) ? null : extractParsed(line, this.spec, out);
  }

  /**
   * The line of a chunk of lines that starts at `start` and ends at the next newline, when
   * it has lmod-parse's layout: fills `out` and returns the index of that newline; else -1.
   */
  extractCanonical(text: string, start: number, out: KeyValue[]): number {
    return this.canonical === null ? -1 : this.canonical.match(text, start, out);
  }
}
