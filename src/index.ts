/**
 * The package's Node entry (`import … from 'msccnet'`): the library API behind every CLI
 * subcommand, stage by stage (DESIGN §1). Each name comes from its area's module; where two areas
 * use one name for different things, the re-export renames it after its area. The browser entry
 * is src/browser.ts; the layers below (torch, nn, onnx graph) are whole in their folders' index.
 * Importing this module loads no native code: the libtorch addon loads at the first tensor op.
 */

// errors every function throws (code, problem, hint)
export { MsccnetError, ArgumentError, ConfigError, InputFileError, IoError, parseWith, problemLine } from './errors.js';

// annotate: the paper's mask procedure (Fig. 3) on real/fake pairs
export {
  annotatePair,
  annotateGrayPair,
  annotatePairs,
  annotationOptions,
  AnnotationOptions,
  listFaceForensicsPairs,
  readPairList,
  type AnnotateEvent,
  type AnnotatePairsOptions,
  type AnnotateReport,
  type AnnotationOptionsInput,
  type AnnotationResult,
  type Pair,
} from './annotate/index.js';

// prepare: FF++ videos → face crops, masks and a manifest
export {
  PrepareOptions,
  parsePrepareOptions,
  planPrepare,
  readManifest,
  ManifestEntry,
  manifestStats,
  scanFfpp,
  readSplits,
  defactoManifest,
  loadFaceDetector,
  probeVideo,
  readFrames,
  type FaceDetector,
  type FfppTree,
  type Plan,
  type PrepareEvent,
  type PrepareReport,
  type Split,
} from './data/index.js';
export { runPrepare, enqueuePrepare, startPrepareWorker, openQueue, type RunPrepareOptions } from './data/prepare/index.js';
export { buildMiniFfpp, forge, type MiniFfpp, type MiniFfppOptions } from './data/synthetic/index.js';

// models: MSCCNet, its variants and the registered methods
export {
  MSCCNet,
  buildMsccnet,
  variantNames,
  variantConfig,
  parseMsccnetConfig,
  MSCCNET_VARIANTS,
  ResNet,
  buildMethod,
  methodNames,
  methodDefinition,
  MsccnetMethod,
  METHOD_NAMES,
  buildModel as buildModelOfFile,
  loadModelFile,
  readModelFileInfo,
  loadWeights,
  loadConverted,
  detectConverter,
  loadPretrained,
  applyDetfill,
  type MsccnetConfig,
  type MsccnetConfigInput,
  type MsccnetOutputs,
  type MethodModel,
  type MethodName,
  type MethodDefinition,
  type Preprocessing,
  type LoadedModelFile,
  type ModelFileInfo,
  type ConverterName,
} from './models/index.js';

// train: config, the loop, checkpoints, distributed
export {
  parseTrainConfig,
  readConfigFile,
  applyOverrides,
  describeConfig,
  TrainConfigSchema,
  train,
  validate,
  buildModel as buildTrainModel,
  loadCheckpoint,
  saveCheckpoint,
  listCheckpoints,
  initProcessGroup,
  type TrainConfig,
  type TrainConfigInput,
  type TrainEvent,
  type TrainOptions,
  type TrainSummary,
  type CheckpointState,
} from './train/index.js';

// evaluate: the official metrics, runs and the paper's protocols
export {
  Evaluator,
  evaluate,
  rocAucScore,
  PixelConfusion,
  mvssMetrics,
  IGNORE as EVAL_IGNORE,
  type EvaluateOptions,
  type EvaluationResult,
  type EvaluatorOptions,
  type OfficialMetrics,
} from './eval/index.js';
export { perturb, parsePerturbations, type Perturbation } from './samples/index.js';
export { runEvaluation, type EvaluationRunOptions } from './benchmark/index.js';
export {
  PROTOCOLS,
  METRICS,
  runProtocol,
  protocolPlans,
  formatTables,
  runBenchmark,
  paperTable,
  formatPaperTable,
  type Protocol,
  type ProtocolOptions,
  type ProtocolTable,
  type ProtocolEvent,
  type BenchmarkOptions,
  type PaperTable,
  type SeedSpread,
  type SeedValue,
  compareModels,
  formatComparisons,
  pairedBootstrap,
  comparisonSentence,
  type ComparisonRow,
  type PairedComparison,
} from './benchmark/index.js';

// export: ONNX by tracing the model's own forward
export {
  exportMsccnet,
  exportMsccnetInt8,
  exportMethod,
  methodComplexity,
  exportModule,
  quantizeStaticInt8,
  readMetadata,
  MSCCNET_IO,
  OPSET,
  type ExportOptions,
  type ExportSummary,
  type Int8ExportOptions,
  type Precision,
} from './onnx/index.js';

// inference: engines (onnxruntime-node, libtorch), the shared pipeline, files and videos
export {
  openEngine,
  createOrtEngine,
  createTorchEngine,
  loadModel,
  detectFiles,
  collectInputs,
  decodeRgb,
  analyze,
  preprocessInto,
  preprocessSpecOf,
  fakeProbability,
  renderOverlay,
  faceRegions,
  imageAnalysisJson,
  errorJson,
  openCalibrationSet,
  NonFiniteOutputError,
  NoFaceError,
  ModelChoiceError,
  DetectResultJson,
  ImageAnalysisJson,
  ErrorJson,
  type InferenceEngine,
  type EngineOptions,
  type ModelSpec,
  type Analysis,
  type AnalyzeOptions,
  type Region,
  type RgbImage,
  type Box,
  metadataPreprocessing,
  onnxModelInfo,
  type DetectEvent,
  type DetectOptions,
  type DetectResult,
  type ImageAnalysis,
  type PreprocessSpec,
  type OnnxModelInfo,
} from './infer/index.js';
export { officialPreprocess } from './image/preprocess.js';
export { decodeImage, encodePng, encodeJpeg, ssimMap } from './image/index.js';

// serve: the web page's server and its API schemas
export { buildServer, API, DetectResponseJson, InfoResponseJson, type ServerOptions, type DetectResponse, type InfoResponse } from './web/index.js';

// the torch-like layers, for new methods
export { torch, Tensor, F } from './torch/index.js';
export { Module, Sequential, loadSafetensors, saveSafetensors, type StateDict } from './nn/index.js';
