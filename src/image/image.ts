import { ArgumentError } from '../errors.js';

/** An 8-bit image: row-major, channels interleaved (colour in RGB order). Masks are 1 channel, 0/255. */
export interface Image {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: Uint8Array;
}

/** A single-channel float64 map (SSIM map, normalised diff, blurs) in the same row-major layout. */
export interface FloatMap {
  readonly width: number;
  readonly height: number;
  readonly data: Float64Array;
}

/** An image of the given size; `data` is checked against the size, or zero-filled when absent. */
export function makeImage(width: number, height: number, channels: number, data?: Uint8Array): Image {
  if (!Number.isInteger(width) || width < 1) throw new ArgumentError('width', 'a positive integer', width);
  if (!Number.isInteger(height) || height < 1) throw new ArgumentError('height', 'a positive integer', height);
  if (!Number.isInteger(channels) || channels < 1 || channels > 4) throw new ArgumentError('channels', '1, 2, 3 or 4', channels);
  const size = width * height * channels;
  if (data !== undefined && data.length !== size) {
    throw new ArgumentError('data', `${size} bytes (${width}×${height}×${channels})`, data);
  }
  return { width, height, channels, data: data ?? new Uint8Array(size) };
}

/** Throws unless `image` has exactly one channel (the primitives below work on grey/mask planes). */
export function assertSingleChannel(image: Image, parameter: string): void {
  if (image.channels !== 1) {
    throw new ArgumentError(parameter, 'a 1-channel image', `${image.channels} channels`, 'convert with rgbToGray() first');
  }
}
