/**
 * Evaluation exactly as the official code (official-spec §10): mask logits resized bilinearly
 * to the crop's original size and argmaxed, one global pixel confusion matrix over all kept
 * images, F1 and mIoU averaged over the two classes, image score = float32 softmax, ACC with
 * s > 0.5, sklearn's AUC, ids de-duplicated keeping the first. `Evaluator.result()` returns
 * these under `official` and everything else (per-class, per-image, pixel and video AUC,
 * per-manipulation) under `extras`.
 */
export { firstOccurrences } from './dedup.js';
export { EvalInputError, MetricUndefinedError } from './errors.js';
export {
  Evaluator,
  officialSampleSteps,
  type EmptyMaskPolicy,
  type EvaluationExtras,
  type EvaluationResult,
  type EvaluatorOptions,
  type EvaluatorState,
  type ManipulationMetrics,
  type OfficialMetrics,
  type SampleResult,
  type SampleSteps,
} from './evaluator.js';
export type { SampleRecord } from './record.js';
export { expf, fmaf } from './float32.js';
export { MarginHistogram, type BinnedAuc, type SparseHistogram } from './histogram.js';
export { equalErrorRate, imageScore, imageScores, rocAucScore, rocCurve, SCORE_THRESHOLD, trapezoidArea, type ImageScores, type RocCurve } from './image.js';
export { argmaxClasses, groundTruthFromMask, IGNORE, PixelConfusion, pixelScores, type ConfusionCounts, type PixelScores } from './pixel.js';
export { evaluate, evaluateInto, type EvaluateOptions, type EvaluateProgress } from './evaluate.js';
export { HEADLINE_METRICS, headlineMetric, videoKey, videoUnits, type HeadlineMetric, type VideoUnit } from './units.js';
export { mvssMetrics, type MvssMetrics } from './mvss.js';
