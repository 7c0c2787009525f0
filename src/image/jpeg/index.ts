export type { JpegCoding, JpegComponent, JpegCoefficients, ReadJpegOptions } from './coefficients.js';
export { readJpegCoefficients } from './coefficients.js';
export type { JpegErrorReason } from './error.js';
export { JpegError } from './error.js';
