export type { JpegCoding, JpegComponent, JpegCoefficients, ReadJpegOptions } from './coefficients.js';
export { readJpegCoefficients } from './coefficients.js';
export type { JpegErrorReason } from './error.js';
export { JpegError } from './error.js';
export type { CatnetInput, CatnetInputOptions, JpegSource } from './catnet-input.js';
export { catnetInput, catnetTileBatch, catnetTileOrigins, CATNET_AUX_INPUTS, CATNET_DCT_CLIP, CATNET_INPUT_CHANNELS } from './catnet-input.js';
