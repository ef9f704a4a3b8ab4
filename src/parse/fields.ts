import { type LoadRecord, splitModule } from '../record';
import { epochToIso } from './epoch';

/** Where a message's keys go in the record. Looked up as written, then lower-cased. */
type Field = 'user' | 'module' | 'path' | 'host' | 'time' | 'jobid' | 'cluster' | 'userload' | 'auto' | 'mode' | 'command' | 'error';

const ALIASES = new Map<string, Field>(
  Object.entries({
    user: ['user', 'username', 'u'],
    module: ['module', 'm'],
    path: ['path', 'fn', 'fullpath', 'modulefile'],
    host: ['host', 'h', 'syshost'],
    time: ['time'],
    jobid: ['jobid', 'job_id', 'j', 'job'],
    cluster: ['cluster'],
    userload: ['userload', 'ul', 'requested'],
    auto: ['auto'],
    mode: ['mode'],
    command: ['cmd', 'command'],
    error: ['error'],
  } satisfies Record<Field, string[]>).flatMap(([field, keys]) => keys.map((key): [string, Field] => [key, field as Field])),
);

/** Why a line with the right tag yields no record. */
export type Outcome = { record: LoadRecord } | { skip: SkipReason } | { malformed: string };
export type SkipReason = 'command' | 'unload' | 'failed' | 'not-tracking';

/** What the syslog header offers when the message lacks a host or a time. */
export interface HeaderFallback {
  host: string | null;
  /** lmod-parse's --cluster, for messages that name none. */
  cluster: string | null;
  /** Resolves the header's time lazily: only lines without `time=` pay for it. */
  time: () => string | null;
}

/** Builds the record from a message's pairs (already split, in order). The first value of a field wins; keys that are no field are kept in `extra`. */
export function recordFromPairs(keys: string[], values: unknown[], header: HeaderFallback, epochKeys: ReadonlySet<string> = NO_KEYS): Outcome {
  const found: Partial<Record<Field, string>> = {};
  let userload: boolean | null | undefined;
  let extra: Record<string, string> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const value = values[i];
    const field = epochKeys.has(key) ? 'time' : (ALIASES.get(key) ?? ALIASES.get(key.toLowerCase()));
    if (field === 'userload' || field === 'auto') {
      // Environment Modules' `auto` says the opposite of a user load.
      const flagged = flag(value);
      if (userload === undefined) userload = field === 'auto' && flagged !== null ? !flagged : flagged;
      continue;
    }
    if (field !== undefined) found[field] ??= text(value);
    // mode, command and error are kept in extra too.
    if (field !== undefined && field !== 'mode' && field !== 'command' && field !== 'error') continue;
    extra ??= {};
    if (!Object.hasOwn(extra, key)) Object.defineProperty(extra, key, { value: text(value), enumerable: true, writable: true, configurable: true });
  }
  const { user, module, path, host, time, jobid, cluster, mode } = found;
  const command = found.command !== undefined;
  const error = found.error !== undefined;
  if (mode !== undefined && mode !== 'load') return { skip: 'unload' };
  if (error) return { skip: 'failed' };
  if (command && (module === undefined || module === '')) return { skip: 'command' };
  if (user === undefined && module === undefined) return { skip: 'not-tracking' };
  if (user === undefined) return { malformed: 'no user' };
  if (user === '') return { malformed: 'empty user' };
  if (module === undefined || module === '') return { malformed: 'no module' };
  let iso: string | null;
  if (time !== undefined) {
    iso = epochToIso(time);
    if (iso === null) return { malformed: time === '' ? 'empty time' : 'bad time' };
  } else {
    iso = header.time();
    if (iso === null) return { malformed: 'no time' };
  }
  const { name, version } = splitModule(module);
  const record: LoadRecord = {
    time: iso,
    user,
    module,
    name,
    version,
    path: path || null,
    host: host || header.host,
    jobid: jobid || null,
    userload: userload ?? null,
    cluster: cluster || header.cluster,
  };
  if (extra !== undefined) record.extra = extra;
  return { record };
}

const NO_KEYS: ReadonlySet<string> = new Set();

function text(value: unknown): string {
  return typeof value === 'string' ? value : value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function flag(value: unknown): boolean | null {
  switch (typeof value === 'string' ? value.toLowerCase() : value) {
    case 'yes':
    case 'true':
    case '1':
    case true:
    case 1:
      return true;
    case 'no':
    case 'false':
    case '0':
    case false:
    case 0:
      return false;
    default:
      return null;
  }
}
