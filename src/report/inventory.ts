/**
 * The installed-module inventory for `unused`: the output of Lmod's `spider -o spider-json` or the plain list `module -t
 * avail` prints (on stderr) - one full name a line, `/path/to/modulefiles:` headers and `name/` directory lines skipped,
 * Lmod's `(default)`-style markers stripped.
 */

/** A line of the inventory that is not understood: reported, then skipped. */
export interface InventoryProblem {
  line: number;
  reason: string;
  text: string;
}

export interface Inventory {
  /** Full module names, sorted by code unit, each once. */
  modules: string[];
  problems: InventoryProblem[];
}

function sortedUnique(names: Iterable<string>): string[] {
  return [...new Set(names)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** spider-json: `{ package: { modulefilePath: { fullName, hidden, ... } } }`. */
export function parseSpiderJson(text: string): Inventory {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    const problem = { line: 1, reason: `not valid JSON (${(err as Error).message})`, text: text.slice(0, 120) };
    return { modules: [], problems: [problem] };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { modules: [], problems: [{ line: 1, reason: 'spider-json must be an object of packages', text: text.slice(0, 120) }] };
  }
  const names: string[] = [];
  const problems: InventoryProblem[] = [];
  for (const [pkg, files] of Object.entries(data as Record<string, unknown>)) {
    for (const [file, entry] of Object.entries((files ?? {}) as Record<string, unknown>)) {
      const fullName = (entry as { fullName?: unknown } | null)?.fullName;
      if (typeof fullName === 'string' && fullName !== '') names.push(fullName);
      else problems.push({ line: 1, reason: `no fullName for ${pkg} in ${file}`, text: JSON.stringify(entry).slice(0, 120) });
    }
  }
  return { modules: sortedUnique(names), problems };
}

/** `module -t avail` output, or any list of full names one a line. */
export function parsePlainList(text: string): Inventory {
  const names: string[] = [];
  const problems: InventoryProblem[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    if (line.endsWith(':')) return; // a modulepath header
    // Lmod and Environment Modules mark defaults and aliases after the name: `gcc/12.2.0(default)`, `(D)`, `<aL>`.
    const name = line.replace(/(\s*(\([^()]*\)|<[^<>]*>))+$/, '');
    if (name.endsWith('/')) return; // a package directory line of terse output
    if (/\s/.test(name)) {
      problems.push({ line: index + 1, reason: 'not a module name (contains white space)', text: raw.slice(0, 120) });
      return;
    }
    names.push(name);
  });
  return { modules: sortedUnique(names), problems };
}

/** Picks the format by content: a JSON object is spider-json, anything else a plain list. */
export function parseInventory(text: string): Inventory {
  return text.trimStart().startsWith('{') ? parseSpiderJson(text) : parsePlainList(text);
}
