/** Keys a table of `capacity` slots takes before it doubles: three quarters keep probe runs short. */
const growthLimit = (capacity: number): number => Math.floor(capacity * 0.75);

/**
 * A set of 64-bit hashes in one Uint32Array: open addressing with linear probing, two words a slot, (0, 0) marking an
 * empty slot. It doubles when three quarters full, so a key costs 8 bytes divided by the load: 10.7 to 21.3 bytes, 32
 * for a moment while it grows.
 */
export class HashSet64 {
  private slots: Uint32Array;
  private mask: number;
  private limit: number;
  size = 0;

  constructor(initialCapacity = 1024) {
    // A power of two (masks replace modulo), at least 16.
    const capacity = 2 ** Math.max(4, Math.ceil(Math.log2(initialCapacity)));
    this.slots = new Uint32Array(capacity * 2);
    this.mask = capacity - 1;
    this.limit = growthLimit(capacity);
  }

  /** Adds the hash (high, low; not both zero) and says whether it was new. */
  add(high: number, low: number): boolean {
    const slots = this.slots;
    const mask = this.mask;
    let i = low & mask;
    for (;;) {
      const at = i << 1;
      const h = slots[at];
      const l = slots[at + 1];
      if (h === 0 && l === 0) break;
      if (h === high && l === low) return false;
      i = (i + 1) & mask;
    }
    slots[i << 1] = high;
    slots[(i << 1) + 1] = low;
    if (++this.size > this.limit) this.grow();
    return true;
  }

  /**
   * Reads the slots where these hashes go, one after another: the CPU waits for those cache misses together instead of
   * one add at a time. `hashes` holds `count` hashes as KeyScanner gives them: four words each, the low word last.
   * Returns a value of no meaning, so the reads are not optimised away.
   */
  warm(hashes: Uint32Array, count: number): number {
    const slots = this.slots;
    const mask = this.mask;
    let sink = 0;
    for (let i = 0; i < count; i++) sink ^= slots[(hashes[4 * i + 3] & mask) << 1];
    return sink;
  }

  /** Bytes held by the table. */
  get byteLength(): number {
    return this.slots.byteLength;
  }

  private grow(): void {
    const old = this.slots;
    const capacity = (this.mask + 1) * 2;
    const slots = new Uint32Array(capacity * 2);
    const mask = capacity - 1;
    for (let at = 0; at < old.length; at += 2) {
      const high = old[at];
      const low = old[at + 1];
      if (high === 0 && low === 0) continue;
      let i = low & mask;
      while (slots[i << 1] !== 0 || slots[(i << 1) + 1] !== 0) i = (i + 1) & mask;
      slots[i << 1] = high;
      slots[(i << 1) + 1] = low;
    }
    this.slots = slots;
    this.mask = mask;
    this.limit = growthLimit(capacity);
  }
}
