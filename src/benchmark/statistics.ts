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
  /** method B's units, [seed][video], the same videos as A's; as many seeds as A's (paired by index) or another number (drawn apart) */
  readonly b: readonly (readonly U[])[];
  /** the metric of a multiset of one run's units (e.g. mIoU of the summed confusion counts) */
  readonly metric: (units: readonly U[]) => number;
  /** resamples (default 2000) */
  readonly resamples?: number;
  /** seed of the resampling (default 0) */
  readonly seed?: number;
  /** confidence level (default 0.95) */
  readonly level?: number;
  /**
   * a stratum per video (e.g. its label): each resample draws every stratum's videos from that
   * stratum alone, so a resample keeps the test set's real/fake counts and an AUC stays defined;
   * default one stratum
   */
  readonly strata?: readonly (number | string)[];
}

export interface PairedComparison {
  /** mean over seeds of metric(A) − mean over seeds of metric(B), on all videos; NaN where the metric is undefined (an AUC of one class) */
  readonly difference: number;
  readonly low: number;
  readonly high: number;
  readonly level: number;
  /** the share of resamples whose difference has the other sign than `difference` (or is 0 when it is not) */
  readonly signFlips: number;
  readonly resamples: number;
  readonly videos: number;
  /** A's seeds (B's where they differ: `seedsB`) */
  readonly seeds: number;
  readonly seedsB?: number;
}

/**
 * The paired bootstrap of A − B. Each resample draws the test videos with replacement (one draw
 * shared by A and B: the pairing; within each stratum when `strata` is given) and the seeds with
 * replacement (seed i of A paired with seed i of B when both ran the same number of seeds, as
 * they come from the same seed list; else each method's seeds drawn apart), and takes the mean
 * over drawn seeds of each method's metric on the drawn videos. The interval is the percentile
 * interval of the resampled differences.
 */
export function pairedBootstrap<U>(o: PairedBootstrapOptions<U>): PairedComparison {
  const seeds = o.a.length;
  const seedsB = o.b.length;
  const videos = o.a[0]?.length ?? 0;
  if (seeds === 0 || seedsB === 0)
    throw new ArgumentError('seeds', 'at least one seed of each method', `${seeds} and ${seedsB}`, 'compare runs that finished their test');
  if (videos === 0 || [...o.a, ...o.b].some((run) => run.length !== videos))
    throw new ArgumentError('videos', 'the same test videos in every run', 'runs of different test sets', 'compare runs tested on the same test set');
  if (o.strata !== undefined && o.strata.length !== videos)
    throw new ArgumentError('strata', `one stratum per video (${videos})`, `${o.strata.length}`, 'give each test video its stratum');
  const resamples = o.resamples ?? 2000;
  const level = o.level ?? 0.95;
  const paired = seeds === seedsB;
  const meanOf = (runs: readonly (readonly U[])[], seedIdx: readonly number[], videoIdx: readonly number[]): number =>
    seedIdx.reduce((sum, s) => sum + o.metric(videoIdx.map((v) => runs[s]![v]!)), 0) / seedIdx.length;
  const diffOf = (seedIdx: readonly number[], seedIdxB: readonly number[], videoIdx: readonly number[]): number =>
    meanOf(o.a, seedIdx, videoIdx) - meanOf(o.b, seedIdxB, videoIdx);
  const all = (n: number) => Array.from({ length: n }, (_, i) => i);
  const difference = diffOf(all(seeds), all(seedsB), all(videos));
  const rng = new Rng(o.seed ?? 0);
  // the videos of each stratum, in video order
  const groups = new Map<number | string, number[]>();
  all(videos).forEach((v) => {
    const key = o.strata?.[v] ?? 0;
    groups.set(key, [...(groups.get(key) ?? []), v]);
  });
  const diffs: number[] = [];
  for (let r = 0; r < resamples; r++) {
    const seedIdx = all(seeds).map(() => rng.randint(0, seeds));
    const seedIdxB = paired ? seedIdx : all(seedsB).map(() => rng.randint(0, seedsB));
    const videoIdx = [...groups.values()].flatMap((g) => g.map(() => g[rng.randint(0, g.length)]!));
    diffs.push(diffOf(seedIdx, seedIdxB, videoIdx));
  }
  if (Number.isNaN(difference) || diffs.some(Number.isNaN)) {
    // a metric undefined on the test set or on some resample (an AUC of one class): no interval
    return { difference, low: Number.NaN, high: Number.NaN, level, signFlips: Number.NaN, resamples, videos, seeds, ...(paired ? {} : { seedsB }) };
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
    ...(paired ? {} : { seedsB }),
  };
}

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
/** `3 seeds`, or `3 and 1 seeds` where the methods ran different numbers */
const seedsText = (c: PairedComparison): string => (c.seedsB === undefined ? plural(c.seeds, 'seed') : `${c.seeds} and ${c.seedsB} seeds`);

const signed = (x: number, digits: number): string => `${x > 0 ? '+' : x < 0 ? '−' : '±'}${Math.abs(x).toFixed(digits)}`;

/**
 * The sentence the report prints for one comparison, generated from the interval: e.g.
 * "MSCCNet − Base. on c23 pixel mIoU: +1.2 points [−0.4, +2.9], not significant at 95 %".
 * Metrics are fractions; the sentence gives percentage points. Significant = the interval excludes 0.
 */
export function comparisonSentence(a: string, b: string, testSet: string, metric: string, c: PairedComparison): string {
  const pts = (x: number) => signed(100 * x, 1);
  if (Number.isNaN(c.difference)) return `${a} − ${b} on ${testSet} ${metric}: undefined (the test set holds one class only)`;
  if (Number.isNaN(c.low)) return `${a} − ${b} on ${testSet} ${metric}: ${pts(c.difference)} points, no interval (some resamples hold one class only)`;
  const significant = c.low > 0 || c.high < 0;
  const level = `${Math.round(100 * c.level)} %`;
  return `${a} − ${b} on ${testSet} ${metric}: ${pts(c.difference)} points [${pts(c.low)}, ${pts(c.high)}], ${significant ? 'significant' : 'not significant'} at ${level} (${c.videos} videos, ${seedsText(c)}, ${c.resamples} resamples; sign flips in ${(100 * c.signFlips).toFixed(1)} %)`;
}
