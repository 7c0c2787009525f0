export type { AnnotationResult, AnnotationStages, PairInput, SkipReason } from './annotate.js';
export { annotatePair, annotateGrayPair, annotationStages } from './annotate.js';
export type { AnnotationOptionsInput } from './options.js';
export { AnnotationOptions, annotationOptions } from './options.js';
export type { Pair } from './pairs.js';
export { readPairList, listFaceForensicsPairs } from './pairs.js';
export type { PairRecord } from './files.js';
export type { AnnotateEvent, AnnotatePairsOptions, AnnotateReport, AnnotateSummary } from './batch.js';
export { annotatePairs, DEFAULT_REPORT_NAME } from './batch.js';
