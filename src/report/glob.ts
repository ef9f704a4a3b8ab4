/**
 * Shell-style globs (`*`, `?`, `[abc]`, `[!a-z]`, `\` to quote) turned into SQL conditions that
 * match byte for byte, as the binary-collated keys are compared:
 * - no wildcard: plain `=` (uses the unique index);
 * - `*` and `?` only: MySQL `LIKE ... ESCAPE '!'`, SQLite `GLOB` (SQLite's LIKE ignores ASCII case);
 * - brackets: MySQL `REGEXP '^...$'` (binary collation keeps it case-sensitive), SQLite `GLOB`.
 */
export type Dialect = 'mysql' | 'sqlite';

/** A condition on a column, with `?` placeholders and their values. */
export interface SqlCondition {
  sql: string;
  params: string[];
}

type Token = { kind: 'text'; value: string } | { kind: 'star' } | { kind: 'one' } | { kind: 'class'; negated: boolean; body: string };

/** Splits a glob into literal text, wildcards and bracket classes; throws on an unclosed `[`. */
export function tokenizeGlob(glob: string): Token[] {
  const tokens: Token[] = [];
  const text = (c: string) => {
    const last = tokens[tokens.length - 1];
    if (last?.kind === 'text') last.value += c;
    else tokens.push({ kind: 'text', value: c });
  };
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '\\' && i + 1 < glob.length) text(glob[++i]);
    else if (c === '*') tokens.push({ kind: 'star' });
    else if (c === '?') tokens.push({ kind: 'one' });
    else if (c === '[') {
      let j = i + 1;
      const negated = glob[j] === '!' || glob[j] === '^';
      if (negated) j++;
      // A `]` right after `[` or `[!` is a member, as in the shell.
      let end = glob[j] === ']' ? j + 1 : j;
      while (end < glob.length && glob[end] !== ']') end++;
      if (end >= glob.length) throw new Error(`unclosed [ in pattern ${JSON.stringify(glob)}`);
      tokens.push({ kind: 'class', negated, body: glob.slice(j, end) });
      i = end;
    } else text(c);
  }
  return tokens;
}

/** How one target syntax writes each kind of token. */
interface Syntax {
  star: string;
  one: string;
  set(negated: boolean, body: string): string;
  text(value: string): string;
}

function render(tokens: Token[], syntax: Syntax): string {
  return tokens
    .map((t) => {
      switch (t.kind) {
        case 'star':
          return syntax.star;
        case 'one':
          return syntax.one;
        case 'class':
          return syntax.set(t.negated, t.body);
        case 'text':
          return syntax.text(t.value);
      }
    })
    .join('');
}

/** LIKE has no classes; callers use it only without them. */
const LIKE: Syntax = { star: '%', one: '_', set: () => '', text: (v) => v.replace(/[!%_]/g, '!$&') };

/** SQLite GLOB has no escape character: a literal wildcard is written as a one-member class. */
const SQLITE_GLOB: Syntax = { star: '*', one: '?', set: (n, body) => `[${n ? '^' : ''}${body}]`, text: (v) => v.replace(/[*?[]/g, '[$&]') };

/** Inside a class only `\`, `]` (kept out by the tokenizer) and a leading `^` are special. */
const REGEX: Syntax = {
  star: '.*',
  one: '.',
  set: (n, body) => `[${n ? '^' : ''}${body.replace(/\\/g, '\\\\').replace(/^\^/, '\\^')}]`,
  text: (v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
};

/** JavaScript: `[^]` is any character, including a newline. */
const JS_REGEX: Syntax = {
  star: '[^]*',
  one: '[^]',
  set: (n, body) => `[${n ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`,
  text: (v) => v.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'),
};

/** The SQL condition `column` matches `glob`. */
export function globCondition(dialect: Dialect, column: string, glob: string): SqlCondition {
  const tokens = tokenizeGlob(glob);
  if (tokens.every((t) => t.kind === 'text')) {
    return { sql: `${column} = ?`, params: [tokens.map((t) => (t as { value: string }).value).join('')] };
  }
  if (dialect === 'sqlite') return { sql: `${column} GLOB ?`, params: [render(tokens, SQLITE_GLOB)] };
  if (tokens.some((t) => t.kind === 'class')) return { sql: `${column} REGEXP ?`, params: [`^${render(tokens, REGEX)}$`] };
  return { sql: `${column} LIKE ? ESCAPE '!'`, params: [render(tokens, LIKE)] };
}

/** Any of several globs on any of several columns: `(a = ? OR a LIKE ? OR b = ? ...)`. */
export function anyGlobCondition(dialect: Dialect, columns: string[], globs: string[]): SqlCondition {
  const parts = globs.flatMap((g) => columns.map((c) => globCondition(dialect, c, g)));
  return { sql: `(${parts.map((p) => p.sql).join(' OR ')})`, params: parts.flatMap((p) => p.params) };
}

/** The same match in JavaScript, for lists that never reach the database (the inventory). */
export function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${render(tokenizeGlob(glob), JS_REGEX)}$`, 'u');
}
