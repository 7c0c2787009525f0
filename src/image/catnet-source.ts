/**
 * CAT-Net's input from a file's bytes, as the official inference path makes it
 * (`Splicing/data/dataset_arbitrary.py:get_tamp`): a JPEG keeps its own coefficients and table;
 * anything else (PNG crops, frames cut from H.264 video) is first JPEG-encoded at the run's
 * `jpegQuality` with 4:4:4 chroma (the official re-save is quality 100, `subsampling=0`), and both
 * streams read that JPEG. Node only (sharp encodes and decodes).
 */
import sharp from 'sharp';
import { InputFileError } from '../errors.js';
import { makeImage } from './image.js';
import { catnetInput, readJpegCoefficients, type CatnetInput, type CatnetInputOptions, type ReadJpegOptions } from './jpeg/index.js';

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
async function rgbPixels(bytes: Uint8Array): Promise<{ width: number; height: number; data: Uint8Array }> {
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
export async function catnetInputFromPixels(rgb: { width: number; height: number; data: Uint8Array }, options: CatnetSourceOptions): Promise<CatnetInput> {
  const jpeg = await sharp(rgb.data, { raw: { width: rgb.width, height: rgb.height, channels: 3 } })
    .jpeg({ quality: options.jpegQuality, chromaSubsampling: '4:4:4' })
    .toBuffer();
  return catnetInputOfJpeg(new Uint8Array(jpeg.buffer, jpeg.byteOffset, jpeg.length), options);
}

async function catnetInputOfJpeg(jpeg: Uint8Array, options: CatnetSourceOptions): Promise<CatnetInput> {
  const coefficients = readJpegCoefficients(jpeg, options);
  const { width, height, data } = await rgbPixels(jpeg);
  return catnetInput(makeImage(width, height, 3, data), coefficients, options);
}
