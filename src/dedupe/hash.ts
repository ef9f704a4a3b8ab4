import { randomBytes } from 'node:crypto';
import type { KeyValue } from './key-spec';

/** A hash key: four 32-bit words, the lanes' starting values and what the end mixes in. */
export type HashKey = Uint32Array;

/** A key chosen at random, as each run of lmod-dedupe uses: collisions cannot be prepared without it. */
export const randomHashKey = (): HashKey => new Uint32Array(randomBytes(16).buffer, 0, 4);

/**
 * A 64-bit keyed hash of a key's values: two 32-bit lanes, each a rotate-xor-multiply round (its own rotation and odd
 * constant) per four code units of UTF-16 text, then a Murmur3 avalanche per lane and a cross-add. The lanes start from
 * the key and the end mixes it in again, so two values that collide can only be found by whoever knows the key, which
 * never leaves the process. Each value is preceded by its type and length, so `("ab","c")`, `("a","bc")`, `null` and
 * `"null"` differ. node:crypto's hashes cost more a call than everything else a record does.
 */
export class KeyHasher {
  /** The result of the last `hash`: two 32-bit halves, never both zero. */
  high = 0;
  low = 0;
  private a = 0;
  private b = 0;

  constructor(private readonly key: HashKey = randomHashKey()) {}

  hash(values: readonly KeyValue[], count: number): void {
    this.a = this.key[0] | 0;
    this.b = this.key[1] | 0;
    for (let i = 0; i < count; i++) {
      const value = values[i];
      if (typeof value === 'string') this.text(1, value);
      else if (value === null) this.round(2);
      else if (value === true) this.round(3);
      else if (value === false) this.round(4);
      else this.text(5, JSON.stringify(value));
    }
    let a = fmix(this.a ^ count ^ this.key[2]);
    let b = fmix(this.b ^ count ^ this.key[3]);
    a = (a + b) | 0;
    b = (b + a) | 0;
    this.high = a >>> 0;
    // Zero marks an empty slot in the table; the bias this leaves is 2^-64.
    this.low = b >>> 0 || (this.high === 0 ? 1 : 0);
  }

  /** Four code units a round while they fit in a byte each (the usual case), else two. */
  private text(tag: number, s: string): void {
    const n = s.length;
    const a = this.a;
    const b = this.b;
    this.round(tag | (n << 8));
    let wide = 0;
    let i = 0;
    for (; i + 3 < n; i += 4) {
      const c0 = s.charCodeAt(i);
      const c1 = s.charCodeAt(i + 1);
      const c2 = s.charCodeAt(i + 2);
      const c3 = s.charCodeAt(i + 3);
      wide |= c0 | c1 | c2 | c3;
      this.round(c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
    }
    if (i < n) {
      let k = 0;
      for (let shift = 0; i < n; i++, shift += 8) {
        const c = s.charCodeAt(i);
        wide |= c;
        k |= c << shift;
      }
      this.round(k);
    }
    if (wide < 256) return;
    // Some unit needs more than a byte: start this value again, two units a round, under another tag.
    this.a = a;
    this.b = b;
    this.round(tag | 0x80 | (n << 8));
    for (i = 0; i + 1 < n; i += 2) this.round(s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16));
    if (i < n) this.round(s.charCodeAt(i));
  }

  /** Rotate, mix in, multiply: each lane with its own rotation and odd constant. */
  private round(k: number): void {
    this.a = Math.imul(((this.a << 5) | (this.a >>> 27)) ^ k, 0x9e3779b1);
    this.b = Math.imul(((this.b << 13) | (this.b >>> 19)) ^ k, 0x85ebca77);
  }
}

/** The final avalanche: every input bit flips each output bit with probability near 1/2. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
