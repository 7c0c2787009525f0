export type { Image, FloatMap } from './image.js';
export { makeImage } from './image.js';
export type { ImageSource, ResizeKernel } from './codec.js';
export { decodeImage, readColor, readGray, encodePng, encodeJpeg, resize } from './codec.js';
export { rgbToGray, grayToUnitFloat } from './gray.js';
export { encodeGrayPng } from './png.js';
export type { SsimOptions } from './ssim.js';
export { ssimMap } from './ssim.js';
export { gaussianKernel, gaussianBlur, gaussianBlurRows, blurThresholdMask } from './gaussian.js';
export type { StructuringElement } from './morphology.js';
export { ellipseElement, elementToArray, dilateMask, erodeMask } from './morphology.js';
export type { OpenCv, Contours, ImageOps } from './opencv.js';
export { loadOpenCv, loadImageOps, findContours, convexHull, fillConvexPoly } from './opencv.js';
export { DEFAULT_MAX_PIXELS } from './limits.js';
export { resizeBilinear, resizeBilinearRows, cubicResizeMatrix, type MapShape } from './interpolate.js';
export type {
  JpegCoding,
  JpegComponent,
  JpegCoefficients,
  JpegErrorReason,
  ReadJpegOptions,
  CatnetInput,
  CatnetInputOptions,
  JpegSource,
} from './jpeg/index.js';
export {
  readJpegCoefficients,
  JpegError,
  catnetInput,
  catnetTileBatch,
  catnetTileOrigins,
  CATNET_AUX_INPUTS,
  CATNET_DCT_CLIP,
  CATNET_INPUT_CHANNELS,
} from './jpeg/index.js';
export {
  catnetInputFromBytes,
  catnetInputFromPixels,
  jpegSourceFor,
  jpegSourceOfPixels,
  type CatnetSourceOptions,
  type CatnetSourceInput,
  type JpegSourceFor,
  type RgbPixels,
} from './catnet-source.js';
