/**
 * Training of any registered method with the official recipe (official-spec §7–§9): configuration,
 * data lists and transforms, worker-thread loader, poly schedule, the loop with checkpoints and
 * bit-exact resume (the paper's protocols live in eval/protocols.ts).
 */
export {
  AUGMENT_PRESETS,
  TrainConfigSchema,
  applyOverrides,
  describeConfig,
  parseTrainConfig,
  readConfigFile,
  type AugmentPreset,
  type MethodConfig,
  type TrainConfig,
  type TrainConfigInput,
} from './config.js';
export {
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
export { polyLr, type PolySchedule } from './schedule.js';
export { Rng, hashKey } from './rng.js';
export { RNG_SCHEME, listCheckpoints, loadCheckpoint, pruneCheckpoints, saveCheckpoint, stepName, type CheckpointState } from './checkpoint.js';
export {
  TrainRun,
  buildModel,
  epochOrder,
  loadSplit,
  stepsPerEpoch,
  train,
  validate,
  type TrainEvent,
  type TrainOptions,
  type TrainSummary,
} from './trainer.js';
export { C10dProcessGroup, initProcessGroup, type ProcessGroup, type ProcessGroupOptions } from './distributed.js';
export { CheckpointError, DatasetError, DistributedError } from './errors.js';
