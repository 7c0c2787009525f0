export { defactoManifest, defactoMaskPath, type DefactoResult } from './defacto.js';
export { enlargeBox, cropToPng, type CropBox } from './crops.js';
export { loadFaceDetector, type Face, type FaceDetector, type FaceDetectorOptions } from './faces.js';
export {
  COMPRESSIONS,
  METHODS,
  REFERENCE_DROPPED,
  SPLITS,
  readSplits,
  scanFfpp,
  targetOf,
  type Compression,
  type FfppTree,
  type Method,
  type Renditions,
  type Split,
  type SplitLists,
} from './layout.js';
export { ManifestEntry, formatManifest, formatStats, manifestStats, readManifest, type SplitStats } from './manifest.js';
export { loadAnnotator, type Annotator, type MaskResult } from './masks.js';
export * from './prepare/index.js';
export {
  encodeVideo,
  probeVideo,
  readFrames,
  sampleFrameIndices,
  VideoError,
  FfmpegMissingError,
  type Frame,
  type VideoCodec,
  type VideoInfo,
} from './video.js';
export { AvAddonError } from './libav.js';
