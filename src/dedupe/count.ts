import type { KeySpec, KeyValue } from './key-spec';
import { formatRecordTime } from '../time/record-time';

/** One key's tally in `--count` mode. */
export interface CountEntry {
  count: number;
  /** Microseconds since the epoch: numbers rather than slices of the input text. */
  first: number;
  last: number;
}

const COUNT_FIELDS = ['count', 'first', 'last'] as const;

/**
 * Counts records per key (the key's own values as JSON text, not a hash: they are printed), with the earliest and latest
 * time. Keys stay in order of first appearance.
 */
export class CountTable {
  /** Keyed by the JSON array of the key values. */
  readonly entries = new Map<string, CountEntry>();

  add(values: readonly KeyValue[], keyLength: number, time: number): void {
    const key = JSON.stringify(values.length === keyLength ? values : values.slice(0, keyLength));
    const entry = this.entries.get(key);
    if (entry === undefined) {
      this.entries.set(key, { count: 1, first: time, last: time });
      return;
    }
    entry.count++;
    if (time < entry.first) entry.first = time;
    if (time > entry.last) entry.last = time;
  }
}

/** A key field that would collide with a field of the count output, or undefined. `label` is the bucket's field name (`day` for `--per day`). */
export function countClash(spec: KeySpec, label?: string): string | undefined {
  const taken: string[] = [...COUNT_FIELDS, ...(label === undefined ? [] : [label])];
  return spec.paths
    .slice(0, spec.keyLength)
    .find((path) => taken.includes(path[0]))
    ?.join('.');
}

/** `{"day":"2023-04-27","module":"gcc/12.2.0","count":3,"first":"...","last":"..."}` */
export function countLine(spec: KeySpec, key: string, entry: CountEntry, bucket?: [string, string]): string {
  const values = JSON.parse(key) as KeyValue[];
  // Without a prototype, a field named `__proto__` is a field like any other.
  const out: Record<string, unknown> = Object.create(null);
  if (bucket !== undefined) out[bucket[0]] = bucket[1];
  for (let slot = 0; slot < spec.keyLength; slot++) {
    const path = spec.paths[slot];
    let target = out;
    for (const name of path.slice(0, -1)) {
      const next = target[name];
      target = (typeof next === 'object' && next !== null ? next : (target[name] = Object.create(null))) as Record<string, unknown>;
    }
    target[path[path.length - 1]] = values[slot];
  }
  out.count = entry.count;
  out.first = formatRecordTime(entry.first);
  out.last = formatRecordTime(entry.last);
  return JSON.stringify(out);
}
