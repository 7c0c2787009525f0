import { ArgumentError } from '../errors.js';
import type { FloatMap, Image } from './image.js';
import { assertSingleChannel, makeImage } from './image.js';
import { reflect101Index } from './borders.js';

/**
 * OpenCV's `small_gaussian_tab`: with sigma ≤ 0 and ksize ≤ 7, `getGaussianKernel` returns these fixed taps,
 * not exp(−x²/2σ²) (so 7 is [1, 3.5, 7, 9, 7, 3.5, 1]/32, not the binomial row). All are exact binary fractions.
 */
const SMALL_GAUSSIAN_TAB: Readonly<Record<number, readonly number[]>> = {
  1: [1],
  3: [0.25, 0.5, 0.25],
  5: [0.0625, 0.25, 0.375, 0.25, 0.0625],
  7: [0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125],
};

/** The 1-D kernel of `cv2.getGaussianKernel(ksize, 0)` for ksize 1, 3, 5 or 7. */
export function gaussianKernel(ksize: number): readonly number[] {
  const taps = SMALL_GAUSSIAN_TAB[ksize];
  if (taps === undefined) throw new ArgumentError('ksize', '1, 3, 5 or 7 (OpenCV fixed kernels for sigma 0)', ksize);
  return taps;
}

/**
 * `cv2.GaussianBlur(map, (ksize, ksize), 0)` on a float64 map, border REFLECT_101, with OpenCV's operation
 * order for 64F: the row filter sums taps left to right, the symmetric column filter adds centre·v, then
 * k_j·(below_j + above_j). (OpenCV builds may fuse multiply-adds, so the last bit can differ; values agree to ~1e-16.)
 */
export function gaussianBlur(map: FloatMap, ksize: number): FloatMap {
  const k = gaussianKernel(ksize);
  const { width, height, data } = map;
  const half = ksize >> 1;
  const rows = new Float64Array(width * height);
  const ext = new Float64Array(width + 2 * half);
  const colOf = new Int32Array(width + 2 * half);
  for (let i = 0; i < colOf.length; i++) colOf[i] = reflect101Index(i - half, width);
  for (let y = 0; y < height; y++) {
    const base = y * width;
    for (let i = 0; i < ext.length; i++) ext[i] = data[base + colOf[i]];
    for (let x = 0; x < width; x++) {
      let s = k[0] * ext[x];
      for (let j = 1; j < ksize; j++) s += k[j] * ext[x + j];
      rows[base + x] = s;
    }
  }
  const out = new Float64Array(width * height);
  const rowOf = new Int32Array(height + 2 * half);
  for (let i = 0; i < rowOf.length; i++) rowOf[i] = reflect101Index(i - half, height) * width;
  for (let y = 0; y < height; y++) {
    const base = y * width;
    const centre = k[half];
    for (let x = 0; x < width; x++) out[base + x] = centre * rows[base + x];
    for (let j = 1; j <= half; j++) {
      const below = rowOf[y + half + j], above = rowOf[y + half - j], f = k[half + j];
      for (let x = 0; x < width; x++) out[base + x] += f * (rows[below + x] + rows[above + x]);
    }
  }
  return { width, height, data: out };
}

/**
 * `threshold(uint8(GaussianBlur(mask/255, (ksize, ksize), 0)·255), 0, 255, BINARY)` for a 0/255 mask, in
 * integers: the taps ×(2·32) are integers, so the blur of a 0/1 image is an exact sum s/4096 (for ksize 7)
 * and a pixel survives iff uint8(255·s/4096) ≥ 1. Returns the 0/255 mask and the blurred values.
 */
export function blurThresholdMask(mask: Image, ksize: number): { mask: Image; blurred: FloatMap } {
  assertSingleChannel(mask, 'mask');
  const k = gaussianKernel(ksize);
  const scale = 64; // 2·32: makes every tap of every fixed kernel an integer
  const taps = k.map((t) => t * scale);
  const denominator = scale * scale;
  const { width, height, data } = mask;
  const half = ksize >> 1;
  const rows = new Int32Array(width * height);
  const ext = new Uint8Array(width + 2 * half);
  const colOf = new Int32Array(width + 2 * half);
  for (let i = 0; i < colOf.length; i++) colOf[i] = reflect101Index(i - half, width);
  for (let y = 0; y < height; y++) {
    const base = y * width;
    for (let i = 0; i < ext.length; i++) ext[i] = data[base + colOf[i]] !== 0 ? 1 : 0;
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let j = 0; j < ksize; j++) s += taps[j] * ext[x + j];
      rows[base + x] = s;
    }
  }
  const out = makeImage(width, height, 1);
  const blurred = new Float64Array(width * height);
  const rowOf = new Int32Array(height + 2 * half);
  for (let i = 0; i < rowOf.length; i++) rowOf[i] = reflect101Index(i - half, height) * width;
  for (let y = 0; y < height; y++) {
    const base = y * width;
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let j = 0; j < ksize; j++) s += taps[j] * rows[rowOf[y + j] + x];
      const value = s / denominator;
      blurred[base + x] = value;
      out.data[base + x] = Math.trunc(value * 255) > 0 ? 255 : 0;
    }
  }
  return { mask: out, blurred: { width, height, data: blurred } };
}
