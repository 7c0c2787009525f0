export * from './msccnet/index.js';
export {
  ResNet,
  BasicBlock,
  Bottleneck,
  conv1x1,
  conv3x3,
  type ResNetOptions,
  type ResNetDepth,
  type OutputStride,
  type Tap,
  type ResidualBlock,
} from './backbones/resnet.js';
export { InputSizeError, FilterSizeError, WeightsError, UnknownVariantError, CheckpointLayoutError } from './errors.js';
export { loadWeights, stateDictProblems } from './weights.js';
export {
  CONVERTER_NAMES,
  MSCCNET_BACKBONE,
  NO_BACKBONE,
  detectConverter,
  rejectRenamedLayout,
  requireConverter,
  loadConverted,
  reportProblems,
  reportSummary,
  sourceWeights,
  targetKey,
  type BackboneScope,
  type ConverterName,
  type ConvertOptions,
  type LoadReport,
  type SourceTensor,
  type SourceWeights,
} from './convert.js';
export {
  buildModel,
  loadModelFile,
  modelFileMetadata,
  readModelFileInfo,
  resolveModelFile,
  variantOf,
  type LoadedModelFile,
  type ModelFileFallback,
  type ModelFileInfo,
} from './model-file.js';
export { loadPretrained, readCheckpointWeights, readMethodWeights, type PretrainedSpec } from './pretrained.js';
export { encodeModelFile, encodeSourceTensors, inspectWeights, type WeightsInspection } from './inspect.js';
export {
  DETFILL_OFFSET_BASIS,
  applyDetfill,
  detfillSpecs,
  detfillValues,
  detfillInput,
  fnv1a32,
  fmix32,
  rawIndexHash,
  unitValue,
  type DetfillKind,
  type DetfillSpec,
} from './detfill.js';
export {
  DETFILL_FANIN_SCHEME,
  applyDetfillFanin,
  faninEntries,
  faninOf,
  faninStateDict,
  faninValues,
  isBatchNorm,
  type FaninEntry,
  type FaninKind,
} from './detfill-fanin.js';
export { runDetfillCheck, type DetfillCheckOptions, type DetfillCheckResult } from './detfill-check.js';
export { tensorStats, flatIndex, valueAt, type TensorStats } from './stats.js';
export { buildMethod, methodBackbone, methodNames, methodDefinition, loadMethodStateDict, MsccnetMethod } from './registry.js';
export {
  METHOD_NAMES,
  IMAGENET_NORMALIZE,
  weightedTotal,
  type LossMultipliers,
  type MethodModel,
  type MethodOutputs,
  type MethodTargets,
  type NamedLosses,
  type Preprocessing,
  type MethodName,
  type MethodDefinition,
} from './method.js';
