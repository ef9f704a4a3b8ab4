import { JOB_LIMITS, type JobRow, LIMITS, type LoadRow } from '../db/row';
import { splitModule } from '../record';
import { parseRecordTime } from '../time/record-time';

/** Thrown inside validation; its message is the reason printed after FILE:LINE. */
class Invalid extends Error {}

/** The row for a parsed JSON value (a job record by its `elapsed_s`), or the reason it cannot be loaded. */
export function toRow(value: unknown, source: string, line: number): LoadRow | JobRow | string {
  try {
    if (typeof value === 'object' && value !== null && 'elapsed_s' in value) return checkJob(value as Record<string, unknown>, source, line);
    return checkRecord(value, source, line);
  } catch (err) {
    if (err instanceof Invalid) return err.message;
    throw err;
  }
}

function checkRecord(value: unknown, source: string, line: number): LoadRow {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Invalid('not a JSON object');
  const record = value as Record<string, unknown>;
  const time = dbTime(field(record, 'time'));
  const user = keyString(record, 'user', false);
  const module = keyString(record, 'module', false);
  const { name, version } = splitModule(module);
  if (field(record, 'name') !== name) throw new Invalid(`name must be "${name}" for module "${module}"`);
  if (field(record, 'version') !== version) {
    throw new Invalid(`version must be ${version === null ? 'null' : `"${version}"`} for module "${module}"`);
  }
  const host = keyString(record, 'host', true) ?? '';
  const path = keyString(record, 'path', true);
  const jobid = nullableString(record, 'jobid');
  const userload = field(record, 'userload');
  if (userload !== null && typeof userload !== 'boolean') throw new Invalid('userload must be true, false or null');
  // Records from before clusters have no `cluster`.
  // '' names no cluster, as null does (a job's unknown cluster is '' only because it is part of a key).
  const cluster = ('cluster' in record ? nullableString(record, 'cluster') : null) || null;
  const extra = extraJson(record.extra);
  const bytes = 64 + 3 * ((jobid?.length ?? 0) + (cluster?.length ?? 0) + (extra?.length ?? 0));
  return {
    time,
    user,
    host,
    module,
    name,
    version,
    path,
    jobid,
    userload: userload === null ? null : userload ? 1 : 0,
    cluster,
    extra,
    source,
    line,
    bytes,
  };
}

function checkJob(record: Record<string, unknown>, source: string, line: number): JobRow {
  const text = (key: keyof typeof JOB_LIMITS): string | null => {
    const value = field(record, key);
    if (value === null) return null;
    if (typeof value !== 'string') throw new Invalid(`${key} must be a string or null`);
    checkText(key, value, JOB_LIMITS[key]);
    return value;
  };
  const count = (key: keyof typeof JOB_COUNT_LIMITS, nullable = false): number | null => {
    const value = field(record, key);
    if (value === null && nullable) return null;
    const max = JOB_COUNT_LIMITS[key];
    if (!Number.isSafeInteger(value) || (value as number) < 0 || (value as number) > max) {
      throw new Invalid(`${key} must be a whole number from 0 to ${max}${nullable ? ' or null' : ''}`);
    }
    return value as number;
  };
  // Part of the key: refused as for load keys, or MySQL would take 'x ' for the stored 'x'.
  const key = (name: 'cluster' | 'jobid'): string | null => {
    const value = text(name);
    if (value?.endsWith(' ')) throw new Invalid(`${name} "${value.slice(0, 40)}" ends with a space (database keys ignore trailing spaces)`);
    return value;
  };
  const time = (key: string): string | null => (field(record, key) === null ? null : dbTime(record[key]));
  const jobid = key('jobid');
  const job = text('job');
  if (!jobid || !job) throw new Invalid('jobid and job must be non-empty strings');
  return {
    cluster: key('cluster') ?? '',
    jobid,
    job,
    user: text('user'),
    account: text('account'),
    partition: text('partition'),
    state: text('state'),
    start: time('start'),
    end: time('end'),
    elapsed: count('elapsed_s') as number,
    cpus: count('cpus') as number,
    gpus: count('gpus') as number,
    nodes: count('nodes', true),
    source,
    line,
  };
}

/**
 * The largest counts a job record may carry: the columns' INT UNSIGNED for CPUs, GPUs and nodes would take more, but
 * 2^24 of each and ten years keep every product and sum of them exact and far from any overflow.
 */
const JOB_COUNT_LIMITS = { elapsed_s: 10 * 366 * 86400, cpus: 2 ** 24, gpus: 2 ** 24, nodes: 2 ** 24 };

function field(record: Record<string, unknown>, key: string): unknown {
  if (!(key in record)) throw new Invalid(`missing field ${key}`);
  return record[key];
}

/** `2023-04-27T07:22:57.622180Z` -> `2023-04-27 07:22:57.622180`, or null when it is no record time within DATETIME's range. */
export function toDbTime(value: string): string | null {
  // Consecutive records mostly share their second: one that shares the last one's is checked by its fraction alone.
  if (!(value.length === 27 && value.startsWith(lastSecond) && /^\d{6}Z$/.test(value.slice(20)))) {
    const parts = parseRecordTime(value);
    if (parts === null || parts.year < 1000) return null;
    lastSecond = value.slice(0, 20);
  }
  return `${value.slice(0, 10)} ${value.slice(11, 26)}`;
}

let lastSecond = '\0';

function dbTime(value: unknown): string {
  if (typeof value !== 'string') throw new Invalid('time must be a string');
  const time = toDbTime(value);
  if (time === null) throw new Invalid(`time "${value.slice(0, 40)}" is not a UTC time like 2023-04-27T07:22:57.622180Z`);
  return time;
}

function nullableString(record: Record<string, unknown>, key: keyof typeof LIMITS): string | null {
  const value = field(record, key);
  if (value === null) return null;
  if (typeof value !== 'string') throw new Invalid(`${key} must be a string or null`);
  checkText(key, value, LIMITS[key]);
  return value;
}

/**
 * A value that is part of a unique key. The binary collation still pads with spaces, so `alice` and `alice ` would be
 * one key to MySQL but two to the loader: refused.
 */
function keyString(record: Record<string, unknown>, key: 'user' | 'module', nullable: false): string;
function keyString(record: Record<string, unknown>, key: 'host' | 'path', nullable: true): string | null;
function keyString(record: Record<string, unknown>, key: 'user' | 'module' | 'host' | 'path', nullable: boolean): string | null {
  const value = field(record, key);
  if (value === null && nullable) return null;
  if (typeof value !== 'string') throw new Invalid(`${key} must be a string${nullable ? ' or null' : ''}`);
  if (value === '' && !nullable) throw new Invalid(`${key} is empty`);
  checkText(key, value, LIMITS[key]);
  if (value.endsWith(' ')) throw new Invalid(`${key} "${value.slice(0, 40)}" ends with a space (database keys ignore trailing spaces)`);
  return value;
}

function checkText(key: string, value: string, limit: number): void {
  // Column limits count characters (code points), JS counts UTF-16 units: compare exactly only when it matters.
  if (value.length > limit && [...value].length > limit) throw new Invalid(`${key} is longer than ${limit} characters`);
  if (!(value as string & { isWellFormed(): boolean }).isWellFormed()) throw new Invalid(`${key} is not valid Unicode (lone surrogate)`);
}

function extraJson(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw new Invalid('extra must be an object of strings');
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return null;
  for (const [key, v] of entries) {
    if (typeof v !== 'string') throw new Invalid(`extra.${key.slice(0, 40)} must be a string`);
  }
  const json = JSON.stringify(value);
  if (Buffer.byteLength(json) > LIMITS.extraBytes) throw new Invalid(`extra is longer than ${LIMITS.extraBytes} bytes as JSON`);
  return json;
}
