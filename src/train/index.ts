/**
 * Training of any registered method with the official recipe (official-spec §7–§9): configuration,
 * poly schedule, the loop with checkpoints and bit-exact resume, distributed data parallel. Samples come
 * from samples/; the paper's protocols live in benchmark/.
 */
export {
  TrainConfigSchema,
  applyOverrides,
  describeConfig,
  parseTrainConfig,
  readConfigFile,
  type MethodConfig,
  type TrainConfig,
  type TrainConfigInput,
} from './config.js';
export { polyLr, type PolySchedule } from './schedule.js';
export { Rng, hashKey } from '../samples/rng.js';
export { RNG_SCHEME, listCheckpoints, loadCheckpoint, pruneCheckpoints, saveCheckpoint, stepName, type CheckpointState } from './checkpoint.js';
export { epochOrder, loadSplit, microBatches, plannedSteps, stepsPerEpoch } from './epochs.js';
export { validate, validateSamples } from './validate.js';
export { TrainRun, buildModel, train, type TrainEvent, type TrainOptions, type TrainSummary } from './trainer.js';
export { C10dProcessGroup, initProcessGroup, type ProcessGroup, type ProcessGroupOptions } from './distributed.js';
export { CheckpointError, DistributedError } from './errors.js';
