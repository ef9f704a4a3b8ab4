import { IDENTITY_FIELDS } from '../record';

/** A key field's value as JSON.parse gives it. Objects and arrays count by their JSON text. */
export type KeyValue = string | number | boolean | null | object;

/**
 * The fields to read from each record: the key fields named by `--key` (`extra.stack` reaches into an object), then
 * `time` as an extra slot when bucketing needs it but the key does not contain it.
 */
export interface KeySpec {
  /** Field names as given (`extra.stack`), in key order. */
  fields: string[];
  /** The same as property paths, plus `['time']` at index `timeSlot` when it was added. */
  paths: string[][];
  /** How many of `paths` make the key. */
  keyLength: number;
  /** Where the record's time is read, or -1 when nothing needs it. */
  timeSlot: number;
}

export const DEFAULT_KEY = IDENTITY_FIELDS.join(',');

/** Parses `--key time,user,host,module`; throws an Error with a usage message when malformed. */
export function parseKeySpec(text: string, needTime: boolean): KeySpec {
  const fields = text.split(',').map((field) => field.trim());
  const paths = fields.map((field) => {
    const path = field.split('.');
    if (path.some((part) => part === '')) throw new Error(`--key: "${field}" is not a field name`);
    return path;
  });
  const duplicate = fields.find((field, i) => fields.indexOf(field) !== i);
  if (duplicate !== undefined) throw new Error(`--key: "${duplicate}" is named twice`);
  let timeSlot = fields.indexOf('time');
  if (needTime && timeSlot < 0) {
    timeSlot = paths.length;
    paths.push(['time']);
  }
  return { fields, paths, keyLength: fields.length, timeSlot: needTime ? timeSlot : -1 };
}

export function keyHasTime(spec: KeySpec): boolean {
  return spec.fields.includes('time');
}
