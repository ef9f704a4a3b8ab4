import { growthLimit, slotCount } from '../dedupe/hash-set';

/**
 * Flags per pair of 32-bit ids, in one Uint32Array: open addressing with linear probing,
 * three words a slot (a, b, flags), flags 0 marking an empty slot. Millions of pairs (the
 * distinct module-user pairs of 5 million loads are about a million) at 16-24 bytes each,
 * where a Map of them would take several times that.
 */
export class PairTable {
  private slots: Uint32Array;
  private mask: number;
  private limit: number;
  size = 0;

  constructor(initialCapacity = 1024) {
    const capacity = slotCount(initialCapacity);
    this.slots = new Uint32Array(capacity * 3);
    this.mask = capacity - 1;
    this.limit = growthLimit(capacity);
  }

  /** The pair's flags, 0 when it is not in the table. */
  get(a: number, b: number): number {
    const at = this.find(a, b);
    return this.slots[at + 2];
  }

  /** ORs `flags` (not 0) into the pair's and returns its flags before. */
  mark(a: number, b: number, flags: number): number {
    const at = this.find(a, b);
    const before = this.slots[at + 2];
    this.slots[at + 2] = before | flags;
    if (before === 0) {
      this.slots[at] = a;
      this.slots[at + 1] = b;
      if (++this.size > this.limit) this.grow();
    }
    return before;
  }

  forEach(fn: (a: number, b: number, flags: number) => void): void {
    const slots = this.slots;
    for (let at = 0; at < slots.length; at += 3) if (slots[at + 2] !== 0) fn(slots[at], slots[at + 1], slots[at + 2]);
  }

  /** The pairs in (a, b) order, as parallel arrays. */
  sorted(): { a: Uint32Array; b: Uint32Array; flags: Uint32Array } {
    const slots = this.slots;
    const order = new Uint32Array(this.size);
    let n = 0;
    for (let at = 0; at < slots.length; at += 3) if (slots[at + 2] !== 0) order[n++] = at;
    order.sort((x, y) => slots[x] - slots[y] || slots[x + 1] - slots[y + 1]);
    const a = new Uint32Array(n);
    const b = new Uint32Array(n);
    const flags = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      a[i] = slots[order[i]];
      b[i] = slots[order[i] + 1];
      flags[i] = slots[order[i] + 2];
    }
    return { a, b, flags };
  }

  /** The slot (word index) that holds the pair, or the empty one where it would go. */
  private find(a: number, b: number): number {
    const slots = this.slots;
    let i = slotHash(a, b) & this.mask;
    for (;;) {
      const at = i * 3;
      if (slots[at + 2] === 0 || (slots[at] === a && slots[at + 1] === b)) return at;
      i = (i + 1) & this.mask;
    }
  }

  private grow(): void {
    const old = this.slots;
    const capacity = (this.mask + 1) * 2;
    this.slots = new Uint32Array(capacity * 3);
    this.mask = capacity - 1;
    this.limit = growthLimit(capacity);
    for (let at = 0; at < old.length; at += 3) {
      if (old[at + 2] === 0) continue;
      const to = this.find(old[at], old[at + 1]);
      this.slots[to] = old[at];
      this.slots[to + 1] = old[at + 1];
      this.slots[to + 2] = old[at + 2];
    }
  }
}

/** Ids are small consecutive integers: mixed (murmur3's finalizer) so that probing spreads them. */
function slotHash(a: number, b: number): number {
  let h = (Math.imul(a, 0x9e3779b1) ^ b) | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
