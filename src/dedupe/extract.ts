import { LayoutMatcher } from './layout-matcher';
import type { KeySpec, KeyValue } from './key-spec';

/** Why a line yields no key; the reasons lmod-dedupe prints. */
export const NOT_JSON = 'not JSON';
export const NOT_AN_OBJECT = 'not a JSON object';

function missingField(spec: KeySpec, slot: number): string {
  return slot < spec.keyLength ? `missing key field "${spec.fields[slot]}"` : 'missing field "time"';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The reference extraction: JSON.parse the line and walk each path. Fills `out` (one value per path) and returns null, or returns why the line has no key. */
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

/**
 * Key values of one line, by the fastest way that gives the same answer as JSON.parse: lmod-parse's exact layout through
 * one regular expression, anything else through JSON.parse.
 */
export class KeyExtractor {
  private readonly layout: LayoutMatcher | null;

  constructor(private readonly spec: KeySpec) {
    this.layout = LayoutMatcher.for(spec);
  }

  /** Fills `out` and returns null, or returns why the line has no key. */
  extract(line: string, out: KeyValue[]): string | null {
    if (this.layout !== null && this.layout.match(line, 0, out) === line.length) return null;
    return extractParsed(line, this.spec, out);
  }

  /**
   * The line of a chunk of lines that starts at `start` and ends at the next newline, when it has lmod-parse's layout:
   * fills `out` and returns the index of that newline; else -1.
   */
  extractLayout(text: string, start: number, out: KeyValue[]): number {
    return this.layout === null ? -1 : this.layout.match(text, start, out);
  }
}
