/**
 * The package's browser entry (`exports["."].browser`): what runs in a page, and nothing that
 * imports node:*, sharp, fastify or libtorch. Detection runs the same pipeline as the CLI on
 * onnxruntime-web; the JSON types are the server API's, so a page can read `msccnet serve`'s
 * answers and write its own in the same shape. Face detection stays with the caller (any
 * detector's boxes go through `faceRegions`).
 */
export { createWebEngine, type WebDevice, type WebEngineOptions } from './infer/web.js';
export { metadataPreprocessing, onnxModelInfo, type OnnxModelInfo } from './infer/metadata.js';
export { MSCCNET_IO } from './onnx/io.js';
export {
  analyze,
  runJpegRegion,
  MissingJpegSourceError,
  fakeProbability,
  preprocessInto,
  preprocessSpecOf,
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
} from './infer/pipeline.js';
export { officialPreprocess } from './image/preprocess.js';
export {
  readJpegCoefficients,
  JpegError,
  catnetInput,
  catnetTileOrigins,
  type JpegSource,
  type CatnetInput,
  type CatnetInputOptions,
  type JpegCoefficients,
  type JpegComponent,
  type JpegErrorReason,
  type ReadJpegOptions,
} from './image/jpeg/index.js';
export { faceRegions, type DetectedFace } from './infer/regions.js';
export { heatmapRgba } from './web/heatmap.js';
export { errorJson, imageAnalysisJson, regionsJson } from './infer/json.js';
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
} from './infer/schema.js';
export {
  DetectQueryJson,
  DetectResponseJson,
  ErrorResponseJson,
  InfoResponseJson,
  ServerLimitsJson,
  type DetectQuery,
  type DetectResponse,
  type ErrorResponse,
  type InfoResponse,
  type ServerLimits,
} from './web/api.js';
export { MsccnetError, ArgumentError, problemLine } from './errors.js';
export { OnnxModelError } from './onnx/errors.js';
