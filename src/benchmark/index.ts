/**
 * The paper's protocols as runs of train + eval (intra-dataset, cross-compression, leave-one-out,
 * cross-dataset), their resumable rows and paper-layout tables, and `msccnet evaluate`'s resumable
 * evaluation folder.
 */
export {
  EvaluationFolderError,
  formatConditions,
  METRIC_COLUMNS,
  robustnessCharts,
  runEvaluation,
  type Condition,
  type EvaluationIdentity,
  type EvaluationRunEvent,
  type EvaluationRunOptions,
} from './evaluation-folder.js';
export * from './protocols.js';
export { BenchmarkCompareError, BenchmarkRowsError, failedSummary, type FailedRow } from './errors.js';
export {
  benchmarkModelRuns,
  compareModels,
  formatComparisons,
  referenceComparisons,
  runUnits,
  type CompareOptions,
  type ComparisonRow,
  type ModelRuns,
} from './comparisons.js';
export { comparisonSentence, meanStd, pairedBootstrap, type PairedComparison } from './statistics.js';
