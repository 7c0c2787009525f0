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
    // Tap-major loops (same per-pixel order: k0·v0, then + k1·v1, …), so the inner loop is one multiply-add.
    const k0 = k[0];
    for (let x = 0; x < width; x++) rows[base + x] = k0 * ext[x];
    for (let j = 1; j < ksize; j++) {
      const kj = k[j];
      for (let x = 0; x < width; x++) rows[base + x] += kj * ext[x + j];
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
 * integers: the taps ×64 are integers, so the blur of a 0/1 image is exactly s/4096 in any summation order (OpenCV's
 * float64 result is that exact value) and a pixel survives iff uint8(255·s/4096) ≥ 1. Returns the 0/255 mask and the blurred values.
 */
export function blurThresholdMask(mask: Image, ksize: number): { mask: Image; blurred: FloatMap } {
  assertSingleChannel(mask, 'mask');
  const k = gaussianKernel(ksize);
  const scale = 64; // 2·32: makes every tap of every fixed kernel an integer
  const taps = Int32Array.from(k, (t) => t * scale);
  const denominator = scale * scale;
  const { width, height, data } = mask;
  const half = ksize >> 1;
  const rows = new Int32Array(width * height);
  const ext = new Int32Array(width + 2 * half);
  const colOf = new Int32Array(width + 2 * half);
  for (let i = 0; i < colOf.length; i++) colOf[i] = reflect101Index(i - half, width);
  for (let y = 0; y < height; y++) {
    const base = y * width;
    for (let i = 0; i < ext.length; i++) ext[i] = data[base + colOf[i]] !== 0 ? 1 : 0;
    for (let j = 0; j < ksize; j++) {
      const t = taps[j];
      for (let x = 0; x < width; x++) rows[base + x] += t * ext[x + j];
    }
  }
  const out = makeImage(width, height, 1);
  const blurred = new Float64Array(width * height);
  const rowOf = new Int32Array(height + 2 * half);
  for (let i = 0; i < rowOf.length; i++) rowOf[i] = reflect101Index(i - half, height) * width;
  const sums = new Int32Array(width);
  // uint8(255·s/denominator) ≥ 1 ⟺ 255·s ≥ denominator: exact, since s/denominator is an exact double.
  for (let y = 0; y < height; y++) {
    const base = y * width;
    sums.fill(0);
    for (let j = 0; j < ksize; j++) {
      const t = taps[j], src = rowOf[y + j];
      for (let x = 0; x < width; x++) sums[x] += t * rows[src + x];
    }
    for (let x = 0; x < width; x++) {
      blurred[base + x] = sums[x] / denominator;
      out.data[base + x] = 255 * sums[x] >= denominator ? 255 : 0;
    }
  }
  return { mask: out, blurred: { width, height, data: blurred } };
}
