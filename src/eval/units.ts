/**
 * Per-video units of an evaluation: what a test video contributes to each headline metric (its
 * summed pixel confusion counts and its frames' image scores), so that a bootstrap can resample
 * videos and recompute each metric on the drawn videos exactly as the evaluator computes it on
 * all of them: mIoU and F1 of the summed confusion matrix, image AUC over the drawn videos'
 * frames, video AUC over their mean scores. Averaging per-video values would be another metric.
 */
import { EvalInputError } from './errors.js';
import { firstOccurrences } from './dedup.js';
import { rocAucScore } from './image.js';
import { pixelScores } from './pixel.js';
import type { SampleRecord } from './record.js';

/**
 * A video is (method, video id) for fakes: FF++ names a fake video `<target>_<source>` in every
 * method's folder, so the five methods' fakes of one pair are five videos. Reals are grouped by
 * their video id alone (their method is the source folder, not a manipulation).
 */
export function videoKey(label: 0 | 1, method: string | undefined, video: string): string {
  return `${label === 1 ? (method ?? '') : ''}/${video}`;
}

/** One test video's sufficient statistics for the headline metrics. */
export interface VideoUnit {
  /** {@link videoKey}; an image without a video id is its own unit, `#<id>` */
  readonly video: string;
  readonly label: 0 | 1;
  /** the summed [N00, N01, N10, N11] of its kept frames */
  readonly confusion: readonly [number, number, number, number];
  /** its kept frames' image scores, in list order */
  readonly scores: readonly number[];
}

/** The units of an evaluation's records: ids de-duplicated as the evaluator does (first kept), one unit per video, sorted by key. */
export function videoUnits(records: readonly SampleRecord[]): VideoUnit[] {
  const units = new Map<string, { video: string; label: 0 | 1; confusion: [number, number, number, number]; scores: number[] }>();
  for (const r of firstOccurrences(records, (x) => x.id)) {
    const key = r.video === undefined ? `#${r.id}` : videoKey(r.label, r.method, r.video);
    let u = units.get(key);
    if (u === undefined) {
      u = { video: key, label: r.label, confusion: [0, 0, 0, 0], scores: [] };
      units.set(key, u);
    } else if (u.label !== r.label) {
      throw new EvalInputError(
        r.id,
        `its label ${r.label} differs from the other frames of video ${r.video} (${u.label})`,
        'give fake and real videos distinct video ids',
      );
    }
    r.confusion.forEach((n, i) => (u.confusion[i] += n));
    u.scores.push(r.score);
  }
  return [...units.values()].sort((a, b) => (a.video < b.video ? -1 : a.video > b.video ? 1 : 0));
}

/** The metrics a paired comparison reports, in [0, 1]. */
export const HEADLINE_METRICS = ['pixel mIoU', 'pixel F1', 'image AUC', 'video AUC'] as const;
export type HeadlineMetric = (typeof HEADLINE_METRICS)[number];

/**
 * A headline metric of a multiset of units (a unit drawn twice counts twice), as the evaluator
 * computes it on all units: pixel mIoU and F1 of the summed confusion matrix (official), image
 * AUC over every frame (official), video AUC over each video's mean frame score (extra). An AUC
 * with one class only is NaN.
 */
export function headlineMetric(metric: HeadlineMetric, units: readonly VideoUnit[]): number {
  switch (metric) {
    case 'pixel mIoU':
    case 'pixel F1': {
      const c = { n00: 0, n01: 0, n10: 0, n11: 0 };
      for (const { confusion } of units) {
        c.n00 += confusion[0];
        c.n01 += confusion[1];
        c.n10 += confusion[2];
        c.n11 += confusion[3];
      }
      const s = pixelScores(c);
      return metric === 'pixel mIoU' ? s.mIoU : s.F1;
    }
    case 'image AUC':
      return auc(
        units.flatMap((u) => u.scores.map(() => u.label)),
        units.flatMap((u) => u.scores),
      );
    case 'video AUC':
      return auc(
        units.map((u) => u.label),
        units.map((u) => u.scores.reduce((a, s) => a + s, 0) / u.scores.length),
      );
  }
}

function auc(labels: number[], scores: number[]): number {
  return labels.includes(0) && labels.includes(1) ? rocAucScore(labels, scores) : Number.NaN;
}
