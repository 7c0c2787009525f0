/**
 * Inference: the shared pre/post-processing (`pipeline`, browser-safe), the result schema, and
 * the Node side (engines over onnxruntime-node or libtorch, detection over files and videos).
 * The browser's side (`./web.js` on onnxruntime-web, `./metadata.js`, `./pipeline.js`, `./schema.js`,
 * `./json.js`) is gathered in src/browser.ts, the package's browser entry; `./metadata.js` serves both.
 */
export {
  analyze,
  runJpegRegion,
  MissingJpegSourceError,
  preprocessInto,
  preprocessSpecOf,
  fakeProbability,
  renderOverlay,
  JET,
  NORMALIZE,
  NonFiniteOutputError,
  type Analysis,
  type AnalyzeOptions,
  type Box,
  type EngineOutput,
  type InferenceEngine,
  type JpegInputSpec,
  type RegionLogits,
  type PreprocessSpec,
  type Region,
  type RegionResult,
  type RgbImage,
} from './pipeline.js';
export {
  DetectResultJson,
  ImageResultJson,
  VideoResultJson,
  FailedResultJson,
  RegionJson,
  FrameJson,
  ImageAnalysisJson,
  ErrorJson,
  type DetectResult,
  type ImageResult,
  type VideoResult,
  type ImageAnalysis,
  type ErrorResult,
} from './schema.js';
export { errorJson, imageAnalysisJson, regionsJson } from './json.js';
export {
  openEngine,
  createOrtEngine,
  createTorchEngine,
  loadModel,
  modelMetadata,
  ModelChoiceError,
  type EngineKind,
  type EngineOptions,
  type ModelSpec,
  type OrtOptions,
} from './engines.js';
export { faceRegions, type DetectedFace } from './regions.js';
export {
  collectInputs,
  decodeRgb,
  detectFiles,
  fileSource,
  NoFaceError,
  IMAGE_EXTENSIONS,
  VIDEO_EXTENSIONS,
  type DetectEvent,
  type DetectInput,
  type DetectOptions,
} from './node.js';
export { openCalibrationSet, type CalibrationSet } from './calibration.js';
export { metadataPreprocessing, onnxModelInfo, type OnnxModelInfo } from './metadata.js';
