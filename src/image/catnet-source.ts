/**
 * CAT-Net's input from a file's bytes, as the official inference path makes it
 * (`Splicing/data/dataset_arbitrary.py:get_tamp`): a JPEG keeps its own coefficients and table;
 * anything else (PNG crops, frames cut from H.264 video) is first JPEG-encoded at the run's
 * `jpegQuality` with 4:4:4 chroma (the official re-save is quality 100, `subsampling=0`), and both
 * streams read that JPEG. Node only (sharp encodes and decodes).
 */
import sharp from 'sharp';
import { InputFileError, problemLine } from '../errors.js';
import { makeImage } from './image.js';
import {
  catnetInput,
  JpegError,
  readJpegCoefficients,
  type CatnetInput,
  type CatnetInputOptions,
  type JpegSource,
  type ReadJpegOptions,
} from './jpeg/index.js';

export interface CatnetSourceOptions extends CatnetInputOptions, ReadJpegOptions {
  /** quality (1–100) at which a file that is not a JPEG is encoded (the method config's `jpegQuality`) */
  readonly jpegQuality: number;
}

/** What `catnetInputFromBytes` returns: the input, and whether the file had to be JPEG-encoded first. */
export interface CatnetSourceInput extends CatnetInput {
  readonly reencoded: boolean;
}

const isJpeg = (bytes: Uint8Array) => bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xd8;

/** The file's pixels as PIL's `convert('RGB')` gives them: stored orientation (no EXIF turn), 3 channels, no alpha. */
async function rgbPixels(bytes: Uint8Array): Promise<RgbPixels> {
  try {
    const { data, info } = await sharp(bytes, { failOn: 'warning' }).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (err) {
    throw new InputFileError(
      `<${bytes.length} bytes>`,
      `cannot be decoded as an image (${(err as Error).message})`,
      'pass a JPEG, PNG or another file sharp reads',
      {
        cause: err,
      },
    );
  }
}

/** CAT-Net's input (±1 RGB + DCT volume [24, H, W], Y q-table) from an image file's bytes. */
export async function catnetInputFromBytes(bytes: Uint8Array, options: CatnetSourceOptions): Promise<CatnetSourceInput> {
  if (!isJpeg(bytes)) return { ...(await catnetInputFromPixels(await rgbPixels(bytes), options)), reencoded: true };
  return { ...(await catnetInputOfJpeg(bytes, options)), reencoded: false };
}

/**
 * CAT-Net's input from interleaved RGB pixels that are no JPEG (a decoded file, a transformed
 * training crop): JPEG-encoded at `jpegQuality`, 4:4:4, and read back as `catnetInputFromBytes` reads a file.
 */
export async function catnetInputFromPixels(rgb: RgbPixels, options: CatnetSourceOptions): Promise<CatnetInput> {
  const source = await jpegSourceOfPixels(rgb, options);
  return catnetInput(source.rgb, source.jpeg, options);
}

async function catnetInputOfJpeg(jpeg: Uint8Array, options: CatnetSourceOptions): Promise<CatnetInput> {
  const source = await jpegSourceOfJpeg(jpeg, options);
  return catnetInput(source.rgb, source.jpeg, options);
}

/** Interleaved 8-bit RGB pixels. */
export interface RgbPixels {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** The JPEG that `pixels` become at `jpegQuality`, 4:4:4 (sharp), as CAT-Net reads it: its decoded pixels and its coefficients. */
export async function jpegSourceOfPixels(pixels: RgbPixels, options: CatnetSourceOptions): Promise<JpegSource> {
  const jpeg = await sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: 3 } })
    .jpeg({ quality: options.jpegQuality, chromaSubsampling: '4:4:4' })
    .toBuffer();
  return jpegSourceOfJpeg(new Uint8Array(jpeg.buffer, jpeg.byteOffset, jpeg.length), options);
}

async function jpegSourceOfJpeg(jpeg: Uint8Array, options: ReadJpegOptions): Promise<JpegSource> {
  const coefficients = readJpegCoefficients(jpeg, options);
  const { width, height, data } = await rgbPixels(jpeg);
  return { rgb: makeImage(width, height, 3, data), jpeg: coefficients };
}

/** What `jpegSourceFor` gives: the source, and why a JPEG's own coefficients could not be kept (null: kept, or no JPEG). */
export interface JpegSourceFor {
  readonly source: JpegSource;
  readonly notKept: string | null;
}

/**
 * The JPEG CAT-Net reads for `image`, the decode of the file `bytes` (as `decodeRgb` gives it):
 * the file's own coefficients when it is a JPEG whose stored pixels are `image` (no EXIF turn, no
 * downscale, a coefficient layout CAT-Net reads); otherwise `image` encoded at `jpegQuality`, 4:4:4
 * (`notKept` says why, for a JPEG). The one place detect, serve and evaluate make CAT-Net's input.
 */
export async function jpegSourceFor(bytes: Uint8Array, image: RgbPixels, options: CatnetSourceOptions): Promise<JpegSourceFor> {
  if (!isJpeg(bytes)) return { source: await jpegSourceOfPixels(image, options), notKept: null };
  let problem: string;
  try {
    const jpeg = readJpegCoefficients(bytes, options);
    const { orientation = 1 } = await sharp(bytes, { limitInputPixels: false }).metadata();
    if (orientation !== 1) problem = `its EXIF orientation ${orientation} turns it`;
    else if (jpeg.width !== image.width || jpeg.height !== image.height) problem = `it was downscaled from ${jpeg.width}×${jpeg.height}`;
    else {
      const source = { rgb: makeImage(image.width, image.height, 3, image.data), jpeg };
      catnetInput(source.rgb, jpeg, { cropSize: [8, 8] }); // refuses a subsampled first component now, not in the first tile
      return { source, notKept: null };
    }
  } catch (err) {
    if (!(err instanceof JpegError)) throw err;
    problem = problemLine(err);
  }
  return {
    source: await jpegSourceOfPixels(image, options),
    notKept: `its own JPEG coefficients are not used (${problem}); CAT-Net reads it encoded again at quality ${options.jpegQuality}`,
  };
}
