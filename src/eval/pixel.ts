/**
 * Pixel-level evaluation, the twin of `PixMetric` in the official `utils/metric.py` together
 * with the ground-truth steps of `datasets/ff.py` (TEST mode) and `Tester.start`
 * (official-spec §10).
 */
import { ArgumentError } from '../errors.js';

/** Ground-truth value of a pixel left out of every count. */
export const IGNORE = -1;

/**
 * The official TEST-mode target from a raw mask as `cv2.imread(…, IMREAD_GRAYSCALE)` gives it:
 * 255 → 1 (fake), then every value ≥ 2 → ignored. So 0 is real, 1 and 255 are fake and
 * 2..254 (e.g. resampling residue in a mask) are ignored.
 */
export function groundTruthFromMask(raw: Uint8Array): Int8Array {
  const gt = new Int8Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i] === 255 ? 1 : raw[i];
    gt[i] = v >= 2 ? IGNORE : v;
  }
  return gt;
}

/**
 * Class index of the largest score per pixel for a map [K, H, W]; ties go to the lower class,
 * as `torch.argmax` does. For K = 2 this means fake iff Z₁ > Z₀ strictly.
 */
export function argmaxClasses(scores: Float32Array, shape: readonly [k: number, h: number, w: number]): Uint8Array {
  const [k, h, w] = shape;
  const plane = h * w;
  if (!Number.isInteger(k) || k < 1 || k > 256) throw new ArgumentError('shape[0]', 'a class count in 1..256', k);
  if (scores.length !== k * plane) {
    throw new ArgumentError('scores', `${k}×${h}×${w} = ${k * plane} values (shape [${shape.join(', ')}])`, scores);
  }
  const pred = new Uint8Array(plane);
  for (let p = 0; p < plane; p++) {
    let best = scores[p];
    for (let c = 1; c < k; c++) {
      const v = scores[c * plane + p];
      if (v > best) {
        best = v;
        pred[p] = c;
      }
    }
  }
  return pred;
}

/** The 2×2 pixel confusion matrix, N_ij = #pixels with gt = i and pred = j (0 real, 1 fake). */
export interface ConfusionCounts {
  readonly n00: number;
  readonly n01: number;
  readonly n10: number;
  readonly n11: number;
}

/** Scores from a confusion matrix: the official ones and the per-class parts they average. */
export interface PixelScores {
  /** pix-F1, the paper's "F1": mean of the real-class and fake-class F1 */
  readonly F1: number;
  /** pix-mIoU, the paper's "mIoU": mean of the real-class and fake-class IoU */
  readonly mIoU: number;
  /** pix-acc, logged by the official code */
  readonly pixAcc: number;
  /** pix-MCC, logged by the official code */
  readonly pixMCC: number;
  readonly f1Real: number;
  readonly f1Fake: number;
  readonly iouReal: number;
  readonly iouFake: number;
}

/**
 * The official formulas (`PixMetric.total_score`; the code names N00 tp, N01 fp, N10 fn,
 * N11 tn) in the code's operation order, so the doubles agree bit for bit. 0/0 gives NaN as
 * in numpy, e.g. the fake-class terms when no pixel is fake in gt or prediction.
 */
export function pixelScores(c: ConfusionCounts): PixelScores {
  const { n00: tp, n01: fp, n10: fn, n11: tn } = c;
  const f1Real = (2 * tp) / (2 * tp + fn + fp);
  const f1Fake = (2 * tn) / (2 * tn + fn + fp);
  const iouReal = tp / (fn + fp + tp);
  const iouFake = tn / (fn + fp + tn);
  return {
    F1: (f1Real + f1Fake) / 2,
    mIoU: (iouReal + iouFake) / 2,
    pixAcc: (tp + tn) / (tp + fp + fn + tn),
    pixMCC: (tp * tn - fp * fn) / Math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)),
    f1Real,
    f1Fake,
    iouReal,
    iouFake,
  };
}

/**
 * Accumulates the global confusion matrix over images. Counts are doubles, exact up to 2⁵³
 * pixels, so sums over shards in any order equal one pass.
 */
export class PixelConfusion implements ConfusionCounts {
  n00 = 0;
  n01 = 0;
  n10 = 0;
  n11 = 0;

  static of(c: ConfusionCounts): PixelConfusion {
    return new PixelConfusion().merge(c);
  }

  /** Counts one image: `pred` of 0/1 and `gt` of 0/1/IGNORE, same length; ignored pixels are skipped. */
  update(pred: Uint8Array, gt: Int8Array): this {
    if (pred.length !== gt.length) {
      throw new ArgumentError('pred', `as many pixels as gt (${gt.length})`, pred, 'resize the prediction to the ground-truth size first');
    }
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < gt.length; i++) {
      const g = gt[i];
      if (g === IGNORE) continue;
      const p = pred[i];
      if ((g !== 0 && g !== 1) || (p !== 0 && p !== 1)) {
        throw new ArgumentError(g !== 0 && g !== 1 ? `gt[${i}]` : `pred[${i}]`, '0, 1 (or IGNORE in gt)', g !== 0 && g !== 1 ? g : p);
      }
      counts[2 * g + p]++;
    }
    return this.merge({ n00: counts[0], n01: counts[1], n10: counts[2], n11: counts[3] });
  }

  /** Adds another matrix: another shard's, or one image's (sharded evaluation: sums are exact). */
  merge(other: ConfusionCounts): this {
    this.n00 += other.n00;
    this.n01 += other.n01;
    this.n10 += other.n10;
    this.n11 += other.n11;
    return this;
  }

  get total(): number {
    return this.n00 + this.n01 + this.n10 + this.n11;
  }

  scores(): PixelScores {
    return pixelScores(this);
  }

  /** [[N00, N01], [N10, N11]]: gt rows, prediction columns, as the fixture and sklearn print it. */
  toMatrix(): [[number, number], [number, number]] {
    return [
      [this.n00, this.n01],
      [this.n10, this.n11],
    ];
  }
}
