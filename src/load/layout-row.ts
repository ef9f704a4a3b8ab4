import { LIMITS, type LoadRow } from '../db/row';
import { RECORD_FIELDS } from '../record';
import { toDbTime } from './validate';

// A JSON string of printable ASCII but space, `"` and `\`: its text is the value, whether the line was decoded as UTF-8
// or read as latin1 bytes, and it cannot end in a space.
const TEXT = '([!#-\\[\\]-~]*)';
const NULLABLE = `(?:"${TEXT}"|null)`;
/** Each field's value in the layout, one capture each: adding a field to RECORD_FIELDS asks for its pattern here. */
const VALUE: Record<(typeof RECORD_FIELDS)[number], string> = {
  time: '"([^"\\\\]*)"',
  user: `"${TEXT}"`,
  module: `"${TEXT}"`,
  name: `"${TEXT}"`,
  version: NULLABLE,
  path: NULLABLE,
  host: NULLABLE,
  jobid: NULLABLE,
  userload: '(true|false|null)',
  cluster: NULLABLE,
};
const LAYOUT = new RegExp(`^\\{${RECORD_FIELDS.map((field) => `"${field}":${VALUE[field]}`).join(',')}\\}$`);

/**
 * The row for a record in lmod-parse's own layout (field order, no `extra`, plain ASCII values), read without
 * JSON.parse; null for any other line, and for a record this would have to refuse, so that toRow gives the reason.
 * Whatever it returns, toRow(JSON.parse(line)) gives the same (test/load-unit.test.ts).
 */
export function layoutRow(line: string, source: string, lineNo: number): LoadRow | null {
  const m = LAYOUT.exec(line);
  if (m === null) return null;
  const [, isoTime, user, module, name, version, path, host, jobid, userload, cluster] = m;
  const time = toDbTime(isoTime);
  if (time === null || user === '' || module === '' || !splitsInto(module, name, version)) return null;
  if (user.length > LIMITS.user || module.length > LIMITS.module || (host?.length ?? 0) > LIMITS.host) return null;
  if ((path?.length ?? 0) > LIMITS.path || (jobid?.length ?? 0) > LIMITS.jobid || (cluster?.length ?? 0) > LIMITS.cluster) return null;
  return {
    time,
    user,
    host: host ?? '',
    module,
    name,
    version: version ?? null,
    path: path ?? null,
    jobid: jobid ?? null,
    userload: userload === 'null' ? null : userload === 'true' ? 1 : 0,
    cluster: cluster || null,
    extra: null,
    source,
    line: lineNo,
    bytes: 64 + 3 * ((jobid?.length ?? 0) + (cluster?.length ?? 0)),
  };
}

/** Whether `name` and `version` are what splitModule gives for `module` (name is never longer than module). */
function splitsInto(module: string, name: string, version: string | undefined): boolean {
  const slash = module.lastIndexOf('/');
  if (version === undefined) return slash < 0 && name === module;
  return slash === name.length && module.startsWith(name) && module.length === slash + 1 + version.length && module.endsWith(version);
}
