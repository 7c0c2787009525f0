export * from './msccnet/index.js';
export { ResNet, BasicBlock, Bottleneck, conv1x1, conv3x3, type ResNetOptions, type ResNetDepth, type OutputStride, type Tap, type ResidualBlock } from './resnet.js';
export { InputSizeError, WeightsError, UnknownVariantError } from './errors.js';
export { loadWeights, loadBackboneWeights, stateDictProblems, type BackboneLoadReport } from './weights.js';
export {
  DETFILL_OFFSET_BASIS, applyDetfill, detfillSpecs, detfillValues, detfillInput, fnv1a32, fmix32, rawIndexHash, unitValue,
  type DetfillKind, type DetfillSpec,
} from './detfill.js';
export { runDetfillCheck, type DetfillCheckOptions, type DetfillCheckResult } from './detfill-check.js';
export { tensorStats, flatIndex, valueAt, type TensorStats } from './stats.js';
export { buildMethod, methodNames, methodDefinition, loadMethodStateDict, MsccnetMethod } from './registry.js';
export { METHOD_NAMES, IMAGENET_NORMALIZE, type MethodModel, type MethodOutputs, type MethodTargets, type NamedLosses, type Preprocessing, type MethodName, type MethodDefinition } from './method.js';
export { methodComplexity, type Complexity } from './complexity.js';
