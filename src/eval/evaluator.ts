/**
 * The official evaluation of `test_segmentor.py` (official-spec §10) over per-sample results,
 * with mergeable state for sharded evaluation, and the extras users ask for kept apart.
 */
import { ArgumentError } from '../errors.js';
import { firstOccurrences } from './dedup.js';
import { EvalInputError } from './errors.js';
import { MarginHistogram, type SparseHistogram } from './histogram.js';
import { imageScore, imageScores, rocAucScore, SCORE_THRESHOLD } from './image.js';
import { mvssMetrics, type MvssMetrics } from './mvss.js';
import type { SampleRecord } from './record.js';
import { videoKey } from './units.js';
import { resizeBilinear } from '../image/interpolate.js';
import { argmaxClasses, groundTruthFromMask, PixelConfusion } from './pixel.js';

/** What the model returned for one test image, with its ground truth. */
export interface SampleResult {
  /** sample id; the official one is the last three path parts joined by `_` */
  readonly id: string;
  /** image label: 1 fake, 0 real */
  readonly label: number;
  /** image logits [real, fake] (float32) */
  readonly imageLogits: ArrayLike<number>;
  /** mask logits z at the model's resolution, [2, h, w] (not softmaxed) */
  readonly maskLogits: { readonly data: Float32Array; readonly shape: readonly [k: number, h: number, w: number] };
  /** the raw mask as read in grayscale (0 real, 255 fake) at the crop's original size [H, W] */
  readonly gtRaw: { readonly data: Uint8Array; readonly shape: readonly [h: number, w: number] };
  /** video the frame comes from, for the video-level AUC extra */
  readonly video?: string;
  /** manipulation method of a fake (e.g. `Deepfakes`), for the per-manipulation extra */
  readonly method?: string;
}

/** The official per-sample steps (`Tester.start`) for one result. */
export interface SampleSteps {
  /** Z: mask logits bilinearly resized to [2, H, W] */
  readonly upsampled: Float32Array;
  /** argmax of Z, 0/1 per pixel */
  readonly pred: Uint8Array;
  /** 0/1, or IGNORE */
  readonly gt: Int8Array;
  /** s = softmax(ℓ)₁ in float32 */
  readonly score: number;
}

/** Everything needed to merge shards; JSON-safe, so it can cross process boundaries. */
export interface EvaluatorState {
  /** in arrival order; the merged list is rank 0's, then rank 1's, … as the official gather */
  readonly records: readonly SampleRecord[];
  readonly pixelHistogram: SparseHistogram | null;
}

/**
 * Per-image F1 of a fake image whose ground truth and prediction are both empty (after ignored
 * pixels), where 2TP/(2TP+FP+FN) is 0/0: `skip` leaves the image out of the mean (and counts
 * it), `one` scores it as a perfect match, `zero` as a miss.
 */
export type EmptyMaskPolicy = 'skip' | 'one' | 'zero';

export interface EvaluatorOptions {
  /** collect the pixel-AUC histogram (8 MB per shard); default true */
  readonly pixelAuc?: boolean;
  /** see EmptyMaskPolicy; default `skip` */
  readonly emptyMaskPolicy?: EmptyMaskPolicy;
}

/** The numbers the official code logs, under the paper's names (in [0, 1], not %). */
export interface OfficialMetrics {
  /** image accuracy, s > 0.5 */
  readonly ACC: number;
  /** image ROC AUC (sklearn) */
  readonly AUC: number;
  /** pix-F1: macro average of the real-class and fake-class F1 of the global confusion matrix */
  readonly F1: number;
  /** pix-mIoU: mean IoU of the two classes of the global confusion matrix */
  readonly mIoU: number;
  readonly pixAcc: number;
  readonly pixMCC: number;
  readonly imgF1: number;
  readonly EER: number;
}

/** The official metrics restricted to one manipulation's fakes plus all reals. */
export interface ManipulationMetrics {
  readonly ACC: number;
  readonly AUC: number;
  readonly F1: number;
  readonly mIoU: number;
  readonly fake: number;
  readonly real: number;
}

/** Not computed by the reference; each one labelled and defined here. */
export interface EvaluationExtras {
  /** F1 and IoU of each class from the global confusion matrix (the halves of F1 and mIoU) */
  readonly perClass: { readonly f1Real: number; readonly f1Fake: number; readonly iouReal: number; readonly iouFake: number };
  /**
   * IMDL convention: fake-class F1 and IoU of each fake image (label 1) from its own pixels,
   * averaged over fake images; `emptyBoth` images had neither a fake gt pixel nor a fake
   * prediction and were handled by `policy`.
   */
  readonly perImageFake: {
    readonly F1: number;
    readonly IoU: number;
    readonly images: number;
    readonly emptyBoth: number;
    readonly policy: EmptyMaskPolicy;
  };
  /**
   * ROC AUC over all non-ignored pixels of all kept images, pixels ranked by their fake
   * probability (see MarginHistogram). `duplicatePixels` counts pixels of ids repeated across
   * shards, which a histogram cannot take back out (0 when shards hold distinct ids).
   */
  readonly pixelAuc: { readonly AUC: number; readonly tieBound: number; readonly duplicatePixels: number } | null;
  /** ROC AUC of videos (a fake video is its (method, video id)), each scored by the mean score of its kept frames; null without video ids */
  readonly videoAuc: { readonly AUC: number; readonly videos: number } | null;
  /** official metrics on each method's fakes plus all reals, methods sorted by name (fakes without a method are left out) */
  readonly perManipulation: Readonly<Record<string, ManipulationMetrics>>;
  /** MVSS-Net's metrics (Table 5's protocol, eval/mvss.ts); null for records without a largest pixel score */
  readonly mvss: MvssMetrics | null;
}

export interface EvaluationResult {
  readonly official: OfficialMetrics;
  /** global [[N00, N01], [N10, N11]], gt rows, prediction columns */
  readonly confusion: [[number, number], [number, number]];
  readonly counts: {
    /** results received, repeats included */
    readonly entries: number;
    /** distinct ids evaluated */
    readonly images: number;
    readonly fake: number;
    readonly real: number;
    readonly duplicatesDropped: number;
  };
  readonly extras: EvaluationExtras;
}

function checkSample(s: SampleResult): void {
  const id = typeof s.id === 'string' && s.id.length > 0 ? s.id : String(s.id);
  const fail = (problem: string, hint: string): never => {
    throw new EvalInputError(id, problem, hint);
  };
  if (typeof s.id !== 'string' || s.id.length === 0) fail('id is not a non-empty string', 'give every result its sample id');
  if (s.label !== 0 && s.label !== 1) fail(`label is ${String(s.label)}, not 0 (real) or 1 (fake)`, 'pass the image label as 0 or 1');
  if (s.imageLogits.length !== 2) fail(`${s.imageLogits.length} image logits, expected 2`, 'pass the [real, fake] image logits');
  for (let i = 0; i < 2; i++) {
    if (!Number.isFinite(s.imageLogits[i])) fail(`image logit ${i} is ${s.imageLogits[i]}`, 'check the model output for NaN/Inf');
  }
  const ms = s.maskLogits.shape;
  if (ms.length !== 3 || ms[0] !== 2 || !ms.every((v) => Number.isInteger(v) && v >= 1)) {
    fail(`mask logits have shape [${ms.join(', ')}], expected [2, h, w]`, 'pass the 2-class mask logits of one image');
  }
  if (s.maskLogits.data.length !== ms[0] * ms[1] * ms[2]) {
    fail(
      `mask logits hold ${s.maskLogits.data.length} values, shape [${ms.join(', ')}] needs ${ms[0] * ms[1] * ms[2]}`,
      'pass data and shape of the same tensor',
    );
  }
  const bad = s.maskLogits.data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) fail(`mask logit ${bad} is ${s.maskLogits.data[bad]}`, 'check the model output for NaN/Inf');
  const gs = s.gtRaw.shape;
  if (gs.length !== 2 || !gs.every((v) => Number.isInteger(v) && v >= 1)) {
    fail(`gt mask has shape [${gs.join(', ')}], expected [H, W]`, "pass the grayscale mask at the crop's original size");
  }
  if (s.gtRaw.data.length !== gs[0] * gs[1]) {
    fail(`gt mask holds ${s.gtRaw.data.length} values, shape [${gs.join(', ')}] needs ${gs[0] * gs[1]}`, 'pass data and shape of the same mask');
  }
}

/** The official per-sample steps: resize z to the gt size, argmax, gt mapping, image score. */
export function officialSampleSteps(sample: SampleResult): SampleSteps {
  checkSample(sample);
  const [H, W] = sample.gtRaw.shape;
  const upsampled = resizeBilinear(sample.maskLogits.data, sample.maskLogits.shape, [H, W]);
  return {
    upsampled,
    pred: argmaxClasses(upsampled, [2, H, W]),
    gt: groundTruthFromMask(sample.gtRaw.data),
    score: imageScore(sample.imageLogits),
  };
}

/** A record from another process is checked before it can skew a sum. */
function checkRecord(r: SampleRecord, i: number): void {
  const valid =
    typeof r.id === 'string' &&
    (r.label === 0 || r.label === 1) &&
    typeof r.score === 'number' &&
    Array.isArray(r.confusion) &&
    r.confusion.length === 4 &&
    r.confusion.every((n) => Number.isInteger(n) && n >= 0);
  if (!valid) throw new ArgumentError(`state.records[${i}]`, 'a SampleRecord from Evaluator.state()', r);
}

/** max over pixels of softmax(Z)₁ = 1 / (1 + e^(Z₀ − Z₁)) of a [2, H, W] map, from its largest margin. */
function maxPixelProbability(upsampled: Float32Array): number {
  const n = upsampled.length / 2;
  let margin = -Infinity;
  for (let i = 0; i < n; i++) margin = Math.max(margin, upsampled[n + i]! - upsampled[i]!);
  return 1 / (1 + Math.exp(-margin));
}

function sumConfusion(records: readonly SampleRecord[]): PixelConfusion {
  const total = new PixelConfusion();
  for (const {
    confusion: [n00, n01, n10, n11],
  } of records)
    total.merge({ n00, n01, n10, n11 });
  return total;
}

/** AUC for the extras: NaN where the reference would raise (one class), instead of failing the whole report. */
function aucOrNaN(labels: number[], scores: number[]): number {
  return labels.includes(0) && labels.includes(1) ? rocAucScore(labels, scores) : Number.NaN;
}

/**
 * Collects per-sample results (in any number of shards) and computes the official metrics
 * over distinct ids, first occurrence first, plus the extras.
 */
export class Evaluator {
  private readonly records: SampleRecord[] = [];
  private readonly seen = new Set<string>();
  private readonly histogram: MarginHistogram | null;
  private readonly emptyMaskPolicy: EmptyMaskPolicy;

  constructor(options: EvaluatorOptions = {}) {
    this.histogram = (options.pixelAuc ?? true) ? new MarginHistogram() : null;
    this.emptyMaskPolicy = options.emptyMaskPolicy ?? 'skip';
    if (!['skip', 'one', 'zero'].includes(this.emptyMaskPolicy)) {
      throw new ArgumentError('emptyMaskPolicy', "'skip', 'one' or 'zero'", this.emptyMaskPolicy);
    }
  }

  static fromState(state: EvaluatorState, options: EvaluatorOptions = {}): Evaluator {
    return new Evaluator({ ...options, pixelAuc: state.pixelHistogram !== null }).merge(state);
  }

  /** Evaluates one result and keeps its record; a repeated id is kept too (dropped at the end). */
  add(sample: SampleResult): SampleRecord {
    const { upsampled, pred, gt, score } = officialSampleSteps(sample);
    const c = new PixelConfusion().update(pred, gt);
    const firstHere = !this.seen.has(sample.id);
    if (firstHere && this.histogram !== null) this.histogram.addMap(upsampled, gt);
    const record: SampleRecord = {
      id: sample.id,
      label: sample.label as 0 | 1,
      score,
      confusion: [c.n00, c.n01, c.n10, c.n11],
      ...(sample.video !== undefined && { video: sample.video }),
      ...(sample.method !== undefined && { method: sample.method }),
      inPixelHistogram: firstHere && this.histogram !== null,
      maxPixelScore: maxPixelProbability(upsampled),
    };
    this.seen.add(sample.id);
    this.records.push(record);
    return record;
  }

  /** Appends another shard after this one (merge shards in rank order for the official result). */
  merge(other: Evaluator | EvaluatorState): this {
    const state = other instanceof Evaluator ? other.state() : other;
    if ((state.pixelHistogram === null) !== (this.histogram === null)) {
      throw new ArgumentError(
        'other',
        `a shard ${this.histogram === null ? 'without' : 'with'} pixel-AUC histogram`,
        state.pixelHistogram,
        "create every shard's Evaluator with the same pixelAuc option",
      );
    }
    state.records.forEach(checkRecord);
    if (state.pixelHistogram !== null) this.histogram?.merge(MarginHistogram.fromSparse(state.pixelHistogram));
    for (const r of state.records) {
      this.seen.add(r.id);
      this.records.push(r);
    }
    return this;
  }

  state(): EvaluatorState {
    return { records: [...this.records], pixelHistogram: this.histogram?.toSparse() ?? null };
  }

  /** The official metrics over distinct ids (throws MetricUndefinedError with a single class), and the extras. */
  result(): EvaluationResult {
    const kept = firstOccurrences(this.records, (r) => r.id);
    const labels = kept.map((r) => r.label);
    const scores = kept.map((r) => r.score);
    const image = imageScores(labels, scores);
    const confusion = sumConfusion(kept);
    const pixel = confusion.scores();
    const fake = labels.filter((l) => l === 1).length;
    return {
      official: {
        ACC: image.ACC,
        AUC: image.AUC,
        F1: pixel.F1,
        mIoU: pixel.mIoU,
        pixAcc: pixel.pixAcc,
        pixMCC: pixel.pixMCC,
        imgF1: image.imgF1,
        EER: image.EER,
      },
      confusion: confusion.toMatrix(),
      counts: { entries: this.records.length, images: kept.length, fake, real: kept.length - fake, duplicatesDropped: this.records.length - kept.length },
      extras: {
        perClass: { f1Real: pixel.f1Real, f1Fake: pixel.f1Fake, iouReal: pixel.iouReal, iouFake: pixel.iouFake },
        perImageFake: this.perImageFake(kept),
        pixelAuc: this.pixelAuc(kept),
        videoAuc: videoAuc(kept),
        perManipulation: perManipulation(kept),
        mvss: mvssMetrics(kept),
      },
    };
  }

  private perImageFake(kept: readonly SampleRecord[]): EvaluationExtras['perImageFake'] {
    let f1Sum = 0;
    let iouSum = 0;
    let images = 0;
    let emptyBoth = 0;
    for (const r of kept) {
      if (r.label !== 1) continue;
      const [, fp, fn, tp] = r.confusion;
      if (tp + fp + fn === 0) {
        emptyBoth++;
        if (this.emptyMaskPolicy === 'skip') continue;
        const value = this.emptyMaskPolicy === 'one' ? 1 : 0;
        f1Sum += value;
        iouSum += value;
      } else {
        f1Sum += (2 * tp) / (2 * tp + fn + fp);
        iouSum += tp / (tp + fn + fp);
      }
      images++;
    }
    return { F1: f1Sum / images, IoU: iouSum / images, images, emptyBoth, policy: this.emptyMaskPolicy };
  }

  private pixelAuc(kept: readonly SampleRecord[]): EvaluationExtras['pixelAuc'] {
    if (this.histogram === null) return null;
    const keptSet = new Set(kept);
    let duplicatePixels = 0;
    for (const r of this.records) {
      if (r.inPixelHistogram && !keptSet.has(r)) duplicatePixels += r.confusion.reduce((a, b) => a + b, 0);
    }
    return { ...this.histogram.auc(), duplicatePixels };
  }
}

function videoAuc(kept: readonly SampleRecord[]): EvaluationExtras['videoAuc'] {
  const videos = new Map<string, { label: 0 | 1; sum: number; frames: number }>();
  for (const r of kept) {
    if (r.video === undefined) continue;
    const key = videoKey(r.label, r.method, r.video);
    const v = videos.get(key);
    if (v === undefined) videos.set(key, { label: r.label, sum: r.score, frames: 1 });
    else if (v.label !== r.label) {
      throw new EvalInputError(
        r.id,
        `its label ${r.label} differs from the other frames of video ${r.video} (${v.label})`,
        'give fake and real videos distinct video ids',
      );
    } else {
      v.sum += r.score;
      v.frames++;
    }
  }
  if (videos.size === 0) return null;
  const list = [...videos.values()];
  return {
    AUC: aucOrNaN(
      list.map((v) => v.label),
      list.map((v) => v.sum / v.frames),
    ),
    videos: list.length,
  };
}

function perManipulation(kept: readonly SampleRecord[]): Record<string, ManipulationMetrics> {
  const reals = kept.filter((r) => r.label === 0);
  const methods = [...new Set(kept.filter((r) => r.label === 1 && r.method !== undefined).map((r) => r.method as string))].sort();
  const out: Record<string, ManipulationMetrics> = {};
  for (const method of methods) {
    const subset = [...kept.filter((r) => r.label === 1 && r.method === method), ...reals];
    const labels = subset.map((r) => r.label);
    const scores = subset.map((r) => r.score);
    const correct = subset.filter((r) => (r.score > SCORE_THRESHOLD ? 1 : 0) === r.label).length;
    const pixel = sumConfusion(subset).scores();
    out[method] = {
      ACC: correct / subset.length,
      AUC: aucOrNaN(labels, scores),
      F1: pixel.F1,
      mIoU: pixel.mIoU,
      fake: subset.length - reals.length,
      real: reals.length,
    };
  }
  return out;
}
