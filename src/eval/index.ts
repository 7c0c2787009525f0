export { firstOccurrences } from './dedup.js';
export { EvalInputError, MetricUndefinedError } from './errors.js';
export {
  Evaluator, officialSampleSteps,
  type EmptyMaskPolicy, type EvaluationExtras, type EvaluationResult, type EvaluatorOptions, type EvaluatorState,
  type ManipulationMetrics, type OfficialMetrics, type SampleRecord, type SampleResult, type SampleSteps,
} from './evaluator.js';
export { expf, fmaf } from './float32.js';
export { MarginHistogram, type BinnedAuc, type SparseHistogram } from './histogram.js';
export {
  equalErrorRate, imageScore, imageScores, rocAucScore, rocCurve, SCORE_THRESHOLD, trapezoidArea,
  type ImageScores, type RocCurve,
} from './image.js';
export { resizeBilinear, type MapShape } from './interpolate.js';
export { argmaxClasses, groundTruthFromMask, IGNORE, PixelConfusion, pixelScores, type ConfusionCounts, type PixelScores } from './pixel.js';
