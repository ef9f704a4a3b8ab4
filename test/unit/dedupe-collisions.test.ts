import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Deduper, type DedupeOutput } from '../../src/dedupe/deduper';
import { KeyHasher } from '../../src/dedupe/hash';

/**
 * Crafted collisions. KeyHasher's rounds can be inverted, so whoever knows the key can make two values collide in
 * 2^16 tries: after a first word, find two words whose lanes differ by the same pattern (a 32-bit birthday search),
 * and a second word cancels it in both lanes. The key is drawn at random per run, so such a pair is made for one key
 * and does not collide under another; here they are made for the constants the hash once started from.
 */
const rotl = (x: number, r: number): number => ((x << r) | (x >>> (32 - r))) >>> 0;
const laneA = (a: number, k: number): number => Math.imul(rotl(a, 5) ^ k, 0x9e3779b1) >>> 0;
const laneB = (b: number, k: number): number => Math.imul(rotl(b, 13) ^ k, 0x85ebca77) >>> 0;
const word = (w: number): string => String.fromCharCode(w & 255, (w >>> 8) & 255, (w >>> 16) & 255, w >>> 24);

/** Two different 8-character values that hash alike as a one-field key under `key`. */
function craftPair(key: Uint32Array): [string, string] {
  const tag = 1 | (8 << 8);
  const a0 = laneA(key[0], tag);
  const b0 = laneB(key[1], tag);
  const seen = new Map<number, number>();
  for (let w = 1; ; w++) {
    const d = (rotl(laneA(a0, w), 5) ^ rotl(laneB(b0, w), 13)) >>> 0;
    const other = seen.get(d);
    if (other !== undefined) {
      const cancel = (rotl(laneA(a0, w), 5) ^ rotl(laneA(a0, other), 5)) >>> 0;
      return [word(w) + word(0x41414141), word(other) + word((0x41414141 ^ cancel) >>> 0)];
    }
    seen.set(d, w);
  }
}

function kept(users: string[], key?: Uint32Array): string[] {
  const deduper = new Deduper({ key: 'user', hashKey: key });
  const out: DedupeOutput = [];
  deduper.write('in', Buffer.from(users.map((user) => `${JSON.stringify({ user })}\n`).join('')), out);
  deduper.finish(out);
  return Buffer.concat(out.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)))
    .toString()
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line).user);
}

test('a pair crafted for a known hash key collides under that key, and both records are kept under a key drawn at random', () => {
  const fixed = new Uint32Array([0x3c6ef372, 0x1b873593, 0, 0]);
  const [u1, u2] = craftPair(fixed);
  assert.notEqual(u1, u2);
  const hasher = new KeyHasher(fixed);
  hasher.hash([u1], 1);
  const first = [hasher.high, hasher.low];
  hasher.hash([u2], 1);
  assert.deepEqual([hasher.high, hasher.low], first, 'the crafted pair collides under the key it was made for');
  assert.deepEqual(kept([u1, u2], fixed), [u1], 'under that key the second is dropped as a duplicate');
  for (let run = 0; run < 5; run++) assert.deepEqual(kept([u1, u2]), [u1, u2], 'each run draws its own key');
});
