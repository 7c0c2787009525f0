/**
 * Seeded random numbers for data order and augmentation. Every stream is derived from a tuple
 * of integers (seed, epoch, sample index, …), not from a running generator, so a resumed run
 * or another worker thread draws exactly the numbers the uninterrupted run would have.
 */

/** MurmurHash3's finaliser: a bijective 32-bit mix. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit key for a tuple of non-negative integers. */
export function hashKey(parts: readonly number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = fmix32((h ^ fmix32((p >>> 0) ^ Math.floor(p / 2 ** 32))) + 0x7f4a7c15);
  }
  return h;
}

/** sfc32 (Chris Doty-Humphrey's small fast counting generator), seeded from a tuple. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d = 1;

  constructor(...key: number[]) {
    const h = hashKey(key);
    this.a = h;
    this.b = fmix32(h ^ 0x243f6a88);
    this.c = fmix32(h ^ 0x85a308d3);
    for (let i = 0; i < 12; i++) this.nextUint32(); // decorrelate nearby keys
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  random(): number {
    return ((this.nextUint32() >>> 5) * 67108864 + (this.nextUint32() >>> 6)) / 9007199254740992;
  }

  /** Uniform in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.random();
  }

  /** Integer uniform in [low, high) (numpy's randint convention: high excluded). */
  randint(low: number, high: number): number {
    return low + Math.floor(this.random() * (high - low));
  }

  /** Fisher–Yates permutation of 0…n−1. */
  permutation(n: number): Uint32Array {
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      const t = out[i];
      out[i] = out[j];
      out[j] = t;
    }
    return out;
  }
}
