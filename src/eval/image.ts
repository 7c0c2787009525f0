/**
 * Image-level evaluation, the twin of `ImgMetric` in the official `utils/metric.py`: the score
 * of `Tester.start` (float32 softmax), sklearn's `roc_curve`/`roc_auc_score` (1.2) with numpy's
 * summation, ACC with a strict > 0.5, the logged-only img-F1 and EER.
 */
import { ArgumentError } from '../errors.js';
import { MetricUndefinedError } from './errors.js';
import { expf } from './float32.js';

/** The official threshold on the fake probability: a score counts as fake iff s > 0.5. */
export const SCORE_THRESHOLD = 0.5;

/**
 * s = softmax(ℓ)₁, the fake probability, computed like PyTorch's float32 CPU softmax over the
 * last dim (max, SLEEF exp of ℓ − max, one reciprocal of the sum, a product) and returned as
 * the double the official code stores. Two very confident images can both get exactly 1.0 and
 * then tie in the AUC, as they do in the reference.
 */
export function imageScore(logits: ArrayLike<number>): number {
  if (logits.length !== 2) throw new ArgumentError('logits', '2 image logits [real, fake]', logits);
  const z0 = Math.fround(logits[0]);
  const z1 = Math.fround(logits[1]);
  const max = Math.max(z0, z1);
  const e0 = expf(Math.fround(z0 - max));
  const e1 = expf(Math.fround(z1 - max));
  const inverseSum = Math.fround(1 / Math.fround(e0 + e1));
  return Math.fround(e1 * inverseSum);
}

/** The ROC as sklearn 1.2's `roc_curve(y, s)` returns it (drop_intermediate = True). */
export interface RocCurve {
  readonly fpr: Float64Array;
  readonly tpr: Float64Array;
  /** descending; the first is max(s) + 1, as in sklearn 1.2 */
  readonly thresholds: Float64Array;
}

function checkBinary(labels: ArrayLike<number>, scores: ArrayLike<number>): { positives: number; negatives: number } {
  if (labels.length !== scores.length) {
    throw new ArgumentError('scores', `one score per label (${labels.length})`, scores);
  }
  let positives = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) throw new ArgumentError(`labels[${i}]`, '0 (real) or 1 (fake)', labels[i]);
    if (Number.isNaN(scores[i])) throw new ArgumentError(`scores[${i}]`, 'a number', scores[i]);
    positives += labels[i];
  }
  return { positives, negatives: labels.length - positives };
}

/** sklearn's `roc_curve`: one point per distinct score, collinear points dropped, (0, 0) first. */
export function rocCurve(labels: ArrayLike<number>, scores: ArrayLike<number>): RocCurve {
  const { positives, negatives } = checkBinary(labels, scores);
  if (positives === 0 || negatives === 0) {
    throw new MetricUndefinedError(
      'ROC',
      `only one class present (${positives} fake, ${negatives} real)`,
      'evaluate on a set that holds both real and fake images',
    );
  }
  // _binary_clf_curve: scores descending; a point after the last item of each distinct score.
  // The order inside a run of equal scores does not change the points.
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => (scores[a] < scores[b] ? 1 : scores[a] > scores[b] ? -1 : 0));
  const tpsAll: number[] = [];
  const fpsAll: number[] = [];
  const thresholdsAll: number[] = [];
  let tp = 0;
  for (let k = 0; k < order.length; k++) {
    tp += labels[order[k]];
    if (k === order.length - 1 || scores[order[k + 1]] !== scores[order[k]]) {
      tpsAll.push(tp);
      fpsAll.push(k + 1 - tp);
      thresholdsAll.push(scores[order[k]]);
    }
  }
  // drop_intermediate: keep the ends and every point where either count bends
  const keep: number[] = [];
  for (let i = 0; i < tpsAll.length; i++) {
    const end = i === 0 || i === tpsAll.length - 1;
    if (tpsAll.length <= 2 || end || fpsAll[i + 1] - 2 * fpsAll[i] + fpsAll[i - 1] !== 0 || tpsAll[i + 1] - 2 * tpsAll[i] + tpsAll[i - 1] !== 0) keep.push(i);
  }
  const n = keep.length + 1;
  const fpr = new Float64Array(n);
  const tpr = new Float64Array(n);
  const thresholds = new Float64Array(n);
  const lastFps = fpsAll[fpsAll.length - 1];
  const lastTps = tpsAll[tpsAll.length - 1];
  thresholds[0] = thresholdsAll[0] + 1;
  keep.forEach((i, j) => {
    fpr[j + 1] = fpsAll[i] / lastFps;
    tpr[j + 1] = tpsAll[i] / lastTps;
    thresholds[j + 1] = thresholdsAll[i];
  });
  return { fpr, tpr, thresholds };
}

/**
 * numpy's `add.reduce` over a contiguous float64 array: pairwise summation in blocks of up to
 * 128 with 8 partial sums, which is what `np.trapz` ends with.
 */
function numpySum(values: Float64Array, start = 0, n = values.length): number {
  if (n < 8) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[start + i];
    return sum;
  }
  if (n <= 128) {
    const r = Array.from(values.subarray(start, start + 8));
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += values[start + i + j];
    let sum = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < n; i++) sum += values[start + i];
    return sum;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return numpySum(values, start, half) + numpySum(values, start + half, n - half);
}

/** sklearn's `auc(x, y)` for a non-decreasing x: `np.trapz(y, x)`, in numpy's operation order. */
export function trapezoidArea(x: Float64Array, y: Float64Array): number {
  if (x.length !== y.length) throw new ArgumentError('y', `as many points as x (${x.length})`, y);
  const terms = new Float64Array(Math.max(x.length - 1, 0));
  for (let i = 0; i < terms.length; i++) {
    if (x[i + 1] < x[i]) throw new ArgumentError('x', 'non-decreasing values', x);
    terms[i] = ((x[i + 1] - x[i]) * (y[i + 1] + y[i])) / 2;
  }
  return numpySum(terms);
}

/**
 * `roc_auc_score(y, s)`: the trapezoid area under sklearn's ROC, which equals the Mann–Whitney
 * statistic P(s⁺ > s⁻) + ½·P(s⁺ = s⁻). Throws MetricUndefinedError with one class, as sklearn does.
 */
export function rocAucScore(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const { fpr, tpr } = rocCurve(labels, scores);
  return trapezoidArea(fpr, tpr);
}

/**
 * The official EER: the root of f(x) = 1 − x − interp(fpr → tpr)(x) on [0, 1] (`brentq` over
 * `interp1d`, i.e. `np.interp`). f is piecewise linear and strictly decreasing, with a downward
 * jump at each vertical ROC segment (np.interp takes the top of it), so the root is found exactly:
 * inside the first segment where f changes sign, or at the jump that crosses zero. brentq
 * stops within 2e-12 of this point.
 */
export function equalErrorRate(roc: Pick<RocCurve, 'fpr' | 'tpr'>): number {
  const { fpr, tpr } = roc;
  // collapse equal fpr values into one knot: tpr where the run starts (reached from the left)
  // and where it ends (the value np.interp returns at the knot)
  const knots: { x: number; enter: number; value: number }[] = [];
  for (let i = 0; i < fpr.length; i++) {
    const last = knots[knots.length - 1];
    if (last !== undefined && last.x === fpr[i]) last.value = tpr[i];
    else knots.push({ x: fpr[i], enter: tpr[i], value: tpr[i] });
  }
  const f = (x: number, t: number) => 1 - x - t;
  if (f(knots[0].x, knots[0].value) <= 0) return knots[0].x;
  for (let k = 1; k < knots.length; k++) {
    const a = knots[k - 1];
    const b = knots[k];
    if (f(b.x, b.enter) <= 0) {
      const slope = (b.enter - a.value) / (b.x - a.x);
      return a.x + f(a.x, a.value) / (1 + slope);
    }
    if (f(b.x, b.value) <= 0) return b.x;
  }
  return knots[knots.length - 1].x;
}

/** The official image metrics (`ImgMetric.total_score`) and the counts behind ACC and img-F1. */
export interface ImageScores {
  /** image accuracy with s > 0.5 as fake */
  readonly ACC: number;
  /** ROC AUC of s, ties counted ½ (sklearn) */
  readonly AUC: number;
  /** mean of the fake-class and real-class F1 at s > 0.5; the official code logs it only */
  readonly imgF1: number;
  /** equal error rate; the official code logs it only */
  readonly EER: number;
  readonly parts: { readonly n: number; readonly nPos: number; readonly nPredPos: number; readonly nCorrect: number };
}

/** All official image metrics over one (de-duplicated) set of labels and scores. */
export function imageScores(labels: ArrayLike<number>, scores: ArrayLike<number>): ImageScores {
  const roc = rocCurve(labels, scores);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (let i = 0; i < labels.length; i++) {
    const predicted = scores[i] > SCORE_THRESHOLD ? 1 : 0;
    if (labels[i] === 1) predicted === 1 ? tp++ : fn++;
    else predicted === 1 ? fp++ : tn++;
  }
  const n = labels.length;
  return {
    ACC: (tp + tn) / n,
    AUC: trapezoidArea(roc.fpr, roc.tpr),
    imgF1: ((2 * tp) / (2 * tp + fn + fp) + (2 * tn) / (2 * tn + fn + fp)) / 2,
    EER: equalErrorRate(roc),
    parts: { n, nPos: tp + fn, nPredPos: tp + fp, nCorrect: tp + tn },
  };
}
