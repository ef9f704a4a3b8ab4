import { type LoadRecord, splitModule } from '../record';
import { epochToIso } from './epoch';

/** Where a message's keys go in the record. Looked up as written, then lower-cased. */
type Field = 'user' | 'module' | 'path' | 'host' | 'time' | 'jobid' | 'userload' | 'auto' | 'mode' | 'command' | 'error';

const ALIASES = new Map<string, Field>([
  ['user', 'user'],
  ['username', 'user'],
  ['u', 'user'],
  ['module', 'module'],
  ['m', 'module'],
  ['path', 'path'],
  ['fn', 'path'],
  ['fullpath', 'path'],
  ['modulefile', 'path'],
  ['host', 'host'],
  ['h', 'host'],
  ['syshost', 'host'],
  ['time', 'time'],
  ['jobid', 'jobid'],
  ['job_id', 'jobid'],
  ['j', 'jobid'],
  ['job', 'jobid'],
  ['userload', 'userload'],
  ['ul', 'userload'],
  ['requested', 'userload'],
  ['auto', 'auto'],
  ['mode', 'mode'],
  ['cmd', 'command'],
  ['command', 'command'],
  ['error', 'error'],
]);

/** Why a line with the right tag yields no record. */
export type Outcome = { record: LoadRecord } | { skip: SkipReason } | { malformed: string };
export type SkipReason = 'command' | 'unload' | 'failed' | 'not-tracking';

/** What the syslog header offers when the message lacks a host or a time. */
export interface HeaderFallback {
  host: string | null;
  /** Resolves the header's time lazily: only lines without `time=` pay for it. */
  time: () => string | null;
}

/**
 * Builds the record from a message's pairs (already split, in order). The first value of
 * a field wins; keys that are no field are kept in `extra`.
 */
export function recordFromPairs(
  keys: string[],
  values: unknown[],
  header: HeaderFallback,
  epochKeys: ReadonlySet<string> = NO_KEYS,
): Outcome {
  let user: string | undefined;
  let module: string | undefined;
  let path: string | undefined;
  let host: string | undefined;
  let time: string | undefined;
  let jobid: string | undefined;
  let userload: boolean | null | undefined;
  let command = false;
  let error = false;
  let mode: string | undefined;
  let extra: Record<string, string> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const value = values[i];
    const field = epochKeys.has(key) ? 'time' : (ALIASES.get(key) ?? ALIASES.get(key.toLowerCase()));
    switch (field) {
      case 'user':
        user ??= text(value);
        continue;
      case 'module':
        module ??= text(value);
        continue;
      case 'path':
        path ??= text(value);
        continue;
      case 'host':
        host ??= text(value);
        continue;
      case 'time':
        time ??= text(value);
        continue;
      case 'jobid':
        jobid ??= text(value);
        continue;
      case 'userload':
        if (userload === undefined) userload = flag(value);
        continue;
      case 'auto':
        if (userload === undefined) {
          const auto = flag(value);
          userload = auto === null ? null : !auto;
        }
        continue;
      case 'command':
        command = true;
        break;
      case 'error':
        error = true;
        break;
      case 'mode':
        mode ??= text(value);
        break;
    }
    extra ??= {};
    if (!Object.hasOwn(extra, key))
      Object.defineProperty(extra, key, { value: text(value), enumerable: true, writable: true, configurable: true });
  }
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
  };
  if (extra !== undefined) record.extra = extra;
  return { record };
}

const NO_KEYS: ReadonlySet<string> = new Set();

function text(value: unknown): string {
  return typeof value === 'string'
    ? value
    : value === null || value === undefined
      ? ''
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value);
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
