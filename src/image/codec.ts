import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { Sharp } from 'sharp';
import { InputFileError } from '../errors.js';
import type { Image } from './image.js';
import { makeImage } from './image.js';
import { rgbToGray } from './gray.js';
import { decodePngFast } from './png.js';

/** A file path, or the encoded bytes of a PNG/JPEG (anything sharp reads). */
export type ImageSource = string | Uint8Array;

function label(source: ImageSource): string {
  return typeof source === 'string' ? source : `<${source.length} bytes>`;
}

function input(source: ImageSource): Sharp {
  // failOn 'warning': a truncated PNG/JPEG is an error here, not a half-grey image.
  return sharp(source, { failOn: 'warning' });
}

/**
 * Decodes to 8 bits per channel as stored after EXIF orientation (like `cv2.imread`): RGB, or RGBA when the
 * file has alpha. sharp hands grey files out as 3 identical channels and 16-bit files as their high byte
 * (`>> 8`), the same values OpenCV's PNG reader gives (`png_set_strip_16`).
 */
export async function decodeImage(source: ImageSource): Promise<Image> {
  // Plain 8-bit RGB(A) PNGs (video frames) decode in this thread; everything else, and every error, goes to sharp.
  const bytes = typeof source === 'string' ? await readFile(source).catch(() => null) : source;
  const fast = bytes === null ? null : decodePngFast(bytes);
  if (fast !== null) return fast;
  try {
    const { data, info } = await input(bytes ?? source)
      .rotate()
      .raw()
      .toBuffer({ resolveWithObject: true });
    return makeImage(info.width, info.height, info.channels, new Uint8Array(data.buffer, data.byteOffset, data.length));
  } catch (err) {
    // libvips words the same failure differently from run to run ("Warning: …" or "vipspng: …"), so its
    // text stays in `cause`: the message (and so the batch report) is the same on every run.
    throw new InputFileError(label(source), 'cannot decode image (truncated, empty, or not a PNG/JPEG)', 'check that the file is a complete PNG or JPEG', {
      cause: err,
    });
  }
}

/** The 3-channel RGB image `cv2.imread(path, IMREAD_COLOR)` sees (alpha dropped, not composited, as OpenCV does). */
export async function readColor(source: ImageSource): Promise<Image> {
  const image = await decodeImage(source);
  if (image.channels === 3) return image;
  const out = makeImage(image.width, image.height, 3);
  const c = image.channels;
  for (let i = 0, j = 0; j < out.data.length; i += c, j += 3) {
    const grey = c < 3;
    out.data[j] = image.data[i];
    out.data[j + 1] = image.data[grey ? i : i + 1];
    out.data[j + 2] = image.data[grey ? i : i + 2];
  }
  return out;
}

/** `cvtColor(imread(path), COLOR_BGR2GRAY)`: one channel, OpenCV's rounding. */
export async function readGray(source: ImageSource): Promise<Image> {
  return rgbToGray(await readColor(source));
}

function raw(image: Image): Sharp {
  const pipeline = sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels as 1 | 2 | 3 | 4 } });
  // Without the explicit colourspace sharp turns a 1-channel image into 3 channels on output.
  return image.channels === 1 ? pipeline.toColourspace('b-w') : pipeline;
}

/** PNG bytes; a 1-channel image is written as an 8-bit grey PNG (masks stay one channel). */
export async function encodePng(image: Image, options: { compressionLevel?: number } = {}): Promise<Buffer> {
  return raw(image)
    .png({ compressionLevel: options.compressionLevel ?? 6 })
    .toBuffer();
}

/** JPEG bytes (sharp's default 4:2:0 chroma subsampling). */
export async function encodeJpeg(image: Image, quality = 90): Promise<Buffer> {
  return raw(image).jpeg({ quality }).toBuffer();
}

/** Resampling kernels for `resize`: `linear`/`cubic`/`lanczos3` interpolate, `nearest` for masks. */
export type ResizeKernel = 'nearest' | 'linear' | 'cubic' | 'lanczos3';

/** Resized to exactly width×height (no aspect ratio kept), same channels. */
export async function resize(image: Image, width: number, height: number, kernel: ResizeKernel = 'linear'): Promise<Image> {
  const { data, info } = await raw(image).resize(width, height, { fit: 'fill', kernel }).raw().toBuffer({ resolveWithObject: true });
  return makeImage(info.width, info.height, info.channels, new Uint8Array(data.buffer, data.byteOffset, data.length));
}
