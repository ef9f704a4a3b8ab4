import { RECORD_FIELDS } from '../record';
import type { KeySpec, KeyValue } from './key-spec';

// A string without escapes, control characters or non-ASCII (those lines take the careful path).
const STRING = '"[^"\\\\\\x00-\\x1f\\x80-\\uffff]*"';
const SCALAR = `(?:${STRING}|null|true|false)`;
const CAPTURE = '(?:"([^"\\\\\\x00-\\x1f\\x80-\\uffff]*)"|(null|true|false))';
const EXTRA = `(?:,"extra":\\{(?:${STRING}:${SCALAR}(?:,${STRING}:${SCALAR})*)?\\})?`;
const SOURCE = `(?:,"source":${SCALAR})?`;

/**
 * One compiled regular expression for a whole record in lmod-parse's exact layout, capturing the key fields: the
 * engine's native loop reads a line faster than a scanner written in JavaScript. Whatever it matches is valid JSON whose
 * key values are the captured strings or literals; anything else is left to JSON.parse.
 */
export class LayoutMatcher {
  private readonly regex: RegExp;
  /** Per slot of the spec: the group of its string; the next group holds a literal. */
  private readonly groups: number[];

  private constructor(regex: RegExp, groups: number[]) {
    this.regex = regex;
    this.groups = groups;
  }

  /** A matcher when every path of the spec is one of RECORD_FIELDS, else null. */
  static for(spec: KeySpec): LayoutMatcher | null {
    const slots = spec.paths.map((path) => (path.length === 1 ? (RECORD_FIELDS as readonly string[]).indexOf(path[0]) : -1));
    if (slots.includes(-1)) return null;
    const groupOfField = new Map<number, number>();
    let pattern = '\\{';
    RECORD_FIELDS.forEach((field, i) => {
      const wanted = slots.includes(i);
      if (wanted) groupOfField.set(i, 1 + 2 * groupOfField.size);
      pattern += `${i === 0 ? '' : ','}"${field}":${wanted ? CAPTURE : SCALAR}`;
    });
    pattern += `${EXTRA}${SOURCE}\\}(?![^\\n])`;
    return new LayoutMatcher(
      new RegExp(pattern, 'y'),
      slots.map((field) => groupOfField.get(field) as number),
    );
  }

  /** Matches the line starting at `start` (ending at a newline or the end of `text`); fills `out` and returns the line's end, or returns -1. */
  match(text: string, start: number, out: KeyValue[]): number {
    const regex = this.regex;
    regex.lastIndex = start;
    const m = regex.exec(text);
    if (m === null) return -1;
    const groups = this.groups;
    for (let slot = 0; slot < groups.length; slot++) {
      const g = groups[slot];
      const s = m[g];
      out[slot] = s !== undefined ? s : m[g + 1] === 'null' ? null : m[g + 1] === 'true';
    }
    return regex.lastIndex;
  }
}
