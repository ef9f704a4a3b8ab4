import { countClash } from './count';
import { DEFAULT_KEY, keyHasTime, type KeySpec, parseKeySpec } from './key-spec';
import { bucketLabel, bucketOf, type Period, sliceOf, type TimeParts } from '../time/record-time';

/** What to de-duplicate on, as the CLI's options say it. */
export interface DedupeOptions {
  /** Comma-separated fields, default `time,user,host,module`. */
  key?: string;
  /** Keep the first record per key per calendar bucket (UTC). */
  per?: Period;
  /** Forget keys whose time is more than this many microseconds before the newest time seen. */
  windowMicros?: number;
  /** Emit one count object per key instead of records. */
  count?: boolean;
}

/** The options checked and turned into the pieces the stage runs on. */
export interface DedupePlan {
  spec: KeySpec;
  count: boolean;
  /** The bucket of a record's time; absent when every record shares one bucket. */
  bucket?: (time: TimeParts) => number;
  /** Names a bucket in count output (`["day", "2023-04-27"]`). */
  label?: (bucket: number) => [string, string];
  /** What a late record is older than, for the notice. */
  retained: string;
}

/** Checks the combination of options; throws an Error whose message suits a usage error. */
export function planDedupe(options: DedupeOptions): DedupePlan {
  const { per, windowMicros } = options;
  const count = options.count === true;
  if (per !== undefined && windowMicros !== undefined) throw new Error('--per and --window exclude each other');
  if (count && windowMicros !== undefined) throw new Error('--count counts over the whole input or --per bucket, not a --window');
  const spec = parseKeySpec(options.key ?? DEFAULT_KEY, per !== undefined || windowMicros !== undefined || count);
  if (windowMicros !== undefined && !keyHasTime(spec)) {
    throw new Error('--window needs a key that contains time (use --per for keys without time)');
  }
  if (count) {
    const clash = countClash(spec, per);
    if (clash !== undefined) throw new Error(`--count: key field "${clash}" clashes with a field of the count output`);
  }
  if (per !== undefined) {
    return {
      spec,
      count,
      bucket: (time) => bucketOf(per, time),
      label: (bucket) => [per, bucketLabel(per, bucket)],
      retained: `the current and previous ${per}`,
    };
  }
  if (windowMicros !== undefined) {
    return { spec, count, bucket: (time) => sliceOf(time.micros, windowMicros), retained: 'the window' };
  }
  return { spec, count, retained: '' };
}
