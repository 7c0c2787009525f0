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

// The row-filtered intermediate of gaussianBlurRows: one grow-only buffer per thread (the call is synchronous), so a
// blur per pair does not allocate and zero a full-size float64 array each time.
let rowBuffer = new Float64Array(0);
function rowScratch(n: number): Float64Array {
  if (rowBuffer.length < n) rowBuffer = new Float64Array(n);
  return rowBuffer.subarray(0, n);
}

/**
 * `cv2.GaussianBlur(map, (ksize, ksize), 0)` on a float64 map, border REFLECT_101, with OpenCV's operation
 * order for 64F: the row filter sums taps left to right, the symmetric column filter adds centre·v, then
 * k_j·(below_j + above_j). (OpenCV builds may fuse multiply-adds, so the last bit can differ; values agree to ~1e-16.)
 * With `out` (at least width·height long) the result is written into its prefix instead of a new array.
 */
export function gaussianBlur(map: FloatMap, ksize: number, out?: Float64Array): FloatMap {
  const { width, height, data } = map;
  const n = width * height;
  const result = out === undefined ? new Float64Array(n) : out.subarray(0, n);
  if (result.length !== n) throw new ArgumentError('out', `at least ${n} values`, out?.length);
  gaussianBlurRows(
    width,
    height,
    ksize,
    (y, into) => into.set(data.subarray(y * width, (y + 1) * width)),
    (y, row) => result.set(row, y * width),
  );
  return { width, height, data: result };
}

/**
 * `gaussianBlur` streamed: `readRow(y, into)` writes input row y into `into` (width values), `writeRow(y, row)`
 * receives output row y (valid only during the call). A caller can compute its input and consume the blur
 * row by row without full-size maps of either (the annotation normalises the diff on the way in and
 * thresholds on the way out); the arithmetic is gaussianBlur's, value for value.
 */
export function gaussianBlurRows(
  width: number,
  height: number,
  ksize: number,
  readRow: (y: number, into: Float64Array) => void,
  writeRow: (y: number, row: Float64Array) => void,
): void {
  const k = gaussianKernel(ksize);
  const half = ksize >> 1;
  // Taps as locals (zero past the kernel's end), so each pixel is one expression in OpenCV's order:
  // row: ((k0·v0 + k1·v1) + k2·v2) + …; column: (centre·v + k1·(below1 + above1)) + k2·(below2 + above2) + ….
  const [k0, k1, k2, k3, k4, k5, k6] = [0, 1, 2, 3, 4, 5, 6].map((j) => k[j] ?? 0);
  const rows = rowScratch(width * height);
  const line = new Float64Array(width);
  const ext = new Float64Array(width + 6); // room for the widest kernel's reads
  const colOf = new Int32Array(width + 2 * half);
  for (let i = 0; i < colOf.length; i++) colOf[i] = reflect101Index(i - half, width);
  for (let y = 0; y < height; y++) {
    const base = y * width;
    readRow(y, line);
    for (let i = 0; i < colOf.length; i++) ext[i] = line[colOf[i]];
    if (ksize === 7) {
      for (let x = 0; x < width; x++) {
        rows[base + x] = k0 * ext[x] + k1 * ext[x + 1] + k2 * ext[x + 2] + k3 * ext[x + 3] + k4 * ext[x + 4] + k5 * ext[x + 5] + k6 * ext[x + 6];
      }
    } else if (ksize === 5) {
      for (let x = 0; x < width; x++) rows[base + x] = k0 * ext[x] + k1 * ext[x + 1] + k2 * ext[x + 2] + k3 * ext[x + 3] + k4 * ext[x + 4];
    } else if (ksize === 3) {
      for (let x = 0; x < width; x++) rows[base + x] = k0 * ext[x] + k1 * ext[x + 1] + k2 * ext[x + 2];
    } else {
      for (let x = 0; x < width; x++) rows[base + x] = k0 * ext[x];
    }
  }
  const rowOf = new Int32Array(height + 2 * half);
  for (let i = 0; i < rowOf.length; i++) rowOf[i] = reflect101Index(i - half, height) * width;
  const [c, f1, f2, f3] = [k[half], k[half + 1] ?? 0, k[half + 2] ?? 0, k[half + 3] ?? 0];
  for (let y = 0; y < height; y++) {
    const base = y * width,
      m = y + half;
    if (half === 3) {
      const [a1, b1, a2, b2, a3, b3] = [rowOf[m - 1], rowOf[m + 1], rowOf[m - 2], rowOf[m + 2], rowOf[m - 3], rowOf[m + 3]];
      for (let x = 0; x < width; x++) {
        line[x] = c * rows[base + x] + f1 * (rows[b1 + x] + rows[a1 + x]) + f2 * (rows[b2 + x] + rows[a2 + x]) + f3 * (rows[b3 + x] + rows[a3 + x]);
      }
    } else if (half === 2) {
      const [a1, b1, a2, b2] = [rowOf[m - 1], rowOf[m + 1], rowOf[m - 2], rowOf[m + 2]];
      for (let x = 0; x < width; x++) line[x] = c * rows[base + x] + f1 * (rows[b1 + x] + rows[a1 + x]) + f2 * (rows[b2 + x] + rows[a2 + x]);
    } else if (half === 1) {
      const [a1, b1] = [rowOf[m - 1], rowOf[m + 1]];
      for (let x = 0; x < width; x++) line[x] = c * rows[base + x] + f1 * (rows[b1 + x] + rows[a1 + x]);
    } else {
      for (let x = 0; x < width; x++) line[x] = c * rows[base + x];
    }
    writeRow(y, line);
  }
}

/**
 * `threshold(uint8(GaussianBlur(mask/255, (ksize, ksize), 0)·255), 0, 255, BINARY)` for a 0/255 mask, in
 * integers: the taps ×64 are integers, so the blur of a 0/1 image is exactly s/4096 in any summation order (OpenCV's
 * float64 result is that exact value) and a pixel survives iff uint8(255·s/4096) ≥ 1. Returns the 0/255 mask and the
 * blurred values (null with `keepBlurred` false: a full-size float64 map the production path has no use for).
 */
export function blurThresholdMask(mask: Image, ksize: number): { mask: Image; blurred: FloatMap };
export function blurThresholdMask(mask: Image, ksize: number, keepBlurred: false): { mask: Image; blurred: null };
export function blurThresholdMask(mask: Image, ksize: number, keepBlurred = true): { mask: Image; blurred: FloatMap | null } {
  assertSingleChannel(mask, 'mask');
  const k = gaussianKernel(ksize);
  const scale = 64; // 2·32: makes every tap of every fixed kernel an integer
  const taps = Int32Array.from(k, (t) => t * scale);
  const denominator = scale * scale;
  const { width, height, data } = mask;
  const half = ksize >> 1;
  const rows = new Int32Array(width * height);
  const ext = new Int32Array(width + 6); // centred at +3; zeros beyond the kernel's reach
  const colOf = new Int32Array(width + 2 * half);
  for (let i = 0; i < colOf.length; i++) colOf[i] = reflect101Index(i - half, width);
  // Taps as locals, zero past the kernel (t[half + j] pairs with t[half − j]: the kernels are symmetric).
  const t = Int32Array.from({ length: 7 }, (_, j) => taps[half + j] ?? 0);
  const [c, t1, t2, t3] = [t[0], t[1], t[2], t[3]];
  for (let y = 0; y < height; y++) {
    const base = y * width;
    for (let i = 0; i < colOf.length; i++) ext[i + 3 - half] = data[base + colOf[i]] !== 0 ? 1 : 0;
    for (let x = 0; x < width; x++) {
      const e = x + 3;
      rows[base + x] = c * ext[e] + t1 * (ext[e - 1] + ext[e + 1]) + t2 * (ext[e - 2] + ext[e + 2]) + t3 * (ext[e - 3] + ext[e + 3]);
    }
  }
  const out = makeImage(width, height, 1);
  const blurred = keepBlurred ? new Float64Array(width * height) : null;
  const rowOf = new Int32Array(height + 2 * half);
  for (let i = 0; i < rowOf.length; i++) rowOf[i] = reflect101Index(i - half, height) * width;
  const inverse = 1 / denominator;
  // uint8(255·s/denominator) ≥ 1 ⟺ 255·s ≥ denominator: exact, since s/denominator is an exact double.
  for (let y = 0; y < height; y++) {
    const base = y * width,
      m = y + half;
    // Rows beyond the kernel's reach point at row y with weight 0.
    const at = (j: number): number => (j <= half ? rowOf[m + j] : base);
    const [b1, a1, b2, a2, b3, a3] = [at(1), half >= 1 ? rowOf[m - 1] : base, at(2), half >= 2 ? rowOf[m - 2] : base, at(3), half >= 3 ? rowOf[m - 3] : base];
    for (let x = 0; x < width; x++) {
      const sum = c * rows[base + x] + t1 * (rows[b1 + x] + rows[a1 + x]) + t2 * (rows[b2 + x] + rows[a2 + x]) + t3 * (rows[b3 + x] + rows[a3 + x]);
      if (blurred !== null) blurred[base + x] = sum * inverse; // exact: the denominator is a power of two
      out.data[base + x] = 255 * sum >= denominator ? 255 : 0;
    }
  }
  return { mask: out, blurred: blurred === null ? null : { width, height, data: blurred } };
}
