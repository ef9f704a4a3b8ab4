/**
 * Shell-style globs (`*`, `?`, `[abc]`, `[!a-z]`, `\` to quote) for the report filters, matched in JavaScript over the
 * small name tables (users, hosts, modules) and the inventory: one matcher, case-sensitive like the stored names.
 */
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

/** Inside a class only `\`, `]` and a leading `^` are special; `[^]` is any character, including a newline. */
function toRegExpSource(t: Token): string {
  switch (t.kind) {
    case 'star':
      return '[^]*';
    case 'one':
      return '[^]';
    case 'class':
      return `[${t.negated ? '^' : ''}${t.body.replace(/[\\\]^]/g, '\\$&')}]`;
    case 'text':
      return t.value.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
}

/** The glob as an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${tokenizeGlob(glob).map(toRegExpSource).join('')}$`, 'u');
}
