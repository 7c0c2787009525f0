/**
 * A mergeable histogram of pixel scores for the pixel-AUC extra. Storing every pixel of a test
 * set (~10⁹) is out of reach, so pixels are binned by the float32 logit margin d = Z₁ − Z₀,
 * which orders pixels exactly as the fake probability softmax(Z)₁ does (without its float32
 * saturation at 1). A bin spans 2⁻¹⁰ of a binade of |d|; pairs inside one bin count as ties (½),
 * and `tieBound` bounds the resulting error.
 */
import { ArgumentError } from '../errors.js';

const SHIFT = 13;
const BINS = 2 ** (32 - SHIFT);

/** Nonzero bins only, for moving a histogram between processes. */
export interface SparseHistogram {
  readonly bins: number[];
  readonly real: number[];
  readonly fake: number[];
}

/** An AUC from binned scores. */
export interface BinnedAuc {
  /** P(d⁺ > d⁻) + ½·P(same bin); NaN when one class has no pixel */
  readonly AUC: number;
  /** |AUC − exact Mann–Whitney AUC| ≤ tieBound: half the share of pairs that share a bin */
  readonly tieBound: number;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Bin of a float32 value in an order-preserving layout of its bits (negatives reversed). */
function binOf(value: number): number {
  f32[0] = value === 0 ? 0 : value; // -0 and +0 share a bin
  const bits = u32[0];
  const key = bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
  return key >>> SHIFT;
}

export class MarginHistogram {
  readonly real = new Float64Array(BINS);
  readonly fake = new Float64Array(BINS);

  static fromSparse(sparse: SparseHistogram): MarginHistogram {
    const h = new MarginHistogram();
    if (sparse.real.length !== sparse.bins.length || sparse.fake.length !== sparse.bins.length) {
      throw new ArgumentError('sparse', 'bins, real and fake of equal length', sparse);
    }
    sparse.bins.forEach((b, i) => {
      if (!Number.isInteger(b) || b < 0 || b >= BINS) throw new ArgumentError(`sparse.bins[${i}]`, `an integer in 0..${BINS - 1}`, b);
      h.real[b] += sparse.real[i];
      h.fake[b] += sparse.fake[i];
    });
    return h;
  }

  /**
   * Adds the non-ignored pixels of one upsampled map Z [2, H, W] (float32 logits) with its
   * ground truth (0, 1 or negative for ignored).
   */
  addMap(logits: Float32Array, gt: Int8Array): void {
    const plane = gt.length;
    if (logits.length !== 2 * plane) throw new ArgumentError('logits', `2 × ${plane} values`, logits);
    for (let p = 0; p < plane; p++) {
      const g = gt[p];
      if (g < 0) continue;
      const bin = binOf(Math.fround(logits[plane + p] - logits[p]));
      if (g === 1) this.fake[bin]++;
      else this.real[bin]++;
    }
  }

  merge(other: MarginHistogram): this {
    for (let b = 0; b < BINS; b++) {
      this.real[b] += other.real[b];
      this.fake[b] += other.fake[b];
    }
    return this;
  }

  toSparse(): SparseHistogram {
    const sparse: SparseHistogram = { bins: [], real: [], fake: [] };
    for (let b = 0; b < BINS; b++) {
      if (this.real[b] === 0 && this.fake[b] === 0) continue;
      sparse.bins.push(b);
      sparse.real.push(this.real[b]);
      sparse.fake.push(this.fake[b]);
    }
    return sparse;
  }

  auc(): BinnedAuc {
    let realBelow = 0;
    let above = 0;
    let tied = 0;
    for (let b = 0; b < BINS; b++) {
      above += this.fake[b] * realBelow;
      tied += this.fake[b] * this.real[b];
      realBelow += this.real[b];
    }
    let fakeTotal = 0;
    for (let b = 0; b < BINS; b++) fakeTotal += this.fake[b];
    const pairs = fakeTotal * realBelow;
    return { AUC: (above + tied / 2) / pairs, tieBound: tied / 2 / pairs };
  }
}
