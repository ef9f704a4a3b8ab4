/**
 * Splits a tracking message into key=value pairs. Pairs are separated by spaces, tabs or commas (`user=a module=b`,
 * `username=a, jobid=1`, `user=a,module=b`); values are bare, 'single' or "double" quoted (backslash escapes inside
 * double quotes, as Lua's %q writes).
 */
export interface Pairs {
  keys: string[];
  values: string[];
  /** A quote was opened and never closed: the line was cut short. */
  unterminated: boolean;
  /** The message ended in a word without `=` after some pairs: cut short mid-key. */
  trailingWord: boolean;
}

const SPACE = 32;
const TAB = 9;
const COMMA = 44;
const EQUALS = 61;
const DQUOTE = 34;
const SQUOTE = 39;
const BACKSLASH = 92;

export function scanPairs(text: string, from: number): Pairs {
  const keys: string[] = [];
  const values: string[] = [];
  let unterminated = false;
  let trailingWord = false;
  const n = text.length;
  let i = from;
  while (i < n) {
    let c = text.charCodeAt(i);
    if (c === SPACE || c === COMMA || c === TAB) {
      i++;
      continue;
    }
    const start = i;
    while (i < n && (c = text.charCodeAt(i)) !== EQUALS && c !== SPACE && c !== TAB && c !== COMMA) i++;
    if (i >= n || c !== EQUALS || i === start) {
      trailingWord = keys.length > 0;
      if (i === start) i++;
      continue;
    }
    trailingWord = false;
    const key = text.slice(start, i);
    i++;
    c = i < n ? text.charCodeAt(i) : 0;
    if (c === DQUOTE || c === SQUOTE) {
      const close = findClosingQuote(text, i + 1, c);
      if (close < 0) {
        unterminated = true;
        keys.push(key);
        values.push(text.slice(i + 1));
        break;
      }
      const raw = text.slice(i + 1, close);
      values.push(c === DQUOTE && raw.includes('\\') ? unescapeQuoted(raw) : raw);
      i = close + 1;
    } else {
      const valueStart = i;
      while (i < n && (c = text.charCodeAt(i)) !== SPACE && c !== TAB && c !== COMMA) i++;
      values.push(text.slice(valueStart, i));
    }
    keys.push(key);
  }
  return { keys, values, unterminated, trailingWord };
}

function findClosingQuote(text: string, from: number, quote: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === quote) return i;
    if (c === BACKSLASH && quote === DQUOTE) i++;
  }
  return -1;
}

function unescapeQuoted(raw: string): string {
  return raw.replace(/\\(.)/g, (_, ch: string) => (ch === 'n' ? '\n' : ch === 't' ? '\t' : ch));
}
