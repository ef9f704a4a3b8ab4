/**
 * Keeps one item (a hash set, a count table) per bucket for the newest bucket seen and the one just before it, and
 * retires everything older, oldest first. Input that is nearly sorted (rotated logs overlapping by a little) is fully
 * served; a record from a bucket older than that is "late": it gets no item, because the state it would need is gone.
 */
export class RecentBuckets<T> {
  private newestId = -Infinity;
  private newest: T | undefined;
  private previous: T | undefined;

  constructor(
    private readonly create: () => T,
    private readonly retire: (bucket: number, item: T) => void = () => {},
  ) {}

  /** The item for `bucket` (an integer), or undefined when the bucket is already forgotten. */
  at(bucket: number): T | undefined {
    if (bucket > this.newestId) this.advance(bucket);
    if (bucket === this.newestId) return this.newest;
    if (bucket === this.newestId - 1) return (this.previous ??= this.create());
    return undefined;
  }

  /** The items still kept (at most two). */
  kept(): T[] {
    return [this.previous, this.newest].filter((item): item is T => item !== undefined);
  }

  /** Retires what is left, oldest first (at the end of the input). */
  close(): void {
    this.advance(Infinity);
  }

  private advance(bucket: number): void {
    const previous = this.previous;
    const newest = this.newest;
    if (previous !== undefined) this.retire(this.newestId - 1, previous);
    this.previous = undefined;
    if (newest !== undefined) {
      if (bucket === this.newestId + 1) this.previous = newest;
      else this.retire(this.newestId, newest);
    }
    this.newestId = bucket;
    this.newest = bucket === Infinity ? undefined : this.create();
  }
}
