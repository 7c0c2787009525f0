/**
 * Spread and significance over seeds and test videos: mean ± sample std of a cell, and a paired
 * bootstrap of the difference between two methods that resamples test **videos** (frames of one
 * video are not independent) together with training seeds. A metric is any function of a multiset
 * of units (a unit = one test video's sufficient statistics: its pixel confusion counts, its image
 * scores), so global metrics such as the official mIoU (one confusion matrix over all kept pixels)
 * are recomputed on each resample rather than averaged per video.
 *
 * No statistics package does this (simple-statistics and jStat bootstrap i.i.d. samples, not
 * clusters paired across two methods and their seeds); the percentile interval is numpy's default
 * (linear interpolation between order statistics), so a reader can recompute it.
 */
import { ArgumentError } from '../errors.js';
import { Rng } from '../samples/rng.js';

/** Mean and sample standard deviation (n − 1); the std of one value is 0. */
export function meanStd(values: readonly number[]): { mean: number; std: number; n: number } {
  const n = values.length;
  if (n === 0) throw new ArgumentError('values', 'at least one value', '[]', 'run at least one seed');
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n === 1 ? 0 : Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  return { mean, std, n };
}

/** The q-quantile (0 ≤ q ≤ 1) of sorted values, numpy's 'linear' method. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

export interface PairedBootstrapOptions<U> {
  /** method A's units, [seed][video]: every seed tests the same videos in the same order */
  readonly a: readonly (readonly U[])[];
  /** method B's units, [seed][video], the same videos as A's */
  readonly b: readonly (readonly U[])[];
  /** the metric of a multiset of one run's units (e.g. mIoU of the summed confusion counts) */
  readonly metric: (units: readonly U[]) => number;
  /** resamples (default 2000) */
  readonly resamples?: number;
  /** seed of the resampling (default 0) */
  readonly seed?: number;
  /** confidence level (default 0.95) */
  readonly level?: number;
}

export interface PairedComparison {
  /** mean over seeds of metric(A) − mean over seeds of metric(B), on all videos */
  readonly difference: number;
  readonly low: number;
  readonly high: number;
  readonly level: number;
  /** the share of resamples whose difference has the other sign than `difference` (or is 0 when it is not) */
  readonly signFlips: number;
  readonly resamples: number;
  readonly videos: number;
  readonly seeds: number;
}

/**
 * The paired bootstrap of A − B. Each resample draws the test videos with replacement (one draw
 * shared by A and B: the pairing) and the seeds with replacement (seed i of A paired with seed i of
 * B, as both come from the same seed list), and takes the mean over drawn seeds of each method's
 * metric on the drawn videos. The interval is the percentile interval of the resampled differences.
 */
export function pairedBootstrap<U>(o: PairedBootstrapOptions<U>): PairedComparison {
  const seeds = o.a.length;
  const videos = o.a[0]?.length ?? 0;
  if (seeds === 0 || o.b.length !== seeds)
    throw new ArgumentError('seeds', 'the same seeds for both methods', `${seeds} and ${o.b.length}`, 'compare runs of the same seed list');
  if (videos === 0 || [...o.a, ...o.b].some((run) => run.length !== videos))
    throw new ArgumentError('videos', 'the same test videos in every run', 'runs of different test sets', 'compare runs tested on the same test set');
  const resamples = o.resamples ?? 2000;
  const level = o.level ?? 0.95;
  const diffOf = (seedIdx: readonly number[], videoIdx: readonly number[]): number => {
    let sum = 0;
    for (const s of seedIdx) sum += o.metric(videoIdx.map((v) => o.a[s]![v]!)) - o.metric(videoIdx.map((v) => o.b[s]![v]!));
    return sum / seedIdx.length;
  };
  const all = (n: number) => Array.from({ length: n }, (_, i) => i);
  const difference = diffOf(all(seeds), all(videos));
  const rng = new Rng(o.seed ?? 0);
  const diffs: number[] = [];
  for (let r = 0; r < resamples; r++) {
    const seedIdx = all(seeds).map(() => rng.randint(0, seeds));
    const videoIdx = all(videos).map(() => rng.randint(0, videos));
    diffs.push(diffOf(seedIdx, videoIdx));
  }
  diffs.sort((x, y) => x - y);
  const flips = diffs.filter((d) => (difference > 0 ? d <= 0 : difference < 0 ? d >= 0 : d !== 0)).length;
  return {
    difference,
    low: quantileSorted(diffs, (1 - level) / 2),
    high: quantileSorted(diffs, 1 - (1 - level) / 2),
    level,
    signFlips: flips / resamples,
    resamples,
    videos,
    seeds,
  };
}

const signed = (x: number, digits: number): string => `${x > 0 ? '+' : x < 0 ? '−' : '±'}${Math.abs(x).toFixed(digits)}`;

/**
 * The sentence the report prints for one comparison, generated from the interval: e.g.
 * "MSCCNet − Base. on c23 pixel mIoU: +1.2 points [−0.4, +2.9], not significant at 95 %".
 * Metrics are fractions; the sentence gives percentage points. Significant = the interval excludes 0.
 */
export function comparisonSentence(a: string, b: string, testSet: string, metric: string, c: PairedComparison): string {
  const pts = (x: number) => signed(100 * x, 1);
  const significant = c.low > 0 || c.high < 0;
  const level = `${Math.round(100 * c.level)} %`;
  return `${a} − ${b} on ${testSet} ${metric}: ${pts(c.difference)} points [${pts(c.low)}, ${pts(c.high)}], ${significant ? 'significant' : 'not significant'} at ${level} (${c.videos} videos, ${c.seeds} seed${c.seeds === 1 ? '' : 's'}, ${c.resamples} resamples; sign flips in ${(100 * c.signFlips).toFixed(1)} %)`;
}
