import { isoSecond } from './epoch';

/**
 * The format Lmod's documentation gives, which most sites log verbatim:
 *   `Apr 27 03:22:57 node1 ModuleUsageTracking: user=U module=M path=P host=H time=S.FFFFFF`
 * (optionally with `[pid]` or no header, and `jobid=`/`userload=` before or after `time=`).
 * One regex recognises it and the NDJSON is written straight from the matched text. Values
 * that would need JSON escaping, or anything else unusual, do not match and go to the
 * general parser, which gives the same record for every line this accepts (tested).
 */
// Printable ASCII but space, quotes, `,`, `=` and `\`: nothing to unquote or escape, and
// the same characters whether the line was decoded as UTF-8 or handed over as latin1 bytes.
const VALUE = '([!#-&(-+\\--<>-\\[\\]-~]+)';
const HEADER = '(?:(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}(?:0?[1-9]|[12]\\d|3[01]) \\d\\d:\\d\\d:\\d\\d [^\\s:\\[]+ )?';
const CANONICAL = new RegExp(
  `^${HEADER}ModuleUsageTracking(?:\\[\\d+\\])?: user=${VALUE} module=${VALUE} path=${VALUE} host=${VALUE}` +
    `(?: jobid=${VALUE})?(?: userload=(yes|no))? time=(\\d{1,11})\\.(\\d{6})(?: jobid=${VALUE})?(?: userload=(yes|no))?$`,
);

/** The NDJSON line for a canonical tracking line, or null to use the general parser. */
export function canonicalToNdjson(line: string): string | null {
  const m = CANONICAL.exec(line);
  if (m === null) return null;
  const module = m[2];
  const slash = module.lastIndexOf('/');
  const name = slash < 0 ? module : module.slice(0, slash);
  const version = slash < 0 ? 'null' : `"${module.slice(slash + 1)}"`;
  // jobid= and userload= stand before time= in some hooks, after it in ours; the first wins.
  const job = m[5] ?? m[9];
  const load = m[6] ?? m[10];
  const jobid = job === undefined ? 'null' : `"${job}"`;
  const userload = load === undefined ? 'null' : load === 'yes' ? 'true' : 'false';
  return `{"time":"${isoSecond(Number(m[7]))}.${m[8]}Z","user":"${m[1]}","module":"${module}","name":"${name}","version":${version},"path":"${m[3]}","host":"${m[4]}","jobid":${jobid},"userload":${userload}}\n`;
}
