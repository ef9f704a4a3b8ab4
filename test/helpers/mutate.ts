/** Seeded mutations of log lines, for the fuzz-style equivalence tests. */

/** Characters the mutations insert: separators, quotes, digits, non-ASCII, controls. */
export const ALPHABET = [
  ' ',
  '\t',
  ',',
  '=',
  '"',
  '\\',
  '[',
  ']',
  ':',
  '{',
  '}',
  '0',
  '9',
  '.',
  'é',
  '🚀',
  '\u00a0',
  '\u2028',
  '\x01',
  '\x7f',
  '\ufffd',
  '\r',
  'a',
  'Z',
  '/',
  '-',
  '_',
];

/** Up to three random insertions, deletions or replacements. */
export function mutate(line: string, random: () => number, alphabet: string[], from = 0): string {
  let out = line;
  const edits = 1 + Math.floor(random() * 3);
  for (let i = 0; i < edits; i++) {
    const at = from + Math.floor(random() * (out.length + 1 - from));
    const c = alphabet[Math.floor(random() * alphabet.length)];
    const op = random();
    if (op < 0.4) out = out.slice(0, at) + c + out.slice(at);
    else if (op < 0.7) out = out.slice(0, at) + out.slice(at + 1);
    else out = out.slice(0, at) + c + out.slice(at + 1);
  }
  return out;
}
