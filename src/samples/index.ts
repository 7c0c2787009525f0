/**
 * A manifest record becomes a tensor pair: sample lists (manifest or the reference layout), decoding,
 * the official and paper augmentations, test-time perturbations, the seeded RNG, and the worker-thread
 * loader that keeps batches decoding ahead. Training, evaluation and the benchmark all read samples here.
 */
export {
  AUGMENT_PRESETS,
  type AugmentPreset,
  IGNORE,
  MEAN_RGB,
  STD_RGB,
  evalTransform,
  trainTarget,
  trainTransform,
  type Decoded,
  type TrainTransformOptions,
  type Transformed,
} from './augment.js';
export {
  UnreadableSampleError,
  decodeSample,
  pairedTrainList,
  readManifestSamples,
  readReferenceLayout,
  sampleId,
  type ListOptions,
  type Sample,
  type SampleList,
} from './dataset.js';
export { SamplePool, evalItems, trainBatches, type EvalItem, type SkippedSample, type TrainBatch } from './loader.js';
export { Rng, hashKey } from './rng.js';
export { parsePerturbations, perturb, perturbationLevel, perturbationName, PERTURBATION_KINDS, type Perturbation } from './perturb.js';
export { DatasetError } from './errors.js';
